import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {lockFlags} from '../cli/flags.js'
import {importData} from '../repo/import.js'

export default class Import extends DvCommand {
  static override summary = 'Track a dataset or model from another dv repository, with its origin.'
  static override description = `Like 'dv get', but the data becomes part of this repository: its objects go into the cache, it is checked out at --out (default: the target's name), and <out>.dv records where it came from (deps: repo url, rev, rev_lock) so 'dv update' can move it to a newer version. The source is a local path or any git URL; its objects come as for 'dv get'.`
  static override examples = ['<%= config.bin %> import ../datasets data/images', '<%= config.bin %> import ../datasets data/images --rev v2.0 -o images']
  static override args = {
    repository: Args.string({ignoreStdin: true, description: 'The dv repository to import from (a local path or git URL).', required: true}),
    target: Args.string({ignoreStdin: true, description: 'A tracked path or pointer file in that repository.', required: true}),
  }
  static override locksRepository = true
  static override flags = {
    ...lockFlags,
    rev: Flags.string({description: 'Revision of the source repository to follow (branch, tag, commit).'}),
    out: Flags.string({char: 'o', description: 'Where to put the data in this repository.'}),
    force: Flags.boolean({char: 'f', description: 'Replace what is at the output path.'}),
    json: Flags.boolean({description: 'Print the result as JSON.'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Import)
    const r = await importData(args.repository, args.target, {rev: flags.rev, out: flags.out, force: flags.force})
    if (flags.json) return this.printJson(r)
    this.say(`imported ${args.target} from ${r.url} at ${r.rev_lock.slice(0, 8)} → ${r.path} (${r.pointer})`)
  }
}
