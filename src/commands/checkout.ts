import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {lockFlags} from '../cli/flags.js'
import {checkout} from '../repo/checkout.js'

const LIST_LIMIT = 20

export default class Checkout extends DvCommand {
  static override summary = 'Make the workspace match the pointer files.'
  static override description = `Writes, from the cache, only the files that differ from what the pointers record, and deletes files a tracked directory no longer has. A workspace file whose content is not in the cache (changes not committed to dv) is never overwritten or deleted: checkout stops, names it, and changes nothing, unless --force.`
  static override examples = ['<%= config.bin %> checkout', '<%= config.bin %> checkout data/images --force', '<%= config.bin %> checkout --rev v1.0 data/images']
  static override strict = false
  static override args = {
    targets: Args.string({ignoreStdin: true, description: 'Pointer files or tracked paths, or paths inside tracked directories (default: all).'}),
  }
  static override locksRepository = true
  static override flags = {
    ...lockFlags,
    force: Flags.boolean({char: 'f', description: 'Overwrite or delete workspace changes that are not in the cache.'}),
    rev: Flags.string({description: "Check out the data of this git revision (branch, tag, HEAD~3, hash); git's own checkout and the pointer files are left alone."}),
    json: Flags.boolean({description: 'Print the files added, modified and deleted as JSON.'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Checkout)
    const progress = this.progress('Checking out')
    const r = await checkout(argv as string[], {force: flags.force, rev: flags.rev, onProgress: progress.update})
    progress.done()
    if (flags.json) this.printJson(r)
    else {
      const lines = [...r.added.map((p) => `A\t${p}`), ...r.modified.map((p) => `M\t${p}`), ...r.deleted.map((p) => `D\t${p}`)]
      for (const line of lines.slice(0, LIST_LIMIT)) this.say(line)
      if (lines.length > LIST_LIMIT) this.say(`... and ${lines.length - LIST_LIMIT} more`)
      const n = (k: number, what: string) => `${k} ${k === 1 ? 'file' : 'files'} ${what}`
      if (lines.length > 0) this.say([n(r.added.length, 'added'), n(r.modified.length, 'modified'), n(r.deleted.length, 'deleted')].join(', '))
      else if (r.failed.length === 0) this.say('Workspace already matches the pointers.')
    }
    for (const f of r.failed) process.stderr.write(`ERROR: ${f.error}\n`)
    if (r.failed.length > 0) process.exitCode = 1
  }
}
