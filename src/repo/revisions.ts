/**
 * Tracked data at a git revision: the pointer files of any commit, branch, tag or `HEAD~3`,
 * read from git objects through one `git cat-file --batch` process (src/scm/objects.ts), without
 * touching the work tree or the index.
 */
import {parsePointer, POINTER_SUFFIX} from '../models/pointer.js'
import type {GitObjects} from '../scm/objects.js'
import type {Repo, TrackedOut} from './repo.js'

/** The outputs recorded by the pointer files of a revision. */
export async function outsAt(repo: Repo, objects: GitObjects, rev: string): Promise<TrackedOut[]> {
  const commit = await objects.commitOf(rev)
  const pointers = await objects.listFiles(`${commit}^{tree}`, (name) => name.endsWith(POINTER_SUFFIX) && name.length > POINTER_SUFFIX.length)
  const outs: TrackedOut[] = []
  for (const [pointer, blob] of [...pointers].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const obj = await objects.read(blob)
    if (!obj) continue
    for (const out of parsePointer(obj.data.toString('utf8'), `${pointer} (at ${rev})`).outs) outs.push({pointer, out, path: repo.outPath(pointer, out)})
  }
  return outs
}
