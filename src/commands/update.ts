import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {lockFlags} from '../cli/flags.js'
import {update} from '../repo/import.js'

export default class Update extends DvCommand {
  static override summary = 'Move imports to the newest version of their source.'
  static override description = `For each imported pointer (see 'dv import'), reads the source repository at the recorded rev (or --rev, which is then recorded), and when its commit changed, fetches that version, updates the pointer's rev_lock and checks the data out. Workspace edits not saved in the cache stop it, as with checkout.`
  static override examples = ['<%= config.bin %> update images.dv', '<%= config.bin %> update images.dv --rev v3.0']
  static override strict = false
  static override args = {
    targets: Args.string({ignoreStdin: true, description: 'Imported pointer files or paths.', required: true}),
  }
  static override locksRepository = true
  static override flags = {
    ...lockFlags,
    rev: Flags.string({description: 'Follow this revision of the source from now on.'}),
    json: Flags.boolean({description: 'Print the result as JSON.'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Update)
    const results = await update(argv as string[], {rev: flags.rev})
    if (flags.json) return this.printJson(results)
    for (const r of results) this.say(r.changed ? `updated ${r.path} to ${r.url} at ${r.rev_lock.slice(0, 8)}` : `${r.path} is up to date (${r.rev_lock.slice(0, 8)})`)
  }
}
