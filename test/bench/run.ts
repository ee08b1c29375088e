/**
 * `npm run bench`: end-to-end benchmark of the dv CLI against reference tools on the same data.
 *
 * It drives `bin/run.js` as a user would (child processes, nothing imported from src/) on three
 * generated workloads, and measures in the same run, on the same files:
 *   references: b3sum single-thread and parallel, cp -r, git status (on a git repo holding the
 *   same tree); peers: git-annex add and git-lfs add (one run each; skip with --no-peers).
 * Transfer (W2, W3; skip with --no-transfer): dv push (cold, then no-op) to a fresh directory
 * remote and a fresh prefix on the S3 test server (test/s3-server.mjs), and dv pull into a fresh
 * git clone, with bytes moved and the S3 server's request count; cp -r of the tree as reference.
 * Wall time is process.hrtime around spawnSync; peak RSS comes from /usr/bin/time -f %M.
 * Page caches are never dropped: every number is a warm-cache number, taken the same way for
 * dv and for the references.
 *
 *   npm run bench                                   # all workloads, full size, 3 runs
 *   npm run bench -- --only W2 --runs 3 --scale 0.1 # quick trial
 *   npm run bench -- --help
 *
 * Workload data is pseudo-random (seeded xorshift128, so nothing dedups) and generated once into
 * $DV_BENCH_DIR (default /tmp/dv-bench), then reused while its parameters match.
 */
import {spawnSync} from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import * as os from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {startS3Server, type S3Server} from '../s3-control.js'

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const GEN_VERSION = 1
const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  only: string[]
  runs: number
  scale: number
  peers: string[]
  peerTimeout: number
  timeout: number
  dir: string
  bin: string
  out: string | undefined
  startup: boolean
  /** The built-in stages' figures (ingest, clean, split, evaluate); their row counts scale with --scale. */
  stages: boolean
  startupRuns: number
  keep: boolean
  transfer: boolean
  /** Runs of the transfer steps (default: --runs). */
  transferRuns: number | undefined
}

const HELP = `usage: npm run bench -- [options]

  --only W1,W2,W3      workloads to run, in this order (default: all; env DV_BENCH_ONLY); 'none' runs
                       only the startup, dv log and dv repro figures
  --runs N             runs per workload, medians reported (default 3; env DV_BENCH_RUNS)
  --scale S            multiply file counts (W2, W3) and the file size (W1) by S (default 1; env DV_BENCH_SCALE)
  --no-peers           skip git-annex and git-lfs (env DV_BENCH_PEERS=0)
  --peers annex,lfs    which peers to run (default: both, 1 run each); a peer may be limited to some
                       workloads, e.g. --peers lfs,annex:W1:W2 (git-annex on 200k files takes ~15 min)
  --peer-timeout SEC   give up on a peer command after SEC seconds (default 900)
  --timeout SEC        give up on any other command after SEC seconds (default 3600)
  --dir PATH           work dir for generated data and scratch repos (default /tmp/dv-bench; env DV_BENCH_DIR)
  --bin PATH           the dv CLI entry point (default <repo>/bin/run.js; env DV_BENCH_BIN)
  --out PATH           results file (default docs/benchmarks-latest.md); --no-write to skip it
  --no-startup         skip the tiny-repo startup comparison
  --startup-runs N     runs of the startup comparison (default 10)
  --no-stages          skip the built-in stages (env DV_BENCH_STAGES=0): dv ingest, clean and split of a
                       generated 5,000,000-row, 20-column CSV, dv evaluate of an ONNX model over
                       1,000,000 rows (row counts times --scale)
  --keep               keep the per-run repositories (default: removed after each run)
  --no-transfer        skip the transfer steps (default: on; env DV_BENCH_TRANSFER=0): for W2 and W3,
                       dv push (cold, then no-op) to a fresh directory remote and to a fresh prefix on
                       the S3 test server, and dv pull into a fresh git clone, each --runs times
  --transfer           run them (the default)
  --transfer-runs N    runs of the transfer steps, medians reported (default: --runs; at full size a
                       W3 transfer run creates 400,000 files in its two pulls: minutes a run)
`

function parseOptions(argv: string[]): Options {
  const env = process.env
  const o: Options = {
    only: (env.DV_BENCH_ONLY ?? 'W1,W2,W3').split(','),
    runs: Number(env.DV_BENCH_RUNS ?? 3),
    scale: Number(env.DV_BENCH_SCALE ?? 1),
    peers: env.DV_BENCH_PEERS === '0' ? [] : ['annex', 'lfs'],
    peerTimeout: 900,
    timeout: 3600,
    dir: env.DV_BENCH_DIR ?? '/tmp/dv-bench',
    bin: env.DV_BENCH_BIN ?? join(REPO_ROOT, 'bin', 'run.js'),
    out: join(REPO_ROOT, 'docs', 'benchmarks-latest.md'),
    startup: true,
    startupRuns: 10,
    stages: env.DV_BENCH_STAGES !== '0',
    keep: false,
    transfer: env.DV_BENCH_TRANSFER !== '0',
    transferRuns: undefined,
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined]
    const value = () => {
      const v = inline ?? argv[++i]
      if (v === undefined) throw new Error(`${flag} needs a value`)
      return v
    }
    switch (flag) {
      case '--only': o.only = value().split(','); break
      case '--runs': o.runs = Number(value()); break
      case '--scale': o.scale = Number(value()); break
      case '--no-peers': o.peers = []; break
      case '--peers': o.peers = value().split(',').filter(Boolean); break
      case '--peer-timeout': o.peerTimeout = Number(value()); break
      case '--timeout': o.timeout = Number(value()); break
      case '--dir': o.dir = value(); break
      case '--bin': o.bin = resolve(value()); break
      case '--out': o.out = resolve(value()); break
      case '--no-write': o.out = undefined; break
      case '--no-startup': o.startup = false; break
      case '--no-stages': o.stages = false; break
      case '--startup-runs': o.startupRuns = Number(value()); break
      case '--keep': o.keep = true; break
      case '--transfer': o.transfer = true; break
      case '--no-transfer': o.transfer = false; break
      case '--transfer-runs': o.transferRuns = Number(value()); break
      case '-h': case '--help': process.stdout.write(HELP); process.exit(0)
      default: throw new Error(`unknown option ${a}\n\n${HELP}`)
    }
  }
  o.only = o.only.map((w) => w.trim().toUpperCase()).filter((w) => w && w !== 'NONE')
  for (const w of o.only) if (!['W1', 'W2', 'W3'].includes(w)) throw new Error(`unknown workload ${w} (W1, W2, W3)`)
  for (const p of o.peers) if (!['annex', 'lfs'].includes(p.split(':')[0])) throw new Error(`unknown peer ${p} (annex, lfs)`)
  if (!(o.runs >= 1) || !Number.isInteger(o.runs)) throw new Error('--runs must be a positive integer')
  if (o.transferRuns !== undefined && (!(o.transferRuns >= 1) || !Number.isInteger(o.transferRuns))) throw new Error('--transfer-runs must be a positive integer')
  if (!(o.scale > 0)) throw new Error('--scale must be > 0')
  o.dir = resolve(o.dir)
  return o
}

// ---------------------------------------------------------------------------------------------
// Deterministic data

/** Marsaglia's xorshift128, seeded through splitmix32. */
class Xorshift128 {
  private s: Uint32Array
  constructor(seed: number) {
    this.s = new Uint32Array(4)
    let z = seed >>> 0
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0
      let t = z
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b)
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35)
      this.s[i] = (t ^ (t >>> 16)) >>> 0
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1
  }

  next(): number {
    const s = this.s
    let t = s[3]
    const u = s[0]
    s[3] = s[2]
    s[2] = s[1]
    s[1] = u
    t ^= t << 11
    t ^= t >>> 8
    s[0] = (t ^ u ^ (u >>> 19)) >>> 0
    return s[0]
  }

  /** Fills `out[0..n)` with random words (hot loop: state in locals). */
  fill(out: Uint32Array, n = out.length): void {
    const s = this.s
    let x = s[0], y = s[1], z = s[2], w = s[3]
    for (let i = 0; i < n; i++) {
      let t = w
      w = z
      z = y
      y = x
      t ^= t << 11
      t ^= t >>> 8
      x = (t ^ x ^ (x >>> 19)) >>> 0
      out[i] = x
    }
    s[0] = x; s[1] = y; s[2] = z; s[3] = w
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.next() / 2 ** 32) * (hi - lo + 1))
  }
}

type WorkloadId = 'W1' | 'W2' | 'W3'

interface Workload {
  id: WorkloadId
  /** Name of the generated source dir: includes the scale. */
  name: string
  describe: string
  /** The path given to `dv add`, relative to the repo root: a file (W1) or a directory. */
  target: string
  isDir: boolean
  files: Array<{rel: string; size: number}>
  dirs: number
  bytes: number
  seed: number
}

