/**
 * What every dv command shares: `-q/--quiet`, one-line errors with stable exit codes (1 for
 * failures, 2 for usage errors; `DV_DEBUG=1` adds the stack), and progress on stderr.
 */
import {Command, Flags} from '@oclif/core'

import {fromSystemError} from '../errors.js'
import {Progress} from './progress.js'

export abstract class DvCommand extends Command {
  static override baseFlags = {
    quiet: Flags.boolean({char: 'q', description: 'Print nothing but errors.', helpGroup: 'GLOBAL'}),
  }

  protected quiet = false

  override async init(): Promise<void> {
    await super.init()
    this.quiet = this.argv.includes('-q') || this.argv.includes('--quiet')
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
      message = err.message.split('\n')[0]
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
