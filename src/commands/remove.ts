import {Args} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {lockFlags} from '../cli/flags.js'
import {remove} from '../repo/remove.js'

export default class Remove extends DvCommand {
  static override summary = 'Stop tracking a path (the data stays).'
  static override description = `Deletes the pointer file and the path's line in .gitignore. The data stays in the workspace and in the cache.`
  static override examples = ['<%= config.bin %> remove data/images.dv']
  static override strict = false
  static override args = {
    targets: Args.string({ignoreStdin: true, description: 'Pointer files or tracked paths.', required: true}),
  }

  static override locksRepository = true
  static override flags = {...lockFlags}

  async run(): Promise<void> {
    const {argv} = await this.parse(Remove)
    for (const r of remove(argv as string[])) this.say(`removed ${r.pointer} (${r.paths.join(', ')} is no longer tracked)`)
  }
}
