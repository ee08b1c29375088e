/**
 * `dv commit`: records the current content of tracked paths into the store and updates their
 * pointer files. With a message it also makes a git commit of exactly the pointer files, the
 * `.gitignore` files dv manages and `dv.lock`, through git itself (hooks and identity included),
 * so `dv add` + `dv commit -m` is the whole loop.
 */
import {existsSync} from 'node:fs'

import {DvError, PathNotFoundError} from '../errors.js'
import {ignoreFileFor} from './gitignore.js'
import {recordPath} from './record.js'
import {loadHasher} from '../hash/blake3.js'
import {Repo} from './repo.js'
import {resolveTargets} from './targets.js'
import {crashPoint} from '../util/crash.js'

export interface CommitOptions {
  cwd?: string
  message?: string
  onProgress?: (files: number, bytes: number) => void
}

export interface CommitResult {
  /** Outputs whose pointer changed. */
  updated: Array<{pointer: string; path: string; oid: string; size: number; nfiles?: number}>
  unchanged: string[]
  /** The git commit made with `message`; undefined when there was nothing new for git. */
  gitCommit?: string
}

export async function commit(targets: string[] = [], options: CommitOptions = {}): Promise<CommitResult> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  await loadHasher()
  if (options.message !== undefined && !repo.git) throw new DvError('ENOSCM', 'cannot make a git commit: this repository was made with --no-scm')
  const result: CommitResult = {updated: [], unchanged: []}
  const selected = resolveTargets(repo, targets, cwd)
  const pointers = [...new Set(selected.map((t) => t.pointer))]
  try {
    for (const pointerFile of pointers) {
      const pointer = repo.readPointer(pointerFile)
      let changed = false
      for (const entry of pointer.outs) {
        const path = repo.outPath(pointerFile, entry)
        if (!existsSync(repo.abs(path))) {
          throw new PathNotFoundError(`${path} (tracked by ${pointerFile}; restore it with 'dv checkout' or stop tracking it with 'dv remove')`)
        }
        const {out} = await recordPath(repo, path, options.onProgress)
        crashPoint('commit.recorded')
        if (entry.oid !== out.oid || entry.size !== out.size || entry.nfiles !== out.nfiles) {
          Object.assign(entry, out)
          if (out.nfiles === undefined) delete entry.nfiles
          changed = true
          result.updated.push({pointer: pointerFile, path, ...out})
        } else {
          result.unchanged.push(path)
        }
      }
      if (changed) repo.writePointer(pointerFile, pointer)
      crashPoint('commit.pointer-written')
    }
  } finally {
    repo.state.save()
  }
  if (options.message !== undefined && repo.git) {
    const paths = new Set<string>()
    for (const t of selected) {
      paths.add(t.pointer)
      const ignore = ignoreFileFor(t.path)
      if (existsSync(repo.abs(ignore))) paths.add(ignore)
    }
    if (existsSync(repo.abs('dv.lock'))) paths.add('dv.lock')
    result.gitCommit = await repo.git.commit(options.message, [...paths])
  }
  return result
}
