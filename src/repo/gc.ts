/**
 * `dv gc`: removes objects from the local cache that nothing keeps. Always kept: what the
 * workspace's pointer files, the pointers staged in git's index, and dv.lock name. With flags,
 * also what the pointers of other revisions name (`--all-branches`, `--all-tags`,
 * `--all-commits`, `--rev`). A kept tree keeps everything under it; unkept trees are removed
 * parents first, and before unkept blobs, so an interrupted gc never leaves a tree whose subtree
 * is incomplete.
 */
import {existsSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {GitError} from '../errors.js'
import {loadHasher} from '../hash/blake3.js'
import {isOid} from '../models/tree.js'
import {parsePointer, type PointerOut} from '../models/pointer.js'
import {parseYaml} from '../models/yaml.js'
import {GitObjects} from '../scm/objects.js'
import {Repo} from './repo.js'
import {gitLines, outsOfRevisions, selectsRevisions, type RevisionSelection} from './revisions.js'
import {crashPoint} from '../util/crash.js'

export interface GcOptions extends RevisionSelection {
  cwd?: string
  /** Only report what would be removed. */
  dry?: boolean
  /** Asked before anything is removed; removal happens only when it resolves true. */
  confirm?: (objects: number, bytes: number) => Promise<boolean>
}

export interface GcResult {
  /** Revisions whose data was kept, besides the workspace. */
  revisions: number
  kept: number
  removed: Array<{oid: string; size: number}>
  bytes: number
}

/** Temp files younger than this may belong to a dv command still running. */
const TMP_GRACE_MS = 60 * 60 * 1000


/** Digests named in dv.lock (`blake3:` of stage outputs). */
function lockOids(root: string): string[] {
  const file = join(root, 'dv.lock')
  if (!existsSync(file)) return []
  const found: string[] = []
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit)
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'blake3' && isOid(x)) found.push(x)
        else visit(x)
      }
    }
  }
  visit(parseYaml(readFileSync(file, 'utf8'), 'dv.lock'))
  return found
}

export async function gc(options: GcOptions = {}): Promise<GcResult> {
  const repo = Repo.open(options.cwd ?? process.cwd())
  await loadHasher()
  // oid → whether it is a tree (undefined: look at the object).
  const roots = new Map<string, boolean | undefined>()
  const addOut = (out: PointerOut) => roots.set(out.oid, out.nfiles !== undefined)
  for (const t of repo.trackedOuts()) addOut(t.out)
  for (const oid of lockOids(repo.root)) if (!roots.has(oid)) roots.set(oid, undefined)
  let revisions = 0
  if (repo.git) {
    const objects = new GitObjects(repo.root)
    try {
      // Pointers staged in git's index but not committed yet.
      for (const line of gitLines(repo.root, ['ls-files', '-s', '--', '*.dv'])) {
        const [, blob] = line.split(/\s+/)
        const obj = await objects.read(blob)
        if (obj) for (const out of parsePointer(obj.data.toString('utf8'), line.split('\t')[1] ?? blob).outs) addOut(out)
      }
      const selected = await outsOfRevisions(repo, objects, options)
      for (const t of selected.outs) addOut(t.out)
      revisions = selected.revisions
    } finally {
      objects.close()
    }
  } else if (selectsRevisions(options)) {
    throw new GitError('revisions need git: this repository was made with --no-scm')
  }

  // Everything a kept root reaches. A tree missing here keeps nothing more (nothing is under it).
  const keep = new Set<string>()
  const reach = (oid: string, tree: boolean) => {
    if (keep.has(oid)) return
    keep.add(oid)
    if (tree && repo.odb.has(oid)) for (const e of repo.odb.getTree(oid)) reach(e.oid, e.kind === 'tree')
  }
  for (const [oid, tree] of roots) reach(oid, tree ?? repo.odb.isTree(oid))

  const trees: Array<{oid: string; size: number}> = []
  const blobs: Array<{oid: string; size: number}> = []
  for (const fan of readdirSync(repo.odb.dirs.objects)) {
    for (const rest of readdirSync(join(repo.odb.dirs.objects, fan))) {
      const oid = fan + rest
      if (!isOid(oid) || keep.has(oid)) continue
      ;(repo.odb.isTree(oid) ? trees : blobs).push({oid, size: statSync(repo.odb.path(oid)).size})
    }
  }
  // Parents before their subtrees: a tree in the cache vouches for everything under it (fetch and
  // add skip what it names), so a gc killed midway must not leave a tree whose subtree it already
  // removed (the kill-point harness found one: test/crash, docs/reliability.md). A tree's height
  // among the trees going (1 + its tallest such subtree) is larger than each of its children's.
  const going = new Set(trees.map((t) => t.oid))
  const heights = new Map<string, number>()
  const height = (oid: string): number => {
    let h = heights.get(oid)
    if (h !== undefined) return h
    h = 1
    try {
      for (const e of repo.odb.getTree(oid)) if (e.kind === 'tree' && going.has(e.oid)) h = Math.max(h, 1 + height(e.oid))
    } catch {
      // A damaged tree vouches for nothing: any order will do for it.
    }
    heights.set(oid, h)
    return h
  }
  trees.sort((a, b) => height(b.oid) - height(a.oid))
  const removed = [...trees, ...blobs]
  const bytes = removed.reduce((n, o) => n + o.size, 0)
  const go = !options.dry && (removed.length === 0 || !options.confirm || (await options.confirm(removed.length, bytes)))
  if (go) {
    for (const o of removed) {
      rmSync(repo.odb.path(o.oid), {force: true})
      crashPoint('gc.removed')
    }
    const now = Date.now()
    for (const name of existsSync(repo.odb.dirs.tmp) ? readdirSync(repo.odb.dirs.tmp) : []) {
      const p = join(repo.odb.dirs.tmp, name)
      if (now - statSync(p).mtimeMs > TMP_GRACE_MS) rmSync(p, {force: true})
    }
  }
  return {revisions, kept: keep.size, removed: go || options.dry ? removed : [], bytes: go || options.dry ? bytes : 0}
}
