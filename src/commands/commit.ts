import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {lockFlags} from '../cli/flags.js'
import {formatBytes} from '../cli/progress.js'
import {commit} from '../repo/commit.js'

export default class Commit extends DvCommand {
  static override summary = 'Record the current content of tracked paths.'
  static override description = `Stores what changed in tracked paths into the cache and updates their pointer files. With -m, also makes a git commit of exactly the pointer files, the .gitignore files dv manages and dv.lock (other staged changes stay staged), running your git hooks with your git identity.`
  static override examples = ['<%= config.bin %> commit', '<%= config.bin %> commit data/images -m "Add 500 new images"']
  static override strict = false
  static override args = {
    targets: Args.string({ignoreStdin: true, description: 'Pointer files or tracked paths (default: all).'}),
  }
  static override locksRepository = true
  static override flags = {
    ...lockFlags,
    message: Flags.string({char: 'm', description: 'Also commit the pointer files to git with this message.'}),
    json: Flags.boolean({description: 'Print the result as JSON.'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Commit)
    const progress = this.progress('Committing')
    const r = await commit(argv as string[], {message: flags.message, onProgress: progress.update})
    progress.done()
    if (flags.json) return this.printJson(r)
    for (const u of r.updated) {
      const what = u.nfiles === undefined ? formatBytes(u.size) : `${u.nfiles} files, ${formatBytes(u.size)}`
      this.say(`updated ${u.pointer}: ${u.path} (${what})`)
    }
    if (r.updated.length === 0) this.say('Nothing changed in the tracked paths.')
    if (flags.message !== undefined) this.say(r.gitCommit ? `git commit ${r.gitCommit.slice(0, 8)}: ${flags.message}` : 'Nothing new to commit to git.')
  }
}
