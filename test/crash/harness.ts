/**
 * The kill-point harness (docs/reliability.md): runs a dv command, kills it with SIGKILL at a
 * chosen point, checks what it left, runs it again and checks that the job got done.
 *
 * For each scenario a template directory is built once (the repository, and a remote or a clone
 * where the scenario needs one) in the state before the command. Every trial runs on a fresh copy:
 *   1. one uninterrupted run with DV_CRASH_COUNT tells how many crash points the command passes
 *      (src/util/crash.ts) and gives the state after it (the reference);
 *   2. for each chosen hit index k (all of them, or an even spread within the budget, first and
 *      last always included) the command runs with DV_CRASH_AT=*:k and must die by SIGKILL; a few
 *      more runs are killed after a seeded random delay instead;
 *   3. after each kill the invariants below are checked, then the command runs again without a
 *      crash point and must exit 0 and leave exactly the reference state.
 *
 * Invariants after a kill:
 *   - every file under .dv/cache/objects hashes to its name (no partial object under a final name),
 *     and every tree there has its whole subtree there;
 *   - no object that the command started and ended with is gone;
 *   - the state cache (.dv/state) never names a wrong digest for a file whose stat it matches;
 *   - run-cache records and cached pack indexes are whole;
 *   - pointer files and .gitignore files are byte for byte the old or the new version; dv.lock, which
 *     repro rewrites after each stage, holds for every stage its old or its new entry;
 *   - every workspace file holds its old or its new content, or is absent only where its old
 *     content is in the cache (or it did not exist before); stage outputs a stage is rewriting
 *     are exempt (their content is the stage's business, and the rerun makes them again);
 *   - the repository's write lock (.dv/lock) is left by the killed process, and the rerun clears it;
 *   - on a remote: every loose object and every pack index matches its name, and every pack index
 *     has its tar.
 * After the rerun: same pointers, .gitignore and dv.lock as the reference, the same workspace
 * files, the same objects in the cache (all verifying), `dv status --json` prints {}, no
 * `.dv/lock`, and a remote holds the same objects as the reference's.
 */
