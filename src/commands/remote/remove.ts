import {Args} from '@oclif/core'

import {DvCommand} from '../../cli/base-command.js'
import {removeRemote} from '../../repo/remotes.js'

export default class RemoteRemove extends DvCommand {
  static override summary = 'Remove a remote (from .dv/config and .dv/config.local).'
  static override description = 'The data on the remote is not touched. If it was the default remote, there is no default any more.'
  static override examples = ['<%= config.bin %> remote remove backup']
  static override args = {
    name: Args.string({ignoreStdin: true, description: 'Name of the remote.', required: true}),
  }

  async run(): Promise<void> {
    const {args} = await this.parse(RemoteRemove)
    removeRemote(args.name)
    this.say(`removed remote ${args.name}`)
  }
}
