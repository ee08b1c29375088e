import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../../cli/base-command.js'
import type {Rev} from '../../metrics/files.js'
import {collectPlots, revisionNamed} from '../../repo/plots.js'
import {plotsOutputFlags, writePlots} from '../../cli/plots-output.js'

export default class PlotsDiff extends DvCommand {
  static override summary = 'Draw the plots of several revisions in the same charts (default: HEAD and the workspace).'
  static override description = `Like 'dv plots show', for revisions: with none, HEAD and the workspace; with one, that revision and the workspace; with two or more, those revisions (as 'dvc plots diff'). Each chart holds every revision, one colour each; a revision without the plot's file is named under its chart.`
  static override examples = ['<%= config.bin %> plots diff', '<%= config.bin %> plots diff main', '<%= config.bin %> plots diff v1.0 v2.0 --targets plots/loss.csv', '<%= config.bin %> plots diff HEAD~1 --json']
  static override strict = false
  static override args = {
    revs: Args.string({ignoreStdin: true, description: "Revisions to draw; 'workspace' is the workspace (default: HEAD; the workspace is added when fewer than two are given)."}),
  }
  static override flags = {
    targets: Flags.string({description: 'Plot ids, files or directories to draw (repeatable; default: every plot dv.yaml declares).', multiple: true, multipleNonGreedy: true}),
    ...plotsOutputFlags,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(PlotsDiff)
    const plots = await collectPlots(diffRevisions(argv as string[]), {targets: flags.targets})
    if (flags.json) return this.printJson(plots.plots)
    this.say(await writePlots(flags.out, plots))
  }
}

/** DVC's rule: no revision is HEAD against the workspace, one is that revision against it, more are just those (`workspace` among them for the workspace). */
export function diffRevisions(revs: readonly string[]): Rev[] {
  if (revs.length === 0) return ['HEAD', undefined]
  if (revs.length === 1) return [revisionNamed(revs[0]), undefined]
  return revs.map(revisionNamed)
}