import {spawn, spawnSync} from 'node:child_process'
import {cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {availableParallelism, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

import {hashBytes, loadHasher} from '../../src/hash/blake3.js'
import {decodeTree, isOid, TREE_MARK} from '../../src/models/tree.js'
import {parseRecord} from '../../src/pipeline/runcache.js'
import {parseIndex} from '../../src/remote/packs.js'
import {parse as parseYaml} from 'yaml'
import {BIN, git, pseudoRandom, testEnv, writeFiles} from '../helpers.js'

// ---------------------------------------------------------------------------------------------
// Scenarios

export interface Scenario {
  name: string
  /** Builds the state before the command in `root` (an empty directory). */
  setup(root: string, files: number): void
  /** Where the command runs, relative to the root. */
  cwd: string
  args: string[]
  /** Files (relative to cwd) that dv writes only whole: each must be its old or its new version. */
  atomic: string[]
  /** dv.lock is rewritten after each stage: each stage's entry must be its old or new one. */
  lockByStage?: boolean
  /** Workspace paths (relative to cwd) whose content a running stage may leave half-made. */
  scratch?: string[]
  /** A remote directory (relative to the root) the command writes to. */
  remote?: string
}

const REMOTE_URL = '../remote'
/** Small packs, so a push makes several and a kill can fall between them. */
const PACK_SIZE = '16K'
/** One file above the streaming threshold (4 MiB) and above the size that travels alone (1 MiB). */
const BIG = 4 * 1024 * 1024 + 1000

/** `files` small files in four folders, plus one large file; the seed makes versions differ. */
function dataset(files: number, seed = 1): Record<string, Buffer> {
  const out: Record<string, Buffer> = {'data/big.bin': pseudoRandom(BIG, 7 + seed)}
  for (let i = 0; i < files; i++) out[`data/part${i % 4}/f${i}.bin`] = pseudoRandom(64 + ((i * 977) % 4000), 1000 * seed + i + 11)
  return out
}

/** Modifies, deletes and adds about an eighth of the files each. */
function changeDataset(repo: string, files: number): void {
  const step = Math.max(2, Math.floor(files / 8))
  for (let i = 0; i < files; i += step) writeFileSync(join(repo, `data/part${i % 4}/f${i}.bin`), pseudoRandom(100 + i, 50_000 + i))
  for (let i = 1; i < files; i += step) rmSync(join(repo, `data/part${i % 4}/f${i}.bin`))
  const added: Record<string, Buffer> = {}
  for (let i = 0; i < Math.max(1, Math.floor(files / 8)); i++) added[`data/new/n${i}.bin`] = pseudoRandom(200 + i, 90_000 + i)
  writeFiles(repo, added)
}

/** HOME for every dv the harness runs, so the user's config never leaks in. */
const HOME = join(tmpdir(), 'dv-test-home')

function dvSync(cwd: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd, encoding: 'utf8', env: testEnv(HOME)})
  if (r.status !== 0) throw new Error(`setup: dv ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

function newRepo(root: string): string {
  const repo = join(root, 'repo')
  mkdirSync(repo, {recursive: true})
  git(repo, 'init', '-q', '-b', 'main')
  git(repo, 'config', 'user.name', 'Test User')
  git(repo, 'config', 'user.email', 'test@example.com')
  writeFileSync(join(repo, 'README'), 'crash test repo\n')
  git(repo, 'add', 'README')
  git(repo, 'commit', '-q', '-m', 'initial')
  dvSync(repo, 'init', '-q')
  dvSync(repo, 'remote', 'add', '-d', 'origin', REMOTE_URL)
  dvSync(repo, 'remote', 'modify', 'origin', 'pack_size', PACK_SIZE)
  mkdirSync(join(root, 'remote'), {recursive: true})
  return repo
}

const commitAll = (repo: string, message: string) => {
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', message)
}

/** A repository whose data is tracked and committed (v1), then changed and committed again (v2). */
function twoVersions(root: string, files: number): string {
  const repo = newRepo(root)
  writeFiles(repo, dataset(files))
  dvSync(repo, 'add', '-q', 'data')
  commitAll(repo, 'v1')
  git(repo, 'tag', 'v1')
  changeDataset(repo, files)
  dvSync(repo, 'commit', '-q')
  commitAll(repo, 'v2')
  return repo
}

const PIPELINE = `stages:
  prepare:
    cmd: mkdir -p prepared && for f in raw/*.txt; do sort "$f" > "prepared/$(basename "$f")"; done
    deps: [raw]
    outs: [prepared]
  train:
    cmd: cat prepared/*.txt | tr a-z A-Z > model.txt && echo "epochs \${train.epochs}" >> model.txt
    deps: [prepared]
    params: [train.epochs]
    outs: [model.txt]
  evaluate:
    cmd: wc -c < model.txt > score.txt && cksum model.txt >> score.txt
    deps: [model.txt]
    outs: [score.txt]
`

function pipelineRepo(root: string, files: number, pipeline = PIPELINE): string {
  const repo = newRepo(root)
  const raw: Record<string, string> = {'params.yaml': 'train:\n  epochs: 1\n', 'dv.yaml': pipeline}
  for (let i = 0; i < Math.max(3, Math.floor(files / 4)); i++) raw[`raw/r${i}.txt`] = pseudoRandom(300 + i, 300 + i).toString('hex').replace(/(.{16})/g, '$1\n')
  writeFiles(repo, raw)
  dvSync(repo, 'repro', '-q')
  commitAll(repo, 'pipeline')
  return repo
}

export function scenarios(): Scenario[] {
  return [
    {
      name: 'add',
      setup(root, files) {
        writeFiles(newRepo(root), dataset(files))
      },
      cwd: 'repo',
      args: ['add', 'data'],
      atomic: ['data.dv', '.gitignore'],
    },
    {
      name: 'commit',
      setup(root, files) {
        const repo = newRepo(root)
        writeFiles(repo, dataset(files))
        dvSync(repo, 'add', '-q', 'data')
        commitAll(repo, 'v1')
        changeDataset(repo, files)
      },
      cwd: 'repo',
      args: ['commit'],
      atomic: ['data.dv', '.gitignore'],
    },
    {
      name: 'checkout',
      setup(root, files) {
        // The pointer is back at v1 (as after `git checkout v1`); the workspace holds v2.
        git(twoVersions(root, files), 'checkout', '-q', 'v1')
      },
      cwd: 'repo',
      args: ['checkout'],
      atomic: ['data.dv', '.gitignore'],
    },
    {
      name: 'push',
      setup(root, files) {
        const repo = newRepo(root)
        writeFiles(repo, dataset(files))
        dvSync(repo, 'add', '-q', 'data')
        commitAll(repo, 'v1')
      },
      cwd: 'repo',
      args: ['push'],
      atomic: ['data.dv', '.gitignore'],
      remote: 'remote',
    },
    {
      name: 'pull',
      setup(root, files) {
        const repo = newRepo(root)
        writeFiles(repo, dataset(files))
        dvSync(repo, 'add', '-q', 'data')
        commitAll(repo, 'v1')
        dvSync(repo, 'push', '-q')
        git(root, 'clone', '-q', 'repo', 'clone')
      },
      cwd: 'clone',
      args: ['pull'],
      atomic: ['data.dv', '.gitignore'],
    },
    {
      name: 'gc',
      setup(root, files) {
        twoVersions(root, files)
      },
      cwd: 'repo',
      args: ['gc', '-f'],
      atomic: ['data.dv', '.gitignore'],
    },
    {
      name: 'repro',
      setup(root, files) {
        // Every stage runs: the first one's input changed, and the last one is new (its output
        // gets its .gitignore line now).
        const repo = pipelineRepo(root, files, PIPELINE.slice(0, PIPELINE.indexOf('  evaluate:')))
        writeFileSync(join(repo, 'raw/r0.txt'), 'changed\ninput\n')
        writeFileSync(join(repo, 'dv.yaml'), PIPELINE)
      },
      cwd: 'repo',
      args: ['repro'],
      atomic: ['.gitignore'],
      lockByStage: true,
      scratch: ['prepared', 'model.txt', 'score.txt'],
    },
    {
      name: 'repro-restore',
      setup(root, files) {
        // train and evaluate ran with epochs 2, and the param is back at 1: both are restored
        // from the run-cache (their outputs checked out from the cache), nothing runs.
        const repo = pipelineRepo(root, files)
        writeFileSync(join(repo, 'params.yaml'), 'train:\n  epochs: 2\n')
        dvSync(repo, 'repro', '-q')
        writeFileSync(join(repo, 'params.yaml'), 'train:\n  epochs: 1\n')
      },
      cwd: 'repo',
      args: ['repro'],
      atomic: ['.gitignore'],
      lockByStage: true,
    },
  ]
}

// ---------------------------------------------------------------------------------------------
// Snapshots and checks

type FileMap = Map<string, string> // path → BLAKE3 of the content

/** Every file of a work tree except .git and .dv, by content hash. */
function workspace(dir: string): FileMap {
  const files: FileMap = new Map()
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      if (rel === '' && (name === '.git' || name === '.dv')) continue
      const r = rel ? `${rel}/${name}` : name
      const st = lstatSync(join(dir, r))
      if (st.isDirectory()) walk(r)
      else files.set(r, hashBytes(readFileSync(join(dir, r))))
    }
  }
  walk('')
  return files
}

