import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'

import {hashBytes, loadHasher} from '../../dist/hash/blake3.js'
import {ObjectStore} from '../../dist/odb/store.js'
import {LocalStore} from '../../dist/remote/local.js'
import {RemoteObjects} from '../../dist/remote/objects.js'
import {buildPack, coalesce, parseIndex} from '../../dist/remote/packs.js'
import {isTransient, withRetry} from '../../dist/remote/retry.js'
import {pseudoRandom, tempDir} from '../helpers.js'

beforeAll(async () => {
  await loadHasher()
})

/** A real directory store that also records every read it serves. */
class RecordingStore extends LocalStore {
  reads: Array<{key: string; bytes: number}> = []

  override async getBytes(key: string, range?: {start: number; end: number}): Promise<Buffer> {
    const bytes = await super.getBytes(key, range)
    this.reads.push({key, bytes: bytes.length})
    return bytes
  }
}

describe('packs', () => {
  it('are tars whose index says where each object is, and the index is named by its hash', () => {
    const objects = [Buffer.from('one\n'), pseudoRandom(1000, 3), Buffer.alloc(0)].map((bytes) => ({oid: hashBytes(bytes), bytes}))
    const pack = buildPack(objects)
    expect(pack.id).toBe(hashBytes(pack.index))
    expect(pack.tar.length % 512).toBe(0)
    for (const [i, e] of parseIndex(pack.index, pack.id, 'test').entries()) {
      expect(e.oid).toBe(objects[i].oid)
      expect(pack.tar.subarray(e.offset, e.offset + e.size).equals(objects[i].bytes)).toBe(true)
    }
    expect(buildPack(objects).tar.equals(pack.tar)).toBe(true) // the same objects make the same bytes
    expect(() => parseIndex(Buffer.concat([pack.index, Buffer.from('x')]), pack.id, 'remote r')).toThrow(/^object [0-9a-f]{64} in remote r \(pack index\) is corrupt/)
  })

  it('reads of neighbouring objects share a range, far ones do not', () => {
    const e = (offset: number, size: number) => ({oid: 'x', offset, size})
    const ranges = coalesce([e(5000, 100), e(0, 100), e(10_000_000, 10)], 64 * 1024)
    expect(ranges.map((r) => [r.start, r.end, r.entries.length])).toEqual([[0, 5100, 2], [10_000_000, 10_000_010, 1]])
    expect(coalesce([e(0, 100), e(200, 100)], 1024, 250).length).toBe(2) // span limit
  })
})

describe('remote objects', () => {
  it('fetching one object of a large pack reads its bytes only, not the pack', async () => {
    const cache = new ObjectStore(join(tempDir(), 'cache'))
    cache.init()
    const items = Array.from({length: 2000}, (_, i) => {
      const oid = cache.putBytes(pseudoRandom(1024, i + 1))
      return {oid, size: 1024}
    })
    const store = new RecordingStore(join(tempDir(), 'remote'))
    await new RemoteObjects(store, join(tempDir(), 'idx')).send(cache.dirs.objects, items, {jobs: 4})
    const fresh = new ObjectStore(join(tempDir(), 'cache2'))
    fresh.init()
    const indexes = join(tempDir(), 'idx')
    const remote = new RemoteObjects(store, indexes)
    await remote.receive([items[1234].oid], {into: fresh.dirs, jobs: 4})
    expect(fresh.readBytes(items[1234].oid).equals(pseudoRandom(1024, 1235))).toBe(true)
    const tarReads = store.reads.filter((r) => r.key.endsWith('.tar'))
    expect(tarReads).toEqual([{key: expect.stringMatching(/^packs\/[0-9a-f]{64}\.tar$/), bytes: 1024}])
    // Indexes are kept locally: asking again costs no index read.
    store.reads = []
    await new RemoteObjects(store, indexes).inventory()
    expect(store.reads).toEqual([])
  })
})

describe('a damaged pack index', () => {
  it('counts as no pack: its objects are absent, and nothing fails', async () => {
    const cache = new ObjectStore(join(tempDir(), 'cache'))
    cache.init()
    const oid = cache.putBytes(Buffer.from('kept\n'))
    const root = join(tempDir(), 'remote')
    const store = new LocalStore(root)
    await new RemoteObjects(store, join(tempDir(), 'idx')).send(cache.dirs.objects, [{oid, size: 5}], {jobs: 1})
    const bogus = 'f'.repeat(64)
    await store.put(`packs/${bogus}.tar`, {bytes: Buffer.alloc(1024)})
    await store.put(`packs/${bogus}.idx`, {bytes: Buffer.from('dv-pack-index 1\n' + `${'a'.repeat(64)} 512 5\n`)}) // half-written: not its name's hash
    const known = await new RemoteObjects(store, join(tempDir(), 'idx')).inventory()
    expect([...known.keys()]).toEqual([oid])
  })
})

describe('retries', () => {
  it('retry transient failures with backoff and give up on others at once', async () => {
    let calls = 0
    const flaky = async () => {
      if (++calls < 3) throw Object.assign(new Error('reset'), {code: 'ECONNRESET'})
      return 'done'
    }
    expect(await withRetry(flaky, {baseMs: 1})).toBe('done')
    expect(calls).toBe(3)
    calls = 0
    const denied = async () => {
      calls++
      throw Object.assign(new Error('denied'), {name: 'AccessDenied', $metadata: {httpStatusCode: 403}})
    }
    await expect(withRetry(denied, {baseMs: 1})).rejects.toThrow('denied')
    expect(calls).toBe(1)
    expect(isTransient({name: 'SlowDown', $metadata: {httpStatusCode: 503}})).toBe(true)
    expect(isTransient(Object.assign(new Error('x'), {code: 'ENOENT'}))).toBe(false)
  })
})
