/**
 * Test helpers: temporary git repositories on disk and the real `dv` binary (bin/run.js, built
 * by `npm test`) run as a child process, as a user would run it.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterEach, beforeEach} from 'vitest'

export const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const BIN = join(PROJECT, 'bin', 'run.js')

export interface Run {
  code: number
  stdout: string
  stderr: string
}

const made: string[] = []
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, {recursive: true, force: true})
})

// dv() blocks the worker in spawnSync. Vitest's worker answers the runner over an RPC channel
// with a fixed 60 s timeout, and a file whose tests block for longer in all (on a loaded 2-core
// CI machine, several do) fails with "Timeout calling onTaskUpdate" though every test passed:
// awaiting only microtasks between tests never lets the event loop read the replies. Yielding a
// full event-loop turn before each test bounds the blocked stretch to one test.
beforeEach(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** A fresh empty directory, removed after the test. */
export function tempDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'dv-test-')))
  made.push(dir)
  return dir
}

/** Environment for child processes: an isolated HOME/XDG so the user's config never leaks in. */
export function testEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    GIT_AUTHOR_NAME: 'Test User',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test User',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    GIT_CONFIG_NOSYSTEM: '1',
    DV_DEBUG: '',
    ...extra,
  }
}

export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, {cwd, encoding: 'utf8', env: testEnv(cwd)})
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`)
  return r.stdout
}

/** A temporary git repository (with one commit) where `dv init` has run. */
export function makeRepo(options: {init?: boolean} = {}): string {
  const dir = tempDir()
  git(dir, 'init', '-q', '-b', 'main')
  git(dir, 'config', 'user.name', 'Test User')
  git(dir, 'config', 'user.email', 'test@example.com')
  writeFileSync(join(dir, 'README'), 'test repo\n')
  git(dir, 'add', 'README')
  git(dir, 'commit', '-q', '-m', 'initial')
  if (options.init !== false) dv(dir, 'init').ok()
  return dir
}

export class Result implements Run {
  constructor(readonly code: number, readonly stdout: string, readonly stderr: string, readonly args: string[]) {}

  /** Asserts exit code 0 and returns this. */
  ok(): this {
    if (this.code !== 0) throw new Error(`dv ${this.args.join(' ')} exited ${this.code}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`)
    return this
  }

  json<T = unknown>(): T {
    return JSON.parse(this.stdout) as T
  }
}

export function dv(cwd: string, ...args: string[]): Result {
  return dvEnv(cwd, {}, ...args)
}

export function dvEnv(cwd: string, env: Record<string, string>, ...args: string[]): Result {
  const home = join(tmpdir(), 'dv-test-home')
  mkdirSync(home, {recursive: true})
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd, encoding: 'utf8', env: testEnv(home, env)})
  return new Result(r.status ?? 1, r.stdout, r.stderr, args)
}

/** Writes files given as {relative path: content}, creating directories. */
export function writeFiles(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), {recursive: true})
    writeFileSync(join(root, rel), content)
  }
}

/** The same bytes every time for a given seed (xorshift32). */
export function pseudoRandom(size: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    buf[i] = x & 0xff
  }
  return buf
}

/**
 * What a remote holds, read from its files as documented (docs/guide.md, "Remote layout"):
 * loose objects under objects/, and packs (packs/<id>.tar with packs/<id>.idx). `suffix` is
 * what a storage server appends to each key's file name (s3rver: `._S3rver_object`).
 */
export function remoteContents(root: string, suffix = ''): {loose: string[]; packs: Array<{id: string; entries: Array<{oid: string; offset: number; size: number}>}>} {
  const loose: string[] = []
  const objects = join(root, 'objects')
  if (existsSync(objects)) {
    for (const fan of readdirSync(objects)) for (const rest of readdirSync(join(objects, fan))) if (rest.endsWith(suffix)) loose.push(fan + rest.slice(0, rest.length - suffix.length))
  }
  const packs: Array<{id: string; entries: Array<{oid: string; offset: number; size: number}>}> = []
  const packDir = join(root, 'packs')
  if (existsSync(packDir)) {
    for (const name of readdirSync(packDir).sort()) {
      if (!name.endsWith(`.idx${suffix}`)) continue
      const [header, ...lines] = readFileSync(join(packDir, name), 'utf8').trimEnd().split('\n')
      if (header !== 'dv-pack-index 1') throw new Error(`${name}: not a pack index`)
      const entries = lines.map((l) => {
        const [oid, offset, size] = l.split(' ')
        return {oid, offset: Number(offset), size: Number(size)}
      })
      packs.push({id: name.slice(0, 64), entries})
    }
  }
  return {loose, packs}
}

/** Every object id a remote holds, loose or packed. */
export function remoteObjectIds(root: string, suffix = ''): Set<string> {
  const {loose, packs} = remoteContents(root, suffix)
  return new Set([...loose, ...packs.flatMap((p) => p.entries.map((e) => e.oid))])
}

/**
 * Whether a system program some tests drive (tmux, chromium) is installed. Where it is not,
 * those tests are reported as skipped, never as passed, so `npm test` still runs on a machine
 * with only Node and git. CI installs them (.ci/run) and sets CI=true: there a missing one fails.
 */
export function haveProgram(name: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${name}`]).status === 0
  if (!found && process.env.CI) throw new Error(`${name} is not installed; CI must install it (see .ci/run)`)
  return found
}
