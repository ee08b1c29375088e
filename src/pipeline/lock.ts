/**
 * `dv.lock`: what each stage last ran with and produced, shaped like DVC's `dvc.lock`
 * (`schema: '2.0'`, per stage `cmd`, `deps` and `outs` with path, `hash: blake3`, the digest,
 * size and nfiles, and `params` values by file). It holds nothing machine-specific (no GPU ids,
 * no times), so it only changes when the pipeline's inputs or results do.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {stringify} from 'yaml'

import {InvalidFileError} from '../errors.js'
import {isOid} from '../models/tree.js'
import {parseYaml} from '../models/yaml.js'
import {writeFileAtomic} from '../util/atomic.js'
import {crashPoint} from '../util/crash.js'
import {readRecordFile} from '../util/read.js'

export const LOCK_FILE = 'dv.lock'

/** A dependency or output as it was: a file (no nfiles) or a directory (its tree). */
export interface LockedPath {
  path: string
  oid: string
  size: number
  nfiles?: number
}

export interface LockedStage {
  cmd: string[]
  deps: LockedPath[]
  /** Values of the params the stage uses, by params file, by dotted key. */
  params: Record<string, Record<string, unknown>>
  outs: LockedPath[]
}

export type Lock = Map<string, LockedStage>

const isDict = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/**
 * A path as dv.yaml's parser makes them (repoPath): relative to the root, not absolute (`/x`,
 * `\\x`, `C:/x`), no `..` segment, no NUL; an output is also not the root itself, nor in .git
 * or .dv (any case), where checking it out could plant git hooks or config.
 */
function isSafeLockedPath(p: string, output: boolean): boolean {
  if (p === '' || p.startsWith('/') || p.startsWith('\\') || /^[a-zA-Z]:[\\/]/.test(p) || p.includes('\0')) return false
  const parts = p.split('/')
  if (parts.includes('..')) return false
  return !output || (p !== '.' && !['.git', '.dv'].includes(parts[0].toLowerCase()))
}

function lockedPaths(list: unknown, label: string, file: string, output: boolean): LockedPath[] {
  if (list === undefined || list === null) return []
  if (!Array.isArray(list)) throw new InvalidFileError(file, `${label}: expected a list`)
  return list.map((item) => {
    const e = item as {path?: unknown; blake3?: unknown; size?: unknown; nfiles?: unknown}
    // Sizes and counts as pointer files have them: `size: -1` or `.nan`, or `nfiles: "3"` (which
    // would have made a directory a file), are corruption, not values.
    if (!e || typeof e.path !== 'string' || typeof e.blake3 !== 'string' || !isOid(e.blake3) || !isCount(e.size) || (e.nfiles !== undefined && !isCount(e.nfiles))) {
      throw new InvalidFileError(file, `${label}: each entry needs path, blake3 (a 64-hex digest), size (and nfiles, if any) as non-negative integers`)
    }
    if (!isSafeLockedPath(e.path, output)) throw new InvalidFileError(file, `${label}: path ${JSON.stringify(e.path)} escapes the repository or names a reserved directory`)
    return {path: e.path, oid: e.blake3, size: e.size, ...(e.nfiles === undefined ? {} : {nfiles: e.nfiles})}
  })
}

export function readLock(root: string): Lock {
  const file = join(root, LOCK_FILE)
  return existsSync(file) ? parseLock(readRecordFile(file, 'dv.lock')) : new Map()
}

/** A dv.lock's text (from the workspace, or from git at a revision); `where` names it in errors. */
export function parseLock(text: string, where = LOCK_FILE): Lock {
  const lock: Lock = new Map()
  const doc = parseYaml(text, where)
  // Anything but a mapping (or an empty file) is a damaged lock, not an empty one.
  if (doc !== null && doc !== undefined && !isDict(doc)) throw new InvalidFileError(where, 'expected a mapping with "stages"')
  const stages = doc?.stages ?? {}
  if (!isDict(stages)) throw new InvalidFileError(where, 'stages: expected a mapping')
  for (const [name, raw] of Object.entries(stages)) {
    // Names quoted only where they could break the message onto two lines.
    const label = `stage ${/[\r\n]/.test(name) ? JSON.stringify(name) : name}`
    if (raw !== null && raw !== undefined && !isDict(raw)) throw new InvalidFileError(where, `${label}: expected a mapping`)
    const s = (raw ?? {}) as {cmd?: unknown; deps?: unknown; outs?: unknown; params?: unknown}
    const cmd = typeof s.cmd === 'string' ? [s.cmd] : Array.isArray(s.cmd) ? s.cmd.map(String) : []
    const params = (s.params && typeof s.params === 'object' ? s.params : {}) as Record<string, Record<string, unknown>>
    lock.set(name, {cmd, deps: lockedPaths(s.deps, `${label}: deps`, where, false), params, outs: lockedPaths(s.outs, `${label}: outs`, where, true)})
  }
  return lock
}

const entry = (p: LockedPath) => ({path: p.path, hash: 'blake3', blake3: p.oid, size: p.size, ...(p.nfiles === undefined ? {} : {nfiles: p.nfiles})})

/** Writes the lock atomically, stages in the order given (the pipeline's). */
export function writeLock(root: string, lock: Lock, order: readonly string[]): void {
  const names = [...order.filter((n) => lock.has(n)), ...[...lock.keys()].filter((n) => !order.includes(n)).sort()]
  // A Map, not an object: a stage named `__proto__` would set the object's prototype (and be
  // lost), and integer-like names ("0") would jump ahead of the pipeline's order.
  const stages = new Map<string, unknown>()
  for (const name of names) {
    const s = lock.get(name)!
    stages.set(name, {
      cmd: s.cmd.length === 1 ? s.cmd[0] : s.cmd,
      ...(s.deps.length > 0 ? {deps: s.deps.map(entry)} : {}),
      ...(Object.keys(s.params).length > 0 ? {params: s.params} : {}),
      ...(s.outs.length > 0 ? {outs: s.outs.map(entry)} : {}),
    })
  }
  crashPoint('dvlock.write')
  writeFileAtomic(join(root, LOCK_FILE), stringify({schema: '2.0', stages}, {lineWidth: 0, singleQuote: true}))
}
