/**
 * Stage outputs as tracked outputs: what dv.lock records for the outputs dv.yaml stores in the
 * cache (`cache: false` ones are not in any cache). `dv checkout`, `push`, `fetch` and `pull`
 * cover them beside the pointer files' outputs, as DVC does for dvc.lock.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {LOCK_FILE, readLock, type LockedPath} from '../pipeline/lock.js'
import {RunCache} from '../pipeline/runcache.js'
import {loadPipeline} from '../pipeline/schema.js'
import type {Repo, TrackedOut} from './repo.js'

export function pipelineOuts(repo: Repo): TrackedOut[] {
  if (!existsSync(repo.abs(LOCK_FILE))) return []
  const cached = new Set((loadPipeline(repo.root)?.stages ?? []).flatMap((s) => s.outs.filter((o) => o.cache).map((o) => o.path)))
  const outs: TrackedOut[] = []
  for (const stage of readLock(repo.root).values()) outs.push(...asTrackedOuts(stage.outs.filter((o) => cached.has(o.path))))
  return outs
}

/** Stage outputs (of dv.lock or a run record) as tracked outputs of dv.lock. */
export function asTrackedOuts(outs: readonly LockedPath[]): TrackedOut[] {
  return outs.map((o) => ({pointer: LOCK_FILE, path: o.path, out: {path: o.path, oid: o.oid, size: o.size, ...(o.nfiles === undefined ? {} : {nfiles: o.nfiles})}}))
}

/** The repository's run-cache. */
export function runCacheOf(repo: Repo): RunCache {
  return new RunCache(join(repo.dvDir, 'cache', 'runs'))
}

/** The outputs of the pointer files and of dv.lock. */
export function allTrackedOuts(repo: Repo): TrackedOut[] {
  return [...repo.trackedOuts(), ...pipelineOuts(repo)]
}
