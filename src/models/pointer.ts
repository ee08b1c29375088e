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
import {type Document, isMap, isSeq, LineCounter, parseDocument, stringify} from 'yaml'

import {InvalidFileError} from '../errors.js'
import {isOid} from './tree.js'
import {checkYamlDepth} from './yaml.js'

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
  checkYamlDepth(text, file) // deep nesting would overflow the stack in parseDocument
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
  // Values with aliases resolved (a bare `toJSON()` turns `*a` into `{source: 'a'}`, which a rewrite
  // would then save); an alias bomb is refused by the `yaml` package's maxAliasCount (100).
  const toJS = (node: {toJS(doc: Document): unknown}): unknown => {
    try {
      return node.toJS(doc)
    } catch (error) {
      throw new InvalidFileError(file, `invalid YAML: ${(error as Error).message.split('\n')[0]}`, lineOf(node))
    }
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
    const o = toJS(item) as Record<string, unknown>
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
    const path = withoutTrailingSlashes(o.path.replace(/\\/g, '/'))
    // The repository checks the path joined to the pointer's directory too (Repo.outPath); this
    // refuses what can never be right, whoever reads the pointer (same message, so either reports it).
    if (!isSafeOutPath(path)) throw new InvalidFileError(file, `path ${JSON.stringify(path)} escapes the repository or names a reserved directory`)
    // `.` would make the pointer's own directory (the repository root, for a pointer there) the
    // output: a checkout would delete every file not in its tree. dv never writes one.
    if (path.split('/').every((s) => s === '.')) throw new InvalidFileError(file, `path ${JSON.stringify(path)} is the pointer's own directory`, at)
    const out: PointerOut = {path, oid: o.blake3, size: o.size}
    if (o.nfiles !== undefined) out.nfiles = o.nfiles as number
    return out
  })
  const extra = toJS(root) as Record<string, unknown>
  delete extra.outs
  return {outs, extra}
}

/** Strips trailing slashes; a loop, since `/\/+$/` is quadratic on a long run of slashes not at the end. */
function withoutTrailingSlashes(p: string): string {
  let end = p.length
  while (end > 0 && p[end - 1] === '/') end--
  return p.slice(0, end)
}

/**
 * An output path (forward slashes) that stays under the pointer's directory: not empty, not
 * absolute (`/x`, `//server`, `C:/x`, `C:`), no `..` or empty segment, no NUL, and not .git or .dv
 * (any case: case-insensitive file systems) as its first segment.
 */
function isSafeOutPath(p: string): boolean {
  if (p === '' || p.startsWith('/') || /^[A-Za-z]:(\/|$)/.test(p) || p.includes('\0')) return false
  const parts = p.split('/')
  return !parts.some((s) => s === '..' || s === '') && !['.git', '.dv'].includes(parts[0].toLowerCase())
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
