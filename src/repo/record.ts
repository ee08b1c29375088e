/**
 * Recording a tracked path's current content: copy what is new into the store, write the
 * trees, and (for hardlink/symlink/reflink link types) replace the workspace copies by links to
 * the cache. Shared by `dv add` and `dv commit`.
 */
import {lstatSync, readlinkSync, statSync} from 'node:fs'
import {dirname} from 'node:path'

import {PathNotFoundError} from '../errors.js'
import type {PointerOut} from '../models/pointer.js'
import {scanPath, type FileNode, type WsNode} from '../workspace/scan.js'
import type {Repo} from './repo.js'

export interface Recorded {
  node: WsNode
  out: Omit<PointerOut, 'path'>
}

export async function recordPath(repo: Repo, rel: string, onProgress?: (files: number, bytes: number) => void): Promise<Recorded> {
  const node = await scanPath(repo.scanContext(onProgress), rel, true)
  if (!node) throw new PathNotFoundError(rel)
  if (node.kind === 'tree') {
    const seen = new Set<string>()
    const collect = (n: WsNode) => (n.kind === 'file' ? seen.add(n.rel) : n.children.forEach(collect))
    collect(node)
    repo.state.prune(rel, seen)
  }
  relink(repo, node)
  const out = node.kind === 'tree' ? {oid: node.oid, size: node.size, nfiles: node.nfiles} : {oid: node.oid, size: node.size}
  return {node, out}
}

/**
 * Replaces workspace files by links to their cache objects when the configured link type is
 * not a plain copy. The first file tells whether the type works here; a copy is never redone,
 * since the workspace already holds the bytes.
 */
function relink(repo: Repo, node: WsNode): void {
  const linker = repo.linker()
  const first = firstFile(node)
  if (!first || linker.probe(first.oid, dirname(repo.abs(first.rel))) === 'copy') return
  const visit = (n: WsNode): void => {
    if (n.kind === 'tree') return n.children.forEach(visit)
    const abs = repo.abs(n.rel)
    const obj = repo.odb.path(n.oid)
    const lst = lstatSync(abs)
    if (linker.current === 'hardlink' && lst.ino === statSync(obj).ino) return
    if (linker.current === 'symlink' && lst.isSymbolicLink() && readlinkSync(abs) === obj) return
    linker.link(n.oid, abs, n.exec)
    const st = statSync(abs)
    repo.state.set(n.rel, {oid: n.oid, size: st.size, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, mode: st.mode}, true)
  }
  visit(node)
}

function firstFile(node: WsNode): FileNode | undefined {
  if (node.kind === 'file') return node
  for (const child of node.children.values()) {
    const f = firstFile(child)
    if (f) return f
  }
  return undefined
}
