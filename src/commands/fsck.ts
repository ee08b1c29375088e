import {Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {lockFlags, revisionFlags, revisionSelection} from '../cli/flags.js'
import {formatBytes} from '../cli/progress.js'
import {fsck} from '../repo/fsck.js'

export default class Fsck extends DvCommand {
  static override summary = 'Verify the cache (or a remote): every object intact, every tracked output complete.'
  static override description = `Hashes every object in the cache and compares it with its name, and checks that every output the pointer files and dv.lock name (with --all-branches, --all-tags, --all-commits or --rev, those revisions' too) is there with its whole tree. With --remote, downloads and checks every object on that remote instead (packs by ranges; nothing is stored). With --repair, corrupt objects are moved to .dv/cache/corrupt/ and good copies of them and of missing ones are fetched from --remote (default: the default remote). Exits with 1 while a problem remains.`
  static override examples = ['<%= config.bin %> fsck', '<%= config.bin %> fsck --repair', '<%= config.bin %> fsck --remote storage --all-commits']
  static override locksRepository = true
  static override flags = {
    remote: Flags.string({char: 'r', description: 'Check this remote instead of the cache; with --repair, the remote to fetch from.'}),
    repair: Flags.boolean({description: 'Move corrupt objects aside and fetch good copies (and missing objects) from the remote.'}),
    ...revisionFlags,
    jobs: Flags.integer({char: 'j', description: 'Transfers in flight at once.', min: 1}),
    json: Flags.boolean({description: 'Print the result as JSON.'}),
    ...lockFlags,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Fsck)
    const progress = this.progress('Checking')
    const r = await fsck({
      ...revisionSelection(flags),
      ...(flags.repair ? {repair: true, from: flags.remote} : {remote: flags.remote}),
      jobs: flags.jobs,
      onProgress: (files, bytes) => progress.update(files, bytes),
    }).finally(() => progress.done())
    if (r.problems.length > 0 || r.damagedPacks.length > 0) process.exitCode = 1
    if (flags.json) return this.printJson(r)
    this.say(`Checked ${r.objects} objects (${formatBytes(r.bytes)}) in the ${r.checked}.`)
    for (const pack of r.damagedPacks) this.say(`damaged pack index  packs/${pack}.idx (its objects count as missing; dv push sends them again)`)
    for (const p of r.problems) this.say(`${p.problem.padEnd(7)}  ${p.oid}  ${p.paths.join(', ') || '(not used by any tracked output)'}`)
    if (r.repaired.length > 0) this.say(`Repaired ${r.repaired.length} objects from the remote${r.quarantine ? `; corrupt ones were moved to ${r.quarantine}` : ''}.`)
    if (r.problems.length === 0 && r.damagedPacks.length === 0) this.say('No problems found.')
    else this.say(`${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}.${flags.repair || r.checked !== 'cache' ? '' : ' Run dv fsck --repair to fetch good copies from the remote.'}`)
  }
}
