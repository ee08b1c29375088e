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

function lockedPaths(list: unknown, where: string): LockedPath[] {
  if (list === undefined || list === null) return []
  if (!Array.isArray(list)) throw new InvalidFileError(LOCK_FILE, `${where}: expected a list`)
  return list.map((item) => {
    const e = item as {path?: unknown; blake3?: unknown; size?: unknown; nfiles?: unknown}
    if (!e || typeof e.path !== 'string' || typeof e.blake3 !== 'string' || !isOid(e.blake3) || typeof e.size !== 'number') {
      throw new InvalidFileError(LOCK_FILE, `${where}: each entry needs path, blake3 (a 64-hex digest) and size`)
    }
    return {path: e.path, oid: e.blake3, size: e.size, ...(typeof e.nfiles === 'number' ? {nfiles: e.nfiles} : {})}
  })
}

export function readLock(root: string): Lock {
  const file = join(root, LOCK_FILE)
  return existsSync(file) ? parseLock(readFileSync(file, 'utf8')) : new Map()
}

/** A dv.lock's text (from the workspace, or from git at a revision). */
export function parseLock(text: string, where = LOCK_FILE): Lock {
  const lock: Lock = new Map()
  const doc = parseYaml(text, where) as {stages?: Record<string, unknown>} | null
  const stages = doc?.stages ?? {}
  if (typeof stages !== 'object') throw new InvalidFileError(LOCK_FILE, 'stages: expected a mapping')
  for (const [name, raw] of Object.entries(stages)) {
    const s = (raw ?? {}) as {cmd?: unknown; deps?: unknown; outs?: unknown; params?: unknown}
    const cmd = typeof s.cmd === 'string' ? [s.cmd] : Array.isArray(s.cmd) ? s.cmd.map(String) : []
    const params = (s.params && typeof s.params === 'object' ? s.params : {}) as Record<string, Record<string, unknown>>
    lock.set(name, {cmd, deps: lockedPaths(s.deps, `stage ${name}: deps`), params, outs: lockedPaths(s.outs, `stage ${name}: outs`)})
  }
  return lock
}

const entry = (p: LockedPath) => ({path: p.path, hash: 'blake3', blake3: p.oid, size: p.size, ...(p.nfiles === undefined ? {} : {nfiles: p.nfiles})})

/** Writes the lock atomically, stages in the order given (the pipeline's). */
export function writeLock(root: string, lock: Lock, order: readonly string[]): void {
  const names = [...order.filter((n) => lock.has(n)), ...[...lock.keys()].filter((n) => !order.includes(n)).sort()]
  const stages: Record<string, unknown> = {}
  for (const name of names) {
    const s = lock.get(name)!
    stages[name] = {
      cmd: s.cmd.length === 1 ? s.cmd[0] : s.cmd,
      ...(s.deps.length > 0 ? {deps: s.deps.map(entry)} : {}),
      ...(Object.keys(s.params).length > 0 ? {params: s.params} : {}),
      ...(s.outs.length > 0 ? {outs: s.outs.map(entry)} : {}),
    }
  }
  writeFileAtomic(join(root, LOCK_FILE), stringify({schema: '2.0', stages}, {lineWidth: 0, singleQuote: true}))
}
