/**
 * `dv remove`: stops tracking. The pointer file and its `.gitignore` line go; the data stays in
 * the workspace and in the cache.
 */
import {unlinkSync} from 'node:fs'

import {removeIgnoreLine} from './gitignore.js'
import {Repo} from './repo.js'
import {resolveTargets} from './targets.js'

export interface RemoveResult {
  pointer: string
  paths: string[]
  gitignore: string[]
}

export function remove(targets: string[], options: {cwd?: string} = {}): RemoveResult[] {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  const byPointer = new Map<string, string[]>()
  for (const t of resolveTargets(repo, targets, cwd)) {
    if (t.within) continue
    if (!byPointer.has(t.pointer)) byPointer.set(t.pointer, repo.trackedOuts([t.pointer]).map((o) => o.path))
  }
  const results: RemoveResult[] = []
  for (const [pointer, paths] of byPointer) {
    unlinkSync(repo.abs(pointer))
    const gitignore = paths.map((p) => removeIgnoreLine(repo.root, p)).filter((g): g is string => g !== undefined)
    results.push({pointer, paths, gitignore})
  }
  return results
}
