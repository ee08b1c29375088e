/**
 * Data from another dv repository (a local path or any git URL):
 * - `dv get <repo> <target>` copies a tracked dataset or model out of it, at any revision,
 *   without making it part of this repository;
 * - `dv import` does the same into this repository's cache and records where it came from in the
 *   pointer file (`deps: [{path, repo: {url, rev, rev_lock}}]`, as DVC does), and `dv update`
 *   moves an import to the newest commit of its revision.
 * The source's git metadata is cloned (a bare mirror: every branch and tag resolves as in the
 * source) into a temp directory and the pointer is read at the revision. Objects come from the
 * source's cache when it is on this machine and has them, else from the default remote that the
 * source's committed `.dv/config` names; each is checked against its id.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, isAbsolute, join, resolve} from 'node:path'

import {CorruptObjectError, DvError, GitError, MissingObjectError} from '../errors.js'
import {loadHasher} from '../hash/blake3.js'
import {POINTER_SUFFIX, type PointerOut} from '../models/pointer.js'
import {hashPath, ingestFile} from '../odb/ingest.js'
import {ObjectStore} from '../odb/store.js'
import type {RemoteObjects} from '../remote/objects.js'
import {remoteFromConfig} from '../remote/open.js'
import {GitObjects} from '../scm/objects.js'
import {diffSides, storedSide} from '../workspace/diff.js'
import {linkMany} from '../workspace/link.js'
import {Config} from './config.js'
import {DV_DIR, Repo, type TrackedOut} from './repo.js'
import {outsAt} from './revisions.js'
import {defaultJobs, fetchObjects} from './transfer.js'

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
  /** Where the objects are: the source's cache, or a temporary store filled from its remote. */
  odb: ObjectStore
  /** Whether every object was already checked against its id (fetched from a remote). */
  verified: boolean
  /** Removes the temporary clone and store. */
  close(): void
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

/**
 * The source's default remote, as its committed `.dv/config` at the revision names it (with the
 * user's global config for credentials, and the environment's AWS credentials).
 */
function sourceRemote(configTexts: string[], source: string, local: string | undefined, tmp: string): RemoteObjects {
  if (configTexts.length === 0) throw new DvError('ENOTREPO', `${source} is not a dv repository (no ${DV_DIR}/config)`)
  let config!: Config
  let name: string | undefined
  for (const [i, text] of configTexts.entries()) {
    const dir = join(tmp, `dv${i}`)
    mkdirSync(dir)
    writeFileSync(join(dir, 'config'), text)
    config = new Config(dir)
    name = config.get('core.remote')
    if (name) break
  }
  if (!name) throw new DvError('ENOREMOTE', `${source}: its data is not in a cache here, and it has no default remote to fetch it from`)
  const url = config.get(`remote.${name}.url`) ?? ''
  if (!local && !url.startsWith('s3://') && !isAbsolute(url)) {
    throw new DvError('ENOREMOTE', `${source}: its default remote ${JSON.stringify(name)} is the relative path ${JSON.stringify(url)}, which only means something inside that repository`)
  }
  return remoteFromConfig(config, name, local ?? tmp, join(tmp, 'remote-index'))
}

/**
 * Finds `target` in the source repository (a local path or any git URL) at `rev`, and makes all
 * its objects readable: from the source's cache when it is on this machine and holds them, else
 * fetched (and verified) from the source's default remote into a temporary store. Call
 * `close()` when done.
 */
export async function sourceVersion(source: string, target: string, rev: string, cwd: string, options: {onProgress?: (files: number, bytes: number) => void} = {}): Promise<SourceVersion> {
  await loadHasher()
  const local = existsSync(resolve(cwd, source)) ? resolve(cwd, source) : undefined
  if (local && !existsSync(join(local, DV_DIR))) throw new DvError('ENOTREPO', `${source} is not a dv repository (no ${DV_DIR} directory)`)
  const tmp = mkdtempSync(join(tmpdir(), 'dv-get-'))
  const close = () => rmSync(tmp, {recursive: true, force: true})
  try {
    const gitDir = join(tmp, 'git')
    gitClone(local ?? source, gitDir)
    const objects = new GitObjects(gitDir)
    let outs: TrackedOut[]
    let commit: string
    let configs: string[]
    try {
      commit = await objects.commitOf(rev)
      outs = await outsAt(new Repo(gitDir), objects, commit)
      // The remote the revision's config names; else the one its HEAD names (remotes are often
      // added after the data they now hold was first committed).
      configs = (await Promise.all([commit, 'HEAD'].map((r) => objects.read(`${r}:${DV_DIR}/config`)))).flatMap((o) => (o ? [o.data.toString('utf8')] : []))
    } finally {
      objects.close()
    }
    const wanted = target.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+$/, '')
    const tracked = outs.find((t) => t.path === wanted || t.pointer === wanted || t.path === wanted.slice(0, -POINTER_SUFFIX.length))
    if (!tracked) throw new DvError('ENOTTRACKED', `${target} is not tracked by dv in ${source} at ${rev}`)
    const isDir = tracked.out.nfiles !== undefined
    // A tree in a cache vouches for its whole subtree; a file is its own object.
    const cache = local ? new ObjectStore(join(local, DV_DIR, 'cache')) : undefined
    let odb: ObjectStore
    let verified = false
    if (cache && existsSync(cache.dir) && cache.has(tracked.out.oid)) {
      odb = cache
    } else {
      odb = new ObjectStore(join(tmp, 'cache'))
      odb.init()
      const remote = sourceRemote(configs, source, local, tmp)
      await fetchObjects(remote, odb, [{oid: tracked.out.oid, dir: isDir}], {jobs: defaultJobs(), onProgress: options.onProgress})
      verified = true
    }
    let files: SourceVersion['files']
    const all = [tracked.out.oid]
    if (isDir) {
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
    return {odb, verified, tracked, commit, files, objects: [...new Set(all)], close}
  } catch (error) {
    close()
    throw error
  }
}

export async function get(source: string, target: string, options: GetOptions = {}): Promise<GetResult> {
  const cwd = options.cwd ?? process.cwd()
  const rev = options.rev ?? 'HEAD'
  const dest = resolve(cwd, options.out ?? basename(target.replace(/\/+$/, '').replace(/\.dv$/, '')))
  if (existsSync(dest) && !options.force) throw new DvError('EEXIST', `${dest} already exists (use --force to overwrite it)`)
  const v = await sourceVersion(source, target, rev, cwd, {onProgress: options.onProgress})
  try {
    if (!v.verified) {
      for (const f of v.files) {
        const actual = await hashPath(v.odb.path(f.oid))
        if (actual !== f.oid) throw new CorruptObjectError(f.oid, actual, v.odb.dir)
      }
    }
    if (existsSync(dest)) rmSync(dest, {recursive: true, force: true})
    const placed = await linkMany(v.odb, ['copy'], v.files.map((f) => ({oid: f.oid, dest: f.rel ? join(dest, f.rel) : dest, exec: f.exec})), {onProgress: options.onProgress})
    for (const p of placed) if (p instanceof Error) throw p
    const isDir = v.tracked.out.nfiles !== undefined
    return {path: dest, rev, oid: v.tracked.out.oid, files: v.files.length, size: isDir ? v.tracked.out.size : statSync(dest).size}
  } finally {
    v.close()
  }
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
