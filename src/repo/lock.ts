/**
 * The repository's write lock: one dv process at a time changes the cache, the pointer files,
 * dv.lock and the workspace's tracked data. `.dv/lock` holds who has it (pid, process start
 * time, host, command). A lock whose process is gone (killed, crashed, pid reused) is stale and
 * is cleared by the next dv. Read-only commands (status, diff, metrics, compare) take no lock.
 *
 * The lock file appears complete or not at all: it is written to a temporary name and hard-linked
 * into place, which fails if another process holds it. Stages that `dv repro` runs inherit
 * DV_LOCK, so a `dv` command inside a stage works under its parent's lock instead of waiting for
 * it forever.
 */
import {randomBytes} from 'node:crypto'
import {linkSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'

import {DvError} from '../errors.js'
import {setExclusiveWriter} from '../util/atomic.js'
import {crashPoint} from '../util/crash.js'

export const LOCK_FILE = 'lock'

interface Holder {
  pid: number
  /** The process's start time (Linux: clock ticks since boot), to tell a reused pid apart. */
  start?: string
  host: string
  command: string
  nonce: string
}

export class RepositoryLockedError extends DvError {
  constructor(holder: Holder) {
    super('ELOCKED', `another dv process (pid ${holder.pid}, dv ${holder.command}) is working in this repository; wait for it to finish, or run again with --wait`)
  }
}

/** Field 22 of /proc/<pid>/stat; undefined where there is no /proc. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

function alive(h: Holder): boolean {
  // pid 0 marks an unreadable lock file (and kill(0) would signal our own process group).
  if (h.pid <= 0) return false
  // Another machine's process (a repository on a shared file system) cannot be checked from here.
  if (h.host !== hostname()) return true
  try {
    process.kill(h.pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false
  }
  const now = startTime(h.pid)
  return h.start === undefined || now === undefined || now === h.start
}

function readHolder(path: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Holder
    return Number.isInteger(h.pid) && typeof h.nonce === 'string' ? h : {pid: 0, host: hostname(), command: '?', nonce: 'unreadable'}
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    // Unreadable content (a lock never writes a partial file): treat it as a dead holder's.
    return {pid: 0, host: hostname(), command: '?', nonce: 'unreadable'}
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export class RepoLock {
  private released = false

  private constructor(
    private readonly path: string,
    private readonly nonce: string,
    /** Whether this process took the lock (false: it works under its parent's). */
    private readonly owned: boolean,
  ) {}

  /**
   * Takes the lock of the repository whose `.dv` directory is `dvDir`. Held by a live process:
   * fails with RepositoryLockedError, or with `wait` tries again until it is free (calling
   * `onWait` once). A stale lock is cleared.
   */
  static async acquire(dvDir: string, options: {command: string; wait?: boolean; onWait?: (holder: string) => void}): Promise<RepoLock> {
    const path = join(dvDir, LOCK_FILE)
    let waited = false
    for (;;) {
      const holder = readHolder(path)
      if (holder && process.env.DV_LOCK === holder.nonce) return new RepoLock(path, holder.nonce, false)
      if (!holder) {
        const nonce = randomBytes(12).toString('hex')
        const mine: Holder = {pid: process.pid, start: startTime(process.pid), host: hostname(), command: options.command, nonce}
        const tmp = `${path}.${nonce}`
        writeFileSync(tmp, JSON.stringify(mine) + '\n')
        try {
          linkSync(tmp, path)
          crashPoint('repolock.taken')
          const lock = new RepoLock(path, nonce, true)
          setExclusiveWriter(true)
          process.env.DV_LOCK = nonce
          process.once('exit', () => lock.release())
          return lock
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        } finally {
          unlinkSync(tmp)
        }
        continue
      }
      if (!alive(holder)) {
        if (!clearStale(path, holder)) await sleep(50)
        continue
      }
      if (!options.wait) throw new RepositoryLockedError(holder)
      if (!waited) options.onWait?.(`waiting for another dv process (pid ${holder.pid}, dv ${holder.command}) to finish`)
      waited = true
      await sleep(100 + Math.random() * 150)
    }
  }

  release(): void {
    if (this.released || !this.owned) return
    this.released = true
    setExclusiveWriter(false)
    if (process.env.DV_LOCK === this.nonce) delete process.env.DV_LOCK
    if (readHolder(this.path)?.nonce === this.nonce) unlinkSync(this.path)
  }
}

/**
 * Removes a dead holder's lock. Two processes may find the same stale lock: a short-lived
 * directory makes the check-then-remove one at a time, so neither removes a lock the other has
 * just taken. A breaker that died itself leaves that directory; after 10 s it is cleared too.
 */
function clearStale(path: string, stale: Holder): boolean {
  const breaker = `${path}.break`
  try {
    mkdirSync(breaker)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const age = Date.now() - (statSync(breaker, {throwIfNoEntry: false})?.mtimeMs ?? Date.now())
    if (age > 10_000) rmdirSync(breaker)
    return false
  }
  try {
    if (readHolder(path)?.nonce === stale.nonce) {
      unlinkSync(path)
      stopOrphans(stale.nonce)
    }
    rmSync(`${path}.${stale.nonce}`, {force: true}) // its temp, when killed before removing it (docs/reliability.md)
    return true
  } finally {
    rmdirSync(breaker)
  }
}

/**
 * Stops what a dead holder left running. A `dv repro` killed with SIGKILL cannot stop its stages:
 * they run on, and one still writing its outputs while the next repro runs the stage again and
 * hashes them gets a half-written file recorded in dv.lock (found by the kill-point harness,
 * docs/reliability.md). Stages inherit DV_LOCK, the holder's nonce, so they (and whatever they
 * started) are the processes whose environment holds it. Linux only (/proc); elsewhere a no-op.
 */
function stopOrphans(nonce: string): void {
  let pids: number[]
  try {
    pids = readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p)).map(Number)
  } catch {
    return
  }
  const mark = Buffer.from(`DV_LOCK=${nonce}\0`)
  const killed: number[] = []
  for (const pid of pids) {
    if (pid === process.pid) continue
    try {
      if (!readFileSync(`/proc/${pid}/environ`).includes(mark)) continue
      process.kill(pid, 'SIGKILL')
      killed.push(pid)
    } catch {
      // gone already, or not ours to read
    }
  }
  // Dead means no more writes: wait (2 s at most) until each is gone or a zombie.
  const until = Date.now() + 2000
  const tick = new Int32Array(new SharedArrayBuffer(4))
  for (const pid of killed) while (Date.now() < until && running(pid)) Atomics.wait(tick, 0, 0, 10)
}

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'
  } catch {
    return false
  }
}
