import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import type {DataFormat} from '../data/engine.js'
import {ingest} from '../builtins/ingest.js'

export default class Ingest extends DvCommand {
  static override summary = 'Read tabular sources (files, globs, URLs, S3 objects, a PostgreSQL query) into one Parquet file.'
  static override description = `A built-in stage command, for dv.yaml: the same inputs always give the same output bytes and report. Sources: local CSV, TSV, JSON lines (.jsonl, .ndjson) and Parquet files (by extension, or --format; .gz and .zst text too), globs (expanded by dv), http(s):// URLs, s3://bucket/key objects (read with the endpoint and credentials of the dv remote in that bucket, or --remote), and a PostgreSQL query (--postgres URL --query SQL). The sources are read in sorted order (by name, byte order), each one's rows in file order, and combined by column name: a column missing from a source is NULL there; types that do not fit together are an error. --report writes the provenance (each source's rows, BLAKE3 and ETag) as a metrics-style JSON file. Bad input fails with one line naming the file (and line, and column), and leaves no output behind. See docs/stages.md.`
  static override examples = [
    '<%= config.bin %> ingest raw/*.csv -o data/raw.parquet --report reports/ingest.json',
    '<%= config.bin %> ingest https://example.com/extra.jsonl s3://team-data/2024/events.parquet -o data/raw.parquet',
    '<%= config.bin %> ingest --postgres postgres://reader@db:5432/shop --query "SELECT * FROM orders ORDER BY id" -o data/orders.parquet',
    '<%= config.bin %> ingest raw/*.csv --types id:BIGINT,price:DECIMAL(10,2) -o data/raw.parquet',
  ]
  static override strict = false
  static override args = {
    sources: Args.string({ignoreStdin: true, description: 'Files, globs, http(s):// URLs and s3://bucket/key objects.'}),
  }
  static override flags = {
    out: Flags.string({char: 'o', required: true, description: 'The output file: .parquet (or .csv, .tsv, .jsonl).'}),
    report: Flags.string({description: 'Write the provenance report (JSON, metrics-style) to this file.'}),
    format: Flags.string({description: 'Read every file and URL as this format, whatever its extension.', options: ['csv', 'tsv', 'jsonl', 'parquet']}),
    types: Flags.string({description: 'Column types to enforce, NAME:TYPE in DuckDB types, comma-separated (repeatable).', multiple: true, multipleNonGreedy: true}),
    remote: Flags.string({char: 'r', description: 'The dv remote whose endpoint and credentials read s3:// sources (default: the remote in that bucket).'}),
    postgres: Flags.string({description: 'A PostgreSQL URL (postgres://user:password@host:port/db) to run --query on.', dependsOn: ['query']}),
    query: Flags.string({description: 'The SQL query whose rows to ingest (with --postgres; give it an ORDER BY for a stable row order).', dependsOn: ['postgres']}),
    'allow-empty': Flags.boolean({description: 'Write an output with no rows rather than fail when the input has none.'}),
    json: Flags.boolean({description: 'Print the report as JSON.'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Ingest)
    const report = await ingest({
      sources: argv as string[],
      out: flags.out,
      report: flags.report,
      format: flags.format as DataFormat | undefined,
      types: flags.types,
      remote: flags.remote,
      postgres: flags.postgres,
      query: flags.query,
      allowEmpty: flags['allow-empty'],
    })
    if (flags.json) return this.printJson(report)
    const n = report.sources.length
    this.say(`ingested ${report.rows} rows, ${report.columns} columns from ${n} source${n === 1 ? '' : 's'} → ${report.output.path}`)
  }
}
