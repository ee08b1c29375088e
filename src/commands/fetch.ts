import {Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {lockFlags, revisionFlags, revisionSelection, runCacheFlag, targetsArg, transferFlags} from '../cli/flags.js'
import {fetch} from '../repo/transfer.js'

export default class Fetch extends DvCommand {
  static override summary = 'Download the data of tracked paths from a remote into the cache.'
  static override description = "Downloads the objects of the targets (default: every pointer) that the cache does not have, checking each against its id before it enters the cache (a mismatch is an error naming the object and the remote, and the bytes are discarded). The workspace is not touched: see 'dv pull'."
  static override examples = ['<%= config.bin %> fetch', '<%= config.bin %> fetch data/images -r backup -j 8']
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
    const {argv, flags} = await this.parse(Fetch)
    const progress = this.progress('Fetching')
    const r = await fetch(argv as string[], {remote: flags.remote, jobs: flags.jobs, runCache: flags['run-cache'], ...revisionSelection(flags), onProgress: progress.update, onTotal: progress.total})
    progress.done()
    if (flags.json) return this.printJson(r)
    this.say(`${r.transferred} objects fetched (${r.skipped} already there)${r.runs === undefined ? '' : `, ${r.runs} run records`} — remote ${r.remote}`)
  }
}
