/**
 * Packs: many small objects in one tar file, so that pushing 200,000 small files costs a few
 * hundred requests rather than 200,000. A pack is two keys on the remote:
 *   packs/<id>.tar  the objects, each named `<2 hex>/<62 hex>` (so `tar -x -C .dv/cache/objects`
 *                   unpacks a pack straight into a cache), mode 0444, mtime 0: the same objects
 *                   always make the same bytes;
 *   packs/<id>.idx  a text index, `dv-pack-index 1` then one `<oid> <offset> <size>` line per
 *                   object, offset being where its bytes start in the tar;
 * and `<id>` is the BLAKE3 of the index, so an index is verified like any object. The tar goes up
 * first and the index second: a pack exists once its index does. Readers fetch only the byte
 * ranges they need (ranged GETs), never a whole pack for one file.
 */
import {Header} from 'tar'

import {CorruptObjectError} from '../errors.js'
import {hashBytes} from '../hash/blake3.js'
import {isOid} from '../models/tree.js'

export interface PackEntry {
  oid: string
  /** Where the object's bytes start in the tar. */
  offset: number
  size: number
}

const BLOCK = 512
const INDEX_HEADER = 'dv-pack-index 1'
const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK

export interface BuiltPack {
  id: string
  tar: Buffer
  index: Buffer
  entries: PackEntry[]
}

/** Builds a pack from objects already in memory. */
export function buildPack(objects: ReadonlyArray<{oid: string; bytes: Uint8Array}>): BuiltPack {
  let total = 2 * BLOCK // the end-of-archive marker
  for (const o of objects) total += BLOCK + padded(o.bytes.length)
  const tar = Buffer.alloc(total)
  const entries: PackEntry[] = []
  let at = 0
  for (const o of objects) {
    const header = new Header({path: `${o.oid.slice(0, 2)}/${o.oid.slice(2)}`, mode: 0o444, uid: 0, gid: 0, size: o.bytes.length, mtime: new Date(0), type: 'File'})
    header.encode(tar, at)
    at += BLOCK
    tar.set(o.bytes, at)
    entries.push({oid: o.oid, offset: at, size: o.bytes.length})
    at += padded(o.bytes.length)
  }
  const index = Buffer.from([INDEX_HEADER, ...entries.map((e) => `${e.oid} ${e.offset} ${e.size}`), ''].join('\n'))
  return {id: hashBytes(index), tar, index, entries}
}

/**
 * Parses an index fetched from `where`, checking it against its id first. `packSize`, when the
 * caller knows the tar's size, bounds the entries too.
 */
export function parseIndex(bytes: Buffer, id: string, where: string, packSize?: number): PackEntry[] {
  const actual = hashBytes(bytes)
  if (actual !== id) throw new CorruptObjectError(id, actual, `${where} (pack index)`)
  const lines = bytes.toString('utf8').split('\n')
  const bad = (n: number) => new CorruptObjectError(id, `a malformed line ${n}`, `${where} (pack index)`)
  if (lines[0] !== INDEX_HEADER) throw bad(1)
  const entries: PackEntry[] = []
  // The id only proves the index is the one named, not that whoever wrote it told the truth. An
  // index that lies about offsets or sizes would have dv read overlapping or absurd ranges
  // (allocating buffers of the size it claims), so entries must lie as buildPack lays them out:
  // in order, each on a block boundary after its header block and past the previous entry's
  // padded bytes, in safe integers, and before the end-of-archive blocks of a pack of packSize.
  let end = 0
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '') continue
    const [oid, offset, size] = lines[i].split(' ')
    if (!isOid(oid) || !/^[0-9]+$/.test(offset) || !/^[0-9]+$/.test(size)) throw bad(i + 1)
    const entry = {oid, offset: Number(offset), size: Number(size)}
    const next = entry.offset + padded(entry.size)
    if (!Number.isSafeInteger(next) || entry.offset % BLOCK !== 0 || entry.offset - BLOCK < end) throw bad(i + 1)
    if (packSize !== undefined && entry.offset + entry.size > packSize - 2 * BLOCK) throw bad(i + 1)
    end = next
    entries.push(entry)
  }
  return entries
}

export interface ByteRange {
  start: number
  end: number
  entries: PackEntry[]
}

/**
 * Groups wanted entries of one pack into few ranges: neighbours closer than `gap` bytes share a
 * range (one request reads a little extra rather than making two), up to `span` bytes a range.
 */
export function coalesce(entries: readonly PackEntry[], gap = 256 * 1024, span = 64 * 1024 * 1024): ByteRange[] {
  const sorted = [...entries].sort((a, b) => a.offset - b.offset)
  const ranges: ByteRange[] = []
  for (const e of sorted) {
    const last = ranges.at(-1)
    const end = e.offset + e.size
    if (last && e.offset - last.end <= gap && end - last.start <= span) {
      last.end = Math.max(last.end, end)
      last.entries.push(e)
    } else {
      ranges.push({start: e.offset, end, entries: [e]})
    }
  }
  return ranges
}
