/**
 * `dv get <repo> <target>`: copies a tracked dataset or model out of another dv repository
 * (a local path or a git URL), at any revision, without making it part of this one. The source's
 * git metadata is cloned (a bare mirror, no checkout: every branch and tag resolves as in the
 * source) into a temp directory, the pointer is read at the
 * revision, and the objects are copied from the source repository's cache, each checked against
 * its id on the way. (Fetching from the source's remote storage comes with remotes.)
 */
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, join, resolve} from 'node:path'

import {CorruptObjectError, DvError, GitError, MissingObjectError} from '../errors.js'
import {loadHasher} from '../hash/blake3.js'
import {POINTER_SUFFIX} from '../models/pointer.js'
import {hashPath} from '../odb/ingest.js'
import {ObjectStore} from '../odb/store.js'
import {GitObjects} from '../scm/objects.js'
import {linkMany} from '../workspace/link.js'
import {storedSide, diffSides} from '../workspace/diff.js'
import {Repo, DV_DIR} from './repo.js'
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

function gitClone(source: string, dir: string): void {
  try {
    execFileSync('git', ['clone', '--quiet', '--mirror', source, dir], {stdio: ['ignore', 'pipe', 'pipe']})
  } catch (error) {
    const msg = ((error as {stderr?: Buffer}).stderr?.toString() ?? '').trim().split('\n').at(-1)
    throw new GitError(`cannot clone ${source}: ${msg?.replace(/^fatal: /, '')}`)
  }
}

export async function get(source: string, target: string, options: GetOptions = {}): Promise<GetResult> {
  const cwd = options.cwd ?? process.cwd()
  await loadHasher()
  const localSource = existsSync(source) ? resolve(cwd, source) : undefined
  if (!localSource) {
    throw new DvError('ENOREMOTE', `${source}: dv get needs the source repository's cache, so only local repositories can be read until remotes are configured`)
  }
  const cache = join(localSource, DV_DIR, 'cache')
  if (!existsSync(cache)) throw new DvError('ENOTREPO', `${source} is not a dv repository (no ${DV_DIR}/cache)`)
  const tmp = mkdtempSync(join(tmpdir(), 'dv-get-'))
  try {
    gitClone(localSource, tmp)
    const sourceRepo = new Repo(tmp)
    const objects = new GitObjects(tmp)
    let outs
    const rev = options.rev ?? 'HEAD'
    try {
      outs = await outsAt(sourceRepo, objects, rev)
    } finally {
      objects.close()
    }
    const wanted = target.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+$/, '')
    const chosen = outs.find((t) => t.path === wanted || t.pointer === wanted || t.path === wanted.replace(new RegExp(`\\${POINTER_SUFFIX}$`), ''))
    if (!chosen) throw new DvError('ENOTTRACKED', `${target} is not tracked by dv in ${source} at ${rev}`)
    const dest = resolve(cwd, options.out ?? basename(chosen.path))
    if (existsSync(dest) && !options.force) throw new DvError('EEXIST', `${dest} already exists (use --force to overwrite it)`)
    const odb = new ObjectStore(cache)
    if (!odb.has(chosen.out.oid)) throw new MissingObjectError(chosen.out.oid, `${chosen.path} in ${source}`)
    const isDir = chosen.out.nfiles !== undefined
    // Every file of the version, as [path relative to dest, oid].
    const files = isDir
      ? diffSides(undefined, storedSide(odb, {kind: 'tree', oid: chosen.out.oid, size: chosen.out.size}), '').map((c) => [c.path.slice(1), c.to!] as const)
      : [['', {oid: chosen.out.oid, size: chosen.out.size, exec: false}] as const]
    for (const [rel, v] of files) {
      if (!odb.has(v.oid)) throw new MissingObjectError(v.oid, `${chosen.path}/${rel} in ${source}`)
      const actual = await hashPath(odb.path(v.oid))
      if (actual !== v.oid) throw new CorruptObjectError(v.oid, actual, cache)
    }
    if (existsSync(dest)) rmSync(dest, {recursive: true, force: true})
    const placed = await linkMany(odb, ['copy'], files.map(([rel, v]) => ({oid: v.oid, dest: rel ? join(dest, rel) : dest, exec: v.exec})), {onProgress: options.onProgress})
    for (const p of placed) if (p instanceof Error) throw p
    return {path: dest, rev, oid: chosen.out.oid, files: files.length, size: isDir ? chosen.out.size : statSync(dest).size}
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
}
