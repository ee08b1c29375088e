import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../../cli/base-command.js'
import {defaultRemote} from '../../repo/remotes.js'

export default class RemoteDefault extends DvCommand {
  static override summary = 'Show or set the default remote.'
  static override examples = ['<%= config.bin %> remote default', '<%= config.bin %> remote default storage', '<%= config.bin %> remote default --unset']
  static override args = {
    name: Args.string({ignoreStdin: true, description: 'Remote to make the default.'}),
  }
  static override flags = {
    unset: Flags.boolean({description: 'Have no default remote.'}),
    local: Flags.boolean({description: 'Write to .dv/config.local (not committed).'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(RemoteDefault)
    const name = defaultRemote(args.name, {unset: flags.unset, local: flags.local})
    if (args.name === undefined && !flags.unset) {
      if (name === undefined) process.exitCode = 1
      else this.say(name)
    }
  }
}
