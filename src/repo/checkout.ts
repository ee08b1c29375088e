/**
 * `dv checkout`: makes the workspace match the pointer files, touching only files that differ.
 * It first plans every target; if any file it would overwrite or delete holds content that is
 * not in the cache (changes the user has not committed to dv), it stops before changing
 * anything, unless `force`.
 */
import {readdirSync, rmdirSync, statSync, unlinkSync} from 'node:fs'
import {dirname} from 'node:path'

import {fromSystemError, GitError, MissingObjectError, UncommittedChangesError} from '../errors.js'
import {GitObjects} from '../scm/objects.js'
import {diffSides, storedSideAt, workspaceSide, type Change} from '../workspace/diff.js'
import {linkMany} from '../workspace/link.js'
import {scanPath} from '../workspace/scan.js'
import {loadHasher} from '../hash/blake3.js'
import {allTrackedOuts} from './pipeline-outs.js'
import {Repo, type TrackedOut} from './repo.js'
import {outsAt} from './revisions.js'
import {resolveTargets, type Target} from './targets.js'
import {crashPoint} from '../util/crash.js'

export interface CheckoutOptions {
  cwd?: string
  force?: boolean
  /** Put the data of this git revision in the workspace instead (pointer files are left alone). */
  rev?: string
  /** Check out these outputs instead of those the pointers and dv.lock name. */
  outs?: TrackedOut[]
  onProgress?: (files: number, bytes: number) => void
}

export interface CheckoutResult {
  added: string[]
  modified: string[]
  deleted: string[]
  /** Outputs that could not be checked out, with the reason. */
  failed: Array<{path: string; error: string}>
}

interface Plan {
  target: Target
  changes: Change[]
}

/** Removes directories left empty by deletions, from `dir` up to (not including) `stop`. */
function pruneEmptyDirs(repo: Repo, dir: string, stop: string): void {
  while (dir !== stop && dir.startsWith(stop + '/')) {
    try {
      if (readdirSync(repo.abs(dir)).length > 0) return
      rmdirSync(repo.abs(dir))
    } catch {
      return
    }
    dir = dirname(dir)
  }
}

export async function checkout(targets: string[] = [], options: CheckoutOptions = {}): Promise<CheckoutResult> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  await loadHasher()
  const result: CheckoutResult = {added: [], modified: [], deleted: [], failed: []}
  const plans: Plan[] = []
  const conflicts: string[] = []
  try {
    let outs: TrackedOut[] = options.outs ?? allTrackedOuts(repo)
    if (options.rev !== undefined) {
      if (!repo.git) throw new GitError('--rev needs git: this repository was made with --no-scm')
      const objects = new GitObjects(repo.root)
      try {
        outs = await outsAt(repo, objects, options.rev)
      } finally {
        objects.close()
      }
    }
    for (const target of resolveTargets(repo, targets, cwd, outs)) {
      const {out} = target
      const at = target.within ?? target.path
      try {
        if (!repo.odb.has(out.oid)) throw new MissingObjectError(out.oid, target.path)
        const ws = await scanPath(repo.scanContext(options.onProgress), at, false)
        const root = {kind: out.nfiles === undefined ? ('file' as const) : ('tree' as const), oid: out.oid, size: out.size}
        const changes = diffSides(ws && workspaceSide(ws), storedSideAt(repo.odb, root, target.path, at), at)
        const missing = changes.find((c) => c.to && !repo.odb.has(c.to.oid))
        if (missing) throw new MissingObjectError(missing.to!.oid, missing.path)
        for (const c of changes) if (c.from && !repo.odb.has(c.from.oid)) conflicts.push(c.path)
        plans.push({target, changes})
      } catch (error) {
        if (!(error instanceof MissingObjectError)) throw error
        result.failed.push({path: target.path, error: error.message})
      }
    }
    if (conflicts.length > 0 && !options.force) throw new UncommittedChangesError(conflicts, 'checkout')

    const writes: Change[] = []
    // Paths that had files deleted below them: a directory there may have to make way for a file.
    const emptied = new Set<string>()
    for (const {target, changes} of plans) {
      // Deletions first: a directory may have to make way for a file, or the other way round.
      for (const c of changes) {
        if (c.kind !== 'deleted') continue
        unlinkSync(repo.abs(c.path))
        crashPoint('checkout.deleted')
        pruneEmptyDirs(repo, dirname(c.path), target.path)
        result.deleted.push(c.path)
        for (let d = dirname(c.path); d !== '.' && !emptied.has(d); d = dirname(d)) emptied.add(d)
      }
      for (const c of changes) if (c.to) writes.push(c)
    }
    for (const c of writes) {
      if (emptied.has(c.path) && statSync(repo.abs(c.path), {throwIfNoEntry: false})?.isDirectory()) rmdirSync(repo.abs(c.path))
    }
    crashPoint('checkout.before-writes')
    const items = writes.map((c) => ({oid: c.to!.oid, dest: repo.abs(c.path), exec: c.to!.exec}))
    const placed = await linkMany(repo.odb, repo.linkTypes(), items, {jobs: repo.jobs(), onProgress: options.onProgress})
    placed.forEach((p, i) => {
      const c = writes[i]
      if (p instanceof Error) throw fromSystemError(p) ?? p
      repo.state.set(c.path, {oid: c.to!.oid, ...p}, true)
      ;(c.kind === 'added' ? result.added : result.modified).push(c.path)
    })
  } finally {
    repo.state.save()
  }
  return result
}
