/**
 * Streaming BLAKE3. The native binding (@napi-rs/blake-hash, a prebuilt binary shipped through
 * the npm registry) runs at b3sum's single-thread speed; blake3-wasm is the portable fallback for
 * platforms without that binary, at about half the speed. Both give the same digests as `b3sum`
 * (test/unit/hash.test.ts checks this). `DV_HASH_IMPL=wasm` forces the fallback.
 */
import {createRequire} from 'node:module'

export interface Hasher {
  update(data: Uint8Array): void
  /** Lower-case hex of the 32-byte digest. */
  digestHex(): string
}

export type HashImpl = 'native' | 'wasm'

/**
 * blake3-wasm 3.0.0 aborts on a single update of 10 MiB or more, and (measured here) silently
 * returns a wrong digest for any single update over 1 MiB. It is fed in slices of at most this.
 */
const WASM_MAX_UPDATE = 1024 * 1024

const require = createRequire(import.meta.url)

let factory: (() => Hasher) | undefined
let implName: HashImpl | undefined

function loadNative(): () => Hasher {
  const {Blake3Hasher} = require('@napi-rs/blake-hash') as typeof import('@napi-rs/blake-hash')
  return () => {
    const h = new Blake3Hasher()
    return {
      // A Buffer view of the same memory: the binding's 1.3.4 typings take Buffers only.
      update: (data) => void h.update(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)),
      digestHex: () => h.digest('hex'),
    }
  }
}

async function loadWasm(): Promise<() => Hasher> {
  // blake3-wasm's esm/ build is broken; its CommonJS build works.
  const wasm = require('blake3-wasm') as typeof import('blake3-wasm')
  await wasm.load()
  return () => {
    const h = wasm.createHash()
    return {
      update(data) {
        for (let off = 0; off < data.length; off += WASM_MAX_UPDATE) {
          h.update(data.subarray(off, Math.min(data.length, off + WASM_MAX_UPDATE)))
        }
      },
      digestHex: () => h.digest().toString('hex'),
    }
  }
}

/** Loads the hash implementation once; every other function here needs it loaded. */
export async function loadHasher(prefer: HashImpl | undefined = process.env.DV_HASH_IMPL as HashImpl | undefined): Promise<HashImpl> {
  if (factory && (!prefer || prefer === implName)) return implName!
  if (prefer !== 'wasm') {
    try {
      factory = loadNative()
      implName = 'native'
      return implName
    } catch (error) {
      if (prefer === 'native') throw error
    }
  }
  factory = await loadWasm()
  implName = 'wasm'
  return implName
}

export function createHasher(): Hasher {
  if (!factory) {
    // The native binding loads synchronously; only the wasm fallback needs loadHasher() first.
    if (process.env.DV_HASH_IMPL === 'wasm') throw new Error('loadHasher() must be awaited before hashing')
    factory = loadNative()
    implName = 'native'
  }
  return factory()
}

export function hashBytes(data: Uint8Array): string {
  const h = createHasher()
  h.update(data)
  return h.digestHex()
}
