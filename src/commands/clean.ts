import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {clean} from '../builtins/clean.js'

export default class Clean extends DvCommand {
  static override summary = 'Clean a tabular file by rules: types, nulls, ranges, allowed values, patterns, duplicates, outliers.'
  static override description = `A built-in stage. Rules come from a schema file (--schema, YAML: per column type, required, min, max, allowed, regex, nulls, fill, outliers; top-level duplicates, nulls, fill) and from flags. Rows that break a rule are removed (nulls can be filled instead), each counted under the first rule that removed it; --fail-on makes a rule fail the stage instead, writing nothing. --report writes the counts as a metrics file. See docs/stages.md.`
  static override examples = [
    '<%= config.bin %> clean data/raw.csv -o data/clean.parquet --schema schema.yaml --report reports/clean.json',
    '<%= config.bin %> clean data/raw.parquet -o data/clean.parquet --drop-duplicates --nulls drop --outliers iqr:income,zscore:score:3',
    '<%= config.bin %> clean data/raw.csv -o data/clean.parquet --schema schema.yaml --fail-on type,range',
  ]
  static override args = {
    input: Args.string({required: true, ignoreStdin: true, description: 'The input file (.csv, .tsv, .jsonl, .ndjson or .parquet).'}),
  }
  static override flags = {
    out: Flags.string({char: 'o', description: 'The output file (.parquet, .csv, .tsv or .jsonl).', required: true}),
    schema: Flags.string({description: 'A schema file (YAML) with the rules.'}),
    'drop-duplicates': Flags.boolean({description: 'Remove rows equal in every column to an earlier row.'}),
    nulls: Flags.string({description: 'What to do with nulls in columns whose rules say nothing (default: keep).', options: ['keep', 'drop', 'fill', 'fail']}),
    fill: Flags.string({description: 'The value --nulls fill puts in place of nulls.'}),
    outliers: Flags.string({description: 'Outlier rules, METHOD:COLUMN[:K] with METHOD iqr (K default 1.5) or zscore (K default 3); comma list, repeatable.', multiple: true, multipleNonGreedy: true}),
    'fail-on': Flags.string({description: 'Rules that fail the stage when they find anything (comma list, repeatable; or any).', multiple: true, multipleNonGreedy: true}),
    report: Flags.string({description: 'Write the report (rows removed or fixed per rule) to this JSON file.'}),
    json: Flags.boolean({description: 'Print the report as JSON.'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Clean)
    const {report, output} = await clean({
      input: args.input,
      out: flags.out,
      schema: flags.schema,
      dropDuplicates: flags['drop-duplicates'],
      nulls: flags.nulls,
      fill: flags.fill,
      outliers: flags.outliers,
      failOn: flags['fail-on'],
      report: flags.report,
    })
    if (flags.json) return this.printJson(report)
    this.say(`${report.rows_in} rows in, ${report.rows_out} out: ${output}`)
    const removed = Object.entries(report.removed)
    if (removed.length > 0) this.say(`removed: ${removed.map(([rule, n]) => `${rule} ${n}`).join(', ')}`)
    if (report.fixed.nulls !== undefined) this.say(`fixed: nulls ${report.fixed.nulls}`)
  }
}
