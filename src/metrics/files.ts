/**
 * Metrics and params files as they are in the workspace or were at any git revision. A file is
 * read from git when it is committed there, else from the cache when dv.lock (or a pointer file)
 * of that revision names it as an output (metrics are usually stage outputs, kept out of git).
 */
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {CorruptObjectError, MissingObjectError, PathNotFoundError} from '../errors.js'
import {loadHasher} from '../hash/blake3.js'
import {hashPath} from '../odb/ingest.js'
import {parseLock} from '../pipeline/lock.js'
import {parsePipeline, PIPELINE_FILES, type Pipeline} from '../pipeline/schema.js'
import {Repo} from '../repo/repo.js'
import {outsAt} from '../repo/revisions.js'
import {GitObjects} from '../scm/objects.js'

/** `undefined` is the workspace. */
export type Rev = string | undefined

/** A file of a revision, readable on disk. */
export interface FileAt {
  /** Relative to the repository root. */
  path: string
  /** A local file with its bytes: in the workspace, in the cache, or a temporary copy of a git blob. */
  file: string
}

export class VersionedFiles {
  /**
   * Opens the repository containing `cwd` and its files at any revision for `work`; closes the
   * git reader and drops temporary copies afterwards.
   */
  static async with<T>(cwd: string, work: (repo: Repo, files: VersionedFiles, objects: GitObjects) => Promise<T>): Promise<T> {
    const repo = Repo.open(cwd)
    await loadHasher()
    const objects = new GitObjects(repo.root)
    const files = new VersionedFiles(repo, objects)
    try {
      return await work(repo, files, objects)
    } finally {
      files.close()
      objects.close()
    }
  }

  private readonly commits = new Map<string, string>()
  private scratch: string | undefined

  constructor(
    private readonly repo: Repo,
    private readonly objects: GitObjects,
  ) {}

  private async commit(rev: string): Promise<string> {
    let c = this.commits.get(rev)
    if (!c) this.commits.set(rev, (c = await this.objects.commitOf(rev)))
    return c
  }

  /** The bytes of `path` (relative to the root) at `rev`; undefined when it did not exist. */
  async read(rev: Rev, path: string): Promise<Buffer | undefined> {
    if (rev === undefined) {
      const abs = this.repo.abs(path)
      return existsSync(abs) && statSync(abs).isFile() ? readFileSync(abs) : undefined
    }
    const commit = await this.commit(rev)
    const blob = await this.objects.read(`${commit}:${path}`)
    if (blob?.type === 'blob') return blob.data
    // A stage output or a tracked file: its id from dv.lock or a pointer, its bytes from the cache.
    const lock = await this.objects.read(`${commit}:dv.lock`)
    const fromLock = lock ? [...parseLock(lock.data.toString('utf8'), `dv.lock (at ${rev})`).values()].flatMap((s) => s.outs).find((o) => o.path === path && o.nfiles === undefined) : undefined
    const oid = fromLock?.oid ?? (await outsAt(this.repo, this.objects, commit)).find((t) => t.path === path && t.out.nfiles === undefined)?.out.oid
    return oid && this.repo.odb.has(oid) ? this.repo.odb.readBytes(oid) : undefined
  }

  /**
   * The files at or under `target` (relative to the root) at `rev`, sorted by path: from the
   * workspace, from git, or from the cache through the pointers and dv.lock of `rev` (each cached
   * object checked against its id before it is handed out). Call close() to drop temporary copies.
   */
  async files(rev: Rev, target: string): Promise<FileAt[]> {
    const under = (p: string) => target === '' || p === target || p.startsWith(`${target}/`)
    const found = new Map<string, string>()
    if (rev === undefined) {
      const walk = (rel: string) => {
        const st = statSync(this.repo.abs(rel), {throwIfNoEntry: false})
        if (st?.isFile()) found.set(rel, this.repo.abs(rel))
        else if (st?.isDirectory()) {
          for (const name of readdirSync(this.repo.abs(rel))) {
            const child = rel ? `${rel}/${name}` : name
            if (child !== '.git' && child !== '.dv') walk(child)
          }
        }
      }
      walk(target)
    } else {
      const commit = await this.commit(rev)
      for (const [path, blob] of await this.objects.listFiles(`${commit}^{tree}`, () => true)) {
        if (!under(path)) continue
        const obj = await this.objects.read(blob)
        if (!obj) continue
        this.scratch ??= mkdtempSync(join(tmpdir(), 'dv-files-'))
        const file = join(this.scratch, String(found.size))
        writeFileSync(file, obj.data)
        found.set(path, file)
      }
      const lock = await this.objects.read(`${commit}:dv.lock`)
      const outs = [
        ...(lock ? [...parseLock(lock.data.toString('utf8'), `dv.lock (at ${rev})`).values()].flatMap((s) => s.outs) : []),
        ...(await outsAt(this.repo, this.objects, commit)).map((t) => ({path: t.path, oid: t.out.oid})),
      ]
      const cached = new Map<string, string>()
      for (const out of outs) {
        if (!under(out.path) && !target.startsWith(`${out.path}/`)) continue
        this.cached(out.path, out.oid, (path, oid) => {
          if (under(path)) cached.set(path, oid)
        })
      }
      for (const [path, oid] of cached) {
        if (!this.repo.odb.has(oid)) throw new MissingObjectError(oid, `${path} (at ${rev}; run dv fetch -r ${rev})`)
        const file = this.repo.odb.path(oid)
        const actual = await hashPath(file)
        if (actual !== oid) throw new CorruptObjectError(oid, actual, this.repo.odb.dir)
        found.set(path, file)
      }
    }
    if (found.size === 0) throw new PathNotFoundError(`${target}${rev === undefined ? '' : ` (at ${rev})`}`)
    return [...found].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, file]) => ({path, file}))
  }

  /** Calls `visit` for every file of the cached output `oid` at `path` (a file or a tree). */
  private cached(path: string, oid: string, visit: (path: string, oid: string) => void): void {
    if (!this.repo.odb.has(oid) || !this.repo.odb.isTree(oid)) return visit(path, oid)
    for (const e of this.repo.odb.getTree(oid)) {
      if (e.kind === 'tree') this.cached(`${path}/${e.name}`, e.oid, visit)
      else visit(`${path}/${e.name}`, e.oid)
    }
  }

  /** Removes the temporary copies files() made. */
  close(): void {
    if (this.scratch) rmSync(this.scratch, {recursive: true, force: true})
    this.scratch = undefined
  }

  /** The pipeline at `rev` (paths interpolated with the workspace's params). */
  async pipeline(rev: Rev): Promise<Pipeline | undefined> {
    for (const file of PIPELINE_FILES) {
      const bytes = await this.read(rev, file)
      if (bytes) return parsePipeline(this.repo.root, file, bytes.toString('utf8'))
    }
    return undefined
  }
}
