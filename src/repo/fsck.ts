/**
 * `dv fsck`: checks that the cache (or a remote) holds what the repository needs, intact. Every
 * object is hashed and compared with its name; every output the pointer files and dv.lock name
 * (and, with revision flags, those of other revisions) must be present with its whole tree.
 * `--repair` moves corrupt objects aside (to .dv/cache/corrupt/, never deleted) and fetches good
 * copies of them and of missing ones from a remote.
 */
import {mkdirSync, readdirSync, renameSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {loadHasher} from '../hash/blake3.js'
import {decodeTree, isOid} from '../models/tree.js'
import {openRemote} from '../remote/open.js'
import {GitObjects} from '../scm/objects.js'
import {allTrackedOuts} from './pipeline-outs.js'
import {Repo, type TrackedOut} from './repo.js'
import {outsOfRevisions, selectsRevisions, type RevisionSelection} from './revisions.js'
import {defaultJobs, fetchObjects} from './transfer.js'

export interface FsckProblem {
  oid: string
  problem: 'corrupt' | 'missing'
  /** Tracked paths that need the object (empty for an object nothing tracked names). */
  paths: string[]
}

export interface FsckResult {
  /** `cache`, or `remote <name>`. */
  checked: string
  objects: number
  bytes: number
  problems: FsckProblem[]
  /** Packs on the remote whose index does not match its name (their objects count as absent). */
  damagedPacks: string[]
  /** Objects brought back by --repair. */
  repaired: string[]
  /** Where --repair put corrupt objects. */
  quarantine?: string
}

export interface FsckOptions extends RevisionSelection {
  cwd?: string
  /** Check this remote instead of the cache. */
  remote?: string
  /** Fetch corrupt and missing objects from `from` (default: the default remote). */
  repair?: boolean
  from?: string
  jobs?: number
  onProgress?: (files: number, bytes: number) => void
}

/** The outputs the check covers: the workspace's, and those of the selected revisions. */
async function outsToCheck(repo: Repo, s: RevisionSelection): Promise<TrackedOut[]> {
  const outs = allTrackedOuts(repo)
  if (!selectsRevisions(s)) return outs
  const objects = new GitObjects(repo.root)
  try {
    return [...outs, ...(await outsOfRevisions(repo, objects, s)).outs]
  } finally {
    objects.close()
  }
}

/**
 * Walks the outputs' objects: `present(oid)` says whether the checked side has it, `tree(oid)`
 * reads a tree (undefined when it cannot). Returns oid → {paths needing it, is it a tree}.
 */
function needed(outs: readonly TrackedOut[], tree: (oid: string) => ReturnType<typeof decodeTree> | undefined): Map<string, {paths: string[]; dir: boolean}> {
  const need = new Map<string, {paths: string[]; dir: boolean}>()
  const visit = (oid: string, path: string, dir: boolean) => {
    const seen = need.get(oid)
    if (seen) {
      if (seen.paths.length < 3) seen.paths.push(path)
      return
    }
    need.set(oid, {paths: [path], dir})
    if (!dir) return
    for (const e of tree(oid) ?? []) visit(e.oid, `${path}/${e.name}`, e.kind === 'tree')
  }
  for (const t of outs) visit(t.out.oid, t.path, t.out.nfiles !== undefined)
  return need
}

/** Hashes every object in the cache; returns the corrupt ones and the totals. */
async function checkCache(repo: Repo, onProgress?: (files: number, bytes: number) => void): Promise<{oids: Set<string>; corrupt: Set<string>; bytes: number}> {
  const oids: string[] = []
  const sizes: number[] = []
  for (const fan of readdirSync(repo.odb.dirs.objects)) {
    for (const rest of readdirSync(join(repo.odb.dirs.objects, fan))) {
      if (!isOid(fan + rest)) continue
      oids.push(fan + rest)
      sizes.push(statSync(repo.odb.path(fan + rest)).size)
    }
  }
  const results = await repo.odb.ingestMany(oids.map((o) => repo.odb.path(o)), sizes, {store: false, onProgress})
  const corrupt = new Set<string>()
  results.forEach((r, i) => {
    if (r instanceof Error || r.oid !== oids[i]) corrupt.add(oids[i])
  })
  return {oids: new Set(oids), corrupt, bytes: sizes.reduce((a, b) => a + b, 0)}
}

function problems(need: Map<string, {paths: string[]}>, present: (oid: string) => boolean, corrupt: Set<string>): FsckProblem[] {
  const out: FsckProblem[] = []
  for (const oid of corrupt) out.push({oid, problem: 'corrupt', paths: need.get(oid)?.paths ?? []})
  for (const [oid, {paths}] of need) if (!corrupt.has(oid) && !present(oid)) out.push({oid, problem: 'missing', paths})
  return out.sort((a, b) => (a.paths[0] ?? '\uffff').localeCompare(b.paths[0] ?? '\uffff') || a.oid.localeCompare(b.oid))
}

export async function fsck(options: FsckOptions = {}): Promise<FsckResult> {
  const repo = Repo.open(options.cwd ?? process.cwd())
  await loadHasher()
  const outs = await outsToCheck(repo, options)
  if (options.remote !== undefined) return fsckRemote(repo, outs, options)

  let cache = await checkCache(repo, options.onProgress)
  const readTree = (oid: string) => {
    if (!cache.oids.has(oid) || cache.corrupt.has(oid)) return undefined
    return repo.odb.getTree(oid)
  }
  let need = needed(outs, readTree)
  let found = problems(need, (oid) => cache.oids.has(oid), cache.corrupt)
  const result: FsckResult = {checked: 'cache', objects: cache.oids.size, bytes: cache.bytes, problems: found, damagedPacks: [], repaired: []}
  if (!options.repair || found.length === 0) return result

  const {objects} = openRemote(repo, options.from)
  // Corrupt objects go aside, never deleted: they may be someone's only (damaged) copy.
  const quarantine = join(repo.dvDir, 'cache', 'corrupt')
  for (const p of found.filter((p) => p.problem === 'corrupt')) {
    mkdirSync(quarantine, {recursive: true})
    renameSync(repo.odb.path(p.oid), join(quarantine, p.oid))
  }
  const wanted = found.filter((p) => p.paths.length > 0)
  await fetchObjects(objects, repo.odb, wanted.map((p) => ({oid: p.oid, dir: need.get(p.oid)?.dir ?? false})), {jobs: options.jobs ?? defaultJobs()})
  // A fetched tree may name files the cache lacks too: fetchObjects brought those; check again.
  cache = await checkCache(repo)
  need = needed(outs, readTree)
  found = problems(need, (oid) => cache.oids.has(oid), cache.corrupt)
  const still = new Set(found.map((p) => p.oid))
  return {...result, problems: found, repaired: wanted.map((p) => p.oid).filter((oid) => !still.has(oid)), quarantine: quarantine}
}

/** Downloads and hashes every object on the remote; checks that the outputs' objects are there. */
async function fsckRemote(repo: Repo, outs: TrackedOut[], options: FsckOptions): Promise<FsckResult> {
  const {name, objects} = openRemote(repo, options.remote || undefined)
  const there = await objects.inventory()
  const corrupt = new Set<string>()
  let bytes = 0
  let count = 0
  await objects.receive([...there.keys()], {
    into: repo.odb.dirs,
    jobs: options.jobs ?? defaultJobs(),
    verifyOnly: true,
    onCorrupt: (oid) => corrupt.add(oid),
    onReceived: (n, size) => {
      count += n
      bytes += size
      options.onProgress?.(count, bytes)
    },
  })
  // Trees are read from the local cache where it has them intact, else from the remote.
  const remoteTrees = new Map<string, ReturnType<typeof decodeTree>>()
  const treeOids = outs.filter((t) => t.out.nfiles !== undefined).map((t) => t.out.oid)
  const readTree = (oid: string) => {
    if (repo.odb.has(oid)) {
      try {
        return repo.odb.getTree(oid)
      } catch {
        // a corrupt local copy: the remote's, if it has one
      }
    }
    return remoteTrees.get(oid)
  }
  // Learn trees the cache lacks from the remote, a level at a time.
  let level = treeOids.filter((oid) => !repo.odb.has(oid) && there.has(oid) && !corrupt.has(oid))
  while (level.length > 0) {
    const got = await objects.receive(level, {jobs: options.jobs ?? defaultJobs(), onCorrupt: (oid) => corrupt.add(oid)})
    const next: string[] = []
    for (const [oid, b] of got) {
      const entries = decodeTree(b, `tree object ${oid} on remote ${name}`)
      remoteTrees.set(oid, entries)
      for (const e of entries) if (e.kind === 'tree' && !repo.odb.has(e.oid) && there.has(e.oid) && !remoteTrees.has(e.oid)) next.push(e.oid)
    }
    level = next
  }
  const need = needed(outs, readTree)
  return {checked: `remote ${name}`, objects: there.size, bytes, problems: problems(need, (oid) => there.has(oid), corrupt), damagedPacks: objects.damagedPacks, repaired: []}
}
