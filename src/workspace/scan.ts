/**
 * Scanning the workspace: what a tracked file or directory holds now, as oids and trees, using
 * the state cache so that only new or changed files are read. In `store` mode (add, commit) the
 * bytes of new files are copied into the object store while they are hashed, and the trees are
 * written; otherwise (status, checkout) files are only hashed.
 */
import {lstatSync, readdirSync, realpathSync, rmSync, statSync, type Stats} from 'node:fs'

import {DvError, FileChangedError, fromSystemError} from '../errors.js'
import {hashBytes, loadHasher} from '../hash/blake3.js'
import {encodeTree, type TreeEntry} from '../models/tree.js'
import type {FileFacts, ObjectStore} from '../odb/store.js'
import {isAlwaysIgnored, type DvIgnore} from './ignore.js'
import type {StateCache} from './state.js'
import {isStaleTemp} from '../util/atomic.js'

export interface FileNode {
  kind: 'file'
  name: string
  /** Relative to the repository root. */
  rel: string
  oid: string
  size: number
  exec: boolean
}

export interface DirNode {
  kind: 'tree'
  name: string
  rel: string
  oid: string
  size: number
  nfiles: number
  children: Map<string, WsNode>
}

export type WsNode = FileNode | DirNode

export interface ScanContext {
  root: string
  odb: ObjectStore
  state: StateCache
  ignore: DvIgnore
  jobs?: number
  onProgress?: (files: number, bytes: number) => void
}

interface PendingFile {
  node: FileNode
  abs: string
}

/** A symbolic link in the workspace that leads out of the repository. */
export class LinkOutsideRepoError extends DvError {
  constructor(rel: string, target: string) {
    super('EOUTSIDE', `${rel}: a symbolic link to ${target}, outside the repository; dv neither reads nor writes through it (remove the link, or copy the data in)`)
  }
}

/**
 * Throws when the symbolic link at `abs` (`rel` in messages) resolves outside the root (or the
 * cache, wherever it lives: files checked out as symlinks point there); a dangling link passes.
 */
function checkLink(ctx: ScanContext, rel: string, abs: string): void {
  let target: string
  try {
    target = realpathSync(abs)
  } catch {
    return
  }
  const within = (dir: string) => target === dir || target.startsWith(dir + '/')
  if (within(ctx.root)) return
  let cache: string
  try {
    cache = realpathSync(ctx.odb.dir)
  } catch {
    cache = ctx.odb.dir
  }
  if (!within(cache)) throw new LinkOutsideRepoError(rel, target)
}

/**
 * Refuses a path whose own location leads out of the repository: it, or a directory above it,
 * is a symbolic link to somewhere else. Reading through it would track outside data; writing
 * (checkout, pull) would change or delete files outside the repository.
 */
function checkInside(ctx: ScanContext, rel: string): void {
  let prefix = ''
  for (const part of rel.split('/')) {
    prefix = prefix ? `${prefix}/${part}` : part
    const st = lstatSync(ctx.root + '/' + prefix, {throwIfNoEntry: false})
    if (!st) return
    if (st.isSymbolicLink()) checkLink(ctx, prefix, ctx.root + '/' + prefix)
  }
}

/**
 * Lists a directory into nodes (oids not yet known), honouring .dvignore. `rules` says whether
 * any .dvignore above or in this directory has rules: when none does, entries are not matched.
 */
function walk(ctx: ScanContext, rel: string, name: string, pending: PendingFile[], rulesAbove: boolean): DirNode {
  const abs = ctx.root + '/' + rel
  const rules = rulesAbove || ctx.ignore.hasRules(rel)
  const dir: DirNode = {kind: 'tree', name, rel, oid: '', size: 0, nfiles: 0, children: new Map()}
  for (const dirent of readdirSync(abs, {withFileTypes: true})) {
    const childRel = rel + '/' + dirent.name
    const childAbs = abs + '/' + dirent.name
    const isDir = dirent.isDirectory()
    let st: Stats | undefined
    if (dirent.isSymbolicLink()) {
      checkLink(ctx, childRel, childAbs)
      try {
        st = statSync(childAbs)
      } catch {
        continue // a dangling link holds no data
      }
      if (st.isDirectory()) continue // links to directories are not followed: they could loop
    } else if (!isDir && !dirent.isFile()) {
      continue // sockets, fifos, devices
    }
    if (!isDir && isStaleTemp(dirent.name)) rmSync(childAbs, {force: true}) // a killed dv's (util/atomic.ts)
    if (isAlwaysIgnored(dirent.name, isDir) || (rules && ctx.ignore.ignores(childRel, isDir))) continue
    if (isDir) {
      const sub = walk(ctx, childRel, dirent.name, pending, rules)
      if (sub.nfiles > 0) dir.children.set(dirent.name, sub)
      continue
    }
    st ??= statSync(childAbs)
    const node: FileNode = {kind: 'file', name: dirent.name, rel: childRel, oid: '', size: st.size, exec: (st.mode & 0o111) !== 0}
    const known = ctx.state.get(childRel, st)
    if (known) node.oid = known
    else pending.push({node, abs: childAbs})
    dir.children.set(dirent.name, node)
    dir.nfiles++
  }
  for (const child of dir.children.values()) if (child.kind === 'tree') dir.nfiles += child.nfiles
  return dir
}

