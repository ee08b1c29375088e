/**
 * Tree objects: one directory, a canonical sorted list of entries. The id of a tree is the
 * BLAKE3 of these canonical bytes, so two directories with the same content have the same id
 * and versions of a dataset that differ in one folder share every other subtree.
 *
 * Canonical bytes: `{"dv":"tree","v":1,"entries":[{"name","kind","oid","size","exec"}...]}`,
 * entries sorted by the UTF-8 bytes of their names, keys in that order, no whitespace.
 */
import {InvalidFileError} from '../errors.js'

export type EntryKind = 'file' | 'tree'

export interface TreeEntry {
  name: string
  kind: EntryKind
  oid: string
  /** Bytes of the file, or of all files under the subtree. */
  size: number
  exec: boolean
}

const OID_RE = /^[0-9a-f]{64}$/
const RESERVED_DIRS = new Set(['.git', '.dv'])
/** How every tree object's bytes begin. */
export const TREE_MARK = '{"dv":"tree"'

export function isOid(value: unknown): value is string {
  return typeof value === 'string' && OID_RE.test(value)
}

/**
 * A name is one path component that cannot climb out of its directory. It is also well-formed
 * UTF-16: a lone surrogate is written to disk as U+FFFD, so `\ud800` and `\ud801` would be one
 * file, and they sort as equal by their UTF-8 bytes, which would make encodeTree depend on order.
 */
export function isSafeName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name !== '.' &&
    name !== '..' &&
    !name.includes('/') &&
    !name.includes('\\') &&
    !name.includes('\0') &&
    !/\p{Cs}/u.test(name)
  )
}

export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

export function encodeTree(entries: readonly TreeEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => compareNames(a.name, b.name))
  const canonical = sorted.map((e) => ({name: e.name, kind: e.kind, oid: e.oid, size: e.size, exec: e.exec}))
  return Buffer.from(JSON.stringify({dv: 'tree', v: 1, entries: canonical}))
}

/** Parses and validates a tree object; `where` names it in errors. */
export function decodeTree(bytes: Uint8Array, where: string): TreeEntry[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch {
    throw new InvalidFileError(where, 'not a dv tree object')
  }
  const obj = parsed as {dv?: unknown; v?: unknown; entries?: unknown}
  if (!obj || obj.dv !== 'tree' || obj.v !== 1 || !Array.isArray(obj.entries)) {
    throw new InvalidFileError(where, 'not a dv tree object')
  }
  const seen = new Set<string>()
  return obj.entries.map((raw: unknown) => {
    // `null` or a number among the entries: a DvError, not a TypeError reading `.name` of null.
    if (raw === null || typeof raw !== 'object') throw new InvalidFileError(where, 'an entry is not an object')
    const e = raw as Partial<TreeEntry>
    if (!isSafeName(e.name)) throw new InvalidFileError(where, `unsafe entry name ${JSON.stringify(e.name)}`)
    if (seen.has(e.name)) throw new InvalidFileError(where, `duplicate entry ${JSON.stringify(e.name)}`)
    seen.add(e.name)
    // Names quoted: a name may hold a newline, and messages are one line.
    const name = JSON.stringify(e.name)
    if (e.kind !== 'file' && e.kind !== 'tree') throw new InvalidFileError(where, `entry ${name}: bad kind`)
    // dv never writes a .git or .dv directory into a tree (isAlwaysIgnored): checking one out
    // could plant git hooks or config. Any case, for case-insensitive file systems.
    if (e.kind === 'tree' && RESERVED_DIRS.has(e.name.toLowerCase())) throw new InvalidFileError(where, `entry ${name}: reserved directory name`)
    if (!isOid(e.oid)) throw new InvalidFileError(where, `entry ${name}: bad oid`)
    if (typeof e.size !== 'number' || !Number.isSafeInteger(e.size) || e.size < 0) {
      throw new InvalidFileError(where, `entry ${name}: bad size`)
    }
    return {name: e.name, kind: e.kind, oid: e.oid, size: e.size, exec: e.exec === true}
  })
}
