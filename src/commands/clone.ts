import {execFileSync} from 'node:child_process'
import {basename, resolve} from 'node:path'
import {Args} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {transferFlags} from '../cli/flags.js'
import {GitError} from '../errors.js'
import {pull} from '../repo/transfer.js'

export default class Clone extends DvCommand {
  static override summary = 'git clone a dv repository, then dv pull its data.'
  static override description = `Runs 'git clone URL [DIR]' and then 'dv pull' in the new work tree from the default remote (or --remote), so the workspace holds the data its pointers name. Credentials the remote needs go in the clone's .dv/config.local or the environment (AWS_ACCESS_KEY_ID, ...).`
  static override examples = ['<%= config.bin %> clone https://git.example.com/team/ml.git', '<%= config.bin %> clone ../ml ml-copy -r nas']
  static override args = {
    url: Args.string({ignoreStdin: true, description: 'The git repository to clone.', required: true}),
    dir: Args.string({ignoreStdin: true, description: 'Directory to clone into (default: as git names it).'}),
  }
  static override flags = {
    ...transferFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Clone)
    const dir = resolve(args.dir ?? basename(args.url.replace(/\/+$/, '')).replace(/\.git$/, ''))
    try {
      execFileSync('git', ['clone', '--quiet', args.url, dir], {stdio: ['ignore', 'pipe', 'pipe']})
    } catch (error) {
      const msg = ((error as {stderr?: Buffer}).stderr?.toString() ?? '').trim().split('\n').at(-1) ?? ''
      throw new GitError(`git clone: ${msg.replace(/^fatal: /, '')}`)
    }
    const progress = this.progress('Pulling')
    const r = await pull([], {cwd: dir, remote: flags.remote, jobs: flags.jobs, onProgress: progress.update, onTotal: progress.total})
    progress.done()
    this.say(`cloned into ${dir}: ${r.transferred} objects fetched, ${r.checkout.added.length} files checked out`)
    for (const f of r.checkout.failed) process.stderr.write(`ERROR: ${f.error}\n`)
    if (r.checkout.failed.length > 0) process.exitCode = 1
  }
}
