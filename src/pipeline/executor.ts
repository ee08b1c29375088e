/**
 * Running one stage: each of its commands through the shell, in order, in the stage's working
 * directory and its own process group (so stopping it stops everything it started). Output goes
 * to the terminal line by line behind the stage's name, and all of it to a log file kept under
 * `.dv/logs/<stage>/`, headed by the command, the time and the GPUs the run was given.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {createWriteStream, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {createInterface} from 'node:readline'

export interface RunOptions {
  root: string
  /** The working directory, relative to the root. */
  wdir: string
  cmd: readonly string[]
  /** Extra environment (CUDA_VISIBLE_DEVICES for GPU stages). */
  env: Record<string, string>
  /** Where the log goes. */
  logFile: string
  /** Header lines for the log (what ran, with which GPUs). */
  header: string[]
  /** Each line of output, already prefixed. */
  onLine: (line: string, stream: 'stdout' | 'stderr') => void
  prefix: string
}

export interface RunOutcome {
  /** Exit code of the failing (or last) command; null when killed by a signal. */
  code: number | null
  signal: NodeJS.Signals | null
  seconds: number
}

/** Process groups of the stages running now, so an interrupt can stop them all. */
const running = new Set<ChildProcess>()

/** Stops every running stage (their whole process groups). */
export function stopAll(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const child of running) {
    try {
      if (child.pid) process.kill(-child.pid, signal)
    } catch {
      // already gone
    }
  }
}

export async function runStage(o: RunOptions): Promise<RunOutcome> {
  mkdirSync(join(o.logFile, '..'), {recursive: true})
  const log = createWriteStream(o.logFile)
  for (const h of o.header) log.write(`# ${h}\n`)
  const start = Date.now()
  let outcome: RunOutcome = {code: 0, signal: null, seconds: 0}
  try {
    for (const cmd of o.cmd) {
      log.write(`$ ${cmd}\n`)
      const child = spawn('/bin/sh', ['-c', cmd], {cwd: join(o.root, o.wdir), env: {...process.env, ...o.env}, detached: true, stdio: ['ignore', 'pipe', 'pipe']})
      running.add(child)
      const pump = (stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr') =>
        new Promise<void>((resolve) => {
          const lines = createInterface({input: stream})
          lines.on('line', (line) => {
            log.write(line + '\n')
            o.onLine(`${o.prefix}${line}`, name)
          })
          lines.on('close', resolve)
        })
      const done = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => {
        child.once('error', () => resolve({code: 127, signal: null}))
        child.once('exit', (code, signal) => resolve({code, signal}))
      })
      const [result] = await Promise.all([done, pump(child.stdout!, 'stdout'), pump(child.stderr!, 'stderr')])
      running.delete(child)
      outcome = {...result, seconds: (Date.now() - start) / 1000}
      if (result.code !== 0) break
    }
  } finally {
    log.write(`# exit ${outcome.signal ?? outcome.code} after ${((Date.now() - start) / 1000).toFixed(2)} s\n`)
    await new Promise((resolve) => log.end(resolve))
  }
  return {...outcome, seconds: (Date.now() - start) / 1000}
}
