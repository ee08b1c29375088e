/**
 * Reading a workspace file once: hash it and, when storing, copy the same bytes into the object
 * store as they are read (temp file, then rename to the object's id). Runs in the main thread
 * or in the pool's workers (ingest-worker.ts); both call these functions.
 */
import {closeSync, existsSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync, type Stats} from 'node:fs'
import {open, rename, unlink} from 'node:fs/promises'
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'

import {FileChangedError} from '../errors.js'
import {createHasher} from '../hash/blake3.js'
import {crashPoint} from '../util/crash.js'

/** Files up to this size are read in one call; larger ones are streamed in CHUNK pieces. */
export const SMALL_FILE = 4 * 1024 * 1024
const CHUNK = 1024 * 1024

/** What is known about a file after reading it: its id and the stat it had when read. */
export interface FileFacts {
  oid: string
  size: number
  ino: number
  mtimeMs: number
  ctimeMs: number
  mode: number
}

/** Where objects go: `<objects>/<2 hex>/<62 hex>`, temp files in `<tmp>`. */
export interface StoreDirs {
  objects: string
  tmp: string
}

export function objectPath(objects: string, oid: string): string {
  return join(objects, oid.slice(0, 2), oid.slice(2))
}

export function tempName(tmp: string): string {
  return join(tmp, `${process.pid}-${randomBytes(6).toString('hex')}.tmp`)
}

function facts(oid: string, st: Stats): FileFacts {
  return {oid, size: st.size, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, mode: st.mode}
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino
}

/**
 * Stores bytes held in memory as object `oid` (already computed from exactly these bytes):
 * written read-only to a temp file, then renamed into place. Nothing if it is already there.
 */
export function writeObjectSync(store: StoreDirs, oid: string, data: Uint8Array): void {
  const dest = objectPath(store.objects, oid)
  if (existsSync(dest)) return
  const tmpFile = tempName(store.tmp)
  try {
    const out = openSync(tmpFile, 'wx', 0o444)
    try {
      let off = 0
      while (off < data.length) off += writeSync(out, data, off, data.length - off)
    } finally {
      closeSync(out)
    }
    crashPoint('odb.object.temp-written')
    renameSync(tmpFile, dest)
    crashPoint('odb.object.renamed')
  } catch (error) {
    rmSync(tmpFile, {force: true})
    throw error
  }
}

/** Hashes (and with `store`, stores) one file. Picks the small or streamed path by size. */
export async function ingestFile(path: string, store?: StoreDirs): Promise<FileFacts> {
  const fd = openSync(path, 'r')
  try {
    const before = fstatSync(fd)
    if (before.size <= SMALL_FILE) return ingestSmall(fd, path, before, store)
    return await ingestLarge(fd, path, before, store)
  } finally {
    closeSync(fd)
  }
}

function ingestSmall(fd: number, path: string, before: Stats, store?: StoreDirs): FileFacts {
  const buf = Buffer.allocUnsafe(before.size + 1)
  let n = 0
  for (;;) {
    const r = readSync(fd, buf, n, buf.length - n, n)
    if (r === 0) break
    n += r
    if (n === buf.length) throw new FileChangedError(path)
  }
  if (n !== before.size) throw new FileChangedError(path)
  const data = buf.subarray(0, n)
  const h = createHasher()
  h.update(data)
  const oid = h.digestHex()
  if (store) writeObjectSync(store, oid, data)
  return facts(oid, before)
}

/**
 * Large files: reads, hashing and writes overlap. Reads and writes run on libuv's thread pool
 * while this thread hashes the previous chunk, so the file is read once and the cost is close
 * to the slower of hashing and copying.
 */
async function ingestLarge(fd: number, path: string, before: Stats, store?: StoreDirs): Promise<FileFacts> {
  const input = await open(path, 'r')
  const tmpFile = store ? tempName(store.tmp) : undefined
  const output = tmpFile ? await open(tmpFile, 'wx', 0o444) : undefined
  const h = createHasher()
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)]
  let total = 0
  try {
    let which = 0
    let pendingRead = input.read(buffers[which], 0, CHUNK, 0)
    let pendingWrite: Promise<unknown> = Promise.resolve()
    for (;;) {
      const {bytesRead, buffer} = await pendingRead
      if (bytesRead === 0) break
      const chunk = buffer.subarray(0, bytesRead)
      total += bytesRead
      which = (which + 1) % buffers.length
      pendingRead = input.read(buffers[which], 0, CHUNK, total)
      // The buffer being written is never the one being read into: three rotate.
      await pendingWrite
      if (output) pendingWrite = output.write(chunk, 0, chunk.length)
      h.update(chunk)
    }
    await pendingWrite
    const after = fstatSync(fd)
    if (total !== before.size || !sameFile(before, after)) throw new FileChangedError(path)
    const oid = h.digestHex()
    if (output && tmpFile && store) {
      await output.close()
      crashPoint('odb.object.temp-written')
      const dest = objectPath(store.objects, oid)
      if (existsSync(dest)) await unlink(tmpFile)
      else await rename(tmpFile, dest)
      crashPoint('odb.object.renamed')
    }
    return facts(oid, before)
  } catch (error) {
    if (output && tmpFile) {
      await output.close().catch(() => {})
      await unlink(tmpFile).catch(() => {})
    }
    throw error
  } finally {
    await input.close()
    if (output) await output.close().catch(() => {})
  }
}

/** Hashes the bytes of a stored object, to verify it against its id. */
export async function hashPath(path: string): Promise<string> {
  return (await ingestFile(path)).oid
}
