/**
 * Data from another dv repository (a local path, for now):
 * - `dv get <repo> <target>` copies a tracked dataset or model out of it, at any revision,
 *   without making it part of this repository;
 * - `dv import` does the same into this repository's cache and records where it came from in the
 *   pointer file (`deps: [{path, repo: {url, rev, rev_lock}}]`, as DVC does), and `dv update`
 *   moves an import to the newest commit of its revision.
 * The source's git metadata is cloned (a bare mirror: every branch and tag resolves as in the
 * source) into a temp directory, the pointer is read at the revision, and objects come from the
 * source repository's cache, each checked against its id. (Fetching from the source's remote
 * storage comes with remotes.)
 */
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, join, resolve} from 'node:path'

import {CorruptObjectError, DvError, GitError, MissingObjectError} from '../errors.js'
import {loadHasher} from '../hash/blake3.js'
import {POINTER_SUFFIX, type PointerOut} from '../models/pointer.js'
import {hashPath, ingestFile} from '../odb/ingest.js'
import {ObjectStore} from '../odb/store.js'
import {GitObjects} from '../scm/objects.js'
import {diffSides, storedSide} from '../workspace/diff.js'
import {linkMany} from '../workspace/link.js'
import {DV_DIR, Repo, type TrackedOut} from './repo.js'
import {outsAt} from './revisions.js'

export interface GetOptions {
  rev?: string
  /** Where to write the data (default: the target's name, in the current directory). */
  out?: string
  cwd?: string
  force?: boolean
  onProgress?: (files: number, bytes: number) => void
}

export interface GetResult {
  path: string
  rev: string
  oid: string
  files: number
  size: number
}

/** A tracked output found in a source repository at a revision. */
export interface SourceVersion {
  odb: ObjectStore
  tracked: TrackedOut
  /** The commit the revision resolved to. */
  commit: string
  /** Every file of the version: path relative to the output, and its version. */
  files: Array<{rel: string; oid: string; size: number; exec: boolean}>
  /** Every object of the version (trees and blobs). */
  objects: string[]
}

function gitClone(source: string, dir: string): void {
  try {
    execFileSync('git', ['clone', '--quiet', '--mirror', source, dir], {stdio: ['ignore', 'pipe', 'pipe']})
  } catch (error) {
    const msg = ((error as {stderr?: Buffer}).stderr?.toString() ?? '').trim().split('\n').at(-1)
    throw new GitError(`cannot clone ${source}: ${msg?.replace(/^fatal: /, '')}`)
  }
}

/** Finds `target` in the source repository at `rev` and checks that its objects are all there. */
export async function sourceVersion(source: string, target: string, rev: string, cwd: string): Promise<SourceVersion> {
  await loadHasher()
  const local = existsSync(resolve(cwd, source)) ? resolve(cwd, source) : undefined
  if (!local) throw new DvError('ENOREMOTE', `${source}: reading another repository needs its cache, so only local repositories work until remotes are configured`)
  const cache = join(local, DV_DIR, 'cache')
  if (!existsSync(cache)) throw new DvError('ENOTREPO', `${source} is not a dv repository (no ${DV_DIR}/cache)`)
  const tmp = mkdtempSync(join(tmpdir(), 'dv-get-'))
  try {
    gitClone(local, tmp)
    const objects = new GitObjects(tmp)
    let outs: TrackedOut[]
    let commit: string
    try {
      commit = await objects.commitOf(rev)
      outs = await outsAt(new Repo(tmp), objects, commit)
    } finally {
      objects.close()
    }
    const wanted = target.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+$/, '')
    const tracked = outs.find((t) => t.path === wanted || t.pointer === wanted || t.path === wanted.slice(0, -POINTER_SUFFIX.length))
    if (!tracked) throw new DvError('ENOTTRACKED', `${target} is not tracked by dv in ${source} at ${rev}`)
    const odb = new ObjectStore(cache)
    if (!odb.has(tracked.out.oid)) throw new MissingObjectError(tracked.out.oid, `${tracked.path} in ${source}`)
    let files: SourceVersion['files']
    const all = [tracked.out.oid]
    if (tracked.out.nfiles !== undefined) {
      files = diffSides(undefined, storedSide(odb, {kind: 'tree', oid: tracked.out.oid, size: tracked.out.size}), '').map((c) => ({rel: c.path.slice(1), ...c.to!}))
      const trees = (oid: string): void => {
        for (const e of odb.getTree(oid)) if (e.kind === 'tree') all.push(e.oid), trees(e.oid)
      }
      trees(tracked.out.oid)
      all.push(...files.map((f) => f.oid))
    } else {
      files = [{rel: '', oid: tracked.out.oid, size: tracked.out.size, exec: false}]
    }
    for (const f of files) if (!odb.has(f.oid)) throw new MissingObjectError(f.oid, `${tracked.path}/${f.rel} in ${source}`)
    return {odb, tracked, commit, files, objects: [...new Set(all)]}
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
}

export async function get(source: string, target: string, options: GetOptions = {}): Promise<GetResult> {
  const cwd = options.cwd ?? process.cwd()
  const rev = options.rev ?? 'HEAD'
  const v = await sourceVersion(source, target, rev, cwd)
  const dest = resolve(cwd, options.out ?? basename(v.tracked.path))
  if (existsSync(dest) && !options.force) throw new DvError('EEXIST', `${dest} already exists (use --force to overwrite it)`)
  for (const f of v.files) {
    const actual = await hashPath(v.odb.path(f.oid))
    if (actual !== f.oid) throw new CorruptObjectError(f.oid, actual, v.odb.dir)
  }
  if (existsSync(dest)) rmSync(dest, {recursive: true, force: true})
  const placed = await linkMany(v.odb, ['copy'], v.files.map((f) => ({oid: f.oid, dest: f.rel ? join(dest, f.rel) : dest, exec: f.exec})), {onProgress: options.onProgress})
  for (const p of placed) if (p instanceof Error) throw p
  const isDir = v.tracked.out.nfiles !== undefined
  return {path: dest, rev, oid: v.tracked.out.oid, files: v.files.length, size: isDir ? v.tracked.out.size : statSync(dest).size}
}

/**
 * Copies every object of a source version into `into`, checking each against its id. Files
 * first, then trees from the deepest up, so a tree in the store always has its whole subtree.
 */
export async function copyObjects(v: SourceVersion, into: ObjectStore): Promise<void> {
  for (const oid of [...v.objects].reverse()) {
    if (into.has(oid)) continue
    const facts = await ingestFile(v.odb.path(oid), into.dirs)
    if (facts.oid !== oid) throw new CorruptObjectError(oid, facts.oid, v.odb.dir)
  }
}

export function outOf(v: SourceVersion, name: string): PointerOut {
  const {oid, size, nfiles} = v.tracked.out
  return nfiles === undefined ? {path: name, oid, size} : {path: name, oid, size, nfiles}
}
