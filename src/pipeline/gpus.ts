/**
 * The machine's NVIDIA GPUs, and a pool that hands them out to pipeline stages so that no two
 * running stages share one.
 *
 * Discovery runs
 *
 *     nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used --format=csv,noheader,nounits
 *
 * which prints one line per physical GPU, fields separated by ", ", memory in MiB without a unit,
 * and `[N/A]` (older drivers: `[Not Supported]`) for a value the GPU does not report:
 *
 *     0, GPU-8fe3a97d-51f6-a669-0d80-b4530b81b816, NVIDIA GeForce RTX 3080, 10240, 1211
 *
 * `index` is nvidia-smi's (PCI bus order) physical index. nvidia-smi ignores CUDA_VISIBLE_DEVICES
 * and always lists every GPU. No nvidia-smi on PATH means no GPUs, and so does an nvidia-smi
 * that fails (driver not loaded, driver/library mismatch, no devices: it exits non-zero with the
 * reason on stdout); neither is an error, and `gpuProbe` says why there are none.
 *
 * Which GPUs dv may use, in order of precedence:
 *
 * 1. `DV_GPUS`, when set and not blank, is the last word and CUDA_VISIBLE_DEVICES is then
 *    ignored. Its format: the word `none` (any case) for no GPUs, or a comma-separated list of
 *    nvidia-smi indices, e.g. `0,1,3` (whitespace around items allowed; each a whole number
 *    >= 0; repeats are dropped). Anything else is a ConfigError. The listed GPUs are used even
 *    when nvidia-smi does not list them (or is missing): those get an empty uuid and name and
 *    NaN memory, and are given to children by index.
 * 2. `CUDA_VISIBLE_DEVICES`, when set, limits the GPUs nvidia-smi lists to those it names, in its
 *    order. As CUDA reads it: a comma-separated list of indices or GPU UUIDs (`GPU-8932f937-...`,
 *    or any prefix of one that names exactly one GPU); the empty string means no GPUs; at the
 *    first entry that names no GPU (`-1`, an unknown index, a `MIG-` id dv cannot map) the list
 *    ends and the entries after it are ignored. Its indices are taken as nvidia-smi's indices
 *    (what CUDA uses with CUDA_DEVICE_ORDER=PCI_BUS_ID, as the CUDA docs describe them).
 * 3. Otherwise every GPU nvidia-smi lists.
 *
 * What children are given (see `cudaId` and `GpuLease.cudaVisibleDevices`): a child's
 * CUDA_VISIBLE_DEVICES must name physical GPUs. Inside a process CUDA renumbers the visible
 * devices from 0, so dv's own CUDA_VISIBLE_DEVICES is never copied through renumbered: dv always
 * names a GPU by its UUID when nvidia-smi gave one (stable however the parent's list, the device
 * order or the driver numbers them), else by its physical nvidia-smi index.
 */
import {execFileSync} from 'node:child_process'

import {ConfigError, DvError} from '../errors.js'

export interface Gpu {
  /** nvidia-smi's physical index (PCI bus order), not a CUDA ordinal inside some process. */
  index: number
  /** `GPU-xxxxxxxx-...`; '' when unknown (nvidia-smi said [N/A], or DV_GPUS named a GPU it does not list). */
  uuid: string
  /** '' when unknown. */
  name: string
  /** MiB; NaN when nvidia-smi did not report it. */
  memoryTotalMiB: number
  /** MiB; NaN when nvidia-smi did not report it. */
  memoryUsedMiB: number
}

export interface GpuProbe {
  /** The GPUs dv may use, after DV_GPUS / CUDA_VISIBLE_DEVICES. */
  gpus: Gpu[]
  /**
   * One line worth telling a user: why there are no GPUs (`nvidia-smi: not found on PATH`), or
   * what limited them (`CUDA_VISIBLE_DEVICES=0,1 limits dv to 2 of 4 GPUs`). Absent when every
   * GPU nvidia-smi lists is used.
   */
  note?: string
}

