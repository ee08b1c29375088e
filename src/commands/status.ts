import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {Repo} from '../repo/repo.js'
import {stageStatus} from '../repo/repro.js'
import {status, statusJson} from '../repo/status.js'

export default class Status extends DvCommand {
  static override summary = 'Show what changed in the workspace relative to the pointer files.'
  static override description = `For each .dv pointer: outputs modified or deleted in the workspace, files added, modified or deleted inside tracked directories, and outputs whose content is not in the cache; and the pipeline's stages that dv repro would run, with why (changed dep, param, cmd or output). Unchanged files are recognised by the state cache without being read. Exit code 0 either way; --json prints {} when everything is up to date.`
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status data/images --json']
  static override strict = false
  static override args = {
    targets: Args.string({ignoreStdin: true, description: 'Pointer files or tracked paths (default: all).'}),
  }
  static override flags = {
    json: Flags.boolean({description: 'Print the status as JSON, keyed by pointer file.'}),
    cloud: Flags.boolean({char: 'c', description: 'Compare the cache with a remote instead: what is not pushed, not fetched, or missing from both.'}),
    remote: Flags.string({char: 'r', description: 'Remote for --cloud (default: core.remote).', dependsOn: ['cloud']}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Status)
    if (flags.cloud) {
      const {cloudStatus} = await import('../repo/transfer.js')
      const {remote, report} = await cloudStatus(argv as string[], {remote: flags.remote})
      if (flags.json) return this.printJson(report)
      if (Object.keys(report).length === 0) this.say(`Cache and remote ${remote} are in sync.`)
      for (const [pointer, outs] of Object.entries(report)) {
        this.say(`${pointer}:`)
        for (const o of outs) this.say(`\t${o.state.padEnd(14)}${o.path}`)
      }
      return
    }
    const progress = this.progress('Checking')
    const report = await status(argv as string[], {onProgress: progress.update})
    // Stages of the pipeline that dv repro would run, and why (when no target narrows the status).
    const stages = argv.length === 0 ? await stageStatus(Repo.open(process.cwd())) : {}
    progress.done()
    if (flags.json) return this.printJson({...statusJson(report), ...stages})
    const pointers = Object.keys(report)
    if (pointers.length === 0 && Object.keys(stages).length === 0) {
      this.say('Data and pointers are up to date.')
      return
    }
    for (const [stage, reasons] of Object.entries(stages)) {
      this.say(`${stage} (stage):`)
      for (const r of reasons) this.say(`\t${r}`)
    }
    for (const pointer of pointers) {
      this.say(`${pointer}:`)
      for (const o of report[pointer]) {
        this.say(`\tchanged outs:\n\t\t${o.state.padEnd(14)}${o.path}`)
        if (o.changes.length > 0) {
          this.say('\tchanged files:')
          for (const c of o.changes) this.say(`\t\t${c.kind.padEnd(14)}${c.path}`)
        }
      }
    }
  }
}
