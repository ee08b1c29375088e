/**
 * `dv diff [a] [b]`: files added, modified, deleted and renamed (same content, new path) inside
 * tracked datasets between two revisions, or a revision and the workspace (default: HEAD vs the
 * workspace). Pointers at a revision are read from git objects, not the work tree; trees are
 * compared by id, so only the folders that differ are walked.
 */
import {GitError} from '../errors.js'
import {loadHasher} from '../hash/blake3.js'
import {GitObjects} from '../scm/objects.js'
import {diffSides, storedSide, workspaceSide, type Change, type Side} from '../workspace/diff.js'
import {scanPath} from '../workspace/scan.js'
import {Repo, type TrackedOut} from './repo.js'
import {outsAt} from './revisions.js'

export interface DiffEntry {
  path: string
  /** For renames: where the file was. */
  from?: string
  oldSize?: number
  newSize?: number
}

export interface DiffResult {
  /** The revisions compared; `workspace` for the work tree. */
  a: string
  b: string
  added: DiffEntry[]
  modified: DiffEntry[]
  deleted: DiffEntry[]
  renamed: DiffEntry[]
}

export const WORKSPACE = 'workspace'

function sideOf(repo: Repo, t: TrackedOut): Side {
  return storedSide(repo.odb, {kind: t.out.nfiles === undefined ? 'file' : 'tree', oid: t.out.oid, size: t.out.size})
}

/** Pairs each deletion with an addition of the same content: a rename. Returns the pairs. */
function findRenames(changes: Change[]): Map<Change, Change> {
  const added = new Map<string, Change[]>()
  for (const c of changes) {
    if (c.kind !== 'added') continue
    const list = added.get(c.to!.oid) ?? []
    list.push(c)
    added.set(c.to!.oid, list)
  }
  const pairs = new Map<Change, Change>()
  for (const c of changes) {
    const match = c.kind === 'deleted' ? added.get(c.from!.oid)?.shift() : undefined
    if (match) pairs.set(c, match)
  }
  return pairs
}

export async function diff(a = 'HEAD', b: string = WORKSPACE, targets: string[] = [], options: {cwd?: string} = {}): Promise<DiffResult> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  await loadHasher()
  if (!repo.git) throw new GitError('dv diff compares git revisions: this repository was made with --no-scm')
  const objects = new GitObjects(repo.root)
  try {
    const sides = async (rev: string): Promise<Map<string, Side | (() => Promise<Side | undefined>)>> => {
      const map = new Map<string, Side | (() => Promise<Side | undefined>)>()
      if (rev === WORKSPACE) {
        for (const t of repo.trackedOuts()) {
          map.set(t.path, async () => {
            const node = await scanPath(repo.scanContext(), t.path, false)
            return node && workspaceSide(node)
          })
        }
      } else {
        for (const t of await outsAt(repo, objects, rev)) map.set(t.path, sideOf(repo, t))
      }
      return map
    }
    const from = await sides(a)
    const to = await sides(b)
    const wanted = targets.map((t) => repo.resolvePath(t, cwd))
    const selected = (path: string) => wanted.length === 0 || wanted.some((w) => w === '' || path === w || path.startsWith(w + '/') || w.startsWith(path + '/'))
    const changes: Change[] = []
    for (const path of [...new Set([...from.keys(), ...to.keys()])].sort()) {
      if (!selected(path)) continue
      const resolve = async (s: Side | (() => Promise<Side | undefined>) | undefined) => (typeof s === 'function' ? s() : s)
      diffSides(await resolve(from.get(path)), await resolve(to.get(path)), path, changes)
    }
    const narrowed = changes.filter((c) => wanted.length === 0 || wanted.some((w) => w === '' || c.path === w || c.path.startsWith(w + '/')))
    const renames = findRenames(narrowed)
    const renamedTo = new Set(renames.values())
    const result: DiffResult = {a, b, added: [], modified: [], deleted: [], renamed: []}
    for (const [del, add] of renames) result.renamed.push({path: add.path, from: del.path, oldSize: del.from!.size, newSize: add.to!.size})
    for (const c of narrowed) {
      if (renames.has(c) || renamedTo.has(c)) continue
      if (c.kind === 'added') result.added.push({path: c.path, newSize: c.to!.size})
      else if (c.kind === 'deleted') result.deleted.push({path: c.path, oldSize: c.from!.size})
      else if (c.kind === 'modified') result.modified.push({path: c.path, oldSize: c.from!.size, newSize: c.to!.size})
    }
    repo.state.save()
    return result
  } finally {
    objects.close()
  }
}
