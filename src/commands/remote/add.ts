import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../../cli/base-command.js'
import {addRemote} from '../../repo/remotes.js'

export default class RemoteAdd extends DvCommand {
  static override summary = 'Add a remote: a directory or an S3 bucket.'
  static override description = `URL is a local or mounted directory (relative paths are relative to the repository root) or s3://bucket/prefix (any S3-compatible endpoint: set endpointurl with 'dv remote modify'). Written to .dv/config, or .dv/config.local with --local.`
  static override examples = ['<%= config.bin %> remote add -d storage s3://my-bucket/datasets', '<%= config.bin %> remote add backup /mnt/nas/dv']
  static override args = {
    name: Args.string({ignoreStdin: true, description: 'Name of the remote.', required: true}),
    url: Args.string({ignoreStdin: true, description: 'Directory path or s3://bucket/prefix.', required: true}),
  }
  static override flags = {
    default: Flags.boolean({char: 'd', description: 'Make it the default remote.'}),
    local: Flags.boolean({description: 'Write to .dv/config.local (not committed).'}),
    force: Flags.boolean({char: 'f', description: 'Replace a remote of the same name.'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(RemoteAdd)
    const r = addRemote(args.name, args.url, {makeDefault: flags.default, local: flags.local, force: flags.force})
    this.say(`added remote ${r.name} → ${r.url}${r.isDefault ? ' (default)' : ''}`)
  }
}
