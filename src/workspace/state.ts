/**
 * The state cache: (path, inode, size, mtime, ctime) → oid, kept in `.dv/state` across runs,
 * so an unchanged file is never hashed twice. A file whose timestamps are within RACY_MS of the
 * moment it was hashed is not recorded: a change made in the same timestamp tick could not be
 * told apart, so it is hashed again next time (git's "racy clean" problem, solved by not trusting).
 *
 * File format: `dv-state 1\0` then per entry `path\0ino\0size\0mtimeMs\0ctimeMs\0oid\0`.
 */
import {existsSync, readFileSync} from 'node:fs'

import type {FileFacts} from '../odb/ingest.js'
import {writeFileAtomic} from '../util/atomic.js'

const HEADER = 'dv-state 1'
/** Timestamp granularity to distrust: 2 s covers FAT and other coarse file systems. */
export const RACY_MS = 2000

interface Entry {
  ino: number
  size: number
  mtimeMs: number
  ctimeMs: number
  oid: string
}

export interface StatLike {
  ino: number
  size: number
  mtimeMs: number
  ctimeMs: number
}

export class StateCache {
  private entries?: Map<string, Entry>
  private dirty = false

  constructor(private readonly file: string) {}

  private load(): Map<string, Entry> {
    if (this.entries) return this.entries
    this.entries = new Map()
    if (!existsSync(this.file)) return this.entries
    const parts = readFileSync(this.file, 'utf8').split('\0')
    if (parts[0] !== HEADER) return this.entries // unknown or damaged: start over, it is only a cache
    for (let i = 1; i + 5 < parts.length; i += 6) {
      this.entries.set(parts[i], {
        ino: Number(parts[i + 1]),
        size: Number(parts[i + 2]),
        mtimeMs: Number(parts[i + 3]),
        ctimeMs: Number(parts[i + 4]),
        oid: parts[i + 5],
      })
    }
    return this.entries
  }

  /** The oid recorded for this path, if the file still has the stat it had when hashed. */
  get(path: string, st: StatLike): string | undefined {
    const e = this.load().get(path)
    if (!e) return undefined
    if (e.ino !== st.ino || e.size !== st.size || e.mtimeMs !== st.mtimeMs || e.ctimeMs !== st.ctimeMs) return undefined
    return e.oid
  }

  /**
   * Records what a file hashed to. `written` is for files dv itself just wrote from the cache:
   * their content is known whatever their timestamps say.
   */
  set(path: string, facts: FileFacts, written = false): void {
    if (!written && Date.now() - facts.mtimeMs < RACY_MS) {
      if (this.load().delete(path)) this.dirty = true
      return
    }
    const prev = this.load().get(path)
    if (prev && prev.oid === facts.oid && prev.ino === facts.ino && prev.size === facts.size && prev.mtimeMs === facts.mtimeMs && prev.ctimeMs === facts.ctimeMs) return
    this.load().set(path, {ino: facts.ino, size: facts.size, mtimeMs: facts.mtimeMs, ctimeMs: facts.ctimeMs, oid: facts.oid})
    this.dirty = true
  }

  /** Forgets entries under `prefix` (a path or directory) that are not in `keep`. */
  prune(prefix: string, keep: ReadonlySet<string>): void {
    const entries = this.load()
    const dir = prefix + '/'
    for (const path of entries.keys()) {
      if ((path === prefix || path.startsWith(dir)) && !keep.has(path)) {
        entries.delete(path)
        this.dirty = true
      }
    }
  }

  /** Writes the cache if it changed (temp file + rename). */
  save(): void {
    if (!this.dirty || !this.entries) return
    const parts: string[] = [HEADER]
    for (const [path, e] of this.entries) parts.push(path, String(e.ino), String(e.size), String(e.mtimeMs), String(e.ctimeMs), e.oid)
    parts.push('')
    writeFileAtomic(this.file, parts.join('\0'))
    this.dirty = false
  }
}
