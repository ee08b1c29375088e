import {Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {init} from '../repo/init.js'

export default class Init extends DvCommand {
  static override summary = 'Make this git repository a dv repository.'
  static override description = `Creates .dv/ at the top of the git work tree: the config, the object cache, and the .gitignore lines that keep the cache, the state cache and .dv/config.local out of git. Running it again is harmless. Outside git it fails unless --no-scm.`
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init --no-scm']
  static override flags = {
    'no-scm': Flags.boolean({description: 'Use dv without git (in the current directory).'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Init)
    const r = await init({noScm: flags['no-scm']})
    if (r.created) {
      this.say(`Initialized dv repository in ${r.root}/.dv`)
      if (r.scm) this.say(`dv's files are staged; commit them with: git commit -m "Initialize dv"`)
    } else {
      this.say(`dv repository already initialized in ${r.root}/.dv`)
    }
  }
}
