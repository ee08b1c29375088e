import {createInterface} from 'node:readline/promises'
import {Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {lockFlags, revisionFlags, revisionSelection} from '../cli/flags.js'
import {formatBytes} from '../cli/progress.js'
import {DvError} from '../errors.js'
import {gc} from '../repo/gc.js'

export default class Gc extends DvCommand {
  static override summary = 'Remove cache objects that nothing keeps.'
  static override description = `Always kept: the data of the workspace's pointer files (committed or not), of pointers staged in git, and of dv.lock. With --all-branches, --all-tags, --all-commits or --rev, the data of those revisions too. A kept directory keeps everything under it. Without -f, gc asks on a terminal and refuses when not on one; --dry only lists what would go.`
  static override examples = ['<%= config.bin %> gc --dry', '<%= config.bin %> gc --all-branches --all-tags -f', '<%= config.bin %> gc --rev v1.0 --rev main -f']
  static override locksRepository = true
  static override flags = {
    ...lockFlags,
    ...revisionFlags,
    dry: Flags.boolean({description: 'List what would be removed, and the bytes freed; remove nothing.'}),
    force: Flags.boolean({char: 'f', description: 'Remove without asking.'}),
    json: Flags.boolean({description: 'Print the result as JSON.'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Gc)
    const confirm = async (objects: number, bytes: number): Promise<boolean> => {
      if (flags.force) return true
      if (!process.stdin.isTTY) throw new DvError('ECONFIRM', `gc would remove ${objects} objects (${formatBytes(bytes)}); not on a terminal to ask, so nothing was removed (use -f)`)
      const rl = createInterface({input: process.stdin, output: process.stderr})
      try {
        return /^y(es)?$/i.test((await rl.question(`Remove ${objects} objects (${formatBytes(bytes)}) from the cache? [y/N] `)).trim())
      } finally {
        rl.close()
      }
    }
    const r = await gc({...revisionSelection(flags), dry: flags.dry, confirm})
    if (flags.json) return this.printJson({...r, dry: flags.dry})
    if (flags.dry) {
      for (const o of r.removed) this.say(`would remove ${o.oid} (${formatBytes(o.size)})`)
      this.say(`${r.removed.length} objects (${formatBytes(r.bytes)}) would be removed; ${r.kept} kept.`)
    } else {
      this.say(`Removed ${r.removed.length} objects (${formatBytes(r.bytes)}); ${r.kept} kept.`)
    }
  }
}