function workload(id: WorkloadId, scale: number): Workload {
  const name = `${id}-s${scale}`
  const pad = (n: number, w: number) => String(n).padStart(w, '0')
  if (id === 'W1') {
    const size = Math.max(4 * KiB, Math.round((2 * GiB * scale) / 4096) * 4096)
    return {id, name, describe: `one ${fmtBytes(size)} file`, target: 'big.bin', isDir: false, files: [{rel: 'big.bin', size}], dirs: 0, bytes: size, seed: 0x5701}
  }
  const count = Math.max(1, Math.round((id === 'W2' ? 20_000 : 200_000) * scale))
  const dirs = Math.min(id === 'W2' ? 100 : 200, count)
  const sizes = new Xorshift128(id === 'W2' ? 0x5702 : 0x5703)
  const files: Array<{rel: string; size: number}> = []
  for (let i = 0; i < count; i++) {
    const size = id === 'W2' ? sizes.int(4 * KiB, 64 * KiB) : KiB
    files.push({rel: `data/d${pad(i % dirs, 3)}/f${pad(i, 6)}.bin`, size})
  }
  const bytes = files.reduce((a, f) => a + f.size, 0)
  const what = id === 'W2' ? 'files of 4–64 KiB' : 'files of 1 KiB'
  return {id, name, describe: `${count.toLocaleString('en-US')} ${what} in ${dirs} directories (${fmtBytes(bytes)})`, target: 'data', isDir: true, files, dirs, bytes, seed: id === 'W2' ? 0xc0de02 : 0xc0de03}
}

/** Generates the workload into `<dir>/src/<name>` unless a matching marker says it is there. */
function ensureSource(o: Options, w: Workload): string {
  const root = join(o.dir, 'src', w.name)
  const marker = join(root, '.dv-bench-params.json')
  const params = JSON.stringify({version: GEN_VERSION, id: w.id, scale: o.scale, seed: w.seed, files: w.files.length, bytes: w.bytes})
  if (existsSync(marker) && readFileSync(marker, 'utf8') === params) return root
  rmSync(root, {recursive: true, force: true})
  requireFree(o.dir, w.bytes * 1.1 + 256 * MiB, `generating ${w.id}`)
  const tmp = root + '.tmp'
  rmSync(tmp, {recursive: true, force: true})
  log(`generating ${w.id}: ${w.describe} into ${root}`)
  const t0 = now()
  const rng = new Xorshift128(w.seed)
  const chunk = new Uint32Array(2 * MiB) // 8 MiB
  const bytes = new Uint8Array(chunk.buffer)
  const made = new Set<string>()
  for (const f of w.files) {
    const p = join(tmp, f.rel)
    const d = dirname(p)
    if (!made.has(d)) {
      mkdirSync(d, {recursive: true})
      made.add(d)
    }
    const fd = openSync(p, 'w')
    try {
      let left = f.size
      while (left > 0) {
        const n = Math.min(left, bytes.length)
        rng.fill(chunk, Math.ceil(n / 4))
        writeSync(fd, bytes, 0, n)
        left -= n
      }
    } finally {
      closeSync(fd)
    }
  }
  writeFileSync(join(tmp, '.dv-bench-params.json'), params)
  renameSync(tmp, root)
  log(`generated ${w.id} in ${(now() - t0).toFixed(1)} s`)
  return root
}

// ---------------------------------------------------------------------------------------------
// Running and timing commands

interface Sample {
  s: number
  rssKiB?: number
  rc: number
  timedOut: boolean
  stdout: string
  stderr: string
  /** Transfer steps: bytes moved (push: what the remote grew by; pull: what the clone's cache received). */
  bytes?: number
  /** Transfer steps to S3: requests the test server saw during the command. */
  requests?: number
}

const HAVE_TIME = existsSync('/usr/bin/time')
const now = () => Number(process.hrtime.bigint()) / 1e9
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)
const sleep = (s: number) => {
  if (s > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.ceil(s * 1000))
}

/** Runs `cmd` under `timeout` and `/usr/bin/time`, timing the wall clock around it. */
function timed(cmd: string[], cwd: string, timeoutS: number, env: NodeJS.ProcessEnv = process.env): Sample {
  const rssFile = join(os.tmpdir(), `dv-bench-rss-${process.pid}`)
  rmSync(rssFile, {force: true})
  const argv = ['timeout', '-s', 'KILL', String(timeoutS), ...(HAVE_TIME ? ['/usr/bin/time', '-f', '%M', '-o', rssFile] : []), ...cmd]
  const t0 = now()
  const r = spawnSync(argv[0], argv.slice(1), {cwd, env, encoding: 'utf8', maxBuffer: 1 << 30})
  const s = now() - t0
  let rssKiB: number | undefined
  if (HAVE_TIME && existsSync(rssFile)) {
    const lines = readFileSync(rssFile, 'utf8').trim().split('\n')
    const v = Number(lines[lines.length - 1])
    if (Number.isFinite(v)) rssKiB = v
    rmSync(rssFile, {force: true})
  }
  const rc = r.status ?? (r.signal ? 128 : 1)
  return {s, rssKiB, rc, timedOut: rc === 137 || r.signal === 'SIGKILL', stdout: r.stdout ?? '', stderr: r.stderr ?? ''}
}

/** Runs a setup command (not timed); throws on failure. */
function must(cmd: string[], cwd: string, what = cmd.join(' ')): string {
  const r = spawnSync(cmd[0], cmd.slice(1), {cwd, encoding: 'utf8', maxBuffer: 1 << 30})
  if (r.status !== 0) throw new Error(`${what} failed (rc ${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').trim().slice(0, 500)}`)
  return r.stdout
}

const sh = (script: string) => ['bash', '-c', `set -o pipefail; ${script}`]
const syncDisks = () => spawnSync('sync')
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

function rmTree(p: string): void {
  if (!existsSync(p)) return
  // git-annex leaves its objects and their directories read-only.
  spawnSync('chmod', ['-R', 'u+w', p])
  rmSync(p, {recursive: true, force: true})
}

function freeBytes(dir: string): number {
  mkdirSync(dir, {recursive: true})
  const s = statfsSync(dir)
  return Number(s.bavail) * Number(s.bsize)
}

function requireFree(dir: string, bytes: number, what: string): void {
  const free = freeBytes(dir)
  if (free < bytes) throw new Error(`not enough disk for ${what}: need ${fmtBytes(bytes)}, ${fmtBytes(free)} free in ${dir}`)
}

// ---------------------------------------------------------------------------------------------
// Results

interface Step {
  name: string
  samples: Sample[]
  /** Problems seen: failures and wrong answers, one line each. */
  problems: string[]
}

class Steps {
  readonly list: Step[] = []
  get(name: string): Step {
    let s = this.list.find((x) => x.name === name)
    if (!s) this.list.push((s = {name, samples: [], problems: []}))
    return s
  }

  add(name: string, sample: Sample, problem?: string): Sample {
    const step = this.get(name)
    step.samples.push(sample)
    if (sample.timedOut) step.problems.push('timed out')
    else if (sample.rc !== 0) step.problems.push(`rc ${sample.rc}: ${firstLine(sample.stderr || sample.stdout)}`)
    if (problem) step.problems.push(problem)
    const rss = sample.rssKiB === undefined ? '' : `, ${(sample.rssKiB / 1024).toFixed(0)} MiB`
    const moved = (sample.bytes === undefined ? '' : `, ${fmtBytes(sample.bytes)} moved`) + (sample.requests === undefined ? '' : `, ${sample.requests} requests`)
    log(`  ${name}: ${sample.s.toFixed(3)} s${rss}${moved}${sample.rc !== 0 ? ` (rc ${sample.rc})` : ''}${problem ? ` — ${problem}` : ''}`)
    return sample
  }
}

interface WorkloadResult {
  w: Workload
  dv: Steps
  refs: Steps
  peers: Steps
  /** dv push / dv pull (W2, W3): step names start with the remote kind, `dir: ` or `s3: `. */
  transfer: Steps
  notes: string[]
}

const firstLine = (s: string) => (s.trim().split('\n').find((l) => l.trim()) ?? '').trim().slice(0, 160)
const median = (xs: number[]) => {
  if (xs.length === 0) return NaN
  const a = [...xs].sort((x, y) => x - y)
  const m = a.length >> 1
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2
}

const med = (s: Step | undefined) => (s ? median(s.samples.filter((x) => !x.timedOut).map((x) => x.s)) : NaN)
const ok = (s: Step | undefined) => !!s && s.samples.length > 0 && s.problems.length === 0
const peakRss = (s: Step) => Math.max(...s.samples.map((x) => x.rssKiB ?? NaN))
/** Median of a transfer figure over the runs that have it. */
const medOf = (s: Step | undefined, key: 'bytes' | 'requests') => (s ? median(s.samples.flatMap((x) => (x[key] === undefined ? [] : [x[key]!]))) : NaN)
/** A step by name, without creating it (Steps.get creates). */
const find = (steps: Steps, name: string) => steps.list.find((x) => x.name === name)

function fmtBytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(2)} GiB`
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`
  if (n >= KiB) return `${(n / KiB).toFixed(1)} KiB`
  return `${n} B`
}

const fmtS = (x: number) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(3) : x.toFixed(2)) : '–')
const fmtMiB = (kib: number) => (Number.isFinite(kib) ? (kib / 1024).toFixed(0) : '–')

// ---------------------------------------------------------------------------------------------
// dv helpers

