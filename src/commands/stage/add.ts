import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../../cli/base-command.js'
import {lockFlags} from '../../cli/flags.js'
import {Repo} from '../../repo/repo.js'
import {stageAdd} from '../../pipeline/stage-add.js'

export default class StageAdd extends DvCommand {
  static override summary = 'Add a stage to dv.yaml.'
  static override description = `Writes a stage with its command, dependencies, outputs, params and metrics into dv.yaml (created if needed; dvc.yaml when that is the pipeline file), as 'dvc stage add' does. The stage runs with 'dv repro'. Everything after the flags is the command.`
  static override examples = [
    '<%= config.bin %> stage add -n prepare -d data/raw -d prepare.py -o data/clean python prepare.py',
    '<%= config.bin %> stage add -n train -d data/clean -p train.lr,train.epochs -o model.onnx -m metrics.json --gpus 1 python train.py',
  ]
  static override strict = false
  static override args = {
    command: Args.string({ignoreStdin: true, description: 'The command to run (quote it, or put it after the flags).', required: true}),
  }
  static override locksRepository = true
  static override flags = {
    ...lockFlags,
    name: Flags.string({char: 'n', description: 'Stage name.', required: true}),
    deps: Flags.string({char: 'd', description: 'A dependency (repeatable).', multiple: true, multipleNonGreedy: true}),
    outs: Flags.string({char: 'o', description: 'An output, cached (repeatable).', multiple: true, multipleNonGreedy: true}),
    'outs-no-cache': Flags.string({char: 'O', description: 'An output not stored in the cache (repeatable).', multiple: true, multipleNonGreedy: true}),
    'outs-persist': Flags.string({description: 'An output kept (not removed) before the stage runs (repeatable).', multiple: true, multipleNonGreedy: true}),
    params: Flags.string({char: 'p', description: 'Params used: key,key or file.yaml:key,key (repeatable).', multiple: true, multipleNonGreedy: true}),
    metrics: Flags.string({char: 'm', description: 'A metrics file (repeatable).', multiple: true, multipleNonGreedy: true}),
    'metrics-no-cache': Flags.string({char: 'M', description: 'A metrics file not stored in the cache (repeatable).', multiple: true, multipleNonGreedy: true}),
    plots: Flags.string({description: 'A plots file (repeatable).', multiple: true, multipleNonGreedy: true}),
    wdir: Flags.string({char: 'w', description: 'Working directory of the command, relative to the repository root.'}),
    gpus: Flags.integer({description: 'GPUs the stage needs (dv extension; default 0).', min: 0}),
    'always-changed': Flags.boolean({description: 'Always run the stage.'}),
    desc: Flags.string({description: 'A description.'}),
    force: Flags.boolean({char: 'f', description: 'Replace a stage of the same name.'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(StageAdd)
    const repo = Repo.open(process.cwd())
    const persist = flags['outs-persist'] ?? []
    const file = stageAdd(repo.root, {
      name: flags.name,
      cmd: (argv as string[]).join(' '),
      deps: flags.deps,
      outs: [...(flags.outs ?? []), ...persist],
      persist,
      outsNoCache: flags['outs-no-cache'],
      params: flags.params,
      metrics: flags.metrics,
      metricsNoCache: flags['metrics-no-cache'],
      plots: flags.plots,
      wdir: flags.wdir,
      gpus: flags.gpus,
      alwaysChanged: flags['always-changed'],
      desc: flags.desc,
      force: flags.force,
    })
    this.say(`Added stage ${flags.name} to ${file}.`)
  }
}
