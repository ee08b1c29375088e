/**
 * `dv unprotect`: turns files that are hard or symbolic links into the cache (read-only) into
 * writable copies, so editing them can never corrupt the cache.
 */
import {lstatSync} from 'node:fs'

import {PathNotFoundError} from '../errors.js'
import {unprotectFile} from '../workspace/link.js'
import {scanPath, type WsNode} from '../workspace/scan.js'
import {loadHasher} from '../hash/blake3.js'
import {Repo} from './repo.js'
import {resolveTargets} from './targets.js'

export async function unprotect(targets: string[], options: {cwd?: string} = {}): Promise<string[]> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  await loadHasher()
  const done: string[] = []
  try {
    for (const t of resolveTargets(repo, targets, cwd)) {
      const at = t.within ?? t.path
      const node = await scanPath(repo.scanContext(), at, false)
      if (!node) throw new PathNotFoundError(at)
      const visit = (n: WsNode) => {
        if (n.kind === 'tree') return n.children.forEach(visit)
        const abs = repo.abs(n.rel)
        const lst = lstatSync(abs)
        if (!lst.isSymbolicLink() && lst.nlink <= 1 && (lst.mode & 0o200) !== 0) return
        unprotectFile(abs)
        const st = lstatSync(abs)
        repo.state.set(n.rel, {oid: n.oid, size: st.size, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, mode: st.mode}, true)
        done.push(n.rel)
      }
      visit(node)
    }
  } finally {
    repo.state.save()
  }
  return done
}
