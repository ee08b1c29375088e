import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../../cli/base-command.js'
import {dataOutputFlags} from '../../cli/data-flags.js'
import {renderDataDiff} from '../../cli/data-render.js'
import {dataDiff} from '../../repo/data.js'

export default class DataDiff extends DvCommand {
  static override summary = 'Compare the rows of a tabular file between two revisions (default: HEAD and the workspace).'
  static override description = `Schema changes first (added, dropped, retyped columns), then rows added, removed and modified, each counted with a sample of --limit rows. With --key, rows are matched on those columns (which must identify every row on both sides), and a matched row whose other shared columns differ is modified, with the columns that changed. Without --key, whole rows are compared as multisets: added and removed only, duplicated rows counted as often as they occur. Rows are compared on the columns both versions have. A file missing on one side has every row added (or removed).`
  static override examples = [
    '<%= config.bin %> data diff data/train.csv --key id',
    '<%= config.bin %> data diff data/train.csv v1.0 v2.0 --key user,day --limit 5',
    '<%= config.bin %> data diff data/labels.csv main --md',
  ]
  static override args = {
    target: Args.string({required: true, ignoreStdin: true, description: 'A tabular file (CSV, TSV, JSON lines, Parquet).'}),
    a: Args.string({ignoreStdin: true, description: 'Old revision (default: HEAD).'}),
    b: Args.string({ignoreStdin: true, description: 'New revision (default: the workspace).'}),
  }
  static override flags = {
    key: Flags.string({char: 'k', description: 'Columns that identify a row (comma-separated, or repeated).', multiple: true, multipleNonGreedy: true, delimiter: ','}),
    limit: Flags.integer({char: 'n', description: 'Rows shown per category (added, removed, modified).', default: 10, min: 0}),
    ...dataOutputFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(DataDiff)
    const key = (flags.key ?? []).map((k) => k.trim()).filter((k) => k !== '')
    const report = await dataDiff(args.target, args.a ?? 'HEAD', args.b, {key, limit: flags.limit})
    if (flags.json) return this.printJson(report)
    process.stdout.write(renderDataDiff(report, flags.md ? 'md' : 'text', flags.precision))
  }
}
