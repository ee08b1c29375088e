import {execFileSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {createHasher, hashBytes, loadHasher} from '../../dist/hash/blake3.js'
import {ingestFile} from '../../dist/odb/ingest.js'
import {pseudoRandom, tempDir} from '../helpers.js'

const b3sum = (path: string) => execFileSync('b3sum', ['--no-names', path], {encoding: 'utf8'}).trim()

describe('BLAKE3', () => {
  it('native and wasm give the digests b3sum prints, across chunk boundaries', async () => {
    const dir = tempDir()
    // 0, one byte, BLAKE3's 1 KiB chunk edges, a 64 KiB block, and > 10 MiB (wasm's single-update limit).
    // blake3-wasm alone gets updates over 1 MiB wrong; dv slices them (1 MiB + 1, 3 MiB cover that).
    const sizes = [0, 1, 1023, 1024, 1025, 65536, 1024 * 1024 + 1, 3 * 1024 * 1024, 10 * 1024 * 1024 + 17]
    for (const [i, size] of sizes.entries()) {
      const data = pseudoRandom(size, i + 1)
      const file = join(dir, `f${i}`)
      writeFileSync(file, data)
      const expected = b3sum(file)
      expect(await loadHasher('native')).toBe('native')
      expect(hashBytes(data)).toBe(expected)
      expect(await loadHasher('wasm')).toBe('wasm')
      expect(hashBytes(data)).toBe(expected)
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
    await loadHasher('native')
    const dir = tempDir()
    const file = join(dir, 'big')
    writeFileSync(file, pseudoRandom(9 * 1024 * 1024 + 3, 99))
    const facts = await ingestFile(file)
    expect(facts.oid).toBe(b3sum(file))
    expect(facts.size).toBe(9 * 1024 * 1024 + 3)
  })
})
