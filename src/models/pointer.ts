/**
 * Pointer files (`<path>.dv`), shaped like DVC's `.dvc` files:
 *
 *     outs:
 *     - blake3: 6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85
 *       size: 3
 *       hash: blake3
 *       path: data.csv
 *
 * A directory's entry also has `nfiles`, and its digest is the id of its root tree object.
 * A file's digest is the plain BLAKE3 of its bytes, so `b3sum` prints the same hex.
 */
import {isMap, isSeq, LineCounter, parseDocument, stringify} from 'yaml'

import {InvalidFileError} from '../errors.js'
import {isOid} from './tree.js'

export const POINTER_SUFFIX = '.dv'

export interface PointerOut {
  /** Relative to the pointer file's directory, with forward slashes. */
  path: string
  oid: string
  size: number
  /** Present for directories only. */
  nfiles?: number
}

export interface Pointer {
  outs: PointerOut[]
  /** Keys a user or another tool wrote beside `outs` (desc, meta, ...), kept as they were. */
  extra: Record<string, unknown>
}

export function isDirOut(out: PointerOut): boolean {
  return out.nfiles !== undefined
}

/** `file` names the pointer in errors, with the line of the bad key. */
export function parsePointer(text: string, file: string): Pointer {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, {lineCounter, prettyErrors: false})
  if (doc.errors.length > 0) {
    const err = doc.errors[0]
    throw new InvalidFileError(file, `invalid YAML: ${err.message.split('\n')[0]}`, lineCounter.linePos(err.pos[0]).line)
  }
  const lineOf = (node: unknown) => {
    const range = (node as {range?: [number, number, number]} | null)?.range
    return range ? lineCounter.linePos(range[0]).line : undefined
  }
  const root = doc.contents
  if (!isMap(root)) throw new InvalidFileError(file, 'expected a mapping with an `outs:` list', lineOf(root))
  const outsNode = root.get('outs', true)
  if (!isSeq(outsNode) || outsNode.items.length === 0) {
    throw new InvalidFileError(file, '`outs` must be a non-empty list', lineOf(outsNode ?? root))
  }
  const outs = outsNode.items.map((item) => {
    if (!isMap(item)) throw new InvalidFileError(file, 'each entry of `outs` must be a mapping', lineOf(item))
    const at = lineOf(item)
    const o = item.toJSON() as Record<string, unknown>
    if (typeof o.path !== 'string' || o.path === '') throw new InvalidFileError(file, '`path` is missing', at)
    if (o.hash !== undefined && o.hash !== 'blake3') {
      throw new InvalidFileError(file, `unsupported hash ${JSON.stringify(o.hash)} (dv uses blake3)`, at)
    }
    if (!isOid(o.blake3)) throw new InvalidFileError(file, '`blake3` must be a 64-digit hex digest', at)
    if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) {
      throw new InvalidFileError(file, '`size` must be a non-negative integer', at)
    }
    if (o.nfiles !== undefined && (typeof o.nfiles !== 'number' || !Number.isSafeInteger(o.nfiles) || o.nfiles < 0)) {
      throw new InvalidFileError(file, '`nfiles` must be a non-negative integer', at)
    }
    const out: PointerOut = {path: o.path.replace(/\\/g, '/').replace(/\/+$/, ''), oid: o.blake3, size: o.size}
    if (o.nfiles !== undefined) out.nfiles = o.nfiles as number
    return out
  })
  const extra = root.toJSON() as Record<string, unknown>
  delete extra.outs
  return {outs, extra}
}

export function serializePointer(pointer: Pointer): string {
  const outs = pointer.outs.map((o) => ({
    blake3: o.oid,
    size: o.size,
    ...(o.nfiles === undefined ? {} : {nfiles: o.nfiles}),
    hash: 'blake3',
    path: o.path,
  }))
  return stringify({outs, ...pointer.extra}, {lineWidth: 0, indentSeq: false})
}