function dvStatusChanged(stdout: string): {clean: boolean; files: string[]; outs: string[]} | undefined {
  let j: unknown
  try {
    j = JSON.parse(stdout)
  } catch {
    return undefined
  }
  const files: string[] = []
  const outs: string[] = []
  const walk = (v: unknown, key?: string) => {
    if (Array.isArray(v)) for (const x of v) walk(x)
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'changed files' && x && typeof x === 'object') files.push(...Object.keys(x))
        else if (k === 'changed outs' && x && typeof x === 'object') outs.push(...Object.keys(x))
        else walk(x, k)
      }
    }
    void key
  }
  walk(j)
  return {clean: j !== null && typeof j === 'object' && Object.keys(j as object).length === 0, files, outs}
}

/** Evenly spread picks of `k` files, starting at `offset` (a fraction of the spacing). */
function pick(w: Workload, k: number, offset: number): string[] {
  const n = w.files.length
  k = Math.min(k, n)
  const out = new Set<string>()
  for (let i = 0; i < k; i++) out.add(w.files[Math.min(n - 1, Math.floor(((i + offset) * n) / k))].rel)
  return [...out]
}

function b3map(cwd: string, rels: string[]): Map<string, string> {
  const out = must(['b3sum', '--', ...rels], cwd)
  const m = new Map<string, string>()
  for (const line of out.trim().split('\n')) {
    const i = line.indexOf('  ')
    m.set(line.slice(i + 2), line.slice(0, i))
  }
  return m
}

/** Files and bytes under `p`; with `only`, just the files whose name it accepts. */
function countFiles(p: string, only?: (name: string) => boolean): {files: number; bytes: number} {
  if (!existsSync(p)) return {files: 0, bytes: 0}
  const st = statSync(p)
  if (!st.isDirectory()) return {files: 1, bytes: st.size}
  let files = 0
  let bytes = 0
  const stack = [p]
  while (stack.length) {
    const d = stack.pop()!
    for (const e of readdirSync(d, {withFileTypes: true})) {
      const q2 = join(d, e.name)
      if (e.isDirectory()) stack.push(q2)
      else if (e.isFile() && (!only || only(e.name))) {
        files++
        bytes += statSync(q2).size
      }
    }
  }
  return {files, bytes}
}

function gitInit(dir: string): void {
  mkdirSync(dir, {recursive: true})
  must(['git', 'init', '-q'], dir)
  must(['git', 'config', 'user.name', 'dv bench'], dir)
  must(['git', 'config', 'user.email', 'bench@dv.invalid'], dir)
  must(['git', 'config', 'commit.gpgsign', 'false'], dir)
  must(['git', 'config', 'gc.auto', '0'], dir)
}

/** A git repo with the workload committed, for timing `git status`; built once and reused. */
function ensureGitScratch(o: Options, w: Workload, src: string): string {
  const dir = join(o.dir, 'git', w.name)
  const marker = join(o.dir, 'git', `${w.name}.ok`)
  const params = readFileSync(join(src, '.dv-bench-params.json'), 'utf8')
  if (existsSync(marker) && readFileSync(marker, 'utf8') === params && existsSync(dir)) return dir
  rmTree(dir)
  requireFree(o.dir, w.bytes * 2.2 + 256 * MiB, `the git scratch repo for ${w.id}`)
  log(`building the git scratch repo for ${w.id} (not timed)`)
  gitInit(dir)
  must(['cp', '-r', join(src, w.target), join(dir, w.target)], dir)
  must(['git', '-c', 'core.looseCompression=0', '-c', 'core.compression=0', 'add', '-A'], dir)
  must(['git', 'commit', '-q', '-m', 'data'], dir)
  sleep(2)
  must(['git', 'status', '--porcelain'], dir) // refreshes the index once
  writeFileSync(marker, params)
  return dir
}

// ---------------------------------------------------------------------------------------------
// One workload

async function benchWorkload(o: Options, w: Workload, s3: S3Server | string): Promise<WorkloadResult> {
  const res: WorkloadResult = {w, dv: new Steps(), refs: new Steps(), peers: new Steps(), transfer: new Steps(), notes: []}
  const src = ensureSource(o, w)
  const gitScratch = w.isDir ? ensureGitScratch(o, w, src) : undefined
  if (!gitScratch) res.notes.push('git status reference not measured for W1 (one big blob in git is not a meaningful comparison).')
  const dv = (args: string[], cwd: string) => timed(['node', o.bin, ...args], cwd, o.timeout, {...process.env, NO_COLOR: '1'})
  const nproc = os.availableParallelism()
  const runsDir = join(o.dir, 'runs')
  const srcTarget = join(src, w.target)

  if (gitScratch) must(['git', 'status', '--porcelain'], gitScratch)

  for (let run = 1; run <= o.runs; run++) {
    log(`${w.id} run ${run}/${o.runs}: ${w.describe}`)
    requireFree(o.dir, w.bytes * 3.3 + 512 * MiB, `${w.id} run ${run}`)
    const repo = join(runsDir, `${w.id}-repo`)
    const cpref = join(runsDir, `${w.id}-cpref`)
    rmTree(repo)
    rmTree(cpref)
    gitInit(repo)
    res.dv.add('dv init', dv(['init'], repo))
    must(['cp', '-r', srcTarget, join(repo, w.target)], repo)
    syncDisks()
    const copied = now()

    // References, on the same files the dv steps use (page cache equally warm).
    const b3 = (threads: string) =>
      w.isDir
        ? sh(`find ${w.target} -type f -print0 | xargs -0 ${threads === '1' ? '' : `-P${nproc} -n 1000`} b3sum ${threads === '1' ? '--num-threads 1' : ''} > /dev/null`)
        : sh(`b3sum ${threads === '1' ? '--num-threads 1' : ''} ${w.target} > /dev/null`)
    res.refs.add('b3sum --num-threads 1', timed(b3('1'), repo, o.timeout))
    res.refs.add(w.isDir ? `b3sum, xargs -P${nproc}` : 'b3sum (multi-thread)', timed(b3('mt'), repo, o.timeout))
    mkdirSync(cpref, {recursive: true})
    syncDisks()
    res.refs.add(w.isDir ? 'cp -r' : 'cp', timed(['cp', '-r', w.target, join(cpref, w.target)], repo, o.timeout))
    syncDisks()
    rmTree(cpref)
    syncDisks()
    if (gitScratch) res.refs.add('git status (unchanged)', timed(['git', 'status', '--porcelain'], gitScratch, o.timeout))

    // dv's state cache distrusts files modified in the last 2 s; user data is older than that.
    sleep(copied + 2.2 - now())

    syncDisks()
    let r = res.dv.add('dv add (cold cache)', dv(['add', w.target], repo), undefined)
    if (r.rc === 0 && !existsSync(join(repo, `${w.target}.dv`))) res.dv.get('dv add (cold cache)').problems.push('no pointer file written')
    syncDisks()
    res.dv.add('dv add (unchanged)', dv(['add', w.target], repo))
    // Version 1 in git, for the dv diff step below (not timed).
    if (w.isDir) {
      must(['git', 'add', '--', `${w.target}.dv`, '.gitignore'], repo)
      must(['git', 'commit', '-q', '-m', 'v1'], repo)
    }

    const statusStep = (name: string, expect: (c: NonNullable<ReturnType<typeof dvStatusChanged>>) => string | undefined) => {
      syncDisks()
      const s = dv(['status', '--json'], repo)
      let problem: string | undefined
      if (s.rc === 0) {
        const c = dvStatusChanged(s.stdout)
        problem = c ? expect(c) : `unparsable output: ${firstLine(s.stdout)}`
      }
      res.dv.add(name, s, problem)
    }
    const expectClean = (c: NonNullable<ReturnType<typeof dvStatusChanged>>) =>
      c.clean ? undefined : `reported changes: ${[...c.outs, ...c.files].slice(0, 3).join(', ')}`
    statusStep('dv status (unchanged)', expectClean)

    const touched = pick(w, 10, 0)
    must(['touch', ...touched], repo)
    statusStep(`dv status (${touched.length} touched)`, expectClean)

    const modified = pick(w, 10, 0.5)
    const noise = new Xorshift128(w.seed ^ (run * 0x9e37))
    for (const rel of modified) {
      const buf = new Uint32Array(16)
      noise.fill(buf)
      const fd = openSync(join(repo, rel), 'r+')
      writeSync(fd, new Uint8Array(buf.buffer), 0, 64, 0)
      closeSync(fd)
    }
    statusStep(`dv status (${modified.length} modified)`, (c) => {
      if (!w.isDir) return c.outs.includes(w.target) ? undefined : `expected ${w.target} modified, got ${JSON.stringify(c)}`
      const want = new Set(modified)
      const got = new Set(c.files)
      const missing = [...want].filter((x) => !got.has(x))
      const extra = [...got].filter((x) => !want.has(x))
      return missing.length || extra.length ? `expected ${want.size} modified files; missing ${missing.length}, extra ${extra.length}` : undefined
    })
    syncDisks()
    res.dv.add(`dv add (${modified.length} modified)`, dv(['add', w.target], repo))

    // dv diff between two commits that differ in the modified files, against `git diff --stat`
    // between two commits of the same tree, with the same change, held in git itself.
    if (w.isDir && gitScratch) {
      must(['git', 'add', '--', `${w.target}.dv`], repo)
      must(['git', 'commit', '-q', '-m', 'v2'], repo)
      const d = dv(['diff', 'HEAD~1', 'HEAD', '--json'], repo)
      let problem: string | undefined
      if (d.rc === 0) {
        const got = (JSON.parse(d.stdout) as {modified: Array<{path: string}>}).modified.map((m) => m.path).sort()
        if (got.join() !== [...modified].sort().join()) problem = `expected ${modified.length} modified files, got ${got.length}`
      }
      res.dv.add(`dv diff HEAD~1 HEAD (${modified.length} files differ)`, d, problem)
      for (const rel of modified) writeFileSync(join(gitScratch, rel), readFileSync(join(repo, rel)))
      must(['git', 'commit', '-q', '-a', '-m', 'v2'], gitScratch)
      res.refs.add('git diff --stat HEAD~1 HEAD', timed(['git', 'diff', '--stat', 'HEAD~1', 'HEAD'], gitScratch, o.timeout))
      must(['git', 'reset', '-q', '--hard', 'HEAD~1'], gitScratch)
    }

    // checkout after deleting the workspace copy
    const sample = [...new Set([...pick(w, 40, 0.25), ...modified])]
    const before = b3map(repo, sample)
    const countBefore = countFiles(join(repo, w.target))
    // The reference for checkout is a cp -r taken right before it: on this shared VM the cost of
    // creating files swings by up to 10x over minutes (after heavy writes), so a cp -r measured
    // earlier in the run is not comparable; this one sees the same disk state.
    if (w.isDir) {
      rmTree(cpref)
      mkdirSync(cpref, {recursive: true})
      syncDisks()
      res.refs.add('cp -r (right before checkout)', timed(['cp', '-r', w.target, join(cpref, w.target)], repo, o.timeout))
      rmTree(cpref)
    }
    rmSync(join(repo, w.target), {recursive: true, force: true})
    syncDisks()
    r = dv(['checkout'], repo)
    let problem: string | undefined
    if (r.rc === 0) {
      const countAfter = countFiles(join(repo, w.target))
      if (countAfter.files !== countBefore.files || countAfter.bytes !== countBefore.bytes) {
        problem = `restored ${countAfter.files} files / ${countAfter.bytes} B, expected ${countBefore.files} / ${countBefore.bytes}`
      } else {
        const after = b3map(repo, sample)
        const bad = sample.filter((p) => after.get(p) !== before.get(p))
        if (bad.length) problem = `${bad.length} sampled files differ after checkout (e.g. ${bad[0]})`
      }
    }
    res.dv.add('dv checkout (workspace deleted)', r, problem)
    statusStep('dv status (after checkout)', expectClean)

    // Transfer steps, after the last run, from its repo (data v2 committed, workspace clean).
    if (run === o.runs && o.transfer && w.isDir) await benchTransfer(o, w, res, repo, s3)

    if (!o.keep) rmTree(repo)
    syncDisks()
  }
  if (o.transfer && !w.isDir) res.notes.push('transfer (dv push / dv pull) measured for W2 and W3 only.')

  for (const spec of o.peers) {
    const [peer, ...only] = spec.split(':').map((x) => x.trim())
    if (only.length && !only.map((x) => x.toUpperCase()).includes(w.id)) res.notes.push(`${peer}: not run for ${w.id} (--peers ${spec}).`)
    else benchPeer(o, w, res, peer)
  }
  return res
}