/** The query dv runs; exported for tests and docs. */
export const NVIDIA_SMI_ARGS = [
  '--query-gpu=index,uuid,name,memory.total,memory.used',
  '--format=csv,noheader,nounits',
]

export const NVIDIA_SMI_TIMEOUT_MS = 10_000

/** The GPUs dv may use on this machine (see the top of this file). Never throws for a missing or failing nvidia-smi; throws a ConfigError for a malformed DV_GPUS. */
export function discoverGpus(env: NodeJS.ProcessEnv = process.env): Gpu[] {
  return gpuProbe(env).gpus
}

/** `discoverGpus` with the reason there are none, or what limited them. */
export function gpuProbe(env: NodeJS.ProcessEnv = process.env, timeoutMs = NVIDIA_SMI_TIMEOUT_MS): GpuProbe {
  const dvGpus = env.DV_GPUS
  if (dvGpus !== undefined && dvGpus.trim() !== '') {
    const wanted = parseDvGpus(dvGpus)
    if (wanted.length === 0) return {gpus: [], note: 'DV_GPUS=none'}
    const smi = runNvidiaSmi(env, timeoutMs)
    const byIndex = new Map(smi.gpus.map((g) => [g.index, g]))
    const unknown = wanted.filter((i) => !byIndex.has(i))
    const gpus = wanted.map((i) => byIndex.get(i) ?? placeholder(i))
    let note = `DV_GPUS=${wanted.join(',')}`
    if (smi.note) note += `; ${smi.note}`
    else if (unknown.length > 0) note += `; nvidia-smi does not list GPU ${unknown.join(', ')}`
    return {gpus, note}
  }

  const smi = runNvidiaSmi(env, timeoutMs)
  const cvd = env.CUDA_VISIBLE_DEVICES
  if (cvd === undefined || smi.gpus.length === 0) return smi
  const limited = limitToCudaVisible(smi.gpus, cvd)
  const shown = cvd.trim() === '' ? 'CUDA_VISIBLE_DEVICES is empty:' : `CUDA_VISIBLE_DEVICES=${cvd.trim()}`
  let note =
    limited.gpus.length === 0
      ? `${shown} leaves dv no GPUs (nvidia-smi lists ${plural(smi.gpus.length, 'GPU')})`
      : `${shown} limits dv to ${limited.gpus.length} of ${plural(smi.gpus.length, 'GPU')}`
  if (limited.stoppedAt !== undefined) note += ` ('${limited.stoppedAt}' names no GPU nvidia-smi lists; entries from it on are ignored)`
  return {gpus: limited.gpus, note}
}

/**
 * Parses DV_GPUS: `none` → [], `0,1,3` → [0, 1, 3]. Throws a ConfigError for anything else.
 */
export function parseDvGpus(value: string): number[] {
  const v = value.trim()
  if (v.toLowerCase() === 'none') return []
  const out: number[] = []
  for (const item of v.split(',')) {
    const s = item.trim()
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) {
      throw new ConfigError(
        `DV_GPUS=${value}: expected 'none' or comma-separated GPU indices as nvidia-smi numbers them (e.g. 0,1,3)`,
      )
    }
    const n = Number(s)
    if (!out.includes(n)) out.push(n)
  }
  return out
}

/**
 * Parses `--format=csv,noheader,nounits` output of the query in NVIDIA_SMI_ARGS. Blank lines and
 * lines that do not start with a numeric index (warnings some drivers print) are skipped.
 * `[N/A]`/`[Not Supported]`/other non-numbers give NaN memory and an empty uuid/name.
 */
export function parseNvidiaSmiCsv(text: string): Gpu[] {
  const gpus: Gpu[] = []
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '') continue
    const fields = line.split(',').map((f) => f.trim())
    if (fields.length < 5 || !/^\d+$/.test(fields[0])) continue
    // index, uuid, name..., memory.total, memory.used: a name with a comma keeps its commas.
    const name = fields.slice(2, -2).join(', ')
    gpus.push({
      index: Number(fields[0]),
      uuid: isUnavailable(fields[1]) ? '' : fields[1],
      name: isUnavailable(name) ? '' : name,
      memoryTotalMiB: mib(fields[fields.length - 2]),
      memoryUsedMiB: mib(fields[fields.length - 1]),
    })
  }
  return gpus
}

