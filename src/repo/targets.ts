/**
 * Turning what a user typed (`data`, `data/`, `data.dv`, `data/images/cat.png`, an absolute
 * path) into the tracked outputs it names, optionally narrowed to a path inside a tracked
 * directory.
 */
import {POINTER_SUFFIX} from '../models/pointer.js'
import {NotTrackedError} from '../errors.js'
import type {Repo, TrackedOut} from './repo.js'

export interface Target extends TrackedOut {
  /** A path inside the tracked directory to narrow to, relative to the root; undefined: all of it. */
  within?: string
}

/** `all`: the outputs to choose from (default: the workspace's pointers; another revision's for --rev). */
export function resolveTargets(repo: Repo, targets: string[], cwd = process.cwd(), all: TrackedOut[] = repo.trackedOuts()): Target[] {
  if (targets.length === 0) return all
  const out: Target[] = []
  for (const t of targets) {
    const rel = repo.resolvePath(t, cwd)
    const byPointer = rel.endsWith(POINTER_SUFFIX) ? all.filter((o) => o.pointer === rel) : []
    if (byPointer.length > 0) {
      out.push(...byPointer)
      continue
    }
    const exact = all.filter((o) => o.path === rel || rel === '')
    if (exact.length > 0) {
      out.push(...exact)
      continue
    }
    const containing = all.find((o) => rel.startsWith(o.path + '/'))
    if (containing) {
      out.push({...containing, within: rel})
      continue
    }
    const inside = all.filter((o) => o.path.startsWith(rel + '/'))
    if (inside.length > 0) {
      out.push(...inside)
      continue
    }
    throw new NotTrackedError(t)
  }
  return out
}
