import {Args} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {lockFlags} from '../cli/flags.js'
import {unprotect} from '../repo/unprotect.js'

export default class Unprotect extends DvCommand {
  static override summary = 'Make linked workspace files writable copies.'
  static override description = `With core.link_type hardlink or symlink, tracked files are read-only links into the cache. unprotect replaces them by writable copies, so editing them never corrupts the cache. Then edit, and 'dv commit'.`
  static override examples = ['<%= config.bin %> unprotect data/images/cat.png', '<%= config.bin %> unprotect data/images']
  static override strict = false
  static override args = {
    targets: Args.string({ignoreStdin: true, description: 'Tracked paths or paths inside tracked directories.', required: true}),
  }

  static override locksRepository = true
  static override flags = {...lockFlags}

  async run(): Promise<void> {
    const {argv} = await this.parse(Unprotect)
    const done = await unprotect(argv as string[])
    this.say(done.length === 0 ? 'Nothing to unprotect: the files are already writable copies.' : `unprotected ${done.length} ${done.length === 1 ? 'file' : 'files'}`)
  }
}
