/**
 * `dv add`: starts tracking files and directories. Each target's content goes into the object
 * store (hashed while it is copied), a `<target>.dv` pointer is written beside it, and the target
 * is added to the `.gitignore` in its directory.
 */
import {existsSync, statSync} from 'node:fs'

import {AlreadyTrackedError, DvError, PathNotFoundError} from '../errors.js'
import {POINTER_SUFFIX} from '../models/pointer.js'
import {stageOutputs} from '../pipeline/schema.js'
import {addIgnoreLine} from './gitignore.js'
import {recordPath} from './record.js'
import {loadHasher} from '../hash/blake3.js'
import {Repo} from './repo.js'
import {crashPoint} from '../util/crash.js'

export interface AddOptions {
  cwd?: string
  onProgress?: (files: number, bytes: number) => void
}

export interface AddedOut {
  pointer: string
  path: string
  oid: string
  size: number
  nfiles?: number
  /** .gitignore files that were changed. */
  gitignore?: string
}

const under = (child: string, parent: string) => child.startsWith(parent + '/')

export async function add(paths: string[], options: AddOptions = {}): Promise<AddedOut[]> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  await loadHasher()
  const shownAs = new Map<string, string>()
  for (const p of paths) {
    const rel = repo.resolvePath(p, cwd)
    if (!shownAs.has(rel)) shownAs.set(rel, p)
  }
  const rels = [...shownAs.keys()]
  const tracked = repo.trackedOuts()
  const stageOuts = stageOutputs(repo.root)
  for (const rel of rels) {
    const shown = shownAs.get(rel)!
    if (rel === '') throw new DvError('EROOT', 'cannot add the repository root itself; add the directories inside it')
    if (!existsSync(repo.abs(rel))) throw new PathNotFoundError(shown)
    if (rel.endsWith(POINTER_SUFFIX) && statSync(repo.abs(rel)).isFile()) {
      throw new DvError('EPOINTER', `${shown} is a dv pointer file; add the path it points to instead`)
    }
    for (const t of tracked) {
      if (t.path === rel && t.pointer !== rel + POINTER_SUFFIX) throw new AlreadyTrackedError(shown, t.pointer)
      if (under(rel, t.path)) throw new AlreadyTrackedError(shown, `${t.pointer} (inside ${t.path})`)
      if (under(t.path, rel)) throw new AlreadyTrackedError(`${shown} contains ${t.path}, which`, t.pointer)
    }
    for (const s of stageOuts) {
      if (s.path === rel || under(rel, s.path) || under(s.path, rel)) {
        throw new AlreadyTrackedError(shown, `stage '${s.stage}' (it produces ${s.path}); dv repro tracks it`)
      }
    }
    for (const other of rels) {
      if (under(rel, other)) throw new DvError('EOVERLAP', `${shown} is inside ${other}, which is also being added`)
    }
  }
  const inGit = repo.git?.tracked(rels) ?? []
  if (inGit.length > 0) {
    throw new DvError('EGITTRACKED', `${inGit[0]} is tracked by git; stop that first with 'git rm -r --cached ${inGit[0]}'`)
  }

  const results: AddedOut[] = []
  try {
    for (const rel of rels) {
      const {out} = await recordPath(repo, rel, options.onProgress)
      crashPoint('add.recorded')
      const pointer = rel + POINTER_SUFFIX
      const name = rel.slice(rel.lastIndexOf('/') + 1)
      const previous = existsSync(repo.abs(pointer)) ? repo.readPointer(pointer) : undefined
      repo.writePointer(pointer, {outs: [{path: name, ...out}], extra: previous?.extra ?? {}})
      crashPoint('add.pointer-written')
      const gitignore = repo.git ? addIgnoreLine(repo.root, rel) : undefined
      results.push({pointer, path: rel, ...out, gitignore})
    }
  } finally {
    repo.state.save()
  }
  return results
}
