/**
 * `dv push`, `dv fetch`, `dv pull` and `dv status --cloud`: moving objects between the cache and
 * a remote (layout on the remote: src/remote/objects.ts). What is missing on the other side is
 * decided from listings of the remote, never one request per object. Files travel before the trees that name them, on both sides, so a tree on
 * the remote or in the cache always has its whole subtree. Every object fetched is checked
 * against its id before it enters the cache.
 */
import {MissingObjectError} from '../errors.js'
import {defaultPoolSize} from '../hash/pool.js'
import {loadHasher} from '../hash/blake3.js'
import {decodeTree} from '../models/tree.js'
import type {ObjectStore} from '../odb/store.js'
import type {RemoteObjects, SendItem} from '../remote/objects.js'
import {parseRecord, type RunRecord} from '../pipeline/runcache.js'
import {openRemote} from '../remote/open.js'
import {GitObjects} from '../scm/objects.js'
import {checkout, type CheckoutResult} from './checkout.js'
import {allTrackedOuts, asTrackedOuts, runCacheOf} from './pipeline-outs.js'
import {Repo, type TrackedOut} from './repo.js'
import {outsOfRevisions, selectsRevisions, type RevisionSelection} from './revisions.js'
import {resolveTargets} from './targets.js'

export interface TransferOptions extends RevisionSelection {
  cwd?: string
  remote?: string
  jobs?: number
  onProgress?: (files: number, bytes: number) => void
  /** Told what is to be moved, once known (for a progress bar). */
  onTotal?: (files: number, bytes: number) => void
  /** Also the run-cache: its records, and the outputs they name. */
  runCache?: boolean
}

export interface TransferResult {
  remote: string
  /** Objects sent or received. */
  transferred: number
  /** Objects the other side already had. */
  skipped: number
  /** Run-cache records sent or received (with --run-cache). */
  runs?: number
}

/** The outputs a transfer covers: the targets in the workspace, and those of selected revisions. */
async function transferOuts(repo: Repo, targets: string[], cwd: string, s: RevisionSelection): Promise<TrackedOut[]> {
  const outs = resolveTargets(repo, targets, cwd, allTrackedOuts(repo))
  if (!selectsRevisions(s)) return outs
  const objects = new GitObjects(repo.root)
  try {
    const wanted = new Set(outs.map((t) => t.path))
    const more = (await outsOfRevisions(repo, objects, s)).outs.filter((t) => targets.length === 0 || wanted.has(t.path))
    const seen = new Set(outs.map((t) => t.out.oid))
    return [...outs, ...more.filter((t) => !seen.has(t.out.oid) && seen.add(t.out.oid))]
  } finally {
    objects.close()
  }
}

/** The objects of tracked outputs in the local cache: files, and trees deepest first. */
function localObjects(repo: Repo, outs: TrackedOut[]): {blobs: SendItem[]; trees: SendItem[]} {
  const blobs = new Map<string, number>()
  const trees: SendItem[] = []
  const seen = new Set<string>()
  const walk = (oid: string) => {
    if (seen.has(oid)) return
    seen.add(oid)
    for (const e of repo.odb.getTree(oid)) {
      if (e.kind === 'tree') walk(e.oid)
      else blobs.set(e.oid, e.size)
    }
    trees.push({oid, size: repo.odb.size(oid)}) // after its children: deepest first
  }
  for (const t of outs) {
    if (!repo.odb.has(t.out.oid)) throw new MissingObjectError(t.out.oid, t.path)
    if (t.out.nfiles === undefined) blobs.set(t.out.oid, t.out.size ?? repo.odb.size(t.out.oid))
    else walk(t.out.oid)
  }
  return {blobs: [...blobs].map(([oid, size]) => ({oid, size})), trees}
}

/** Objects and bytes moved so far, each step reported to `onProgress`. */
function tally(onProgress?: (files: number, bytes: number) => void) {
  const t = {
    count: 0,
    bytes: 0,
    add: (count: number, size: number) => {
      t.count += count
      t.bytes += size
      onProgress?.(t.count, t.bytes)
    },
  }
  return t
}

