/**
 * The state cache: (path, inode, size, mtime, ctime) → oid, kept in `.dv/state` across runs,
 * so an unchanged file is never hashed twice. A file modified within RACY_MS of the moment it was
 * hashed is not recorded: a same-size change made within the same timestamp tick could not be
 * told apart, so it is hashed again next time (git's "racy clean" problem, solved by not trusting).
 *
 * File format (binary, so that 200,000 entries load in milliseconds): the magic `DVST2\n`, then
 * one record per file: u32 LE byte length of the path, the UTF-8 path, four f64 LE (ino, size,
 * mtimeMs, ctimeMs), and the 32 raw bytes of the oid. Loading only indexes the records; numbers
 * and oids are read from the buffer when a path is looked up, and unchanged records are copied
 * as bytes when the file is saved.
 */
import {existsSync, readFileSync} from 'node:fs'

import type {FileFacts} from '../odb/ingest.js'
import {writeFileAtomic} from '../util/atomic.js'
import {crashPoint} from '../util/crash.js'

const MAGIC = Buffer.from('DVST2\n')
const FIXED = 4 * 8 + 32
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
  private buf?: Buffer
  /** path → offset of its numbers in `buf`. */
  private base?: Map<string, number>
  /** Entries added or changed in this run; null marks a removed entry. */
  private readonly changed = new Map<string, Entry | null>()

  constructor(private readonly file: string) {}

  private load(): Map<string, number> {
    if (this.base) return this.base
    this.base = new Map()
    if (!existsSync(this.file)) return this.base
    const buf = readFileSync(this.file)
    if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return this.base // unknown or old: it is only a cache
    this.buf = buf
    let off = MAGIC.length
    while (off + 4 <= buf.length) {
      const len = buf.readUInt32LE(off)
      const end = off + 4 + len + FIXED
      if (end > buf.length) break // a truncated tail is dropped
      this.base.set(buf.toString('utf8', off + 4, off + 4 + len), off + 4 + len)
      off = end
    }
    return this.base
  }

  /** The oid recorded for this path, if the file still has the stat it had when hashed. */
  get(path: string, st: StatLike): string | undefined {
    const c = this.changed.get(path)
    if (c !== undefined) {
      if (c === null || c.ino !== st.ino || c.size !== st.size || c.mtimeMs !== st.mtimeMs || c.ctimeMs !== st.ctimeMs) return undefined
      return c.oid
    }
    const off = this.load().get(path)
    if (off === undefined) return undefined
    const b = this.buf!
    if (b.readDoubleLE(off) !== st.ino || b.readDoubleLE(off + 8) !== st.size || b.readDoubleLE(off + 16) !== st.mtimeMs || b.readDoubleLE(off + 24) !== st.ctimeMs) {
      return undefined
    }
    return b.toString('hex', off + 32, off + 64)
  }

  /**
   * Records what a file hashed to. `written` is for files dv itself just wrote from the cache:
   * their content is known whatever their timestamps say.
   */
  set(path: string, facts: FileFacts, written = false): void {
    if (!written && Date.now() - facts.mtimeMs < RACY_MS) {
      if (this.load().has(path) || this.changed.has(path)) this.changed.set(path, null)
      return
    }
    if (this.get(path, facts) === facts.oid) return
    this.changed.set(path, {ino: facts.ino, size: facts.size, mtimeMs: facts.mtimeMs, ctimeMs: facts.ctimeMs, oid: facts.oid})
  }

  /** Forgets entries under `prefix` (a path or directory) that are not in `keep`. */
  prune(prefix: string, keep: ReadonlySet<string>): void {
    const dir = prefix + '/'
    const drop = (path: string) => (path === prefix || path.startsWith(dir)) && !keep.has(path)
    for (const path of this.load().keys()) if (drop(path)) this.changed.set(path, null)
    for (const path of this.changed.keys()) if (drop(path)) this.changed.set(path, null)
  }

  /** Writes the cache if it changed (temp file + rename). */
  save(): void {
    if (this.changed.size === 0) return
    const base = this.load()
    const chunks: Buffer[] = [MAGIC]
    const b = this.buf
    for (const [path, off] of base) {
      if (this.changed.has(path)) continue
      const start = off - Buffer.byteLength(path) - 4
      chunks.push(b!.subarray(start, off + FIXED))
    }
    for (const [path, e] of this.changed) {
      if (!e) continue
      const p = Buffer.from(path)
      const rec = Buffer.allocUnsafe(4 + p.length + FIXED)
      rec.writeUInt32LE(p.length, 0)
      p.copy(rec, 4)
      let o = 4 + p.length
      o = rec.writeDoubleLE(e.ino, o)
      o = rec.writeDoubleLE(e.size, o)
      o = rec.writeDoubleLE(e.mtimeMs, o)
      o = rec.writeDoubleLE(e.ctimeMs, o)
      rec.write(e.oid, o, 'hex')
      chunks.push(rec)
    }
    crashPoint('state.save')
    writeFileAtomic(this.file, Buffer.concat(chunks))
    this.buf = undefined
    this.base = undefined
    this.changed.clear()
  }
}
