/**
 * What every dv command shares: `-q/--quiet`, one-line errors with stable exit codes (1 for
 * failures, 2 for usage errors; `DV_DEBUG=1` adds the stack), and progress on stderr.
 */
import {Command, Flags, type Interfaces} from '@oclif/core'

import {join} from 'node:path'

import {fromSystemError} from '../errors.js'
import {RepoLock} from '../repo/lock.js'
import {Repo} from '../repo/repo.js'
import {Progress} from './progress.js'

// oclif's own bounds for parse() (not exported by @oclif/core).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Output = {[name: string]: any}

export abstract class DvCommand extends Command {
  static override baseFlags = {
    quiet: Flags.boolean({char: 'q', description: 'Print nothing but errors.', helpGroup: 'GLOBAL'}),
  }

  /** Commands that change the repository (cache, pointers, dv.lock, tracked data) hold its write lock while they run; they declare `...lockFlags`. */
  static locksRepository = false

  protected quiet = false
  private lock?: RepoLock

  override async init(): Promise<void> {
    await super.init()
    this.quiet = this.argv.includes('-q') || this.argv.includes('--quiet')
  }

  /** Parses the command line; then, for a command that changes the repository, takes its lock. */
  protected override async parse<F extends Output, B extends Output, A extends Output>(options?: Interfaces.Input<F, B, A>, argv?: string[]): Promise<Interfaces.ParserOutput<F, B, A>> {
    const parsed = await super.parse(options, argv)
    if ((this.constructor as typeof DvCommand).locksRepository && !this.lock) {
      const root = Repo.findRoot()
      // Outside a repository there is nothing to lock; the command says what is wrong.
      if (root !== undefined) {
        this.lock = await RepoLock.acquire(join(root, '.dv'), {
          command: this.id?.replaceAll(':', ' ') ?? '?',
          wait: parsed.flags.wait === true,
          onWait: (message) => this.quiet || process.stderr.write(`${message}...\n`),
        })
      }
    }
    return parsed
  }

  override async finally(error: Error | undefined): Promise<unknown> {
    this.lock?.release()
    return super.finally(error)
  }

  /** Prints a line on stdout unless `--quiet`. */
  protected say(line = ''): void {
    if (!this.quiet) process.stdout.write(line + '\n')
  }

  protected printJson(value: unknown): void {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n')
  }

  protected progress(label: string): Progress {
    return new Progress(label, this.quiet)
  }

  protected override async catch(err: Error & {oclif?: {exit?: number}; code?: string}): Promise<void> {
    // this.exit() and oclif's own help/version exits carry on as oclif intends.
    if (err.oclif?.exit !== undefined && err.message.startsWith('EEXIT')) throw err
    const known = fromSystemError(err)
    let code: number
    let message: string
    if (known) {
      code = known.exitCode
      message = known.message
    } else if (err.oclif?.exit !== undefined) {
      code = err.oclif.exit
      // oclif lists missing arguments on the lines after "Missing 2 required args:": name them on one line.
      const [first, ...rest] = err.message.split('\n')
      const missing = first.endsWith(':') ? rest.filter((l) => !/^See more help/.test(l) && l.trim() !== '').map((l) => l.trim().split(/\s+/)[0]) : []
      message = missing.length > 0 ? `${first} ${missing.join(', ')} (see --help)` : first
    } else {
      code = 1
      message = `unexpected error: ${err.message}`
    }
    process.stderr.write(`ERROR: ${message}\n`)
    if (process.env.DV_DEBUG) process.stderr.write(`${err.stack ?? ''}\n`)
    else if (!known && !err.oclif) process.stderr.write('(run with DV_DEBUG=1 for details)\n')
    process.exitCode = code
  }
}
