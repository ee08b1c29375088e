import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../../cli/base-command.js'
import {collectPlots, revisionNamed} from '../../repo/plots.js'
import {plotsOutputFlags, writePlots} from '../../cli/plots-output.js'

export default class PlotsShow extends DvCommand {
  static override summary = 'Draw the plots of the workspace (and of other revisions) into one HTML file.'
  static override description = `Draws the plots dv.yaml declares (top-level 'plots:' and each stage's plot outputs), or the files or plot ids given, as one self-contained HTML page (dv_plots/index.html by default) that opens without a network. Data files are JSON, YAML, CSV or TSV, drawn with DVC's templates (linear, simple, scatter, bar, bar_horizontal, confusion...); images (png, jpg, gif, svg) are shown as they are. Each -r/--rev revision is drawn in the same chart as the workspace, one colour per revision. --json prints the Vega-Lite specs instead.`
  static override examples = ['<%= config.bin %> plots show', '<%= config.bin %> plots show plots/loss.csv -r main', '<%= config.bin %> plots show -r v1.0 -r v2.0 -o report', '<%= config.bin %> plots show --json']
  static override strict = false
  static override args = {
    targets: Args.string({ignoreStdin: true, description: 'Plot ids, files or directories (default: every plot dv.yaml declares).'}),
  }
  static override flags = {
    rev: Flags.string({char: 'r', description: 'Also draw this revision (repeatable).', multiple: true, multipleNonGreedy: true}),
    ...plotsOutputFlags,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(PlotsShow)
    const plots = await collectPlots([undefined, ...(flags.rev ?? []).map(revisionNamed)], {targets: argv as string[]})
    if (flags.json) return this.printJson(plots.plots)
    this.say(await writePlots(flags.out, plots))
  }
}