function readOrUndefined(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'latin1') : undefined
}

/** Object ids in a cache, and the names under objects/ that do not hash to themselves. */
function cacheObjects(repo: string): {ids: Set<string>; bad: string[]; trees: string[]} {
  const objects = join(repo, '.dv/cache/objects')
  const ids = new Set<string>()
  const bad: string[] = []
  const trees: string[] = []
  if (!existsSync(objects)) return {ids, bad, trees}
  for (const fan of readdirSync(objects)) {
    for (const rest of readdirSync(join(objects, fan))) {
      const bytes = readFileSync(join(objects, fan, rest))
      const id = fan + rest
      if (!isOid(id) || hashBytes(bytes) !== id) bad.push(`${fan}/${rest}`)
      else {
        ids.add(id)
        if (bytes.subarray(0, TREE_MARK.length).toString('latin1') === TREE_MARK) trees.push(id)
      }
    }
  }
  return {ids, bad, trees}
}

/** Entries of `.dv/state` whose stat still matches the file but whose digest is not its content's. */
function lyingStateEntries(repo: string): string[] {
  const file = join(repo, '.dv/state')
  if (!existsSync(file)) return []
  const buf = readFileSync(file)
  const MAGIC = 'DVST2\n'
  if (buf.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) return []
  const lies: string[] = []
  let off = MAGIC.length
  while (off + 4 <= buf.length) {
    const len = buf.readUInt32LE(off)
    const end = off + 4 + len + 64
    if (end > buf.length) break
    const path = buf.toString('utf8', off + 4, off + 4 + len)
    const at = off + 4 + len
    const st = statSync(join(repo, path), {throwIfNoEntry: false})
    if (st?.isFile() && st.ino === buf.readDoubleLE(at) && st.size === buf.readDoubleLE(at + 8) && st.mtimeMs === buf.readDoubleLE(at + 16) && st.ctimeMs === buf.readDoubleLE(at + 24)) {
      if (hashBytes(readFileSync(join(repo, path))) !== buf.toString('hex', at + 32, at + 64)) lies.push(path)
    }
    off = end
  }
  return lies
}

