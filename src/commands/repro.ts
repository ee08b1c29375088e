import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {lockFlags} from '../cli/flags.js'
import {repro, type StageResult} from '../repo/repro.js'

export default class Repro extends DvCommand {
  static override summary = 'Bring the pipeline (dv.yaml) up to date, running only what changed.'
  static override description = `Runs the stages of dv.yaml (or dvc.yaml) that are stale: never run, or their command, a dependency, a param they use or an output changed since dv.lock. Targets (stage names) narrow the run to them and what is upstream. Before running a stale stage, the run-cache is consulted: if it ran before with the same command, dependencies and params, its outputs are restored from the cache instead. Independent stages run in parallel up to -j; a stage with 'gpus: N' gets N GPUs no other running stage holds (CUDA_VISIBLE_DEVICES). Each run's output is shown behind the stage's name and kept in .dv/logs/<stage>/. A failed stage keeps its previous dv.lock entry and stops the stages after it.`
  static override examples = ['<%= config.bin %> repro', '<%= config.bin %> repro train -f', '<%= config.bin %> repro --dry', '<%= config.bin %> repro -j 4 --keep-going']
  static override strict = false
  static override args = {
    targets: Args.string({ignoreStdin: true, description: 'Stages to bring up to date (default: all).'}),
  }
  static override locksRepository = true
  static override flags = {
    ...lockFlags,
    force: Flags.boolean({char: 'f', description: 'Run the targets (default: all stages) even when up to date, without the run-cache.'}),
    'single-item': Flags.boolean({char: 's', description: 'Only the targets, not the stages upstream of them.'}),
    downstream: Flags.boolean({description: 'The targets and every stage downstream of them.'}),
    dry: Flags.boolean({description: 'Say what would run and why; run nothing.'}),
    jobs: Flags.integer({char: 'j', description: 'Stages to run at once (default 1).', min: 1}),
    pull: Flags.boolean({description: 'First pull the data and the run-cache from the remote, so stages that ran elsewhere are restored, not run.'}),
    remote: Flags.string({char: 'r', description: 'Remote for --pull (default: core.remote).', dependsOn: ['pull']}),
    'no-run-cache': Flags.boolean({description: 'Neither restore from nor record into the run-cache.'}),
    'keep-going': Flags.boolean({char: 'k', description: 'After a failure, let independent stages finish.'}),
    'allow-cpu': Flags.boolean({description: 'Run a stage that needs more GPUs than the machine has on the CPU (CUDA_VISIBLE_DEVICES="") instead of failing.'}),
    json: Flags.boolean({description: 'Print the results as JSON.'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Repro)
    const say = (r: StageResult) => {
      if (flags.json) return
      const why = r.reasons.length > 0 ? ` (${r.reasons.join(', ')})` : ''
      const gpus = r.gpus !== undefined ? ` on GPUs [${r.gpus}]` : ''
      const lines: Record<StageResult['action'], string> = {
        'up to date': `Stage ${r.stage} is up to date.`,
        frozen: `Stage ${r.stage} is frozen: not run.`,
        ran: `Ran stage ${r.stage}${gpus}${why}.`,
        restored: `Restored stage ${r.stage} from the run-cache${why}.`,
        'would run': `Would run stage ${r.stage}${why}.`,
        failed: `Stage ${r.stage} failed: ${r.error}`,
        'not run': `Stage ${r.stage} not run: ${r.reasons.join(', ')}.`,
      }
      if (r.action === 'failed') process.stderr.write(`ERROR: ${lines.failed}\n`)
      else this.say(lines[r.action])
    }
    const results = await repro(argv as string[], {
      force: flags.force,
      single: flags['single-item'],
      downstream: flags.downstream,
      dry: flags.dry,
      jobs: flags.jobs,
      runCache: !flags['no-run-cache'],
      pull: flags.pull,
      remote: flags.remote,
      keepGoing: flags['keep-going'],
      allowCpu: flags['allow-cpu'],
      onStage: say,
      onLine: this.quiet ? () => {} : undefined,
    })
    if (flags.json) this.printJson(results)
    if (results.some((r) => r.action === 'failed')) process.exitCode = 1
  }
}