function benchPeer(o: Options, w: Workload, res: WorkloadResult, peer: string): void {
  const bin = peer === 'annex' ? '/usr/bin/git-annex' : '/usr/bin/git-lfs'
  const have = spawnSync(peer === 'annex' ? 'git-annex' : 'git-lfs', ['version'], {encoding: 'utf8'})
  if (have.status !== 0) {
    res.notes.push(`${peer}: not installed (${bin}), skipped.`)
    return
  }
  log(`${w.id} peer ${peer} (1 run)`)
  requireFree(o.dir, w.bytes * 2.3 + 512 * MiB, `${w.id} ${peer}`)
  const dir = join(o.dir, 'runs', `${w.id}-${peer}`)
  rmTree(dir)
  try {
    gitInit(dir)
    must(['cp', '-r', join(o.dir, 'src', w.name, w.target), join(dir, w.target)], dir)
    if (peer === 'annex') {
      must(['git', 'annex', 'init', '--quiet', 'bench'], dir)
      syncDisks()
      sleep(2)
      res.peers.add('git annex add', timed(['git', 'annex', 'add', '--quiet', w.target], dir, o.peerTimeout))
    } else {
      must(['git', 'lfs', 'install', '--local'], dir)
      must(['git', 'lfs', 'track', w.isDir ? `${w.target}/**` : w.target], dir)
      must(['git', 'add', '.gitattributes'], dir)
      syncDisks()
      sleep(2)
      res.peers.add('git lfs: git add', timed(['git', 'add', w.target], dir, o.peerTimeout))
    }
  } catch (error) {
    res.notes.push(`${peer}: setup failed: ${(error as Error).message.split('\n')[0]}`)
  } finally {
    if (!o.keep) rmTree(dir)
    syncDisks()
  }
}

// ---------------------------------------------------------------------------------------------
// Transfer: dv push and dv pull, to a directory remote and to the S3 test server

const S3_BUCKET = 'dv-test' // configured by test/s3-server.mjs
const S3_KEY = 'S3RVER' // s3rver's fixed access key id and secret

/** Parses `N objects pushed (M already there)` / `N objects fetched (M already there)`. */
function movedCounts(stdout: string): {moved: number; there: number} | undefined {
  const m = /(\d+) objects (?:pushed|fetched) \((\d+) already there\)/.exec(stdout)
  return m ? {moved: Number(m[1]), there: Number(m[2])} : undefined
}

/**
 * For each run and each remote kind, a fresh remote (a new directory; a new prefix on the S3
 * server), configured in `repo` with `dv remote add -d` and committed to git: `dv push` (remote
 * empty), `dv push` again (no-op), then `dv pull` in a fresh `git clone` of `repo` (cold cache;
 * the S3 credentials set with --local there). The clone's data is checked once per remote kind.
 * Reference: `cp -r` of the tree into a fresh directory, right before the pushes of each run.
 */