/** Files of a directory tree, relative, or [] when it does not exist. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return (readdirSync(dir, {recursive: true}) as string[]).filter((r) => statSync(join(dir, r)).isFile())
}

/** What a remote directory holds: object ids (loose and in packs), and what is wrong with it. */
function remoteState(dir: string): {ids: Set<string>; problems: string[]; orphanTars: number; temps: number} {
  const ids = new Set<string>()
  const problems: string[] = []
  for (const rel of filesUnder(join(dir, 'objects'))) {
    const id = rel.replace('/', '')
    if (hashBytes(readFileSync(join(dir, 'objects', rel))) === id) ids.add(id)
    else problems.push(`remote object objects/${rel} does not match its name`)
  }
  const packs = existsSync(join(dir, 'packs')) ? readdirSync(join(dir, 'packs')) : []
  let orphanTars = 0
  for (const name of packs) {
    if (name.endsWith('.tar') && !packs.includes(name.replace(/\.tar$/, '.idx'))) orphanTars++
    if (!name.endsWith('.idx')) continue
    const id = name.slice(0, -4)
    const tarName = `${id}.tar`
    if (!packs.includes(tarName)) {
      problems.push(`remote pack index ${name} has no tar`)
      continue
    }
    try {
      const entries = parseIndex(readFileSync(join(dir, 'packs', name)), id, 'remote')
      const tar = readFileSync(join(dir, 'packs', tarName))
      for (const e of entries) {
        if (hashBytes(tar.subarray(e.offset, e.offset + e.size)) === e.oid) ids.add(e.oid)
        else problems.push(`remote pack ${id}: object ${e.oid} does not match`)
      }
    } catch (error) {
      problems.push(`remote pack index ${name}: ${(error as Error).message}`)
    }
  }
  return {ids, problems, orphanTars, temps: filesUnder(join(dir, 'tmp')).length}
}

interface Reference {
  /** Crash-point hits of an uninterrupted run, per name. */
  hits: Record<string, number>
  total: number
  ms: number
  before: Snapshot
  after: Snapshot
  remoteIds?: Set<string>
}

interface Snapshot {
  files: FileMap
  atomic: Map<string, string | undefined>
  lock?: string
  objects: Set<string>
  /** Run-cache records: key → content. */
  runs: Map<string, string>
}

function snapshot(s: Scenario, root: string): Snapshot {
  const dir = join(root, s.cwd)
  return {
    files: workspace(dir),
    atomic: new Map(s.atomic.map((f) => [f, readOrUndefined(join(dir, f))])),
    lock: readOrUndefined(join(dir, 'dv.lock')),
    objects: cacheObjects(dir).ids,
    runs: new Map(filesUnder(join(dir, '.dv/cache/runs')).filter((r) => isOid(r.replace('/', ''))).map((r) => [r.replace('/', ''), readFileSync(join(dir, '.dv/cache/runs', r), 'utf8')])),
  }
}

const under = (path: string, prefix: string) => path === prefix || path.startsWith(prefix + '/')

