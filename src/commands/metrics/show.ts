import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../../cli/base-command.js'
import {revisionFlags, revisionSelection, tableFlags, tableFormat} from '../../cli/flags.js'
import {renderTable} from '../../metrics/table.js'
import {show, type Value} from '../../metrics/values.js'
import {metricsShow} from '../../repo/metrics.js'

export default class MetricsShow extends DvCommand {
  static override summary = 'Show metrics, in the workspace and at other revisions.'
  static override description = `Reads the metrics files that dv.yaml declares (top-level 'metrics:' and each stage's metrics outputs), or the files given, in the workspace and at each revision of -r/--all-branches/--all-tags/--all-commits. JSON, YAML and CSV/TSV files are read; nested keys are flattened as a.b.c. A revision without metrics is listed as such.`
  static override examples = ['<%= config.bin %> metrics show', '<%= config.bin %> metrics show -r main -r v1.0 --md', '<%= config.bin %> metrics show --all-commits --csv']
  static override strict = false
  static override args = {
    targets: Args.string({ignoreStdin: true, description: 'Metrics files (default: those dv.yaml declares).'}),
  }
  static override flags = {
    ...revisionFlags,
    rev: Flags.string({char: 'r', description: 'Also this revision (repeatable).', multiple: true, multipleNonGreedy: true}),
    ...tableFlags,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(MetricsShow)
    const rows = await metricsShow(argv as string[], revisionSelection(flags))
    if (flags.json) return this.printJson(Object.fromEntries(rows.map((r) => [r.rev, r.metrics])))
    const keys = [...new Set(rows.flatMap((r) => Object.values(r.metrics).flatMap((m) => Object.keys(m))))]
    const withRev = rows.length > 1
    const table: string[][] = []
    for (const r of rows) {
      const files = Object.entries(r.metrics)
      if (files.length === 0) table.push([...(withRev ? [r.rev] : []), '(no metrics)', ...keys.map(() => '-')])
      for (const [path, m] of files) table.push([...(withRev ? [r.rev] : []), path, ...keys.map((k) => show(m[k] as Value | undefined, flags.precision ?? 5))])
    }
    process.stdout.write(renderTable([...(withRev ? ['Revision'] : []), 'Path', ...keys], table, tableFormat(flags)))
  }
}
