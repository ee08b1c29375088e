/**
 * `dv push`, `dv fetch`, `dv pull` and `dv status --cloud`: moving objects between the cache and
 * a remote. What is missing on the other side is decided from one listing of the remote, not one
 * request per object. Files travel before the trees that name them, on both sides, so a tree on
 * the remote or in the cache always has its whole subtree. Every object fetched is checked
 * against its id before it enters the cache.
 */
import {rmSync} from 'node:fs'
import {readFile} from 'node:fs/promises'

import {CorruptObjectError, MissingObjectError} from '../errors.js'
import {defaultPoolSize} from '../hash/pool.js'
import {hashBytes, loadHasher} from '../hash/blake3.js'
import {decodeTree} from '../models/tree.js'
import {ingestFile, tempName} from '../odb/ingest.js'
import {openRemote} from '../remote/open.js'
import {GitObjects} from '../scm/objects.js'
import {checkout, type CheckoutResult} from './checkout.js'
import {Repo, type TrackedOut} from './repo.js'
import {outsOfRevisions, selectsRevisions, type RevisionSelection} from './revisions.js'
import {resolveTargets} from './targets.js'

export interface TransferOptions extends RevisionSelection {
  cwd?: string
  remote?: string
  jobs?: number
  onProgress?: (files: number, bytes: number) => void
}

export interface TransferResult {
  remote: string
  /** Objects sent or received. */
  transferred: number
  /** Objects the other side already had. */
  skipped: number
}

/** The outputs a transfer covers: the targets in the workspace, and those of selected revisions. */
async function transferOuts(repo: Repo, targets: string[], cwd: string, s: RevisionSelection): Promise<TrackedOut[]> {
  const outs = resolveTargets(repo, targets, cwd)
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

/** Runs `work` over items with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++])
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
}

/** The objects of tracked outputs in the local cache: files first, then trees deepest first. */
function localObjects(repo: Repo, outs: TrackedOut[]): {blobs: string[]; trees: string[]} {
  const blobs = new Set<string>()
  const trees: string[] = []
  const seen = new Set<string>()
  const walk = (oid: string) => {
    if (seen.has(oid)) return
    seen.add(oid)
    for (const e of repo.odb.getTree(oid)) {
      if (e.kind === 'tree') walk(e.oid)
      else blobs.add(e.oid)
    }
    trees.push(oid) // after its children: deepest first
  }
  for (const t of outs) {
    if (!repo.odb.has(t.out.oid)) throw new MissingObjectError(t.out.oid, t.path)
    if (t.out.nfiles === undefined) blobs.add(t.out.oid)
    else walk(t.out.oid)
  }
  return {blobs: [...blobs], trees}
}

export async function push(targets: string[] = [], options: TransferOptions = {}): Promise<TransferResult> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  await loadHasher()
  const {name, backend} = openRemote(repo, options.remote)
  const {blobs, trees} = localObjects(repo, await transferOuts(repo, targets, cwd, options))
  for (const oid of blobs) if (!repo.odb.has(oid)) throw new MissingObjectError(oid)
  const there = await backend.list()
  const jobs = options.jobs ?? defaultPoolSize() * 4
  let transferred = 0
  let bytes = 0
  const send = async (oid: string) => {
    await backend.put(oid, repo.odb.path(oid))
    transferred++
    bytes += repo.odb.size(oid)
    options.onProgress?.(transferred, bytes)
  }
  await pool(blobs.filter((o) => !there.has(o)), jobs, send)
  for (const oid of trees) if (!there.has(oid)) await send(oid)
  return {remote: name, transferred, skipped: blobs.length + trees.length - transferred}
}

/** Downloads one object, checks it, and stores it (blobs) or returns its bytes (trees). */
async function download(repo: Repo, backend: ReturnType<typeof openRemote>['backend'], oid: string, keepBytes: boolean): Promise<Buffer | undefined> {
  const tmp = tempName(repo.odb.dirs.tmp)
  try {
    await backend.get(oid, tmp)
    if (keepBytes) {
      const bytes = await readFile(tmp)
      const actual = hashBytes(bytes)
      if (actual !== oid) throw new CorruptObjectError(oid, actual, `remote ${backend.where}`)
      return bytes
    }
    const facts = await ingestFile(tmp, repo.odb.dirs)
    if (facts.oid !== oid) {
      rmSync(repo.odb.path(facts.oid), {force: true})
      throw new CorruptObjectError(oid, facts.oid, `remote ${backend.where}`)
    }
    return undefined
  } finally {
    rmSync(tmp, {force: true})
  }
}