/** dv.lock's stages, each as canonical JSON; undefined when there is no dv.lock. */
function lockStages(text: string | undefined): Map<string, string> | undefined {
  if (text === undefined) return undefined
  const doc = parseYaml(text) as {stages?: Record<string, unknown>}
  return new Map(Object.entries(doc?.stages ?? {}).map(([k, v]) => [k, JSON.stringify(v)]))
}

/** Notes on what a kill leaves that is not wrong (temp files a later gc or nobody removes). */
export interface Leftovers {
  cacheTemps: number
  workspaceTemps: number
  remoteTemps: number
  orphanTars: number
  lockTemps: number
}

/** The invariants after a kill; returns what is violated. */
function checkKilled(s: Scenario, root: string, ref: Reference, left: Leftovers, expectLock: boolean): string[] {
  const dir = join(root, s.cwd)
  const problems: string[] = []
  const {ids, bad, trees} = cacheObjects(dir)
  for (const b of bad) problems.push(`cache object ${b} does not hash to its name`)
  for (const t of trees) {
    for (const e of decodeTree(readFileSync(join(dir, '.dv/cache/objects', t.slice(0, 2), t.slice(2))), t)) {
      if (!ids.has(e.oid)) problems.push(`tree ${t} is in the cache without its ${e.kind} ${e.name} (${e.oid})`)
    }
  }
  for (const id of ref.before.objects) if (ref.after.objects.has(id) && !ids.has(id)) problems.push(`object ${id}, kept before and after, is gone`)
  for (const p of lyingStateEntries(dir)) problems.push(`.dv/state names a wrong digest for ${p}`)
  for (const rel of filesUnder(join(dir, '.dv/cache/runs'))) {
    if (isOid(rel.replace('/', '')) && !parseRecord(readFileSync(join(dir, '.dv/cache/runs', rel)))) problems.push(`run-cache record ${rel} is damaged`)
  }
  for (const rel of filesUnder(join(dir, '.dv/cache/remote-index'))) {
    if (rel.endsWith('.idx') && hashBytes(readFileSync(join(dir, '.dv/cache/remote-index', rel))) !== rel.slice(0, -4)) problems.push(`cached pack index ${rel} is damaged`)
  }
  for (const f of s.atomic) {
    const now = readOrUndefined(join(dir, f))
    if (now !== ref.before.atomic.get(f) && now !== ref.after.atomic.get(f)) problems.push(`${f} is neither its old nor its new version`)
  }
  const lockNow = readOrUndefined(join(dir, 'dv.lock'))
  if (s.lockByStage) {
    try {
      const now = lockStages(lockNow)
      const was = lockStages(ref.before.lock)
      const will = lockStages(ref.after.lock)
      if (now === undefined) {
        if (was !== undefined) problems.push('dv.lock is gone')
      } else {
        for (const [stage, entry] of now) if (entry !== was?.get(stage) && entry !== will?.get(stage)) problems.push(`dv.lock: stage ${stage} is neither its old nor its new entry`)
        for (const stage of was?.keys() ?? []) if (!now.has(stage)) problems.push(`dv.lock lost stage ${stage}`)
      }
    } catch (error) {
      problems.push(`dv.lock does not parse: ${(error as Error).message}`)
    }
  } else if (lockNow !== ref.before.lock && lockNow !== ref.after.lock) {
    problems.push('dv.lock is neither its old nor its new version')
  }
  const files = workspace(dir)
  const paths = new Set([...ref.before.files.keys(), ...ref.after.files.keys(), ...files.keys()])
  for (const p of paths) {
    if ((s.scratch ?? []).some((x) => under(p, x)) || (s.lockByStage && p === 'dv.lock')) continue
    const now = files.get(p)
    const was = ref.before.files.get(p)
    const will = ref.after.files.get(p)
    if (now !== undefined) {
      if (now === was || now === will) continue
      if (was === undefined && will === undefined) {
        if (p.endsWith('.dv-tmp')) left.workspaceTemps++
        else problems.push(`unexpected file ${p}`)
      } else problems.push(`${p} holds neither its old nor its new content`)
    } else if (was !== undefined) {
      // Gone: fine only if its content can be had back from the cache.
      const oid = was
      if (!ids.has(oid)) problems.push(`${p} is gone and its content is not in the cache (user data lost)`)
    }
  }
  left.cacheTemps += filesUnder(join(dir, '.dv/cache/tmp')).length
  left.lockTemps += readdirSync(join(dir, '.dv')).filter((n) => /^lock\..+/.test(n)).length
  if (expectLock && !existsSync(join(dir, '.dv/lock'))) problems.push('the killed process left no .dv/lock (the stale-lock path is not exercised)')
  if (s.remote) {
    const r = remoteState(join(root, s.remote))
    problems.push(...r.problems)
    left.orphanTars += r.orphanTars
    left.remoteTemps += r.temps
  }
  return problems
}

