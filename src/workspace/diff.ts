/**
 * Differences between two versions of a tracked path, each side a stored tree, a workspace
 * scan, or nothing. Subtrees with equal oids are skipped without being listed, so a one-file
 * change in a large dataset is found by walking only the directories on its path.
 */
import type {TreeEntry} from '../models/tree.js'
import type {ObjectStore} from '../odb/store.js'
import type {WsNode} from './scan.js'

export type ChangeKind = 'added' | 'modified' | 'deleted'

export interface Version {
  oid: string
  size: number
  exec: boolean
}

export interface Change {
  /** Relative to the repository root. */
  path: string
  kind: ChangeKind
  from?: Version
  to?: Version
}

/** One side of a diff: a file, or a tree whose children are produced on demand. */
export interface Side {
  kind: 'file' | 'tree'
  oid: string
  size: number
  exec: boolean
  children?: () => Map<string, Side>
}

export function storedSide(odb: ObjectStore, entry: {kind: 'file' | 'tree'; oid: string; size: number; exec?: boolean}): Side {
  return {
    kind: entry.kind,
    oid: entry.oid,
    size: entry.size,
    exec: entry.exec === true,
    children:
      entry.kind === 'tree'
        ? () => new Map(odb.getTree(entry.oid).map((e: TreeEntry) => [e.name, storedSide(odb, e)]))
        : undefined,
  }
}

export function workspaceSide(node: WsNode): Side {
  if (node.kind === 'file') return {kind: 'file', oid: node.oid, size: node.size, exec: node.exec}
  return {
    kind: 'tree',
    oid: node.oid,
    size: node.size,
    exec: false,
    children: () => new Map([...node.children].map(([name, child]) => [name, workspaceSide(child)])),
  }
}

function version(side: Side): Version {
  return {oid: side.oid, size: side.size, exec: side.exec}
}

function all(side: Side, path: string, kind: 'added' | 'deleted', out: Change[]): void {
  if (side.kind === 'file') {
    out.push(kind === 'added' ? {path, kind, to: version(side)} : {path, kind, from: version(side)})
    return
  }
  for (const [name, child] of side.children!()) all(child, `${path}/${name}`, kind, out)
}

/** Files that differ between `from` and `to` under `path`, in name order. */
export function diffSides(from: Side | undefined, to: Side | undefined, path: string, out: Change[] = []): Change[] {
  if (!from && !to) return out
  if (!from) {
    all(to!, path, 'added', out)
    return out
  }
  if (!to) {
    all(from, path, 'deleted', out)
    return out
  }
  if (from.kind === to.kind && from.oid === to.oid) return out
  if (from.kind === 'file' && to.kind === 'file') {
    out.push({path, kind: 'modified', from: version(from), to: version(to)})
    return out
  }
  if (from.kind === 'tree' && to.kind === 'tree') {
    const a = from.children!()
    const b = to.children!()
    const names = [...new Set([...a.keys(), ...b.keys()])].sort()
    for (const name of names) diffSides(a.get(name), b.get(name), `${path}/${name}`, out)
    return out
  }
  // A file became a directory or the other way round.
  all(from, path, 'deleted', out)
  all(to, path, 'added', out)
  return out
}

/**
 * The stored side at `at`, a path inside the tracked output at `root` (or the output itself);
 * undefined when the stored version has nothing there.
 */
export function storedSideAt(odb: ObjectStore, rootEntry: {kind: 'file' | 'tree'; oid: string; size: number}, root: string, at: string): Side | undefined {
  let side: Side | undefined = storedSide(odb, rootEntry)
  if (at === root) return side
  for (const name of at.slice(root.length + 1).split('/')) {
    if (!side || side.kind !== 'tree') return undefined
    side = side.children!().get(name)
  }
  return side
}