/** Transfers in flight when `-j` is not given: they mostly wait on the network. */
export const defaultJobs = () => defaultPoolSize() * 4

/** What push and fetch start from: the repository, the remote, and the outputs they cover. */
async function begin(targets: string[], options: TransferOptions): Promise<{repo: Repo; name: string; objects: RemoteObjects; outs: TrackedOut[]}> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  await loadHasher()
  const {name, objects} = openRemote(repo, options.remote)
  return {repo, name, objects, outs: await transferOuts(repo, targets, cwd, options)}
}

export async function push(targets: string[] = [], options: TransferOptions = {}): Promise<TransferResult> {
  const {repo, name, objects, outs} = await begin(targets, options)
  // Run records the remote lacks go with the outputs they name (those still in the cache).
  const runs = options.runCache ? await missingRuns(repo, objects) : []
  for (const r of runs) outs.push(...asTrackedOuts(r.record.outs))
  const {blobs, trees} = localObjects(repo, outs)
  const jobs = options.jobs ?? defaultJobs()
  const there = await objects.inventory(jobs)
  const sent = tally(options.onProgress)
  // Files first, then trees in order: a tree on the remote always has its whole subtree.
  const missingBlobs = blobs.filter((o) => !there.has(o.oid))
  for (const {oid} of missingBlobs) if (!repo.odb.has(oid)) throw new MissingObjectError(oid)
  const missingTrees = trees.filter((o) => !there.has(o.oid))
  const all = [...missingBlobs, ...missingTrees]
  options.onTotal?.(all.length, all.reduce((n, o) => n + o.size, 0))
  await objects.send(repo.odb.dirs.objects, missingBlobs, {jobs, onSent: sent.add})
  await objects.send(repo.odb.dirs.objects, missingTrees, {ordered: true, jobs, onSent: sent.add})
  // Records last: a record on the remote always has its outputs there.
  for (const r of runs) await objects.putRun(r.key, r.file)
  return {remote: name, transferred: sent.count, skipped: blobs.length + trees.length - sent.count, ...(options.runCache ? {runs: runs.length} : {})}
}

/** Local run records that the remote does not have and whose outputs are all in the cache. */
async function missingRuns(repo: Repo, objects: RemoteObjects): Promise<Array<{key: string; file: string; record: RunRecord}>> {
  const cache = runCacheOf(repo)
  const there = await objects.runKeys()
  return cache.keys().flatMap((key) => {
    const record = there.has(key) ? undefined : cache.get(key)
    return record && record.outs.every((o) => repo.odb.has(o.oid)) ? [{key, file: cache.file(key), record}] : []
  })
}

/** Brings the remote's run records this cache lacks; returns their outputs, still to fetch. */
async function fetchRuns(repo: Repo, objects: RemoteObjects): Promise<{runs: number; outs: TrackedOut[]}> {
  const cache = runCacheOf(repo)
  const here = new Set(cache.keys())
  let runs = 0
  const outs: TrackedOut[] = []
  for (const key of await objects.runKeys()) {
    if (here.has(key)) continue
    const record = parseRecord(await objects.getRun(key))
    if (!record) continue // damaged on the remote: a miss, never a wrong restore
    cache.put(key, record)
    outs.push(...asTrackedOuts(record.outs))
    runs++
  }
  return {runs, outs}
}

export async function fetch(targets: string[] = [], options: TransferOptions = {}): Promise<TransferResult> {
  const {repo, name, objects, outs} = await begin(targets, options)
  const runs = options.runCache ? await fetchRuns(repo, objects) : undefined
  if (runs) outs.push(...runs.outs)
  const roots = outs.map((t) => ({oid: t.out.oid, dir: t.out.nfiles !== undefined, size: t.out.size}))
  const r = await fetchObjects(objects, repo.odb, roots, {jobs: options.jobs ?? defaultJobs(), onProgress: options.onProgress, onTotal: options.onTotal})
  return {remote: name, ...r, ...(runs ? {runs: runs.runs} : {})}
}

