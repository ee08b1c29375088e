import {Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {installHooks} from '../repo/hooks.js'

export default class InstallHooks extends DvCommand {
  static override summary = 'Install git hooks that keep the data in line with git.'
  static override description = `post-checkout (after switching branches or commits) and post-merge run 'dv checkout', so the workspace data follows git; pre-push runs 'dv push' to the default remote, so what a pushed commit pins can be pulled (a failed push stops the git push; with no default remote it only says so). A hook you already had keeps running, first, with the same arguments. --uninstall removes dv's hooks and puts yours back. The hooks call this dv installation by its absolute path.`
  static override examples = ['<%= config.bin %> install-hooks', '<%= config.bin %> install-hooks --uninstall']
  static override flags = {
    uninstall: Flags.boolean({description: "Remove dv's hooks (and restore the ones they chained)."}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(InstallHooks)
    const done = installHooks({uninstall: flags.uninstall})
    if (done.length === 0) this.say(flags.uninstall ? 'No dv hooks were installed.' : 'Nothing to do.')
    for (const d of done) this.say(`${d.hook}: ${d.action}`)
  }
}