/** The id to put in a child's CUDA_VISIBLE_DEVICES for this GPU: its UUID when known, else its physical index. */
export function cudaId(gpu: Gpu): string {
  return gpu.uuid !== '' ? gpu.uuid : String(gpu.index)
}

function isUnavailable(field: string): boolean {
  return field === '' || /^\[.*\]$/.test(field) || field === 'N/A'
}

function mib(field: string): number {
  return /^\d+(\.\d+)?$/.test(field) ? Number(field) : NaN
}

function placeholder(index: number): Gpu {
  return {index, uuid: '', name: '', memoryTotalMiB: NaN, memoryUsedMiB: NaN}
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

function runNvidiaSmi(env: NodeJS.ProcessEnv, timeoutMs: number): GpuProbe {
  let stdout: string
  try {
    // With options.env, Node looks the command up on options.env.PATH.
    stdout = execFileSync('nvidia-smi', NVIDIA_SMI_ARGS, {
      env,
      encoding: 'utf8',
      timeout: timeoutMs,
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 4 * 1024 * 1024,
    })
  } catch (error) {
    return {gpus: [], note: `nvidia-smi: ${failureReason(error, timeoutMs)}`}
  }
  const gpus = parseNvidiaSmiCsv(stdout)
  if (gpus.length > 0) return {gpus}
  const first = firstLine(stdout)
  return {gpus: [], note: first ? `nvidia-smi: listed no GPUs (${first})` : 'nvidia-smi: listed no GPUs'}
}

function failureReason(error: unknown, timeoutMs: number): string {
  const e = error as NodeJS.ErrnoException & {status?: number | null; signal?: string | null; stdout?: string; stderr?: string}
  if (e.code === 'ENOENT') return 'not found on PATH'
  if (e.code === 'ETIMEDOUT') return `no answer within ${timeoutMs / 1000} s`
  if (e.code === 'EACCES') return 'not executable (permission denied)'
  // nvidia-smi prints its reason ("NVIDIA-SMI has failed because ...", "No devices were found")
  // on stdout; look at stderr first in case a wrapper uses it.
  const why = firstLine(String(e.stderr ?? '')) || firstLine(String(e.stdout ?? ''))
  const how = typeof e.status === 'number' ? `exit ${e.status}` : e.signal ? `killed by ${e.signal}` : (e.code ?? 'failed')
  return why ? `${how}: ${why}` : how
}

function firstLine(text: string): string {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '')
  if (!line) return ''
  const t = line.trim()
  return t.length > 200 ? `${t.slice(0, 197)}...` : t
}

/** CUDA's reading of CUDA_VISIBLE_DEVICES applied to nvidia-smi's list. */
function limitToCudaVisible(all: Gpu[], cvd: string): {gpus: Gpu[]; stoppedAt?: string} {
  if (cvd.trim() === '') return {gpus: []}
  const gpus: Gpu[] = []
  for (const item of cvd.split(',')) {
    const id = item.trim()
    let match: Gpu | undefined
    if (/^\d+$/.test(id)) {
      match = all.find((g) => g.index === Number(id))
    } else if (/^GPU-/i.test(id)) {
      const hits = all.filter((g) => g.uuid !== '' && g.uuid.toLowerCase().startsWith(id.toLowerCase()))
      if (hits.length === 1) match = hits[0]
    }
    if (!match) return {gpus, stoppedAt: id}
    if (!gpus.includes(match)) gpus.push(match)
  }
  return {gpus}
}

/**
 * GPUs held by one stage until `release()`. For a request of 0 GPUs, `gpus` is [] and
 * `cudaVisibleDevices` is undefined: the executor then leaves the child's CUDA_VISIBLE_DEVICES
 * as it inherits it (a CPU stage is not fenced off the GPUs; it just holds none).
 */
