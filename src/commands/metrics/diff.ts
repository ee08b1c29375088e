import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../../cli/base-command.js'
import {renderDiff} from '../../cli/diff-table.js'
import {tableFlags, tableFormat} from '../../cli/flags.js'
import {label, metricsDiff} from '../../repo/metrics.js'

export default class MetricsDiff extends DvCommand {
  static override summary = 'Compare metrics between two revisions (default: HEAD and the workspace).'
  static override description = `For each metric that differs: its old and new values, and the change (absolute, and relative to the old value). A metric only on one side shows as new or deleted. --all includes unchanged metrics; --md prints a table ready for a pull request comment.`
  static override examples = ['<%= config.bin %> metrics diff', '<%= config.bin %> metrics diff main --md', '<%= config.bin %> metrics diff v1.0 v2.0 --all --precision 3']
  static override args = {
    a: Args.string({ignoreStdin: true, description: 'Old revision (default: HEAD).'}),
    b: Args.string({ignoreStdin: true, description: 'New revision (default: the workspace).'}),
  }
  static override flags = {
    targets: Flags.string({description: 'Metrics files to compare (repeatable; default: those dv.yaml declares).', multiple: true, multipleNonGreedy: true}),
    all: Flags.boolean({description: 'Also list metrics that did not change.'}),
    ...tableFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(MetricsDiff)
    const a = args.a ?? 'HEAD'
    const report = await metricsDiff(a, args.b, {targets: flags.targets, all: flags.all})
    if (flags.json) return this.printJson(report)
    if (Object.keys(report).length === 0 && !flags.md && !flags.csv) return this.say(`No metric changed between ${a} and ${label(args.b)}.`)
    process.stdout.write(renderDiff(report, 'Metric', a, label(args.b), tableFormat(flags), flags.precision))
  }
}
