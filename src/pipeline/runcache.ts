/**
 * The run-cache: for each stage run that succeeded, what it produced, keyed by the BLAKE3 of
 * what it ran with (command, dependency digests, param values, output paths). Before running a
 * stale stage, `dv repro` looks its key up; on a hit the outputs are restored from the cache and
 * the command is not run. Records are small JSON files at `.dv/cache/runs/<2 hex>/<62 hex>`,
 * written to a temp name and renamed, and pushed and pulled with `--run-cache`.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {hashBytes} from '../hash/blake3.js'
import {isOid} from '../models/tree.js'
import {writeFileAtomic} from '../util/atomic.js'
import type {LockedPath} from './lock.js'
import {crashPoint} from '../util/crash.js'

export interface RunRecord {
  stage: string
  cmd: string[]
  outs: LockedPath[]
}

/** A record's bytes, checked for shape; undefined when damaged (a miss, never a wrong restore). */
export function parseRecord(bytes: Buffer): RunRecord | undefined {
  try {
    const r = JSON.parse(bytes.toString('utf8')) as RunRecord
    if (typeof r.stage !== 'string' || !Array.isArray(r.cmd) || !Array.isArray(r.outs)) return undefined
    if (!r.outs.every((o) => typeof o.path === 'string' && isOid(o.oid) && typeof o.size === 'number')) return undefined
    return r
  } catch {
    return undefined
  }
}

/** Sorted keys all the way down, so equal inputs always give the same key. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
  return value
}

export function runKey(cmd: readonly string[], deps: readonly LockedPath[], params: Record<string, Record<string, unknown>>, outPaths: readonly string[]): string {
  const input = {cmd, deps: deps.map((d) => [d.path, d.oid]).sort(), params, outs: [...outPaths].sort()}
  return hashBytes(Buffer.from(JSON.stringify(canonical(input))))
}

export class RunCache {
  constructor(readonly dir: string) {}

  private path(key: string): string {
    return join(this.dir, key.slice(0, 2), key.slice(2))
  }

  get(key: string): RunRecord | undefined {
    const file = this.path(key)
    if (!existsSync(file)) return undefined
    return parseRecord(readFileSync(file))
  }

  put(key: string, record: RunRecord): void {
    const file = this.path(key)
    mkdirSync(dirname(file), {recursive: true})
    crashPoint('runcache.put')
    writeFileAtomic(file, JSON.stringify(record), 0o444)
  }

  /** Every key held. */
  keys(): string[] {
    if (!existsSync(this.dir)) return []
    return readdirSync(this.dir).flatMap((fan) => readdirSync(join(this.dir, fan)).map((rest) => fan + rest)).filter(isOid)
  }

  /** The record file of a key, for transfers. */
  file(key: string): string {
    return this.path(key)
  }
}