export async function fetch(targets: string[] = [], options: TransferOptions = {}): Promise<TransferResult> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  await loadHasher()
  const {name, backend} = openRemote(repo, options.remote)
  const outs = await transferOuts(repo, targets, cwd, options)
  const jobs = options.jobs ?? defaultPoolSize() * 4
  let transferred = 0
  let skipped = 0
  let bytes = 0
  const there = await backend.list()
  // Trees first, held in memory, to learn which files are needed; stored only after their files.
  const fetchedTrees: Array<{oid: string; bytes: Buffer}> = []
  const blobs = new Set<string>()
  let level = outs.filter((t) => t.out.nfiles !== undefined).map((t) => t.out.oid)
  for (const t of outs) if (t.out.nfiles === undefined) blobs.add(t.out.oid)
  const seen = new Set<string>()
  while (level.length > 0) {
    const nextLevel: string[] = []
    for (const oid of level) {
      if (seen.has(oid)) continue
      seen.add(oid)
      if (repo.odb.has(oid)) {
        skipped++ // present locally: its whole subtree is too
        continue
      }
      if (!there.has(oid)) throw new MissingObjectError(oid, `remote ${name}`)
      const treeBytes = (await download(repo, backend, oid, true))!
      fetchedTrees.push({oid, bytes: treeBytes})
      transferred++
      for (const e of decodeTree(treeBytes, `tree object ${oid} from remote ${name}`)) {
        if (e.kind === 'tree') nextLevel.push(e.oid)
        else blobs.add(e.oid)
      }
    }
    level = nextLevel
  }
  const wanted = [...blobs].filter((oid) => {
    if (repo.odb.has(oid)) {
      skipped++
      return false
    }
    return true
  })
  for (const oid of wanted) if (!there.has(oid)) throw new MissingObjectError(oid, `remote ${name}`)
  await pool(wanted, jobs, async (oid) => {
    await download(repo, backend, oid, false)
    transferred++
    bytes += repo.odb.size(oid)
    options.onProgress?.(transferred, bytes)
  })
  // Deepest trees were fetched last: store in reverse so each tree follows its subtrees.
  for (const {bytes: b} of fetchedTrees.reverse()) repo.odb.putBytes(b)
  return {remote: name, transferred, skipped}
}

export async function pull(targets: string[] = [], options: TransferOptions & {force?: boolean} = {}): Promise<TransferResult & {checkout: CheckoutResult}> {
  const fetched = await fetch(targets, options)
  const result = await checkout(targets, {cwd: options.cwd, force: options.force, onProgress: options.onProgress})
  return {...fetched, checkout: result}
}

export type CloudState = 'not pushed' | 'not fetched' | 'missing'

/** For each pointer: outputs whose objects are not all on the remote, or not all in the cache. */
export async function cloudStatus(targets: string[] = [], options: {cwd?: string; remote?: string} = {}): Promise<{remote: string; report: Record<string, Array<{path: string; state: CloudState}>>}> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  await loadHasher()
  const {name, backend} = openRemote(repo, options.remote)
  const there = await backend.list()
  const report: Record<string, Array<{path: string; state: CloudState}>> = {}
  for (const t of resolveTargets(repo, targets, cwd)) {
    let state: CloudState | undefined
    if (repo.odb.has(t.out.oid)) {
      const {blobs, trees} = localObjects(repo, [t])
      const local = [...blobs, ...trees]
      if (local.some((o) => !repo.odb.has(o))) state = there.has(t.out.oid) ? 'not fetched' : 'missing'
      else if (local.some((o) => !there.has(o))) state = 'not pushed'
    } else {
      state = there.has(t.out.oid) ? 'not fetched' : 'missing'
    }
    if (state) (report[t.pointer] ??= []).push({path: t.path, state})
  }
  return {remote: name, report}
}
