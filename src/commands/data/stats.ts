import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../../cli/base-command.js'
import {dataOutputFlags} from '../../cli/data-flags.js'
import {renderStats, renderStatsDiff} from '../../cli/data-render.js'
import {UsageError} from '../../errors.js'
import {dataStats, dataStatsDiff} from '../../repo/data.js'

export default class DataStats extends DvCommand {
  static override summary = 'Statistics of the tabular files of a dataset, at one revision or compared between two.'
  static override description = `Reads CSV, TSV, JSON lines (.jsonl, .ndjson) and Parquet files (by extension) of the target, a file or a directory, with DuckDB: rows, and for each column its type, nulls, distinct values, min and max, for numbers mean, standard deviation and quartiles, for other columns the most frequent value. Without -r: the workspace. One -r: that revision. Two: how the statistics changed from the first to the second, schema changes (added, dropped, retyped columns) first; --all also lists statistics that did not change.`
  static override examples = [
    '<%= config.bin %> data stats data',
    '<%= config.bin %> data stats data/train.csv -r v1.0',
    '<%= config.bin %> data stats data -r main -r HEAD --md',
  ]
  static override args = {
    target: Args.string({required: true, ignoreStdin: true, description: 'A tabular file, or a directory of them.'}),
  }
  static override flags = {
    rev: Flags.string({char: 'r', description: 'Revision (give two to compare them; default: the workspace).', multiple: true, multipleNonGreedy: true}),
    all: Flags.boolean({description: 'With two revisions: also list statistics that did not change.'}),
    ...dataOutputFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(DataStats)
    const revs = flags.rev ?? []
    if (revs.length > 2) throw new UsageError(`dv data stats takes at most two revisions (-r a -r b), not ${revs.length}`)
    const format = flags.md ? 'md' : 'text'
    if (revs.length === 2) {
      const report = await dataStatsDiff(args.target, revs[0], revs[1], {all: flags.all})
      if (flags.json) return this.printJson(report)
      process.stdout.write(renderStatsDiff(report, format, flags.precision))
      return
    }
    const report = await dataStats(args.target, revs[0])
    if (flags.json) return this.printJson(report)
    process.stdout.write(renderStats(report, format, flags.precision))
  }
}
