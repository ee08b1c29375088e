/**
 * The layout of objects on a remote, over any RemoteStore:
 *   objects/<2 hex>/<62 hex>   a large object, alone (multipart upload on S3);
 *   packs/<id>.tar + .idx      small objects, many to a pack (see packs.ts);
 *   runs/<2 hex>/<62 hex>      run-cache records (src/pipeline/runcache.ts), each sent after the
 *                              objects it names.
 * What a remote holds comes from two listings plus the indexes of packs not seen before (kept,
 * verified, in the cache's `remote-index/`), so deciding what is missing never costs a request
 * per object. Every object received is checked against its id before it is stored or used.
 */
import {chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {CorruptObjectError, MissingObjectError} from '../errors.js'
import {hashBytes} from '../hash/blake3.js'
import {isOid} from '../models/tree.js'
import {ingestFile, objectPath, tempName, writeObjectSync, type StoreDirs} from '../odb/ingest.js'
import {writeFileAtomic} from '../util/atomic.js'
import type {RemoteStore} from './backend.js'
import {buildPack, coalesce, parseIndex, type PackEntry} from './packs.js'
import {crashPoint} from '../util/crash.js'

/** Packs are closed at this many bytes by default (`remote.<name>.pack_size`). */
export const DEFAULT_PACK_SIZE = 32 * 1024 * 1024
/** Objects at least this large travel alone. */
const LARGE_OBJECT = 1024 * 1024
/** Packs built or ranges read at once: each is held in memory (measured: 4 in flight took W2's push to ~290 MiB). */
const PACKS_IN_FLIGHT = 2
/** Most bytes of a pack read in one ranged GET (measured: 16 MiB took a W3 pull from S3 past 500 MiB RSS). */
const RANGE_SPAN = 8 * 1024 * 1024

/** Where an object is on the remote: alone, or at a place in a pack. */
export interface Location {
  pack?: string
  offset: number
  size: number
}

export interface SendItem {
  oid: string
  size: number
}

/** Runs `work` over items with at most `limit` in flight; stops at the first failure. */
export async function inPool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  let failed = false
  const worker = async () => {
    while (!failed && next < items.length) {
      try {
        await work(items[next++])
      } catch (error) {
        failed = true
        throw error
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
}

const looseKey = (oid: string) => `objects/${oid.slice(0, 2)}/${oid.slice(2)}`

export class RemoteObjects {
  private known?: Map<string, Location>
  /** Packs whose index did not match its name when the inventory was read (for dv fsck). */
  readonly damagedPacks: string[] = []

  constructor(
    readonly store: RemoteStore,
    /** Local directory of verified pack indexes (content-addressed, so shared by all remotes). */
    private readonly indexDir: string,
    private readonly packSize = DEFAULT_PACK_SIZE,
  ) {}

  get where(): string {
    return this.store.where
  }

  /** Every object on the remote and where it is. Read once per RemoteObjects, then kept up to date. */
  async inventory(jobs = 8): Promise<Map<string, Location>> {
    if (this.known) return this.known
    const [loose, packKeys] = await Promise.all([this.store.list('objects/'), this.store.list('packs/')])
    const found = new Map<string, Location>()
    for (const key of loose) {
      const oid = key.slice('objects/'.length).replace('/', '')
      if (isOid(oid)) found.set(oid, {offset: 0, size: -1})
    }
    const keys = new Set(packKeys)
    // A pack counts once its index is there; its tar went up first.
    const packs = packKeys.filter((k) => k.endsWith('.idx') && keys.has(k.replace(/\.idx$/, '.tar'))).map((k) => k.slice('packs/'.length, -'.idx'.length))
    await inPool(packs, jobs, async (pack) => {
      if (!isOid(pack)) return
      let entries: PackEntry[]
      try {
        entries = await this.readIndex(pack)
      } catch (error) {
        // An index that does not match its name (a server that is not atomic, killed mid-write)
        // is no pack: its objects count as absent and a push sends them again.
        if (error instanceof CorruptObjectError) {
          this.damagedPacks.push(pack)
          return
        }
        throw error
      }
      for (const e of entries) if (!found.has(e.oid)) found.set(e.oid, {pack, offset: e.offset, size: e.size})
    })
    this.known = found
    return found
  }

  private async readIndex(pack: string): Promise<PackEntry[]> {
    const cached = join(this.indexDir, `${pack}.idx`)
    if (existsSync(cached)) {
      try {
        return parseIndex(readFileSync(cached), pack, cached)
      } catch {
        rmSync(cached, {force: true}) // damaged local copy: read the remote's again
      }
    }
    const bytes = await this.store.getBytes(`packs/${pack}.idx`)
    const entries = parseIndex(bytes, pack, `remote ${this.where}`)
    mkdirSync(this.indexDir, {recursive: true})
    writeFileAtomic(cached, bytes)
    return entries
  }

  /** Keys of the run-cache records on the remote. */
  async runKeys(): Promise<Set<string>> {
    return new Set((await this.store.list('runs/')).map((k) => k.slice('runs/'.length).replace('/', '')).filter(isOid))
  }

  async putRun(key: string, file: string): Promise<void> {
    await this.store.put(`runs/${key.slice(0, 2)}/${key.slice(2)}`, {file})
    crashPoint('remote.run-sent')
  }

  async getRun(key: string): Promise<Buffer> {
    return this.store.getBytes(`runs/${key.slice(0, 2)}/${key.slice(2)}`)
  }

  /**
   * Uploads objects from the cache at `objects`. Small ones go in packs, large ones alone, all
   * concurrently; with `ordered`, one after another in the order given (trees: each after its
   * subtrees). Objects already on the remote must have been left out by the caller.
   */
  async send(objects: string, items: readonly SendItem[], options: {ordered?: boolean; jobs: number; onSent?: (count: number, bytes: number) => void}): Promise<void> {
    const batches: SendItem[][] = []
    const large: SendItem[] = []
    let open: SendItem[] = []
    let openBytes = 0
    const close = () => {
      if (open.length > 0) batches.push(open)
      open = []
      openBytes = 0
    }
    const sendBatch = async (batch: SendItem[]) => {
      const pack = buildPack(batch.map(({oid}) => {
        const bytes = readFileSync(objectPath(objects, oid))
        const actual = hashBytes(bytes)
        if (actual !== oid) throw new CorruptObjectError(oid, actual, 'the cache')
        return {oid, bytes}
      }))
      await this.store.put(`packs/${pack.id}.tar`, {bytes: pack.tar})
      crashPoint('remote.pack.tar-sent')
      await this.store.put(`packs/${pack.id}.idx`, {bytes: pack.index})
      crashPoint('remote.pack.index-sent')
      mkdirSync(this.indexDir, {recursive: true})
      writeFileAtomic(join(this.indexDir, `${pack.id}.idx`), pack.index)
      for (const e of pack.entries) this.known?.set(e.oid, {pack: pack.id, offset: e.offset, size: e.size})
      options.onSent?.(batch.length, batch.reduce((n, i) => n + i.size, 0))
    }
    const sendAlone = async (item: SendItem) => {
      await this.store.put(looseKey(item.oid), {file: objectPath(objects, item.oid)})
      this.known?.set(item.oid, {offset: 0, size: item.size})
      options.onSent?.(1, item.size)
    }
    if (options.ordered) {
      // In order: a pack is closed before an object that travels alone, and each waits for the last.
      for (const item of items) {
        if (item.size >= LARGE_OBJECT) {
          close()
          for (const b of batches.splice(0)) await sendBatch(b)
          await sendAlone(item)
          continue
        }
        open.push(item)
        openBytes += item.size + 512
        if (openBytes >= this.packSize) close()
      }
      close()
      for (const b of batches) await sendBatch(b)
      return
    }
    for (const item of items) {
      if (item.size >= LARGE_OBJECT) {
        large.push(item)
        continue
      }
      open.push(item)
      openBytes += item.size + 512
      if (openBytes >= this.packSize) close()
    }
    close()
    await Promise.all([inPool(batches, Math.min(options.jobs, PACKS_IN_FLIGHT), sendBatch), inPool(large, options.jobs, sendAlone)])
  }

  /**
   * Downloads objects, each checked against its id. Into the cache at `into`, or, without it,
   * returned in memory (trees, read before their files are known). With `verifyOnly` (and `into`
   * for its temporary files) they are only checked, and with `onCorrupt` a corrupt one is
   * reported and the rest go on (dv fsck --remote).
   */
  async receive(
    oids: readonly string[],
    options: {into?: StoreDirs; jobs: number; onReceived?: (count: number, bytes: number) => void; verifyOnly?: boolean; onCorrupt?: (oid: string, actual: string) => void},
  ): Promise<Map<string, Buffer>> {
    const known = await this.inventory(options.jobs)
    const held = new Map<string, Buffer>()
    const byPack = new Map<string, PackEntry[]>()
    const alone: string[] = []
    for (const oid of oids) {
      const at = known.get(oid)
      if (!at) throw new MissingObjectError(oid, `remote ${this.where}`)
      if (at.pack === undefined) alone.push(oid)
      else {
        let list = byPack.get(at.pack)
        if (!list) byPack.set(at.pack, (list = []))
        list.push({oid, offset: at.offset, size: at.size})
      }
    }
    const corrupt = (oid: string, actual: string) => {
      if (!options.onCorrupt) throw new CorruptObjectError(oid, actual, `remote ${this.where}`)
      options.onCorrupt(oid, actual)
    }
    const deliver = (oid: string, bytes: Buffer) => {
      const actual = hashBytes(bytes)
      if (actual !== oid) return corrupt(oid, actual)
      if (options.verifyOnly) {
        // checked only
      } else if (options.into) writeObjectSync(options.into, oid, bytes)
      else held.set(oid, Buffer.from(bytes))
      options.onReceived?.(1, bytes.length)
    }
    const ranges = [...byPack].flatMap(([pack, entries]) => coalesce(entries, undefined, RANGE_SPAN).map((r) => ({pack, ...r})))
    const readRange = async (r: (typeof ranges)[number]) => {
      const bytes = await this.store.getBytes(`packs/${r.pack}.tar`, {start: r.start, end: r.end})
      for (const e of r.entries) deliver(e.oid, bytes.subarray(e.offset - r.start, e.offset - r.start + e.size))
    }
    const readAlone = async (oid: string) => {
      if (!options.into) return deliver(oid, await this.store.getBytes(looseKey(oid)))
      const tmp = tempName(options.into.tmp)
      try {
        await this.store.getFile(looseKey(oid), tmp)
        const facts = await ingestFile(tmp) // hashed only: nothing enters the cache unchecked
        if (facts.oid !== oid) return corrupt(oid, facts.oid)
        if (!options.verifyOnly) {
          chmodSync(tmp, 0o444)
          crashPoint('remote.receive.temp-written')
          renameSync(tmp, objectPath(options.into.objects, oid))
        }
        options.onReceived?.(1, facts.size)
      } finally {
        rmSync(tmp, {force: true})
      }
    }
    await Promise.all([inPool(ranges, Math.min(options.jobs, PACKS_IN_FLIGHT), readRange), inPool(alone, options.jobs, readAlone)])
    return held
  }
}
