/**
 * `dv status`: for each pointer, what differs in the workspace from what it records. The
 * result is keyed by pointer file, like `dvc status --json`; it is `{}` when all is up to date.
 */
import {diffSides, storedSideAt, workspaceSide, type Change} from '../workspace/diff.js'
import {scanPath} from '../workspace/scan.js'
import {loadHasher} from '../hash/blake3.js'
import {Repo} from './repo.js'
import {resolveTargets, type Target} from './targets.js'

export type OutState = 'modified' | 'deleted' | 'not in cache'

export interface OutStatus {
  path: string
  state: OutState
  /** Files added, modified or deleted inside a tracked directory (when its tree is in the cache). */
  changes: Change[]
}

/** pointer file → the outputs of it that are not up to date. */
export type StatusReport = Record<string, OutStatus[]>

export interface StatusOptions {
  cwd?: string
  onProgress?: (files: number, bytes: number) => void
}

export async function outStatus(repo: Repo, t: Target, onProgress?: StatusOptions['onProgress']): Promise<OutStatus | undefined> {
  const inCache = repo.odb.has(t.out.oid)
  const at = t.within ?? t.path
  const ws = await scanPath(repo.scanContext(onProgress), at, false)
  const isDir = t.out.nfiles !== undefined
  if (!t.within) {
    if (!ws) return {path: t.path, state: 'deleted', changes: []}
    if (ws.oid === t.out.oid && (ws.kind === 'tree') === isDir) {
      return inCache ? undefined : {path: t.path, state: 'not in cache', changes: []}
    }
  }
  // Without the stored tree there is nothing to compare files against.
  if (!inCache) return {path: t.path, state: t.within ? 'not in cache' : 'modified', changes: []}
  const stored = storedSideAt(repo.odb, {kind: isDir ? 'tree' : 'file', oid: t.out.oid, size: t.out.size}, t.path, at)
  const changes = diffSides(stored, ws && workspaceSide(ws), at)
  if (changes.length === 0) return undefined
  // File-level detail is for directories; a tracked file is itself the change.
  return {path: t.path, state: 'modified', changes: isDir ? changes : []}
}

export async function status(targets: string[] = [], options: StatusOptions = {}): Promise<StatusReport> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  await loadHasher()
  const report: StatusReport = {}
  try {
    for (const t of resolveTargets(repo, targets, cwd)) {
      const s = await outStatus(repo, t, options.onProgress)
      if (s) (report[t.pointer] ??= []).push(s)
    }
  } finally {
    repo.state.save()
  }
  return report
}

/** The report in `dvc status --json` shape, with dv's per-file detail for directories. */
export function statusJson(report: StatusReport): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {}
  for (const [pointer, outs] of Object.entries(report)) {
    out[pointer] = outs.flatMap((o) => {
      const entries: unknown[] = [{'changed outs': {[o.path]: o.state}}]
      if (o.changes.length > 0) entries.push({'changed files': Object.fromEntries(o.changes.map((c) => [c.path, c.kind]))})
      return entries
    })
  }
  return out
}
