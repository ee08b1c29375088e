/**
 * Crash points, for the kill-point harness (test/crash, docs/reliability.md). A crash point marks
 * a place where dying matters: between writing a temp file and renaming it, between deleting a
 * workspace file and placing its replacement, between writing dv.lock and the run-cache.
 *
 * - `DV_CRASH_AT=<name>:<n>` kills the process with a real SIGKILL (nothing flushed, no exit
 *   handlers, no finally blocks) at the n-th call of `crashPoint(name)`; `DV_CRASH_AT=*:<n>` at
 *   the n-th crash point of any name.
 * - `DV_CRASH_COUNT=<file>` writes, when the process exits, how many times each crash point was
 *   reached (`{"<name>": hits}`), so the harness knows how many kill points a command has.
 *
 * Hits are counted across the whole process, worker threads included (the ingest and link pools
 * run the same code in workers): the counters live in a SharedArrayBuffer that the main thread
 * hands to every worker it starts through the workers' environment data. `process.kill` from a
 * worker kills the whole process, as a real crash would.
 *
 * With neither variable set (always, outside the harness), `crashPoint` returns at its first test:
 * the environment is read once, when this module loads.
 */
import {writeFileSync} from 'node:fs'
import {getEnvironmentData, isMainThread, setEnvironmentData} from 'node:worker_threads'

const KEY = 'dv.crash-points'
/** Distinct crash point names the table can hold, and the bytes of a name kept. */
const SLOTS = 256
const NAME_BYTES = 64

interface Table {
  /** [0]: hits of any name; then per slot: [state (0 free, 1 being named, 2 named), hits]. */
  meta: Int32Array
  names: Uint8Array
}

function parseTarget(spec: string | undefined): {name: string; n: number} | undefined {
  if (!spec) return undefined
  const at = spec.lastIndexOf(':')
  const n = Number(spec.slice(at + 1))
  if (at <= 0 || !Number.isInteger(n) || n < 1) throw new Error(`DV_CRASH_AT: expected <name>:<n> or *:<n>, got ${JSON.stringify(spec)}`)
  return {name: spec.slice(0, at), n}
}

const target = parseTarget(process.env.DV_CRASH_AT)
const countFile = process.env.DV_CRASH_COUNT || undefined
const table: Table | undefined = target || countFile ? openTable() : undefined
/** Slot of each name seen in this thread, so a hit costs a map lookup and two atomic adds. */
const slots = new Map<string, number>()

function openTable(): Table {
  let sab = getEnvironmentData(KEY) as SharedArrayBuffer | undefined
  if (!(sab instanceof SharedArrayBuffer)) {
    sab = new SharedArrayBuffer(4 * (1 + 2 * SLOTS) + SLOTS * NAME_BYTES)
    // Workers started from now on share these counters (environment data is cloned into each
    // new worker, and a SharedArrayBuffer clones as the same memory).
    setEnvironmentData(KEY, sab)
  }
  const t = {meta: new Int32Array(sab, 0, 1 + 2 * SLOTS), names: new Uint8Array(sab, 4 * (1 + 2 * SLOTS))}
  if (isMainThread && countFile) process.on('exit', () => writeFileSync(countFile, JSON.stringify(counts(t)) + '\n'))
  return t
}

function nameAt(t: Table, slot: number): string {
  const bytes = t.names.subarray(slot * NAME_BYTES, (slot + 1) * NAME_BYTES)
  const end = bytes.indexOf(0)
  return Buffer.from(bytes.subarray(0, end < 0 ? NAME_BYTES : end)).toString('utf8')
}

function counts(t: Table): Record<string, number> {
  const out: Record<string, number> = {}
  for (let s = 0; s < SLOTS; s++) if (Atomics.load(t.meta, 1 + 2 * s) === 2) out[nameAt(t, s)] = Atomics.load(t.meta, 2 + 2 * s)
  return out
}

/** The slot holding `name`, claiming a free one (open addressing) the first time any thread sees it. */
function slotOf(t: Table, name: string): number {
  const known = slots.get(name)
  if (known !== undefined) return known
  const encoded = Buffer.from(name, 'utf8').subarray(0, NAME_BYTES - 1)
  let h = 0
  for (const b of encoded) h = (h * 31 + b) >>> 0
  for (let i = 0; i < SLOTS; i++) {
    const slot = (h + i) % SLOTS
    const state = 1 + 2 * slot
    if (Atomics.compareExchange(t.meta, state, 0, 1) === 0) {
      t.names.set(encoded, slot * NAME_BYTES)
      Atomics.store(t.meta, state, 2)
      Atomics.notify(t.meta, state)
    }
    while (Atomics.load(t.meta, state) === 1) Atomics.wait(t.meta, state, 1, 1)
    const stored = t.names.subarray(slot * NAME_BYTES, (slot + 1) * NAME_BYTES)
    if (stored[encoded.length] === 0 && Buffer.from(stored.subarray(0, encoded.length)).equals(encoded)) {
      slots.set(name, slot)
      return slot
    }
  }
  throw new Error(`crash points: more than ${SLOTS} names`)
}

function die(): never {
  process.kill(process.pid, 'SIGKILL')
  // SIGKILL cannot be caught; this thread must not run on while the kernel delivers it.
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000)
}

/** A place where a crash matters; a no-op unless the kill-point harness asked for it. */
export function crashPoint(name: string): void {
  if (!table) return
  const any = Atomics.add(table.meta, 0, 1) + 1
  const nth = Atomics.add(table.meta, 2 + 2 * slotOf(table, name), 1) + 1
  if (target && (target.name === '*' ? any === target.n : target.name === name && nth === target.n)) die()
}
