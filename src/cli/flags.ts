/** Flags and arguments several commands share, declared once. */
import {Args, Flags} from '@oclif/core'

/** Optional pointer files or tracked paths; all of them when none is given. */
export const targetsArg = {
  targets: Args.string({description: 'Pointer files or tracked paths (default: all).'}),
}

/** Which remote, and how many transfers at once. */
export const transferFlags = {
  remote: Flags.string({char: 'r', description: 'Remote to use (default: core.remote).'}),
  jobs: Flags.integer({char: 'j', description: 'Transfers in flight at once.', min: 1}),
}
