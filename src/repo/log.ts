/**
 * `dv log <target>`: the history of a dataset or model. One `git log` lists the commits that
 * changed its pointer file; one `git cat-file --batch` process reads the pointer at each of them;
 * consecutive versions are compared by tree, walking only the folders that differ.
 */
import {execFileSync} from 'node:child_process'

import {DvError, GitError, MissingObjectError, UsageError} from '../errors.js'
import {loadHasher} from '../hash/blake3.js'
import {parsePointer, type PointerOut} from '../models/pointer.js'
import {GitObjects} from '../scm/objects.js'
import {diffSides, storedSide} from '../workspace/diff.js'
import {Repo} from './repo.js'
import {resolveTargets} from './targets.js'

export interface LogEntry {
  commit: string
  date: string
  author: string
  message: string
  /** Undefined when the pointer no longer tracks the path at this commit (it was removed). */
  oid?: string
  size?: number
  nfiles?: number
  /** File changes from the previous version; undefined for the first one, or when a tree is not in the cache. */
  changes?: {added: number; modified: number; deleted: number}
}

export async function log(target: string | undefined, options: {cwd?: string; maxCount?: number} = {}): Promise<{path: string; pointer: string; entries: LogEntry[]}> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  await loadHasher()
  if (!repo.git) throw new GitError('dv log reads git history: this repository was made with --no-scm')
  const all = repo.trackedOuts()
  let chosen
  if (target === undefined) {
    if (all.length !== 1) throw new UsageError(`name the dataset or model to show (${all.length === 0 ? 'nothing is tracked' : all.map((t) => t.path).join(', ')})`)
    chosen = all[0]
  } else {
    const found = resolveTargets(repo, [target], cwd, all)
    if (found.length !== 1 || found[0].within) throw new DvError('ELOGTARGET', `${target}: name one tracked path or pointer file`)
    chosen = found[0]
  }
  // One more commit than shown, so the oldest shown version has a previous one to compare with.
  const args = ['log', '--format=%H%x1f%an%x1f%aI%x1f%s%x1e', ...(options.maxCount ? [`-n${options.maxCount + 1}`] : []), '--', chosen.pointer]
  let text: string
  try {
    text = execFileSync('git', args, {cwd: repo.root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28})
  } catch (error) {
    throw new GitError(`git log: ${((error as {stderr?: string}).stderr ?? '').trim().split('\n').at(-1)}`)
  }
  const commits = text
    .split('\x1e')
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => r.split('\x1f'))
  const objects = new GitObjects(repo.root)
  const entries: LogEntry[] = []
  try {
    const outs: Array<PointerOut | undefined> = []
    for (const [commit, author, date, message] of commits) {
      const blob = await objects.read(`${commit}:${chosen.pointer}`)
      const out = blob ? parsePointer(blob.data.toString('utf8'), `${chosen.pointer} (at ${commit.slice(0, 8)})`).outs.find((o) => repo.outPath(chosen.pointer, o) === chosen.path) : undefined
      outs.push(out)
      entries.push({commit, date, author, message, ...(out ? {oid: out.oid, size: out.size, ...(out.nfiles === undefined ? {} : {nfiles: out.nfiles})} : {})})
    }
    // git log lists newest first: each entry's previous version is the next one in the list.
    for (let i = 0; i < entries.length - 1; i++) {
      const now = outs[i]
      const before = outs[i + 1]
      if (!now || !before) continue
      const side = (o: PointerOut) => storedSide(repo.odb, {kind: o.nfiles === undefined ? 'file' : 'tree', oid: o.oid, size: o.size})
      try {
        const changes = diffSides(side(before), side(now), chosen.path)
        entries[i].changes = {
          added: changes.filter((c) => c.kind === 'added').length,
          modified: changes.filter((c) => c.kind === 'modified').length,
          deleted: changes.filter((c) => c.kind === 'deleted').length,
        }
      } catch (error) {
        if (!(error instanceof MissingObjectError)) throw error
      }
    }
  } finally {
    objects.close()
  }
  return {path: chosen.path, pointer: chosen.pointer, entries: options.maxCount ? entries.slice(0, options.maxCount) : entries}
}
