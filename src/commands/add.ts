import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {lockFlags} from '../cli/flags.js'
import {formatBytes} from '../cli/progress.js'
import {add} from '../repo/add.js'

export default class Add extends DvCommand {
  static override summary = 'Track files or directories with dv.'
  static override description = `Stores the content of each path in the cache (BLAKE3, hashed while it is copied), writes <path>.dv beside it, and adds the path to the .gitignore in its directory. Directories are stored as trees, one per folder; .dvignore (gitignore syntax) leaves paths out. A file's digest is the plain BLAKE3 of its bytes: b3sum prints the same.`
  static override examples = ['<%= config.bin %> add data/images', '<%= config.bin %> add model.onnx data/train.csv']
  static override strict = false
  static override args = {
    paths: Args.string({ignoreStdin: true, description: 'Files or directories to track.', required: true}),
  }
  static override locksRepository = true
  static override flags = {
    ...lockFlags,
    json: Flags.boolean({description: 'Print what was added as JSON.'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Add)
    const progress = this.progress('Adding')
    const added = await add(argv as string[], {onProgress: progress.update})
    progress.done()
    if (flags.json) return this.printJson(added)
    for (const a of added) {
      const what = a.nfiles === undefined ? formatBytes(a.size) : `${a.nfiles} files, ${formatBytes(a.size)}`
      this.say(`added ${a.path} (${what}) → ${a.pointer}`)
    }
    const toStage = [...new Set(added.flatMap((a) => [a.pointer, ...(a.gitignore ? [a.gitignore] : [])]))]
    if (toStage.length > 0) this.say(`\nTo track the changes with git, run:\n\tgit add ${toStage.join(' ')}`)
  }
}
