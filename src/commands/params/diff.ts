import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../../cli/base-command.js'
import {renderDiff} from '../../cli/diff-table.js'
import {tableFlags, tableFormat} from '../../cli/flags.js'
import {label, paramsDiff} from '../../repo/metrics.js'

export default class ParamsDiff extends DvCommand {
  static override summary = 'Compare the params the pipeline uses between two revisions (default: HEAD and the workspace).'
  static override description = `Reads the params files and keys the stages of dv.yaml use (and top-level 'params:' files) at both revisions and lists those whose values differ; --all lists them all.`
  static override examples = ['<%= config.bin %> params diff', '<%= config.bin %> params diff main --md']
  static override args = {
    a: Args.string({ignoreStdin: true, description: 'Old revision (default: HEAD).'}),
    b: Args.string({ignoreStdin: true, description: 'New revision (default: the workspace).'}),
  }
  static override flags = {
    all: Flags.boolean({description: 'Also list params that did not change.'}),
    ...tableFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ParamsDiff)
    const a = args.a ?? 'HEAD'
    const report = await paramsDiff(a, args.b, {all: flags.all})
    if (flags.json) return this.printJson(report)
    if (Object.keys(report).length === 0 && !flags.md && !flags.csv) return this.say(`No param changed between ${a} and ${label(args.b)}.`)
    process.stdout.write(renderDiff(report, 'Param', a, label(args.b), tableFormat(flags), flags.precision, false))
  }
}
