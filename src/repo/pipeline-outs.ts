/**
 * Stage outputs as tracked outputs: what dv.lock records for the outputs dv.yaml stores in the
 * cache (`cache: false` ones are not in any cache). `dv checkout`, `push`, `fetch` and `pull`
 * cover them beside the pointer files' outputs, as DVC does for dvc.lock.
 */
import {existsSync} from 'node:fs'

import {LOCK_FILE, readLock} from '../pipeline/lock.js'
import {loadPipeline} from '../pipeline/schema.js'
import type {Repo, TrackedOut} from './repo.js'

export function pipelineOuts(repo: Repo): TrackedOut[] {
  if (!existsSync(repo.abs(LOCK_FILE))) return []
  const cached = new Set((loadPipeline(repo.root)?.stages ?? []).flatMap((s) => s.outs.filter((o) => o.cache).map((o) => o.path)))
  const outs: TrackedOut[] = []
  for (const stage of readLock(repo.root).values()) {
    for (const o of stage.outs) {
      if (!cached.has(o.path)) continue
      outs.push({pointer: LOCK_FILE, path: o.path, out: {path: o.path, oid: o.oid, size: o.size, ...(o.nfiles === undefined ? {} : {nfiles: o.nfiles})}})
    }
  }
  return outs
}

/** The outputs of the pointer files and of dv.lock. */
export function allTrackedOuts(repo: Repo): TrackedOut[] {
  return [...repo.trackedOuts(), ...pipelineOuts(repo)]
}