async function benchTransfer(o: Options, w: Workload, res: WorkloadResult, repo: string, s3: S3Server | string): Promise<void> {
  const env = {...process.env, NO_COLOR: '1'}
  const dvT = (args: string[], cwd: string) => timed(['node', o.bin, ...args], cwd, o.timeout, env)
  const dvM = (args: string[], cwd: string) => must(['node', o.bin, ...args], cwd, `dv ${args.join(' ')}`)
  const runsDir = join(o.dir, 'runs')
  const remoteDir = join(runsDir, `${w.id}-remote`)
  const clone = join(runsDir, `${w.id}-clone`)
  const cpref = join(runsDir, `${w.id}-cpref`)
  const kinds = typeof s3 === 'string' ? (['dir'] as const) : (['dir', 's3'] as const)
  if (typeof s3 === 'string') res.notes.push(`S3 transfer not measured: ${s3}`)
  const sample = pick(w, 20, 0.1)
  const want = countFiles(join(repo, w.target))
  const wantB3 = b3map(repo, sample)
  const checked = new Set<string>()

  const runs = o.transferRuns ?? o.runs
  for (let run = 1; run <= runs; run++) {
    log(`${w.id} transfer run ${run}/${runs}: ${kinds.join(', ')}`)
    requireFree(o.dir, w.bytes * 4.5 + 512 * MiB, `${w.id} transfer run ${run}`)
    // The reference right before the pushes: file creation speed on this VM drifts (see the checkout step).
    rmTree(cpref)
    mkdirSync(cpref, {recursive: true})
    syncDisks()
    res.refs.add('cp -r (right before push)', timed(['cp', '-r', w.target, join(cpref, w.target)], repo, o.timeout))
    rmTree(cpref)

    for (const kind of kinds) {
      const server = kind === 's3' ? (s3 as S3Server) : undefined
      const prefix = `bench/${w.name}-run${run}-${Date.now().toString(36)}`
      const serverPrefix = server ? join(server.dir, S3_BUCKET, ...prefix.split('/')) : ''
      const remoteBytes = () => (server ? countFiles(serverPrefix, (n) => n.endsWith('._S3rver_object')) : countFiles(remoteDir)).bytes
      const cacheBytes = () => countFiles(join(clone, '.dv', 'cache', 'objects')).bytes
      const credentials = (cwd: string) => {
        dvM(['remote', 'modify', '--local', 's3', 'access_key_id', S3_KEY], cwd)
        dvM(['remote', 'modify', '--local', 's3', 'secret_access_key', S3_KEY], cwd)
      }
      try {
        // A fresh remote, made the default and committed, so the clone below sees it.
        if (server) {
          dvM(['remote', 'add', '-f', '-d', 's3', `s3://${S3_BUCKET}/${prefix}`], repo)
          dvM(['remote', 'modify', 's3', 'endpointurl', server.endpoint], repo)
          credentials(repo)
        } else {
          rmTree(remoteDir)
          mkdirSync(remoteDir, {recursive: true})
          dvM(['remote', 'add', '-f', '-d', 'store', remoteDir], repo)
        }
        must(['git', 'add', '--', '.dv/config'], repo)
        must(['git', 'commit', '-q', '--allow-empty', '-m', `bench: remote ${kind}, run ${run}`], repo)

        const step = async (name: string, args: string[], cwd: string, bytesOf: () => number, check: (s: Sample) => string | undefined) => {
          syncDisks()
          const b0 = bytesOf()
          const r0 = server ? await server.requests() : 0
          const s = dvT(args, cwd)
          if (server) s.requests = (await server.requests()) - r0
          s.bytes = bytesOf() - b0
          res.transfer.add(`${kind}: ${name}`, s, s.rc === 0 ? check(s) : undefined)
          return s
        }
        await step('dv push (cold)', ['push'], repo, remoteBytes, (s) => {
          const c = movedCounts(s.stdout)
          if (c && (c.moved === 0 || c.there !== 0)) return `pushed ${c.moved}, ${c.there} already there (remote was empty)`
          if (!s.bytes) return 'nothing arrived on the remote'
          return s.bytes < want.bytes ? `remote holds ${s.bytes} B, less than the ${want.bytes} B of data` : undefined
        })
        await step('dv push (no-op)', ['push'], repo, remoteBytes, (s) => {
          const c = movedCounts(s.stdout)
          if (c && c.moved !== 0) return `pushed ${c.moved} objects again`
          return s.bytes ? `remote grew by ${s.bytes} B` : undefined
        })

        rmTree(clone)
        must(['git', 'clone', '-q', repo, clone], runsDir)
        if (server) credentials(clone)
        await step('dv pull (fresh clone)', ['pull'], clone, cacheBytes, (s) => {
          const c = movedCounts(s.stdout)
          if (c && c.there !== 0) return `fetched ${c.moved}, ${c.there} already there (cache was empty)`
          const added = /(\d+) files added/.exec(s.stdout)
          if (added && Number(added[1]) !== want.files) return `${added[1]} files added, expected ${want.files}`
          if (checked.has(kind)) return undefined
          // Once per remote kind: the clone's workspace matches what was pushed.
          checked.add(kind)
          const got = countFiles(join(clone, w.target))
          if (got.files !== want.files || got.bytes !== want.bytes) return `clone has ${got.files} files / ${got.bytes} B, expected ${want.files} / ${want.bytes}`
          const gotB3 = b3map(clone, sample)
          const bad = sample.filter((p) => gotB3.get(p) !== wantB3.get(p))
          if (bad.length) return `${bad.length} sampled files differ in the clone (e.g. ${bad[0]})`
          const st = spawnSync('node', [o.bin, 'status', '--json'], {cwd: clone, env, encoding: 'utf8', maxBuffer: 1 << 30})
          if (st.status !== 0) return `dv status in the clone: rc ${st.status}: ${firstLine(st.stderr)}`
          return st.stdout.trim() === '{}' ? undefined : `dv status in the clone: ${firstLine(st.stdout)}`
        })
      } catch (error) {
        res.transfer.get(`${kind}: dv push (cold)`).problems.push(`setup failed: ${(error as Error).message.split('\n')[0]}`)
        log(`  ${kind}: setup failed: ${(error as Error).message.split('\n')[0]}`)
      } finally {
        if (!o.keep) {
          rmTree(clone)
          rmTree(server ? serverPrefix : remoteDir)
        }
        syncDisks()
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Startup: dv status in a tiny repo vs an empty node process

interface StartupResult {
  dv: Step
  node: Step
  /** `dv log` over a dataset with 200 versions, one per commit. */
  log?: Step
  /** A 20-stage pipeline, 1,000 files a stage: no-op `dv repro`, and re-running every stage. */
  repro?: {noop: Step; rerun: Step}
  /** `dv compare --all-commits` over 300 commits of params and metrics. */
  compare?: Step
  /** The built-in data stages, with the rows each step handled. */
  stages?: {steps: Step[]; rows: Map<string, number>; reference: Step}
}

async function benchStartup(o: Options): Promise<StartupResult> {
  const dir = join(o.dir, 'runs', 'startup')
  rmTree(dir)
  gitInit(dir)
  must(['node', o.bin, 'init'], dir)
  writeFileSync(join(dir, 'small.txt'), 'hello\n')
  must(['node', o.bin, 'add', 'small.txt'], dir)
  sleep(2.1)
  must(['node', o.bin, 'status'], dir)
  const one = (cmd: string[]): Sample => {
    const t0 = now()
    const r = spawnSync(cmd[0], cmd.slice(1), {cwd: dir, encoding: 'utf8'})
    return {s: now() - t0, rc: r.status ?? 1, timedOut: false, stdout: r.stdout, stderr: r.stderr}
  }
  const res: StartupResult = {dv: {name: 'dv status (tiny repo)', samples: [], problems: []}, node: {name: "node -e ''", samples: [], problems: []}}
  log(`startup: ${o.startupRuns} runs each`)
  for (let i = 0; i < o.startupRuns; i++) {
    const a = one(['node', o.bin, 'status'])
    res.dv.samples.push(a)
    if (a.rc !== 0) res.dv.problems.push(`rc ${a.rc}: ${firstLine(a.stderr)}`)
    res.node.samples.push(one(['node', '-e', '']))
  }
  log(`  dv status: ${fmtS(med(res.dv))} s, node -e '': ${fmtS(med(res.node))} s`)
  if (!o.keep) rmTree(dir)
  res.log = benchLog(o)
  res.repro = benchRepro(o)
  res.compare = benchCompare(o)
  if (o.stages) res.stages = await benchStages(o)
  return res
}

/**
 * The built-in data stages on generated data (made once with DuckDB, not timed): dv ingest of a
 * 5,000,000-row, 20-column CSV into Parquet, dv clean of that (schema types and ranges, duplicate
 * removal), dv split of the result (stratified, 0.8/0.1/0.1, with the leakage check), and dv
 * evaluate of a 3-class softmax ONNX model over 1,000,000 rows of 20 float features. Reference:
 * reading the CSV once (`cat > /dev/null`).
 */
async function benchStages(o: Options): Promise<{steps: Step[]; rows: Map<string, number>; reference: Step}> {
  const ROWS = Math.round(5_000_000 * o.scale)
  const EVAL_ROWS = Math.round(1_000_000 * o.scale)
  const dir = join(o.dir, 'runs', 'stages')
  const marker = join(dir, `.generated-${ROWS}-${EVAL_ROWS}`)
  const csv = join(dir, 'big.csv')
  const evalData = join(dir, 'eval.parquet')
  const model = join(dir, 'model.onnx')
  if (!existsSync(marker)) {
    rmTree(dir)
    mkdirSync(dir, {recursive: true})
    log(`generating ${ROWS.toLocaleString('en')} rows × 20 columns (CSV) and ${EVAL_ROWS.toLocaleString('en')} rows × 21 (Parquet) for the stages (not timed)`)
    const {DuckDBInstance} = await import('@duckdb/node-api')
    const db = await DuckDBInstance.create(':memory:', {temp_directory: join(dir, 'spill')})
    const c = await db.connect()
    // Values from hashes of the row number: the same data on every run, with no ordering to exploit.
    const numbers = Array.from({length: 18}, (_, k) => `round((hash(i, ${k + 1}) % 100000) / 1000.0, 3) AS f${k + 1}`).join(', ')
    await c.run(`COPY (SELECT i AS id, ${numbers}, 'class_' || (hash(i, 99) % 3) AS label FROM range(${ROWS}) t(i)) TO '${csv}' (FORMAT csv, HEADER true)`)
    const features = Array.from({length: 20}, (_, k) => `CAST((hash(i, ${k + 1}) % 100000) / 100000.0 AS FLOAT) AS x${k + 1}`).join(', ')
    await c.run(`COPY (SELECT ${features}, 'class_' || (hash(i, 99) % 3) AS label FROM range(${EVAL_ROWS}) t(i)) TO '${evalData}' (FORMAT parquet)`)
    c.closeSync()
    db.closeSync()
    const {softmaxModel} = await import('../onnx-models.js')
    writeFileSync(model, softmaxModel(Array.from({length: 20}, (_, f) => [f % 3 === 0 ? 1 : 0, f % 3 === 1 ? 1 : 0, f % 3 === 2 ? 1 : 0]), [0, 0, 0]))
    writeFileSync(join(dir, 'schema.yaml'), `columns:\n  id: {type: integer, required: true}\n${Array.from({length: 18}, (_, k) => `  f${k + 1}: {type: double, min: 0, max: 100}`).join('\n')}\n  label: {type: string, allowed: [class_0, class_1, class_2]}\nduplicates: drop\n`)
    writeFileSync(marker, '')
  }
  const rows = new Map<string, number>()
  const steps: Step[] = []
  const run = (name: string, n: number, args: string[], check?: () => string | undefined) => {
    const step: Step = {name, samples: [], problems: []}
    for (let i = 0; i < o.runs; i++) {
      const r = timed(['node', o.bin, ...args], dir, o.timeout)
      step.samples.push(r)
      if (r.rc !== 0) step.problems.push(`rc ${r.rc}: ${firstLine(r.stderr)}`)
      else {
        const problem = check?.()
        if (problem) step.problems.push(problem)
      }
    }
    rows.set(name, n)
    steps.push(step)
    log(`  ${name}: ${fmtS(med(step))} s, ${Math.round(n / med(step)).toLocaleString('en')} rows/s, peak ${fmtMiB(peakRss(step))} MiB`)
  }
  const report = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>
  run(`dv ingest (CSV → Parquet, ${ROWS.toLocaleString('en')} rows)`, ROWS, ['ingest', 'big.csv', '-o', 'raw.parquet', '--report', 'ingest.json'], () => (report('ingest.json').rows === ROWS ? undefined : 'wrong row count'))
  run(`dv clean (schema, duplicates, ${ROWS.toLocaleString('en')} rows)`, ROWS, ['clean', 'raw.parquet', '-o', 'clean.parquet', '--schema', 'schema.yaml', '--report', 'clean.json'], () => (report('clean.json').rows_out === ROWS ? undefined : 'rows lost'))
  run(`dv split (stratified 0.8/0.1/0.1, ${ROWS.toLocaleString('en')} rows)`, ROWS, ['split', 'clean.parquet', '--out-dir', 'split', '--stratify', 'label', '--seed', '7', '--report', 'split.json'], () => (report('split.json').rows === ROWS ? undefined : 'wrong row count'))
  run(`dv evaluate (3-class ONNX, ${EVAL_ROWS.toLocaleString('en')} rows)`, EVAL_ROWS, ['evaluate', '--model', 'model.onnx', '--data', 'eval.parquet', '--label', 'label', '-o', 'metrics.json', '--plots-dir', 'plots'], () => (report('metrics.json').rows === EVAL_ROWS ? undefined : 'wrong row count'))
  const reference: Step = {name: `cat big.csv > /dev/null (${fmtBytes(statSync(csv).size)})`, samples: [], problems: []}
  for (let i = 0; i < o.runs; i++) reference.samples.push(timed(sh(`cat ${q(csv)} > /dev/null`), dir, o.timeout))
  return {steps, rows, reference}
}

/** `dv compare --all-commits` on a history of 300 commits, each changing params and metrics (built once, not timed). */
function benchCompare(o: Options): Step {
  const COMMITS = 300
  const dir = join(o.dir, 'runs', 'compare-300')
  const marker = join(o.dir, 'runs', 'compare-300.ok')
  if (!existsSync(marker) || !existsSync(dir)) {
    rmTree(dir)
    log(`building a history of ${COMMITS} commits for dv compare (not timed)`)
    gitInit(dir)
    must(['node', o.bin, 'init'], dir)
    writeFileSync(join(dir, 'dv.yaml'), 'stages:\n  train:\n    cmd: echo\n    params: [train.lr]\n    metrics:\n      - metrics.json:\n          cache: false\n')
    must(['git', 'add', '-A'], dir)
    must(['git', 'commit', '-q', '-m', 'pipeline'], dir)
    for (let i = 1; i <= COMMITS; i++) {
      writeFileSync(join(dir, 'params.yaml'), `train:\n  lr: ${i / 1000}\n`)
      writeFileSync(join(dir, 'metrics.json'), JSON.stringify({accuracy: i / COMMITS, loss: COMMITS - i}))
      must(['git', 'add', 'params.yaml', 'metrics.json'], dir)
      must(['git', 'commit', '-q', '-m', `version ${i}`], dir)
    }
    writeFileSync(marker, String(COMMITS))
  }
  const step: Step = {name: `dv compare --all-commits (${COMMITS} commits)`, samples: [], problems: []}
  for (let i = 0; i < Math.max(3, o.runs); i++) {
    const r = timed(['node', o.bin, 'compare', '--all-commits', '--json'], dir, o.timeout)
    step.samples.push(r)
    if (r.rc !== 0) step.problems.push(`rc ${r.rc}: ${firstLine(r.stderr)}`)
    else if ((JSON.parse(r.stdout) as unknown[]).length !== COMMITS + 2) step.problems.push('wrong number of rows')
  }
  log(`  dv compare (${COMMITS} commits): ${fmtS(med(step))} s`)
  return step
}

/**
 * `dv repro` on a chain of 20 stages, each copying the previous stage's 1,000-file directory
 * (1 KiB files) into its own output: a no-op repro (everything up to date) against `dv repro -f`
 * (every stage runs again, outputs stored again).
 */
function benchRepro(o: Options): {noop: Step; rerun: Step} {
  const STAGES = 20
  const FILES = 1000
  const dir = join(o.dir, 'runs', 'repro-20')
  rmTree(dir)
  log(`building a ${STAGES}-stage pipeline of ${FILES} files a stage (not timed)`)
  gitInit(dir)
  must(['node', o.bin, 'init'], dir)
  mkdirSync(join(dir, 'input'))
  const rand = new Xorshift128(0x5e9e)
  const words = new Uint32Array(KiB / 4)
  for (let i = 0; i < FILES; i++) {
    rand.fill(words)
    writeFileSync(join(dir, 'input', `f${i}.bin`), new Uint8Array(words.buffer))
  }
  const stages = Array.from({length: STAGES}, (_, i) => {
    const from = i === 0 ? 'input' : `s${i - 1}`
    return `  s${i}:\n    cmd: cp -r ${from} s${i}\n    deps: [${from}]\n    outs: [s${i}]\n`
  })
  writeFileSync(join(dir, 'dv.yaml'), `stages:\n${stages.join('')}`)
  must(['node', o.bin, 'repro'], dir)
  sleep(2.1) // past the state cache's racy window, as for every unchanged-status figure here
  must(['node', o.bin, 'repro'], dir)
  const noop: Step = {name: `dv repro, no-op (${STAGES} stages × ${FILES} files)`, samples: [], problems: []}
  const rerun: Step = {name: `dv repro -f (${STAGES} stages run again)`, samples: [], problems: []}
  for (let i = 0; i < Math.max(3, o.runs); i++) {
    const a = timed(['node', o.bin, 'repro', '--json'], dir, o.timeout)
    noop.samples.push(a)
    if (a.rc !== 0) noop.problems.push(`rc ${a.rc}: ${firstLine(a.stderr)}`)
    else if ((JSON.parse(a.stdout) as Array<{action: string}>).some((r) => r.action !== 'up to date')) noop.problems.push('a stage was not up to date')
  }
  for (let i = 0; i < Math.max(3, o.runs); i++) {
    const b = timed(['node', o.bin, 'repro', '-f', '-q'], dir, o.timeout)
    rerun.samples.push(b)
    if (b.rc !== 0) rerun.problems.push(`rc ${b.rc}: ${firstLine(b.stderr)}`)
    sleep(2.1)
    must(['node', o.bin, 'repro', '-q'], dir) // settle the state cache before the next no-op sample
  }
  log(`  dv repro no-op: ${fmtS(med(noop))} s; dv repro -f: ${fmtS(med(rerun))} s`)
  if (!o.keep) rmTree(dir)
  return {noop, rerun}
}

/** `dv log` over 200 commits of a 20-file dataset, each commit changing one file (the repo is built once). */
function benchLog(o: Options): Step {
  const COMMITS = 200
  const dir = join(o.dir, 'runs', 'log-200')
  const marker = join(o.dir, 'runs', 'log-200.ok')
  if (!existsSync(marker) || !existsSync(dir)) {
    rmTree(dir)
    log(`building a dataset with ${COMMITS} versions for dv log (not timed)`)
    gitInit(dir)
    must(['node', o.bin, 'init'], dir)
    mkdirSync(join(dir, 'data'))
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'data', `f${i}.txt`), `file ${i} version 0\n`)
    must(['node', o.bin, 'add', 'data'], dir)
    must(['node', o.bin, 'commit', '-q', '-m', 'version 0'], dir)
    for (let v = 1; v < COMMITS; v++) {
      writeFileSync(join(dir, 'data', `f${v % 20}.txt`), `file ${v % 20} version ${v}\n`)
      must(['node', o.bin, 'commit', '-q', '-m', `version ${v}`], dir)
    }
    writeFileSync(marker, String(COMMITS))
  }
  const step: Step = {name: `dv log (${COMMITS} versions)`, samples: [], problems: []}
  for (let i = 0; i < Math.max(3, o.runs); i++) {
    const r = timed(['node', o.bin, 'log', 'data', '--json'], dir, o.timeout)
    step.samples.push(r)
    if (r.rc !== 0) step.problems.push(`rc ${r.rc}: ${firstLine(r.stderr)}`)
    else if ((JSON.parse(r.stdout) as {entries: unknown[]}).entries.length !== COMMITS) step.problems.push('wrong number of versions')
  }
  log(`  dv log (${COMMITS} versions): ${fmtS(med(step))} s`)
  return step
}

// ---------------------------------------------------------------------------------------------
// Report

interface Target {
  name: string
  dv: number
  ref: number
  refName: string
  limit: number
  /** 'ratio' compares dv/ref with limit; 'abs' compares dv with limit (MiB). */
  kind: 'ratio' | 'abs'
  /** For 'abs' targets: the unit of `dv` and `limit` (default MiB); a finite `ref` is shown beside it. */
  unit?: 's' | 'MiB' | 'requests' | 'rows/s'
  /** For 'abs' targets: met at dv = limit too (≤ rather than <). */
  atMost?: boolean
  /** For 'abs' targets: met above the limit (a rate), not below. */
  higherIsBetter?: boolean
  failed?: string
}

function targetsFor(results: WorkloadResult[], startup: StartupResult | undefined): Target[] {
  const t: Target[] = []
  const get = (id: WorkloadId) => results.find((r) => r.w.id === id)
  const fail = (...steps: Array<Step | undefined>) => {
    const bad = steps.filter((s) => !ok(s))
    return bad.length ? bad.map((s) => (s ? `${s.name}: ${s.problems[0] ?? 'no samples'}` : 'not measured')).join('; ') : undefined
  }
  const w1 = get('W1')
  if (w1) {
    const b = w1.refs.get('b3sum --num-threads 1')
    const c = w1.refs.get('cp')
    const a = w1.dv.get('dv add (cold cache)')
    const ref = Math.max(med(b), med(c))
    t.push({name: 'W1 dv add ≤ 1.5× max(b3sum -1, cp)', dv: med(a), ref, refName: med(b) >= med(c) ? 'b3sum --num-threads 1' : 'cp', limit: 1.5, kind: 'ratio', failed: fail(a, b, c)})
  }
  for (const id of ['W2', 'W3'] as const) {
    const r = get(id)
    if (!r) continue
    const b = r.refs.get('b3sum --num-threads 1')
    const c = r.refs.get('cp -r')
    const a = r.dv.get('dv add (cold cache)')
    t.push({name: `${id} dv add ≤ 3× (b3sum -1 + cp -r)`, dv: med(a), ref: med(b) + med(c), refName: 'b3sum -1 + cp -r', limit: 3, kind: 'ratio', failed: fail(a, b, c)})
  }
  const w2 = get('W2')
  if (w2) {
    const c = w2.refs.get('cp -r (right before checkout)')
    const co = w2.dv.get('dv checkout (workspace deleted)')
    t.push({name: 'W2 dv checkout ≤ 2× cp -r', dv: med(co), ref: med(c), refName: 'cp -r (right before checkout)', limit: 2, kind: 'ratio', failed: fail(co, c)})
    if (w2.transfer.list.length) {
      const p = find(w2.transfer, 'dir: dv push (cold)')
      const cr = find(w2.refs, 'cp -r (right before push)')
      t.push({name: 'W2 dv push to a directory remote ≤ 2× cp -r', dv: med(p), ref: med(cr), refName: 'cp -r (right before push)', limit: 2, kind: 'ratio', failed: fail(p, cr)})
    }
  }
  const w3 = get('W3')
  if (w3) {
    const d = w3.dv.list.find((x) => x.name.startsWith('dv diff HEAD~1 HEAD'))
    const gd = w3.refs.get('git diff --stat HEAD~1 HEAD')
    if (d && gd) t.push({name: 'W3 dv diff (10 files differ) ≤ 3× git diff --stat', dv: med(d), ref: med(gd), refName: 'git diff --stat', limit: 3, kind: 'ratio', failed: fail(d, gd)})
    const g = w3.refs.get('git status (unchanged)')
    const ra = w3.dv.get('dv add (unchanged)')
    const st = w3.dv.get('dv status (unchanged)')
    t.push({name: 'W3 dv add (unchanged) ≤ 2× git status', dv: med(ra), ref: med(g), refName: 'git status', limit: 2, kind: 'ratio', failed: fail(ra, g)})
    t.push({name: 'W3 dv status (unchanged) ≤ 2× git status', dv: med(st), ref: med(g), refName: 'git status', limit: 2, kind: 'ratio', failed: fail(st, g)})
    if (w3.transfer.list.length) {
      const p = find(w3.transfer, 's3: dv push (cold)')
      t.push({name: 'W3 S3 push ≤ 500 requests', dv: medOf(p, 'requests'), ref: NaN, refName: '', limit: 500, kind: 'abs', unit: 'requests', atMost: true, failed: fail(p)})
      const n = find(w3.transfer, 's3: dv push (no-op)')
      const nd = find(w3.transfer, 'dir: dv push (no-op)')
      t.push({name: 'W3 no-op push (S3) < 2 s', dv: med(n), ref: med(nd), refName: 'directory remote', limit: 2, kind: 'abs', unit: 's', failed: fail(n)})
    }
    const peak = Math.max(...[...w3.dv.list, ...w3.transfer.list].map(peakRss))
    t.push({name: 'W3 peak RSS of any dv command < 500 MiB', dv: peak / 1024, ref: NaN, refName: '', limit: 500, kind: 'abs', failed: HAVE_TIME ? undefined : 'no /usr/bin/time'})
  }
  if (startup) {
    t.push({name: "dv status (tiny repo) < 2× node -e ''", dv: med(startup.dv), ref: med(startup.node), refName: "node -e ''", limit: 2, kind: 'ratio', failed: fail(startup.dv)})
    if (startup.log) t.push({name: 'dv log over 200 versions < 1 s', dv: med(startup.log), ref: NaN, refName: '', limit: 1, kind: 'abs', unit: 's', failed: fail(startup.log)})
    if (startup.stages) {
      const {steps, rows} = startup.stages
      const rate = (name: string) => {
        const st = steps.find((x) => x.name.startsWith(name))
        return st ? {rps: (rows.get(st.name) ?? 0) / med(st), failed: fail(st)} : undefined
      }
      const split = rate('dv split')
      if (split) t.push({name: 'dv split above 1,000,000 rows/s', dv: split.rps, ref: NaN, refName: '', limit: 1_000_000, kind: 'abs', unit: 'rows/s', higherIsBetter: true, failed: split.failed})
      const evaluate = rate('dv evaluate')
      if (evaluate) t.push({name: 'dv evaluate above 200,000 rows/s (CPU)', dv: evaluate.rps, ref: NaN, refName: '', limit: 200_000, kind: 'abs', unit: 'rows/s', higherIsBetter: true, failed: evaluate.failed})
      const peak = Math.max(...steps.map(peakRss)) / 1024
      t.push({name: 'built-in stages: peak RSS < 2 GiB', dv: peak, ref: NaN, refName: '', limit: 2048, kind: 'abs', failed: steps.map((st) => fail(st)).find(Boolean)})
    }
    if (startup.compare) t.push({name: 'dv compare --all-commits over 300 commits < 2 s', dv: med(startup.compare), ref: NaN, refName: '', limit: 2, kind: 'abs', unit: 's', failed: fail(startup.compare)})
    if (startup.repro) {
      const {noop, rerun} = startup.repro
      t.push({name: 'no-op dv repro (20 stages × 1,000 files) < 0.5 s', dv: med(noop), ref: NaN, refName: '', limit: 0.5, kind: 'abs', unit: 's', failed: fail(noop)})
      t.push({name: 'no-op dv repro ≤ 1/5 of re-running the stages', dv: med(noop), ref: med(rerun), refName: 'dv repro -f', limit: 0.2, kind: 'ratio', failed: fail(noop, rerun)})
    }
  }
  return t
}

function targetTable(targets: Target[]): string[] {
  const lines = ['| target | dv | reference | ratio | result |', '|---|---:|---:|---:|---|']
  for (const t of targets) {
    if (t.kind === 'abs') {
      const pass = t.higherIsBetter ? t.dv > t.limit : t.atMost ? t.dv <= t.limit : t.dv < t.limit
      const fmt = (x: number) =>
        t.unit === 's' ? `${fmtS(x)} s` : t.unit === 'requests' ? `${Number.isFinite(x) ? x.toFixed(0) : '–'} requests` : t.unit === 'rows/s' ? `${Math.round(x).toLocaleString('en')} rows/s` : `${x.toFixed(0)} MiB`
      const ref = Number.isFinite(t.ref) ? `${fmt(t.ref)} (${t.refName})` : '–'
      lines.push(`| ${t.name} | ${fmt(t.dv)} | ${ref} | – | ${t.failed ? `FAIL (${t.failed})` : pass ? 'PASS' : 'MISS'} |`)
      continue
    }
    const ratio = t.dv / t.ref
    const verdict = t.failed ? `FAIL (${t.failed})` : !Number.isFinite(ratio) ? 'n/a' : ratio <= t.limit ? 'PASS' : 'MISS'
    lines.push(`| ${t.name} | ${fmtS(t.dv)} s | ${fmtS(t.ref)} s (${t.refName}) | ${Number.isFinite(ratio) ? ratio.toFixed(2) + '×' : '–'} | ${verdict} |`)
  }
  return lines
}

function stepRows(steps: Steps, withRss = true): string[] {
  // Transfer steps carry bytes moved and S3 request counts: two more columns (medians over the runs).
  const moved = steps.list.some((s) => s.samples.some((x) => x.bytes !== undefined || x.requests !== undefined))
  const lines = [
    `| step | median s | min s | max s | runs |${withRss ? ' peak RSS MiB |' : ''}${moved ? ' bytes moved | S3 requests |' : ''} check |`,
    `|---|---:|---:|---:|---:|${withRss ? '---:|' : ''}${moved ? '---:|---:|' : ''}---|`,
  ]
  for (const s of steps.list) {
    const xs = s.samples.map((x) => x.s)
    const check = s.problems.length ? [...new Set(s.problems)].join('; ').replace(/\|/g, '\\|') : 'ok'
    const b = medOf(s, 'bytes')
    const rq = medOf(s, 'requests')
    const extra = moved ? ` ${Number.isFinite(b) ? fmtBytes(b) : '–'} | ${Number.isFinite(rq) ? rq.toFixed(0) : '–'} |` : ''
    lines.push(`| ${s.name} | ${fmtS(med(s))} | ${fmtS(Math.min(...xs))} | ${fmtS(Math.max(...xs))} | ${xs.length} |${withRss ? ` ${fmtMiB(peakRss(s))} |` : ''}${extra} ${check} |`)
  }
  return lines
}

function toolVersion(cmd: string[]): string {
  const r = spawnSync(cmd[0], cmd.slice(1), {encoding: 'utf8'})
  return r.status === 0 ? firstLine(r.stdout || r.stderr) : 'not installed'
}

function report(o: Options, results: WorkloadResult[], startup: StartupResult | undefined, meta: {start: Date; secs: number; load0: number[]; load1: number[]; dvRev: string}, final: boolean): string {
  const cpu = (os.cpus()[0]?.model ?? 'unknown').trim()
  const fsType = firstLine(spawnSync('stat', ['-f', '-c', '%T', o.dir], {encoding: 'utf8'}).stdout ?? '')
  const L: string[] = []
  L.push('# dv benchmarks — latest run', '')
  if (!final) L.push(`**Partial results: the bench was still running (or was interrupted) after ${results.map((r) => r.w.id).join(', ')}.**`, '')
  L.push('Generated by `npm run bench` (test/bench/run.ts). Times are wall-clock seconds, medians over the runs; peak RSS is the maximum over the runs (`/usr/bin/time -f %M`).')
  L.push('Page caches are **not** dropped: every number (dv and references) is a warm-cache number, measured the same way on the same files.', '')
  L.push(`- date: ${meta.start.toISOString()} (bench took ${(meta.secs / 60).toFixed(1)} min)`)
  L.push(`- machine: ${cpu}, nproc ${os.availableParallelism()}, memory ${fmtBytes(os.totalmem())}, ${os.type()} ${os.release()}, work dir ${o.dir} (${fsType})`)
  L.push(`- load average at start / end: ${meta.load0.map((x) => x.toFixed(2)).join(' ')} / ${meta.load1.map((x) => x.toFixed(2)).join(' ')}`)
  L.push(`- node ${process.version}; dv: ${o.bin}, source tree ${meta.dvRev} at bench start`)
  L.push(`- ${toolVersion(['b3sum', '--version'])}; ${toolVersion(['git', '--version'])}; ${toolVersion(['git', 'annex', 'version'])}; ${toolVersion(['git', 'lfs', 'version'])}`)
  L.push(`- scale ${o.scale}${o.scale === 1 ? ' (the sizes the targets are defined for)' : ' — **not** the issue’s sizes; the targets below are indicative only'}; runs ${o.runs}; peers (1 run each): ${o.peers.length ? o.peers.join(', ') : 'skipped'}; transfer: ${o.transfer ? `${o.transferRuns ?? o.runs} runs` : 'skipped'}`)
  L.push('')
  for (const r of results) {
    L.push(`## ${r.w.id}: ${r.w.describe}`, '')
    L.push(`dv steps (fresh \`git init\` + \`dv init\` repo per run, data copied in with \`cp -r\`, not timed):`, '')
    L.push(...stepRows(r.dv), '')
    L.push('References (same files, same run):', '')
    L.push(...stepRows(r.refs), '')
    if (r.transfer.list.length) {
      L.push(
        'Transfer (from the last run\'s repo, pointers and `.dv/config` committed in git; a fresh remote per run: a new directory, a new prefix on the S3 test server; ' +
          '`dv push` with the remote empty, `dv push` again, then `dv pull` in a fresh `git clone`, cold cache). ' +
          'Bytes moved: for a push, what the remote grew by (S3: object bodies as the server stores them); for a pull, what entered the clone\'s cache. ' +
          'S3 requests: requests the test server saw during the command. The clone is checked once per remote (file count and bytes, 20 files by b3sum, `dv status` clean).',
        '',
        ...stepRows(r.transfer),
        '',
      )
    }
    if (r.peers.list.length) L.push('Peers (1 run; `git annex init` / `git lfs install --local; git lfs track` not timed):', '', ...stepRows(r.peers), '')
    for (const n of r.notes) L.push(`- ${n}`)
    if (r.notes.length) L.push('')
  }
  if (startup) {
    L.push(`## Startup: \`dv status\` in a tiny repo (1 tracked file) vs \`node -e ''\``, '')
    const st = new Steps()
    st.list.push(startup.dv, startup.node)
    L.push(...stepRows(st, false), '')
    if (startup.log) L.push('## History: `dv log` of a dataset with 200 versions', '', ...stepRows(Object.assign(new Steps(), {list: [startup.log]}) as Steps, false), '')
    if (startup.compare) L.push('## Comparing: `dv compare --all-commits` over 300 commits', '', ...stepRows(Object.assign(new Steps(), {list: [startup.compare]}) as Steps, false), '')
    if (startup.stages) {
      const {steps, rows, reference} = startup.stages
      L.push('## Built-in data stages', '')
      L.push('Generated data (not timed): a CSV of 20 columns (an id, 18 numbers, a 3-class label) for ingest, clean and split; a Parquet file of 20 float features and the label, and a 3-class softmax ONNX model, for evaluate. Each step runs --runs times; rows/s from the median.', '')
      L.push(...stepRows(Object.assign(new Steps(), {list: [...steps, reference]}) as Steps), '')
      L.push('| step | rows | rows/s (median) |', '|---|---:|---:|')
      for (const st of steps) L.push(`| ${st.name} | ${(rows.get(st.name) ?? 0).toLocaleString('en')} | ${Math.round((rows.get(st.name) ?? 0) / med(st)).toLocaleString('en')} |`)
      L.push('')
    }
    if (startup.repro) L.push('## Pipeline: `dv repro` on 20 stages of 1,000 files', '', ...stepRows(Object.assign(new Steps(), {list: [startup.repro.noop, startup.repro.rerun]}) as Steps, false), '')
  }
  L.push('## Targets', '')
  L.push(...targetTable(targetsFor(results, startup)), '')
  L.push('<details><summary>Raw samples (seconds per run)</summary>', '', '```')
  for (const r of results) {
    for (const [kind, steps] of [['dv', r.dv], ['ref', r.refs], ['peer', r.peers], ['xfer', r.transfer]] as const) {
      for (const s of steps.list) L.push(`${r.w.id} ${kind.padEnd(4)} ${s.name.padEnd(34)} ${s.samples.map((x) => x.s.toFixed(3) + (x.rssKiB ? `/${fmtMiB(x.rssKiB)}MiB` : '') + (x.bytes !== undefined ? `/${x.bytes}B` : '') + (x.requests !== undefined ? `/${x.requests}req` : '')).join(' ')}`)
    }
  }
  if (startup) for (const s of [startup.dv, startup.node, ...(startup.log ? [startup.log] : []), ...(startup.repro ? [startup.repro.noop, startup.repro.rerun] : []), ...(startup.compare ? [startup.compare] : []), ...(startup.stages ? [...startup.stages.steps, startup.stages.reference] : [])]) L.push(`start ${s.name.padEnd(34)} ${s.samples.map((x) => x.s.toFixed(3)).join(' ')}`)
  L.push('```', '', '</details>', '')
  return L.join('\n')
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2))
  if (!existsSync(o.bin)) throw new Error(`dv CLI not found at ${o.bin} (run npm run build)`)
  for (const tool of ['b3sum', 'git', 'timeout']) {
    if (spawnSync('which', [tool]).status !== 0) throw new Error(`${tool} is required`)
  }
  if (!HAVE_TIME) log('warning: /usr/bin/time not found (apt-get install -y time): peak RSS will not be measured')
  mkdirSync(o.dir, {recursive: true})
  const start = new Date()
  const t0 = now()
  const load0 = os.loadavg()
  const head = spawnSync('git', ['-C', REPO_ROOT, 'describe', '--always', '--dirty'], {encoding: 'utf8'})
  const dvRev = head.status === 0 ? head.stdout.trim() : 'unknown'
  log(`work dir ${o.dir} (${fmtBytes(freeBytes(o.dir))} free); workloads ${o.only.join(',')}; scale ${o.scale}; runs ${o.runs}; peers ${o.peers.join(',') || 'none'}; transfer ${o.transfer ? `${o.transferRuns ?? o.runs} runs` : 'skipped'}`)
  const results: WorkloadResult[] = []
  let startup: StartupResult | undefined
  const write = (final: boolean) => {
    const md = report(o, results, startup, {start, secs: now() - t0, load0, load1: os.loadavg(), dvRev}, final)
    if (o.out) {
      mkdirSync(dirname(o.out), {recursive: true})
      writeFileSync(o.out, md)
      if (final) log(`wrote ${o.out}`)
    }
    return md
  }
  // The S3 test server for the transfer steps: one for the whole bench, its data under the work dir.
  const s3Dir = join(o.dir, 's3')
  let s3: S3Server | string = 'not started'
  if (o.transfer && o.only.some((id) => id !== 'W1')) {
    rmTree(s3Dir)
    mkdirSync(s3Dir, {recursive: true})
    try {
      s3 = await startS3Server({dir: s3Dir})
      log(`S3 test server at ${s3.endpoint}, data in ${s3.dir}`)
    } catch (error) {
      s3 = `the S3 test server did not start: ${(error as Error).message.split('\n')[0]}`
      log(`warning: ${s3}`)
    }
  }
  try {
    // The results file is rewritten after each workload, so an interrupted bench keeps what it measured.
    for (const id of [...new Set(o.only)] as WorkloadId[]) {
      results.push(await benchWorkload(o, workload(id, o.scale), s3))
      write(false)
    }
  } finally {
    if (typeof s3 !== 'string') await s3.stop()
    if (!o.keep) rmTree(s3Dir)
  }
  if (o.startup) startup = await benchStartup(o)
  process.stdout.write(write(true))
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).message}\n`)
  process.exit(1)
})
