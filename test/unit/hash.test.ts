import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {createHasher, hashBytes, loadHasher} from '../../dist/hash/blake3.js'
import {ingestFile} from '../../dist/odb/ingest.js'
import {B3SUM_VECTORS, b3sumOf} from '../b3sum-vectors.js'
import {pseudoRandom, tempDir} from '../helpers.js'

describe('BLAKE3', () => {
  it('native and wasm give the digests b3sum prints, across chunk and update-size boundaries', async () => {
    for (const [size, seed, expected] of B3SUM_VECTORS) {
      const data = pseudoRandom(size, seed)
      expect(await loadHasher('native')).toBe('native')
      expect(hashBytes(data), `native ${size}`).toBe(expected)
      expect(await loadHasher('wasm')).toBe('wasm')
      expect(hashBytes(data), `wasm ${size}`).toBe(expected)
    }
    await loadHasher('native')
  })

  it('streams: many small updates give the same digest as one', async () => {
    await loadHasher('native')
    const data = pseudoRandom(300_000, 7)
    const h = createHasher()
    for (let off = 0; off < data.length; off += 4097) h.update(data.subarray(off, off + 4097))
    expect(h.digestHex()).toBe(hashBytes(data))
  })

  it('hashes a file larger than the in-memory threshold in streamed chunks, matching b3sum', async () => {
    for (const impl of ['native', 'wasm'] as const) {
      await loadHasher(impl)
      const dir = tempDir()
      const file = join(dir, 'big')
      writeFileSync(file, pseudoRandom(9 * 1024 * 1024 + 3, 99))
      const facts = await ingestFile(file)
      expect(facts.oid, impl).toBe(b3sumOf(9 * 1024 * 1024 + 3, 99))
      expect(facts.size).toBe(9 * 1024 * 1024 + 3)
    }
    await loadHasher('native')
  })
})