export function entriesOf(dir: DirNode): TreeEntry[] {
  return [...dir.children.values()].map((c) => ({name: c.name, kind: c.kind, oid: c.oid, size: c.size, exec: c.kind === 'file' && c.exec}))
}

/** Fills in tree oids and sizes bottom-up. */
function seal(dir: DirNode): void {
  let size = 0
  for (const child of dir.children.values()) {
    if (child.kind === 'tree') seal(child)
    size += child.size
  }
  dir.size = size
  dir.oid = hashBytes(encodeTree(entriesOf(dir)))
}

async function hashPending(ctx: ScanContext, pending: PendingFile[], store: boolean, stored?: Set<string>): Promise<void> {
  if (pending.length === 0) return
  const results = await ctx.odb.ingestMany(
    pending.map((p) => p.abs),
    pending.map((p) => p.node.size),
    {store, jobs: ctx.jobs, onProgress: ctx.onProgress},
  )
  results.forEach((r, i) => {
    if (r instanceof Error) throw fromSystemError(r) ?? r
    applyFacts(ctx, pending[i].node, r)
    stored?.add(r.oid)
  })
}

function applyFacts(ctx: ScanContext, node: FileNode, facts: FileFacts): void {
  node.oid = facts.oid
  node.size = facts.size
  ctx.state.set(node.rel, facts)
}

/**
 * Makes sure every object under `dir` is in the store. A tree already in the store vouches for
 * its whole subtree, so an unchanged dataset costs one existence check.
 */
async function storeTree(ctx: ScanContext, dir: DirNode, stored: Set<string>): Promise<void> {
  const missingTrees: DirNode[] = []
  const missingFiles: PendingFile[] = []
  const visit = (d: DirNode) => {
    if (ctx.odb.has(d.oid)) return
    missingTrees.push(d)
    for (const child of d.children.values()) {
      if (child.kind === 'tree') visit(child)
      else if (!stored.has(child.oid) && !ctx.odb.has(child.oid)) missingFiles.push({node: child, abs: ctx.root + '/' + child.rel})
    }
  }
  visit(dir)
  const expected = missingFiles.map((p) => p.node.oid)
  await hashPending(ctx, missingFiles, true)
  missingFiles.forEach((p, i) => {
    // The file changed after it was scanned: the tree computed from it is no longer true.
    if (p.node.oid !== expected[i]) throw new FileChangedError(p.node.rel)
  })
  // Children before parents: a tree is written only once its subtree is complete.
  for (const d of missingTrees.reverse()) ctx.odb.putTree(entriesOf(d))
}

/** The stat of `rel`, or undefined when nothing is there. */
function statPath(ctx: ScanContext, rel: string): Stats | undefined {
  try {
    return statSync(ctx.root + '/' + rel)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw fromSystemError(error) ?? error
  }
}

async function scanDir(ctx: ScanContext, rel: string, store: boolean): Promise<DirNode> {
  const pending: PendingFile[] = []
  const name = rel.slice(rel.lastIndexOf('/') + 1)
  const dir = walk(ctx, rel, name, pending, ctx.ignore.hasRulesAbove(rel))
  // Files hashed with `store` are in the store now: no need to check them again.
  const stored = new Set<string>()
  await hashPending(ctx, pending, store, store ? stored : undefined)
  seal(dir)
  if (store) await storeTree(ctx, dir, stored)
  return dir
}

async function scanFile(ctx: ScanContext, rel: string, st: Stats, store: boolean): Promise<FileNode> {
  const node: FileNode = {kind: 'file', name: rel.slice(rel.lastIndexOf('/') + 1), rel, oid: '', size: st.size, exec: (st.mode & 0o111) !== 0}
  const known = ctx.state.get(rel, st)
  if (known && (!store || ctx.odb.has(known))) {
    node.oid = known
    return node
  }
  await hashPending(ctx, [{node, abs: ctx.root + '/' + rel}], store)
  return node
}

/** Scans whatever is at `rel` (a file or a directory) now; undefined when nothing is there. */
export async function scanPath(ctx: ScanContext, rel: string, store: boolean): Promise<WsNode | undefined> {
  await loadHasher()
  checkInside(ctx, rel)
  const st = statPath(ctx, rel)
  if (!st) return undefined
  if (st.isDirectory()) return scanDir(ctx, rel, store)
  return st.isFile() ? scanFile(ctx, rel, st, store) : undefined
}
