import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {formatBytes} from '../cli/progress.js'
import {log} from '../repo/log.js'

export default class Log extends DvCommand {
  static override summary = 'Show the history of a dataset or model.'
  static override description = `One line per commit that changed the target's pointer file, newest first: commit, date, author, message, the version's digest, size and file count, and how many files were added, modified and deleted since the version before (when both trees are in the local cache).`
  static override examples = ['<%= config.bin %> log data/images', '<%= config.bin %> log model.onnx.dv --json']
  static override args = {
    target: Args.string({ignoreStdin: true, description: 'A tracked path or its pointer file (optional when only one is tracked).'}),
  }
  static override flags = {
    'max-count': Flags.integer({char: 'n', description: 'Show at most this many versions.', min: 1}),
    json: Flags.boolean({description: 'Print the history as JSON.'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Log)
    const r = await log(args.target, {maxCount: flags['max-count']})
    if (flags.json) return this.printJson(r)
    if (r.entries.length === 0) {
      this.say(`${r.pointer} has no commits yet.`)
      return
    }
    for (const e of r.entries) {
      const version = e.oid
        ? `${e.oid.slice(0, 12)}  ${formatBytes(e.size!)}${e.nfiles === undefined ? '' : `, ${e.nfiles} files`}`
        : '(not tracked)'
      const changes = e.changes ? `  +${e.changes.added} ~${e.changes.modified} -${e.changes.deleted}` : ''
      this.say(`${e.commit.slice(0, 8)}  ${e.date.slice(0, 19).replace('T', ' ')}  ${e.author}  ${e.message}`)
      this.say(`          ${version}${changes}`)
    }
  }
}