/** The state after the rerun must be the reference's. */
function checkFinished(s: Scenario, root: string, ref: Reference): string[] {
  const dir = join(root, s.cwd)
  const problems: string[] = []
  const now = snapshot(s, root)
  for (const f of s.atomic) if (now.atomic.get(f) !== ref.after.atomic.get(f)) problems.push(`after the rerun ${f} differs from an uninterrupted run's`)
  if (now.lock !== ref.after.lock) problems.push("after the rerun dv.lock differs from an uninterrupted run's")
  for (const [p, h] of ref.after.files) if (now.files.get(p) !== h) problems.push(`after the rerun ${p} ${now.files.has(p) ? 'differs' : 'is missing'}`)
  for (const p of now.files.keys()) if (!ref.after.files.has(p)) problems.push(`after the rerun ${p} is there and an uninterrupted run has no such file`)
  const {bad} = cacheObjects(dir)
  for (const b of bad) problems.push(`after the rerun cache object ${b} does not hash to its name`)
  const missing = [...ref.after.objects].filter((id) => !now.objects.has(id))
  const extra = [...now.objects].filter((id) => !ref.after.objects.has(id))
  if (missing.length > 0) problems.push(`after the rerun ${missing.length} objects are missing from the cache (${missing[0]}...)`)
  if (extra.length > 0) problems.push(`after the rerun the cache holds ${extra.length} objects an uninterrupted run does not (${extra[0]}...)`)
  for (const [key, record] of ref.after.runs) if (now.runs.get(key) !== record) problems.push(`after the rerun run-cache record ${key} is ${now.runs.has(key) ? 'different' : 'missing'}`)
  for (const key of now.runs.keys()) if (!ref.after.runs.has(key)) problems.push(`after the rerun the run-cache holds ${key}, which an uninterrupted run does not`)
  if (existsSync(join(dir, '.dv/lock'))) problems.push('after the rerun .dv/lock is still there')
  for (const n of readdirSync(join(dir, '.dv')).filter((n) => n.startsWith('lock.'))) problems.push(`after the rerun .dv/${n} is still there`)
  for (const p of lyingStateEntries(dir)) problems.push(`after the rerun .dv/state names a wrong digest for ${p}`)
  if (s.remote && ref.remoteIds) {
    const r = remoteState(join(root, s.remote))
    problems.push(...r.problems.map((p) => `after the rerun ${p}`))
    const gone = [...ref.remoteIds].filter((id) => !r.ids.has(id))
    if (gone.length > 0) problems.push(`after the rerun the remote lacks ${gone.length} objects (${gone[0]}...)`)
  }
  return problems
}

// ---------------------------------------------------------------------------------------------
// Running

interface Ran {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
}

function runDv(cwd: string, args: string[], env: Record<string, string>, killAfterMs?: number): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const start = Date.now()
    const child = spawn(process.execPath, [BIN, ...args], {cwd, env: testEnv(HOME, env), stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      resolve({code, signal, stdout, stderr, ms: Date.now() - start})
    })
  })
}

/** Sets every workspace file's times to one moment well in the past, so no run finds them "racy". */
function backdate(dir: string): void {
  const past = new Date(Date.now() - 3_600_000)
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      if (name === '.git' || name === '.dv') continue
      const p = join(d, name)
      const st = lstatSync(p)
      if (st.isDirectory()) walk(p)
      else if (st.isFile()) utimesSync(p, past, past)
    }
  }
  walk(dir)
}