export interface GpuLease {
  readonly gpus: Gpu[]
  /** What to set as the child's CUDA_VISIBLE_DEVICES: `cudaId` of each GPU, comma-joined; undefined for 0 GPUs. */
  readonly cudaVisibleDevices: string | undefined
  /** Returns the GPUs to the pool. Calling it again does nothing. */
  release(): void
}

interface Waiter {
  n: number
  resolve: (lease: GpuLease) => void
}

/**
 * Hands out GPUs so that no two leases hold the same one. Requests are served strictly in the
 * order they were made: while the oldest waiting request cannot be met, younger ones wait behind
 * it even if they would fit, so a request for 2 GPUs is never starved by a stream of requests
 * for 1. Free GPUs are given in the pool's order.
 */
export class GpuPool {
  private readonly all: Gpu[]
  private readonly free: Set<Gpu>
  private readonly queue: Waiter[] = []

  /** `note` (from `gpuProbe`) is quoted in the error for a stage that needs more GPUs than the pool has. */
  constructor(
    gpus: Gpu[],
    private readonly note?: string,
  ) {
    this.all = [...gpus]
    this.free = new Set(this.all)
  }

  static fromProbe(probe: GpuProbe): GpuPool {
    return new GpuPool(probe.gpus, probe.note)
  }

  /** How many GPUs the pool has. */
  get size(): number {
    return this.all.length
  }

  /** How many are not held by a lease right now. */
  get available(): number {
    return this.free.size
  }

  /** How many acquire() calls are waiting. */
  get waiting(): number {
    return this.queue.length
  }

  /**
   * Resolves with `n` GPUs no other lease holds, once they are free and every older request has
   * been served. Rejects at once with a DvError (code ENOGPU) when `n` exceeds the pool's size,
   * naming `stage`; with `signal.reason` when `signal` aborts before the GPUs are granted (an
   * already granted lease is the caller's to release).
   */
  acquire(n: number, stage: string, signal?: AbortSignal): Promise<GpuLease> {
    if (!Number.isInteger(n) || n < 0) {
      return Promise.reject(new DvError('EGPUCOUNT', `stage '${stage}': the number of GPUs must be a whole number >= 0, not ${n}`))
    }
    if (n > this.all.length) {
      const has = this.all.length === 0 ? 'none' : String(this.all.length)
      const why = this.note ? ` (${this.note})` : ''
      return Promise.reject(
        new DvError('ENOGPU', `stage '${stage}' needs ${plural(n, 'GPU')} but this machine has ${has}${why}`),
      )
    }
    if (signal?.aborted) return Promise.reject(abortReason(signal))
    if (n === 0) return Promise.resolve({gpus: [], cudaVisibleDevices: undefined, release() {}})

    return new Promise<GpuLease>((resolve, reject) => {
      const waiter: Waiter = {
        n,
        resolve: (lease) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(lease)
        },
      }
      const onAbort = (): void => {
        const at = this.queue.indexOf(waiter)
        if (at < 0) return // already granted
        this.queue.splice(at, 1)
        reject(abortReason(signal!))
        // The aborted request may have been the one holding the line.
        this.grant()
      }
      signal?.addEventListener('abort', onAbort, {once: true})
      this.queue.push(waiter)
      this.grant()
    })
  }

  /** Serves waiting requests from the front while they fit. */
  private grant(): void {
    while (this.queue.length > 0 && this.queue[0].n <= this.free.size) {
      const waiter = this.queue.shift()!
      const gpus = this.all.filter((g) => this.free.has(g)).slice(0, waiter.n)
      for (const g of gpus) this.free.delete(g)
      waiter.resolve(this.lease(gpus))
    }
  }

  private lease(gpus: Gpu[]): GpuLease {
    let held = true
    return {
      gpus,
      cudaVisibleDevices: gpus.map(cudaId).join(','),
      release: () => {
        if (!held) return
        held = false
        for (const g of gpus) this.free.add(g)
        this.grant()
      },
    }
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DvError('EABORTED', 'GPU request aborted')
}
