/**
 * Tracked data at a git revision: the pointer files of any commit, branch, tag or `HEAD~3`,
 * read from git objects through one `git cat-file --batch` process (src/scm/objects.ts), without
 * touching the work tree or the index.
 */
import {execFileSync} from 'node:child_process'

import {GitError} from '../errors.js'
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

/** Which revisions a command covers besides the workspace (gc, push, fetch). */
export interface RevisionSelection {
  allBranches?: boolean
  allTags?: boolean
  allCommits?: boolean
  revs?: string[]
}

/** Lines a git command prints; a failure is a one-line GitError. */
export function gitLines(root: string, args: string[]): string[] {
  try {
    return execFileSync('git', args, {cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28})
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
  } catch (error) {
    throw new GitError(`git ${args[0]}: ${((error as {stderr?: string}).stderr ?? '').trim().split('\n').at(-1)}`)
  }
}

export function selectsRevisions(s: RevisionSelection): boolean {
  return Boolean(s.allBranches || s.allTags || s.allCommits || s.revs?.length)
}

/** The tracked outputs of every selected revision (read from git objects), and how many revisions. */
export async function outsOfRevisions(repo: Repo, objects: GitObjects, s: RevisionSelection): Promise<{outs: TrackedOut[]; revisions: number}> {
  const revs = new Set<string>(s.revs ?? [])
  if (s.allBranches) gitLines(repo.root, ['for-each-ref', '--format=%(objectname)', 'refs/heads']).forEach((r) => revs.add(r))
  if (s.allTags) gitLines(repo.root, ['for-each-ref', '--format=%(objectname)', 'refs/tags']).forEach((r) => revs.add(r))
  if (s.allCommits) gitLines(repo.root, ['rev-list', '--all']).forEach((r) => revs.add(r))
  const outs: TrackedOut[] = []
  for (const rev of revs) outs.push(...(await outsAt(repo, objects, rev)))
  return {outs, revisions: revs.size}
}
