/** Writing files so that readers see the old or the new content, never a mix. */
import {randomBytes} from 'node:crypto'
import {renameSync, rmSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {getEnvironmentData, setEnvironmentData} from 'node:worker_threads'
import {crashPoint} from './crash.js'

/** Suffix of the temp files dv writes beside a target before renaming them over it. */
export const TEMP_SUFFIX = '.dv-tmp'

/** A fresh hidden temp name in the same directory as `path` (so a rename over it is atomic). */
export function tempPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`)
}

const EXCLUSIVE = 'dv.exclusive-writer'

/**
 * Whether this process holds the repository's write lock itself (RepoLock says so), so that no
 * other process writes where it writes. Then temp files get one fixed name per target, and a temp
 * left by a killed dv is replaced and renamed away the next time that target is written, instead
 * of lying beside the pointer files or in the data for ever (found by the kill-point harness,
 * docs/reliability.md); and a workspace scan removes the ones it meets (scan.ts). Without the lock
 * (`dv status` saving the state cache while another dv works) names stay random, so two writers
 * never share a temp file. Kept as environment data so the worker pools started later see it.
 */
export function setExclusiveWriter(on: boolean): void {
  setEnvironmentData(EXCLUSIVE, on)
}

const exclusiveWriter = () => getEnvironmentData(EXCLUSIVE) === true

/** Where to write what goes to `path` before renaming it there. */
export function tempFor(path: string): string {
  return exclusiveWriter() ? join(dirname(path), `.${basename(path)}${TEMP_SUFFIX}`) : tempPathBeside(path)
}

/**
 * A temp file dv wrote beside a target and was killed before renaming, when this process may
 * remove it. Names with a pid (`.<name>.<pid>-<12 hex>.dv-tmp`, src/builtins/tabular.ts) belong to
 * a process that may still run and are left to that code's own cleanup.
 */
export function isStaleTemp(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX) && !/\.[0-9]+-[0-9a-f]{12}\.dv-tmp$/.test(name) && exclusiveWriter()
}

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = tempFor(path)
  // A killed run's temp may be in the way, read-only (run-cache records are written 0444).
  if (exclusiveWriter()) rmSync(tmp, {force: true})
  try {
    writeFileSync(tmp, data, {mode})
    crashPoint('atomic.temp-written')
    renameSync(tmp, path)
  } catch (error) {
    rmSync(tmp, {force: true})
    throw error
  }
}
