/**
 * A small pool of worker threads that run one script. Tasks go to the first idle worker; each
 * worker handles one message at a time and answers `{ok, value}` or `{ok: false, error}`.
 * Used to hash (and store) many files on all cores at once: on many small files the cost is
 * system calls per file, so the win comes from running file I/O in parallel, not the hash.
 */
import {availableParallelism} from 'node:os'
import {Worker} from 'node:worker_threads'

interface Pending<R> {
  message: unknown
  resolve: (value: R) => void
  reject: (error: Error) => void
}

export interface WorkerError {
  message: string
  code?: string
  path?: string
  syscall?: string
  name?: string
}

export function defaultPoolSize(): number {
  const fromEnv = Number(process.env.DV_JOBS)
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv
  return Math.max(1, availableParallelism())
}

export class WorkerPool<T, R> {
  private readonly idle: Worker[] = []
  private readonly all: Worker[] = []
  private readonly queue: Pending<R>[] = []
  private readonly busy = new Map<Worker, Pending<R>>()

  constructor(script: URL, size = defaultPoolSize(), workerData?: unknown) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(script, {workerData})
      worker.on('message', (msg: {ok: boolean; value?: R; error?: WorkerError}) => this.settle(worker, msg))
      worker.on('error', (error) => this.fail(worker, error))
      worker.unref()
      this.all.push(worker)
      this.idle.push(worker)
    }
  }

  run(task: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({message: task, resolve, reject})
      this.pump()
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()))
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!
      const job = this.queue.shift()!
      this.busy.set(worker, job)
      worker.ref()
      worker.postMessage(job.message)
    }
  }

  private settle(worker: Worker, msg: {ok: boolean; value?: R; error?: WorkerError}): void {
    const job = this.busy.get(worker)
    this.busy.delete(worker)
    worker.unref()
    this.idle.push(worker)
    if (job) {
      if (msg.ok) job.resolve(msg.value as R)
      else job.reject(Object.assign(new Error(msg.error?.message ?? 'worker failed'), msg.error))
    }
    this.pump()
  }

  private fail(worker: Worker, error: Error): void {
    const job = this.busy.get(worker)
    this.busy.delete(worker)
    job?.reject(error)
    // A crashed worker is not reused; the rest of the queue fails with the same error.
    for (const pending of this.queue.splice(0)) pending.reject(error)
  }
}

/** A per-item outcome sent back by a worker: the value, or the error for that item. */
export type ItemResult<V> = {ok: true; value: V} | {ok: false; error: WorkerError}

/** Rebuilds an error a worker serialised, keeping its code, path and syscall. */
export function workerError(error: WorkerError): Error {
  return Object.assign(new Error(error.message), error)
}

export function toWorkerError(error: unknown, path?: string): WorkerError {
  const e = error as NodeJS.ErrnoException
  return {message: e.message, code: e.code, path: e.path ?? path, syscall: e.syscall, name: e.name}
}

/**
 * Runs items through a fresh pool in batches (a message per batch keeps messaging cheap when
 * there are 200,000 small files) and reports each item's outcome by its index.
 */
export async function runBatches<V>(
  script: URL,
  jobs: number,
  batches: readonly number[][],
  message: (batch: readonly number[]) => unknown,
  onItem: (index: number, outcome: V | Error) => void,
): Promise<void> {
  const pool = new WorkerPool<unknown, ItemResult<V>[]>(script, Math.min(jobs, batches.length))
  try {
    await Promise.all(
      batches.map(async (batch) => {
        const out = await pool.run(message(batch))
        out.forEach((r, k) => onItem(batch[k], r.ok ? r.value : workerError(r.error)))
      }),
    )
  } finally {
    await pool.close()
  }
}

/** Per-item outcomes kept in input order, with progress reported as items and bytes finish. */
export function outcomes<V extends {size: number}>(count: number, onProgress?: (files: number, bytes: number) => void) {
  const results = new Array<V | Error>(count)
  let files = 0
  let bytes = 0
  const done = (index: number, outcome: V | Error): void => {
    results[index] = outcome
    files++
    if (!(outcome instanceof Error)) bytes += outcome.size
    onProgress?.(files, bytes)
  }
  return {results, done}
}
