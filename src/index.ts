/**
 * dv as a library: every command is one of these functions, callable with no terminal attached.
 *
 * @example
 *   import {add, status} from 'dv'
 *   await add(['data/images'], {cwd: '/path/to/repo'})
 *   const report = await status([], {cwd: '/path/to/repo'})   // {} when up to date
 */
export {add, type AddedOut, type AddOptions} from './repo/add.js'
export {checkout, type CheckoutOptions, type CheckoutResult} from './repo/checkout.js'
export {commit, type CommitOptions, type CommitResult} from './repo/commit.js'
export {init, type InitResult} from './repo/init.js'
export {remove, type RemoveResult} from './repo/remove.js'
export {status, statusJson, type OutStatus, type StatusReport} from './repo/status.js'
export {unprotect} from './repo/unprotect.js'
export {Repo, type TrackedOut} from './repo/repo.js'
export {Config, type ConfigLevel} from './repo/config.js'
export {ObjectStore} from './odb/store.js'
export {hashBytes, loadHasher, createHasher} from './hash/blake3.js'
export * from './errors.js'
