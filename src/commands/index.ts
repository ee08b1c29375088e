/**
 * The command registry oclif loads (`oclif.commands` in package.json, strategy "explicit").
 * One file per command beside this one; add each new command here.
 */
import Add from './add.js'
import Checkout from './checkout.js'
import Commit from './commit.js'
import Config from './config.js'
import Diff from './diff.js'
import Gc from './gc.js'
import Get from './get.js'
import Import from './import.js'
import Init from './init.js'
import InstallHooks from './install-hooks.js'
import Log from './log.js'
import Remove from './remove.js'
import Status from './status.js'
import Unprotect from './unprotect.js'
import Update from './update.js'

export const COMMANDS = {
  add: Add,
  checkout: Checkout,
  commit: Commit,
  config: Config,
  diff: Diff,
  gc: Gc,
  get: Get,
  import: Import,
  init: Init,
  'install-hooks': InstallHooks,
  log: Log,
  remove: Remove,
  status: Status,
  unprotect: Unprotect,
  update: Update,
}
