import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../../cli/base-command.js'
import {UsageError} from '../../errors.js'
import {REMOTE_OPTIONS} from '../../repo/config.js'
import {modifyRemote} from '../../repo/remotes.js'

export default class RemoteModify extends DvCommand {
  static override summary = "Set or unset one of a remote's options."
  static override description = `Options: ${REMOTE_OPTIONS.join(', ')}. access_key_id, secret_access_key and session_token are secrets: they are accepted only with --local (.dv/config.local, mode 0600, never committed) and are never printed; the standard AWS environment variables and credential chain work too.`
  static override examples = [
    '<%= config.bin %> remote modify storage endpointurl http://127.0.0.1:9000',
    '<%= config.bin %> remote modify storage region eu-west-1',
    '<%= config.bin %> remote modify --local storage secret_access_key ...',
  ]
  static override args = {
    name: Args.string({ignoreStdin: true, description: 'Name of the remote.', required: true}),
    option: Args.string({ignoreStdin: true, description: 'Option to set.', required: true}),
    value: Args.string({ignoreStdin: true, description: 'Value (omit with --unset).'}),
  }
  static override flags = {
    local: Flags.boolean({description: 'Write to .dv/config.local (not committed).'}),
    unset: Flags.boolean({char: 'u', description: 'Remove the option.'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(RemoteModify)
    if (!flags.unset && args.value === undefined) throw new UsageError('missing value: dv remote modify <name> <option> <value> (or --unset)')
    modifyRemote(args.name, args.option, flags.unset ? undefined : args.value, {local: flags.local})
  }
}
