import {Flags} from '@oclif/core'

import {DvCommand} from '../../cli/base-command.js'
import {listRemotes} from '../../repo/remotes.js'
import {Repo} from '../../repo/repo.js'

export default class RemoteList extends DvCommand {
  static override summary = 'List the remotes.'
  static override examples = ['<%= config.bin %> remote list']
  static override flags = {
    json: Flags.boolean({description: 'Print the remotes as JSON (secrets shown as ***).'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(RemoteList)
    const remotes = listRemotes(Repo.open())
    if (flags.json) return this.printJson(remotes)
    for (const r of remotes) {
      const opts = Object.entries(r.options).map(([k, v]) => `${k}=${v}`)
      this.say(`${r.name}\t${r.url}${r.isDefault ? '\t(default)' : ''}${opts.length ? `\t${opts.join(' ')}` : ''}`)
    }
  }
}