/**
 * Brings every object of the given outputs (a directory's tree, or a file) that `odb` lacks from
 * a remote. Trees come first, a level at a time, held in memory to learn which files are needed;
 * they are stored only after their files, so a tree in a cache always has its whole subtree.
 */
export async function fetchObjects(
  objects: RemoteObjects,
  odb: ObjectStore,
  roots: ReadonlyArray<{oid: string; dir: boolean; size?: number}>,
  options: {jobs: number; onProgress?: (files: number, bytes: number) => void; onTotal?: (files: number, bytes: number) => void},
): Promise<{transferred: number; skipped: number}> {
  const {jobs} = options
  const received = tally(options.onProgress)
  const onReceived = received.add
  let skipped = 0
  const fetchedTrees: Buffer[] = []
  const blobs = new Map<string, number>() // file → size, when a tree told it
  let level = roots.filter((r) => r.dir).map((r) => r.oid)
  for (const r of roots) if (!r.dir) blobs.set(r.oid, r.size ?? 0)
  const seen = new Set<string>()
  while (level.length > 0) {
    const wanted = level.filter((oid) => !seen.has(oid) && seen.add(oid)).filter((oid) => {
      if (!odb.has(oid)) return true
      skipped++ // present locally: its whole subtree is too
      return false
    })
    const got = wanted.length > 0 ? await objects.receive(wanted, {jobs, onReceived}) : new Map<string, Buffer>()
    const nextLevel: string[] = []
    for (const oid of wanted) {
      const treeBytes = got.get(oid)!
      fetchedTrees.push(treeBytes)
      for (const e of decodeTree(treeBytes, `tree object ${oid} from remote ${objects.where}`)) {
        if (e.kind === 'tree') nextLevel.push(e.oid)
        else blobs.set(e.oid, e.size)
      }
    }
    level = nextLevel
  }
  const wanted = [...blobs.keys()].filter((oid) => {
    if (!odb.has(oid)) return true
    skipped++
    return false
  })
  if (wanted.length > 0) {
    options.onTotal?.(received.count + wanted.length, received.bytes + wanted.reduce((n, oid) => n + (blobs.get(oid) ?? 0), 0))
    await objects.receive(wanted, {into: odb.dirs, jobs, onReceived})
  }
  // Deepest trees were fetched last: store in reverse so each tree follows its subtrees.
  for (const b of fetchedTrees.reverse()) odb.putBytes(b)
  return {transferred: received.count, skipped}
}

export async function pull(targets: string[] = [], options: TransferOptions & {force?: boolean} = {}): Promise<TransferResult & {checkout: CheckoutResult}> {
  const fetched = await fetch(targets, options)
  options.onTotal?.(0, 0) // checkout's own count follows
  const result = await checkout(targets, {cwd: options.cwd, force: options.force, onProgress: options.onProgress})
  return {...fetched, checkout: result}
}

export type CloudState = 'not pushed' | 'not fetched' | 'missing'

/** For each pointer: outputs whose objects are not all on the remote, or not all in the cache. */
export async function cloudStatus(targets: string[] = [], options: {cwd?: string; remote?: string} = {}): Promise<{remote: string; report: Record<string, Array<{path: string; state: CloudState}>>}> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  await loadHasher()
  const {name, objects} = openRemote(repo, options.remote)
  const there = await objects.inventory()
  const report: Record<string, Array<{path: string; state: CloudState}>> = {}
  for (const t of resolveTargets(repo, targets, cwd, allTrackedOuts(repo))) {
    let state: CloudState | undefined
    if (repo.odb.has(t.out.oid)) {
      const {blobs, trees} = localObjects(repo, [t])
      const local = [...blobs, ...trees].map((o) => o.oid)
      if (local.some((o) => !repo.odb.has(o))) state = there.has(t.out.oid) ? 'not fetched' : 'missing'
      else if (local.some((o) => !there.has(o))) state = 'not pushed'
    } else {
      state = there.has(t.out.oid) ? 'not fetched' : 'missing'
    }
    if (state) (report[t.pointer] ??= []).push({path: t.path, state})
  }
  return {remote: name, report}
}