const copyTree = (from: string, to: string) => cpSync(from, to, {recursive: true, preserveTimestamps: true, verbatimSymlinks: true})

/** Hit indexes to kill at: all of 1..total, or `budget` of them spread evenly, first and last included. */
export function pickIndexes(total: number, budget: number): number[] {
  if (total <= budget) return Array.from({length: total}, (_, i) => i + 1)
  if (budget <= 1) return [total]
  const picked = new Set<number>()
  for (let i = 0; i < budget; i++) picked.add(1 + Math.round((i * (total - 1)) / (budget - 1)))
  return [...picked].sort((a, b) => a - b)
}

/** A seeded generator (mulberry32) for the timed kills. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function inParallel<T>(items: readonly T[], jobs: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({length: Math.min(jobs, items.length)}, async () => {
      while (next < items.length) {
        const i = next++
        await work(items[i], i)
      }
    }),
  )
}

export interface ScenarioReport {
  name: string
  /** Crash points an uninterrupted run passes, by name. */
  hits: Record<string, number>
  /** Their total. */
  total: number
  /** Kill points tried: at crash points, and after a random delay. */
  atPoints: number
  timed: number
  /** Timed kills that came after the command had already finished (not counted as kill points). */
  timedTooLate: number
  failures: string[]
  leftovers: Leftovers
  seconds: number
}

export interface HarnessOptions {
  /** Small files in the dataset. */
  files: number
  /** Kill points at crash points for this scenario. */
  budget: number
  /** Kills after a random delay for this scenario. */
  timed: number
  jobs?: number
  seed?: number
  /** Keep the directory of a failing trial (prints where). */
  keep?: boolean
}

export const defaultJobs = () => Number(process.env.DV_CRASH_JOBS) || Math.max(1, Math.min(4, availableParallelism()))

