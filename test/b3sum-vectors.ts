/**
 * Digests printed by `b3sum` (the BLAKE3 reference tool, Debian package b3sum 1.x) for the bytes
 * `pseudoRandom(size, seed)` from helpers.ts. Recorded once so that the tests need nothing but
 * Node and git; regenerate with `b3sum --no-names` on files written by pseudoRandom.
 */
export const B3SUM_VECTORS: Array<[size: number, seed: number, digest: string]> = [
  [0, 1, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
  [1, 2, '9f9524ca18c0cc03aef1a0b84faed9375e5d19575e9328e65fea72991f0f58cf'],
  [1023, 3, 'ffdaa413faa49f8cc9aeeb81116de820cb78ed122dc306d8807175e43d028fc6'],
  [1024, 4, '523f3371c301ae4b5c7f55104ada194c41fbd9c82e1724636b8d0afa43c1b9b0'],
  [1025, 5, 'a0816a07bbf76d7faddea2f537e30b08f7344e7b27ebfe696f3d1f8728513d91'],
  [65536, 6, 'adb8ccb00c5269be3670a384856912d21dced37c79ba52116092ff711729ec55'],
  // blake3-wasm alone gets single updates over 1 MiB wrong; dv slices them.
  [1048577, 7, 'ce31409658b7e10cd65ebe33b847a0eb594e623164e1c3908df329561c8b67af'],
  [3145728, 8, 'cdc297f996520dadc98d0b737f2de71e54b9ea65cf379bf0b54104c7c80ce77d'],
  // Over 10 MiB: blake3-wasm aborts on one update this large.
  [10485777, 9, '453160e0b0aaa61d0fa40bc310ed618836b1347c6f83c9bd3ecbb1b8e0afae54'],
  [100000, 1, 'e7c7daa1cbd79979b82ce45a4963e7184bd547da52b997540eeaff8b15e22bb9'],
  // Over the 4 MiB in-memory threshold: streamed in chunks.
  [9437187, 99, '040aa7066ddcf68a69b162ad3c16be4e3756a46569f747d598b44b88e3933b11'],
]

export function b3sumOf(size: number, seed: number): string {
  const v = B3SUM_VECTORS.find(([s, d]) => s === size && d === seed)
  if (!v) throw new Error(`no recorded b3sum digest for pseudoRandom(${size}, ${seed})`)
  return v[2]
}
