/**
 * Metrics and params files as they are in the workspace or were at any git revision. A file is
 * read from git when it is committed there, else from the cache when dv.lock (or a pointer file)
 * of that revision names it as an output (metrics are usually stage outputs, kept out of git).
 */
import {existsSync, readFileSync, statSync} from 'node:fs'

import {parseLock} from '../pipeline/lock.js'
import {parsePipeline, PIPELINE_FILES, type Pipeline} from '../pipeline/schema.js'
import type {Repo} from '../repo/repo.js'
import {outsAt} from '../repo/revisions.js'
import type {GitObjects} from '../scm/objects.js'

/** `undefined` is the workspace. */
export type Rev = string | undefined

export class VersionedFiles {
  private readonly commits = new Map<string, string>()

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

  /** The pipeline at `rev` (paths interpolated with the workspace's params). */
  async pipeline(rev: Rev): Promise<Pipeline | undefined> {
    for (const file of PIPELINE_FILES) {
      const bytes = await this.read(rev, file)
      if (bytes) return parsePipeline(this.repo.root, file, bytes.toString('utf8'))
    }
    return undefined
  }
}