export async function runScenario(s: Scenario, o: HarnessOptions): Promise<ScenarioReport> {
  await loadHasher()
  mkdirSync(HOME, {recursive: true})
  const started = Date.now()
  const base = realpathSync(mkdtempSync(join(tmpdir(), `dv-crash-${s.name}-`)))
  const failures: string[] = []
  const left: Leftovers = {cacheTemps: 0, workspaceTemps: 0, remoteTemps: 0, orphanTars: 0, lockTemps: 0}
  let timedTooLate = 0
  try {
    const debug = process.env.DV_CRASH_DEBUG ? (what: string) => console.log(`${s.name}: ${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`) : () => {}
    const template = join(base, 'template')
    mkdirSync(template)
    s.setup(template, o.files)
    backdate(join(template, s.cwd))
    debug('template built')

    // The reference: an uninterrupted run, counting crash points.
    const refRoot = join(base, 'reference')
    copyTree(template, refRoot)
    const before = snapshot(s, refRoot)
    const countFile = join(base, 'count.json')
    const r = await runDv(join(refRoot, s.cwd), s.args, {DV_CRASH_COUNT: countFile})
    if (r.code !== 0) throw new Error(`${s.name}: the uninterrupted run failed (${r.code}): ${r.stderr}`)
    const hits = JSON.parse(readFileSync(countFile, 'utf8')) as Record<string, number>
    const total = Object.values(hits).reduce((a, b) => a + b, 0)
    const ref: Reference = {hits, total, ms: r.ms, before, after: snapshot(s, refRoot), remoteIds: s.remote ? remoteState(join(refRoot, s.remote)).ids : undefined}
    const status = await runDv(join(refRoot, s.cwd), ['status', '--json'], {})
    if (status.code !== 0 || JSON.stringify(JSON.parse(status.stdout)) !== '{}') throw new Error(`${s.name}: dv status after an uninterrupted run: ${status.stdout}${status.stderr}`)
    const refProblems = checkFinished(s, refRoot, ref)
    if (refProblems.length > 0) throw new Error(`${s.name}: the reference does not match itself: ${refProblems.join('; ')}`)

    debug(`reference run (${r.ms} ms) and checks done`)
    const random = seeded(o.seed ?? 20240601)
    const trials: Array<{kind: 'point'; k: number} | {kind: 'timed'; ms: number}> = [
      ...pickIndexes(total, o.budget).map((k) => ({kind: 'point' as const, k})),
      ...Array.from({length: o.timed}, () => ({kind: 'timed' as const, ms: Math.round(random() * r.ms)})),
    ]
    await inParallel(trials, o.jobs ?? defaultJobs(), async (t, i) => {
      const root = join(base, `trial-${i}`)
      const t0 = Date.now()
      const lap: number[] = []
      copyTree(template, root)
      lap.push(Date.now() - t0)
      const cwd = join(root, s.cwd)
      const label = t.kind === 'point' ? `${s.name} killed at crash point ${t.k}/${total}` : `${s.name} killed after ${t.ms} ms`
      const problems: string[] = []
      const killed = t.kind === 'point' ? await runDv(cwd, s.args, {DV_CRASH_AT: `*:${t.k}`}) : await runDv(cwd, s.args, {}, t.ms)
      lap.push(Date.now() - t0)
      if (killed.signal !== 'SIGKILL') {
        if (t.kind === 'timed' && killed.code === 0) {
          timedTooLate++
        } else {
          problems.push(`expected death by SIGKILL, got exit ${killed.code} signal ${killed.signal}: ${killed.stderr.trim().split('\n')[0] ?? ''}`)
        }
      } else {
        // A timed kill may land before dv took its lock (node still starting) or after it let go.
        problems.push(...checkKilled(s, root, ref, left, t.kind === 'point'))
      }
      lap.push(Date.now() - t0)
      if (problems.length === 0) {
        const again = await runDv(cwd, s.args, {})
        if (again.code !== 0) problems.push(`the rerun exited ${again.code}: ${again.stderr.trim()}`)
        else {
          lap.push(Date.now() - t0)
          problems.push(...checkFinished(s, root, ref))
          lap.push(Date.now() - t0)
          // checkFinished compares with the reference, whose status is {}, and checks the state
          // cache never lies; dv status itself (a process start) runs after every eighth trial.
          if (i % 8 === 0) {
            const st = await runDv(cwd, ['status', '--json'], {})
            if (st.code !== 0 || st.stdout.trim() !== '{}') problems.push(`dv status --json after the rerun: ${st.stdout.trim()} ${st.stderr.trim()}`)
          }
        }
      }
      lap.push(Date.now() - t0)
      debug(`trial ${i} laps (copy, kill run, checks, rerun, checks, status) ${lap.join(' ')} ms`)
      if (problems.length > 0) {
        failures.push(`${label}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`)
        if (o.keep) {
          const kept = join(tmpdir(), `dv-crash-kept-${s.name}-${i}`)
          rmSync(kept, {recursive: true, force: true})
          copyTree(root, kept)
          failures.push(`  (trial kept in ${kept})`)
        }
      }
      rmSync(root, {recursive: true, force: true})
    })
    return {
      name: s.name,
      hits,
      total,
      atPoints: trials.filter((t) => t.kind === 'point').length,
      timed: o.timed - timedTooLate,
      timedTooLate,
      failures,
      leftovers: left,
      seconds: (Date.now() - started) / 1000,
    }
  } finally {
    rmSync(base, {recursive: true, force: true})
  }
}

export function summaryLine(r: ScenarioReport): string {
  const l = r.leftovers
  return (
    `crash ${r.name}: ${r.atPoints + r.timed} kill points tried (${r.atPoints} of ${r.total} crash-point hits, ${r.timed} timed${r.timedTooLate ? `, ${r.timedTooLate} timed too late` : ''}), ` +
    `${r.failures.length} failures, ${r.seconds.toFixed(1)} s; left after kills: ${l.cacheTemps} cache temps, ${l.workspaceTemps} workspace temps, ${l.lockTemps} lock temps, ${l.remoteTemps} remote temps, ${l.orphanTars} orphan pack tars`
  )
}

/** Writes a JSON report of all scenarios (for docs/reliability.md), when DV_CRASH_REPORT names a file. */
export function writeReport(file: string | undefined, reports: ScenarioReport[]): void {
  if (!file) return
  mkdirSync(dirname(file), {recursive: true})
  writeFileSync(file, JSON.stringify(reports, null, 2) + '\n')
}
