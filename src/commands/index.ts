/**
 * The command registry oclif loads (`oclif.commands` in package.json, strategy "explicit").
 * One file per command beside this one; add each new command here.
 */
import Add from './add.js'
import Checkout from './checkout.js'
import Clean from './clean.js'
import Clone from './clone.js'
import Commit from './commit.js'
import Compare from './compare.js'
import Config from './config.js'
import Dag from './dag.js'
import DataDiff from './data/diff.js'
import DataStats from './data/stats.js'
import Diff from './diff.js'
import Evaluate from './evaluate.js'
import Fetch from './fetch.js'
import Fsck from './fsck.js'
import Gc from './gc.js'
import Gpus from './gpus.js'
import Get from './get.js'
import Import from './import.js'
import Ingest from './ingest.js'
import Init from './init.js'
import InstallHooks from './install-hooks.js'
import Log from './log.js'
import MetricsDiff from './metrics/diff.js'
import MetricsShow from './metrics/show.js'
import ParamsDiff from './params/diff.js'
import PlotsDiff from './plots/diff.js'
import PlotsShow from './plots/show.js'
import Pull from './pull.js'
import Push from './push.js'
import Remove from './remove.js'
import RemoteAdd from './remote/add.js'
import RemoteDefault from './remote/default.js'
import RemoteList from './remote/list.js'
import RemoteModify from './remote/modify.js'
import RemoteRemove from './remote/remove.js'
import Repro from './repro.js'
import Split from './split.js'
import StageAdd from './stage/add.js'
import Status from './status.js'
import Unprotect from './unprotect.js'
import Update from './update.js'

export const COMMANDS = {
  add: Add,
  checkout: Checkout,
  clean: Clean,
  clone: Clone,
  commit: Commit,
  compare: Compare,
  config: Config,
  dag: Dag,
  'data:diff': DataDiff,
  'data:stats': DataStats,
  diff: Diff,
  evaluate: Evaluate,
  fetch: Fetch,
  fsck: Fsck,
  gc: Gc,
  gpus: Gpus,
  get: Get,
  import: Import,
  ingest: Ingest,
  init: Init,
  'install-hooks': InstallHooks,
  log: Log,
  'metrics:diff': MetricsDiff,
  'metrics:show': MetricsShow,
  'params:diff': ParamsDiff,
  'plots:diff': PlotsDiff,
  'plots:show': PlotsShow,
  pull: Pull,
  push: Push,
  remove: Remove,
  'remote:add': RemoteAdd,
  'remote:default': RemoteDefault,
  'remote:list': RemoteList,
  'remote:modify': RemoteModify,
  'remote:remove': RemoteRemove,
  repro: Repro,
  split: Split,
  'stage:add': StageAdd,
  status: Status,
  unprotect: Unprotect,
  update: Update,
}
