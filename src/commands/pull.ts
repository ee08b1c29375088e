import {Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {lockFlags, runCacheFlag, targetsArg, transferFlags} from '../cli/flags.js'
import {pull} from '../repo/transfer.js'

export default class Pull extends DvCommand {
  static override summary = 'Fetch the data of tracked paths from a remote and check it out.'
  static override description = `'dv fetch' then 'dv checkout': downloads what the cache lacks (checked against its ids) and makes the workspace match the pointers, with checkout's never-lose rule (--force to overwrite uncommitted changes).`
  static override examples = ['<%= config.bin %> pull', '<%= config.bin %> pull data/images -r backup']
  static override strict = false
  static override args = targetsArg
  static override locksRepository = true
  static override flags = {
    ...lockFlags,
    ...transferFlags,
    ...runCacheFlag,
    force: Flags.boolean({char: 'f', description: 'Overwrite workspace changes that are not in the cache.'}),
    json: Flags.boolean({description: 'Print the result as JSON.'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Pull)
    const progress = this.progress('Pulling')
    const r = await pull(argv as string[], {remote: flags.remote, jobs: flags.jobs, runCache: flags['run-cache'], force: flags.force, onProgress: progress.update, onTotal: progress.total})
    progress.done()
    if (flags.json) return this.printJson(r)
    const c = r.checkout
    this.say(`${r.transferred} objects fetched (${r.skipped} already there)${r.runs === undefined ? '' : `, ${r.runs} run records`} — remote ${r.remote}`)
    this.say(`${c.added.length} files added, ${c.modified.length} modified, ${c.deleted.length} deleted`)
    for (const f of c.failed) process.stderr.write(`ERROR: ${f.error}\n`)
    if (c.failed.length > 0) process.exitCode = 1
  }
}
