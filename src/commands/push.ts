import {Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {lockFlags, revisionFlags, revisionSelection, runCacheFlag, targetsArg, transferFlags} from '../cli/flags.js'
import {push} from '../repo/transfer.js'

export default class Push extends DvCommand {
  static override summary = 'Send the data of tracked paths to a remote.'
  static override description = "Uploads the objects of the targets (default: every pointer) that the remote does not have yet, deciding what is missing from listings of the remote. Objects under 1 MiB travel in packs (tar files with an index), larger ones alone. Files go before the trees that name them, and nothing becomes visible on the remote until complete, so an interrupted push can simply be run again."
  static override examples = ['<%= config.bin %> push', '<%= config.bin %> push data/images -r backup -j 8']
  static override strict = false
  static override args = targetsArg
  static override locksRepository = true
  static override flags = {
    ...lockFlags,
    ...transferFlags,
    ...runCacheFlag,
    ...revisionFlags,
    json: Flags.boolean({description: 'Print the result as JSON.'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Push)
    const progress = this.progress('Pushing')
    const r = await push(argv as string[], {remote: flags.remote, jobs: flags.jobs, runCache: flags['run-cache'], ...revisionSelection(flags), onProgress: progress.update, onTotal: progress.total})
    progress.done()
    if (flags.json) return this.printJson(r)
    this.say(`${r.transferred} objects pushed (${r.skipped} already there)${r.runs === undefined ? '' : `, ${r.runs} run records`} — remote ${r.remote}`)
  }
}
