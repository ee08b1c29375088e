/**
 * `dv repro`: brings the pipeline's outputs up to date. Stages run in graph order, independent
 * ones in parallel up to `-j`, each decided only once everything upstream of it is done (an
 * upstream re-run whose outputs come out identical leaves it up to date). A stale stage is first
 * looked up in the run-cache: on a hit its outputs are restored from the cache and it does not
 * run. GPU stages get GPUs no other running stage holds (CUDA_VISIBLE_DEVICES). dv.lock is
 * rewritten (atomically) after each stage that ran or was restored, so an interrupted repro
 * leaves it consistent, and a failed stage keeps its previous entry.
 */
import {mkdirSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {DvError} from '../errors.js'
import {loadHasher} from '../hash/blake3.js'
import {buildGraph, closure, within, type Graph} from '../pipeline/graph.js'
import {GpuPool, gpuProbe, type GpuLease} from '../pipeline/gpus.js'
import {readLock, writeLock, type LockedPath, type LockedStage} from '../pipeline/lock.js'
import {paramValue, readParams} from '../pipeline/params.js'
import {runKey} from '../pipeline/runcache.js'
import {runStage, stopAll} from '../pipeline/executor.js'
import {loadPipeline, type Pipeline, type StageDef} from '../pipeline/schema.js'
import {scanPath} from '../workspace/scan.js'
import {checkout} from './checkout.js'
import {pull} from './transfer.js'
import {addIgnoreLine} from './gitignore.js'
import {asTrackedOuts, runCacheOf} from './pipeline-outs.js'
import {Repo} from './repo.js'
import {crashPoint} from '../util/crash.js'

export type StageAction = 'up to date' | 'frozen' | 'ran' | 'restored' | 'would run' | 'failed' | 'not run'

export interface StageResult {
  stage: string
  action: StageAction
  /** Why it ran, or would: 'never run', 'cmd changed', 'dep changed: data/raw', ... */
  reasons: string[]
  /** For a failed stage: what went wrong. */
  error?: string
  /** The GPUs a run was given (CUDA ids), when it asked for any. */
  gpus?: string
  seconds?: number
}

export interface ReproOptions {
  cwd?: string
  /** Run these stages even when up to date. */
  force?: boolean
  /** Only the named stages, not what is upstream of them. */
  single?: boolean
  /** The named stages and everything downstream of them. */
  downstream?: boolean
  /** Say what would run, run nothing. */
  dry?: boolean
  jobs?: number
  /** Consult and fill the run-cache (default true). */
  runCache?: boolean
  /** After a failure, let independent stages finish. */
  keepGoing?: boolean
  /** A stage that needs more GPUs than the machine has runs on the CPU instead of failing. */
  allowCpu?: boolean
  /** First pull the data and the run-cache from the default remote (or `remote`). */
  pull?: boolean
  remote?: string
  /** Each line a stage prints, prefixed with its name. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void
  /** Each stage's result as soon as it is known. */
  onStage?: (r: StageResult) => void
}

export function requirePipeline(root: string): Pipeline {
  const p = loadPipeline(root)
  if (!p) throw new DvError('ENOPIPELINE', 'no dv.yaml (or dvc.yaml) in this repository: add a stage with dv stage add')
  return p
}

/** The stages that the names given pick: `name`, or every `name@...` a foreach/matrix made. */
export function selectStages(g: Graph, names: readonly string[], file: string): string[] {
  return names.flatMap((raw) => {
    const n = raw.startsWith(`${file}:`) ? raw.slice(file.length + 1) : raw
    if (g.stages.has(n)) return [n]
    const generated = g.order.filter((s) => s.startsWith(`${n}@`))
    if (generated.length > 0) return generated
    throw new DvError('ENOSTAGE', `no stage named ${JSON.stringify(n)} in ${file} (stages: ${g.order.join(', ')})`, 2)
  })
}

/** The current value of each param a stage uses, by file and key. */
export function paramValues(root: string, stage: StageDef): Record<string, Record<string, unknown>> {
  const values: Record<string, Record<string, unknown>> = {}
  for (const ref of stage.params) {
    const all = readParams(root, ref.file)
    const picked = (values[ref.file] ??= {})
    if (ref.keys.length === 0) Object.assign(picked, all)
    else for (const key of ref.keys) picked[key] = paramValue(all, key, ref.file)
  }
  return values
}

/** What is at a path now, hashed (and stored, with `store`); undefined when nothing is there. */
async function hashPath(repo: Repo, path: string, store: boolean): Promise<LockedPath | undefined> {
  const node = await scanPath(repo.scanContext(), path, store)
  if (!node) return undefined
  return node.kind === 'tree' ? {path, oid: node.oid, size: node.size, nfiles: node.nfiles} : {path, oid: node.oid, size: node.size}
}

/**
 * Hashes of paths for one repro, each path scanned once (one stage's output is the next one's
 * dependency) until a stage that writes there runs.
 */
class PathHashes {
  private readonly known = new Map<string, Promise<LockedPath | undefined>>()
  constructor(private readonly repo: Repo) {}

  get(path: string): Promise<LockedPath | undefined> {
    let h = this.known.get(path)
    if (!h) this.known.set(path, (h = hashPath(this.repo, path, false)))
    return h
  }

  /** Forgets what is at or around paths a stage has just written. */
  forget(paths: readonly string[]): void {
    for (const k of this.known.keys()) if (paths.some((p) => within(k, p) || within(p, k))) this.known.delete(k)
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/** Why a stage is stale relative to its dv.lock entry; empty when it is up to date. */
async function staleness(hashes: PathHashes, stage: StageDef, locked: LockedStage | undefined, deps: LockedPath[], params: Record<string, Record<string, unknown>>): Promise<string[]> {
  if (!locked) return ['never run']
  const reasons: string[] = []
  if (stage.alwaysChanged) reasons.push('always changed')
  if (!same(stage.cmd, locked.cmd)) reasons.push('cmd changed')
  for (const d of deps) {
    const was = locked.deps.find((l) => l.path === d.path)
    if (!was) reasons.push(`new dep: ${d.path}`)
    else if (was.oid !== d.oid) reasons.push(`dep changed: ${d.path}`)
  }
  for (const l of locked.deps) if (!deps.some((d) => d.path === l.path)) reasons.push(`dep removed: ${l.path}`)
  for (const [file, keys] of Object.entries(params)) {
    for (const [key, value] of Object.entries(keys)) {
      if (!same(locked.params[file]?.[key], value)) reasons.push(`param changed: ${key}`)
    }
  }
  for (const out of stage.outs) {
    const was = locked.outs.find((l) => l.path === out.path)
    const now = await hashes.get(out.path)
    if (!now) reasons.push(`out missing: ${out.path}`)
    else if (!was) reasons.push(`new out: ${out.path}`)
    else if (was.oid !== now.oid) reasons.push(`out changed: ${out.path}`)
  }
  return reasons
}

/** Dependencies as they are now; a missing one is an error naming the stage. */
async function currentDeps(hashes: PathHashes, stage: StageDef): Promise<LockedPath[]> {
  const deps: LockedPath[] = []
  for (const path of stage.deps) {
    const d = await hashes.get(path)
    if (!d) throw new DvError('ENODEP', `stage ${stage.name}: dependency ${path} does not exist`)
    deps.push(d)
  }
  return deps
}

/**
 * For `dv status`: each stage that `dv repro` would run for its own reasons (not counting
 * upstream stages that would run first), and why. Frozen stages are left out.
 */
export async function stageStatus(repo: Repo): Promise<Record<string, string[]>> {
  const pipeline = loadPipeline(repo.root)
  if (!pipeline) return {}
  const g = buildGraph(pipeline.stages)
  const lock = readLock(repo.root)
  const hashes = new PathHashes(repo)
  const report: Record<string, string[]> = {}
  for (const name of g.order) {
    const stage = g.stages.get(name)!
    if (stage.frozen) continue
    const deps: LockedPath[] = []
    const missing: string[] = []
    for (const path of stage.deps) {
      const d = await hashes.get(path)
      if (d) deps.push(d)
      else missing.push(`dep missing: ${path}`)
    }
    const reasons = [...missing, ...(await staleness(hashes, stage, lock.get(name), deps, paramValues(repo.root, stage)))].filter((r) => !(missing.length > 0 && r.startsWith('dep removed: ')))
    if (reasons.length > 0) report[name] = reasons
  }
  repo.state.save()
  return report
}

/** Runs `work` with at most `limit` at once (a counting semaphore). */
class Slots {
  private used = 0
  private readonly waiting: Array<() => void> = []
  constructor(private readonly limit: number) {}
  async take(): Promise<() => void> {
    if (this.used >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.used++
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.shift()
      if (next) next()
      else this.used--
    }
  }
}

export async function repro(targets: string[] = [], options: ReproOptions = {}): Promise<StageResult[]> {
  const repo = Repo.open(options.cwd ?? process.cwd())
  await loadHasher()
  const pipeline = requirePipeline(repo.root)
  const g = buildGraph(pipeline.stages)
  const named = targets.length > 0 ? selectStages(g, targets, pipeline.file) : g.order
  const selected = new Set(options.single ? named : options.downstream ? closure(g, named, true) : closure(g, named))
  const forced = new Set(options.force ? (options.single || targets.length === 0 ? selected : named) : [])
  if (options.pull && !options.dry) await pull([], {cwd: repo.root, remote: options.remote, runCache: true})
  const lock = readLock(repo.root)
  const runCache = runCacheOf(repo)
  const hashes = new PathHashes(repo)
  const slots = new Slots(options.jobs ?? 1)
  let gpus: GpuPool | undefined
  const results = new Map<string, StageResult>()
  const done = new Map<string, Promise<StageResult>>()
  let failed = false
  let interrupted: NodeJS.Signals | undefined
  const interrupt = (signal: NodeJS.Signals) => {
    failed = true
    interrupted = signal
    stopAll('SIGTERM')
  }
  process.once('SIGINT', interrupt)
  process.once('SIGTERM', interrupt)

  const finish = (r: StageResult): StageResult => {
    results.set(r.stage, r)
    options.onStage?.(r)
    return r
  }
  const record = (stage: StageDef, entry: LockedStage) => {
    hashes.forget(stage.outs.map((o) => o.path))
    // Cached outputs live in the cache, not in git (as `dv add` does for tracked paths). The
    // .gitignore lines go before dv.lock: once dv.lock records the stage a rerun finds it up to
    // date and never comes back here, so a kill in between left the outputs open to `git add`
    // (found by the kill-point harness, docs/reliability.md).
    if (repo.git) for (const o of stage.outs) if (o.cache) addIgnoreLine(repo.root, o.path)
    lock.set(stage.name, entry)
    writeLock(repo.root, lock, g.order)
  }

  const decide = async (stage: StageDef): Promise<StageResult> => {
    const ups = [...g.upstream.get(stage.name)!].filter((u) => selected.has(u))
    const upResults = await Promise.all(ups.map((u) => done.get(u)!))
    if (upResults.some((r) => r.action === 'failed' || r.action === 'not run')) return finish({stage: stage.name, action: 'not run', reasons: ['an upstream stage failed']})
    if (failed && !options.keepGoing) return finish({stage: stage.name, action: 'not run', reasons: ['stopped after a failure']})
    if (stage.frozen) return finish({stage: stage.name, action: 'frozen', reasons: []})
    const rerunning = upResults.filter((r) => r.action === 'would run').map((r) => r.stage)
    if (options.dry && rerunning.length > 0) return finish({stage: stage.name, action: 'would run', reasons: [`upstream would run: ${rerunning.join(', ')}`]})
    try {
      const deps = await currentDeps(hashes, stage)
      const params = paramValues(repo.root, stage)
      const locked = lock.get(stage.name)
      const reasons = await staleness(hashes, stage, locked, deps, params)
      if (forced.has(stage.name) && reasons.length === 0) reasons.push('forced')
      if (reasons.length === 0) return finish({stage: stage.name, action: 'up to date', reasons})
      if (options.dry) return finish({stage: stage.name, action: 'would run', reasons})
      const cached = stage.outs.every((o) => o.cache)
      const key = runKey(stage.cmd, deps, params, stage.outs.map((o) => o.path))
      if (cached && options.runCache !== false && !forced.has(stage.name)) {
        const hit = runCache.get(key)
        if (hit && hit.outs.every((o) => repo.odb.has(o.oid))) {
          await checkout([], {cwd: repo.root, outs: asTrackedOuts(hit.outs), force: true})
          crashPoint('repro.restored')
          record(stage, {cmd: stage.cmd, deps, params, outs: hit.outs})
          return finish({stage: stage.name, action: 'restored', reasons})
        }
      }
      return await run(stage, deps, params, key, cached, reasons)
    } catch (error) {
      failed = true
      return finish({stage: stage.name, action: 'failed', reasons: [], error: (error as Error).message})
    }
  }

  const run = async (stage: StageDef, deps: LockedPath[], params: Record<string, Record<string, unknown>>, key: string, cached: boolean, reasons: string[]): Promise<StageResult> => {
    let lease: GpuLease | undefined
    let cuda: string | undefined
    if (stage.gpus > 0) {
      gpus ??= GpuPool.fromProbe(gpuProbe())
      if (stage.gpus > gpus.size && options.allowCpu) cuda = '' // no GPU at all: the stage runs on the CPU
      else {
        lease = await gpus.acquire(stage.gpus, stage.name)
        cuda = lease.cudaVisibleDevices
      }
    }
    const release = await slots.take()
    try {
      if (failed && !options.keepGoing) return finish({stage: stage.name, action: 'not run', reasons: ['stopped after a failure']})
      for (const o of stage.outs) {
        if (!o.persist) rmSync(repo.abs(o.path), {recursive: true, force: true})
        mkdirSync(dirname(repo.abs(o.path)), {recursive: true})
      }
      const stamp = new Date().toISOString().replace(/[:.]/g, '-')
      const outcome = await runStage({
        root: repo.root,
        wdir: stage.wdir,
        cmd: stage.cmd,
        env: cuda === undefined ? {} : {CUDA_VISIBLE_DEVICES: cuda},
        logFile: join(repo.dvDir, 'logs', stage.name, `${stamp}.log`),
        header: [`stage ${stage.name}`, `started ${new Date().toISOString()}`, `why: ${reasons.join(', ')}`, ...(cuda === undefined ? [] : [`CUDA_VISIBLE_DEVICES=${cuda}${lease ? ` (${lease.gpus.map((g) => g.name).join(', ')})` : ' (no GPU: --allow-cpu)'}`])],
        prefix: `[${stage.name}] `,
        onLine: options.onLine ?? ((line, stream) => (stream === 'stdout' ? process.stdout : process.stderr).write(line + '\n')),
      })
      const gpuNote = cuda === undefined ? {} : {gpus: cuda}
      crashPoint('repro.stage-ran')
      if (outcome.code !== 0) {
        failed = true
        const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`
        return finish({stage: stage.name, action: 'failed', reasons, error: `stage ${stage.name} ${how}`, seconds: outcome.seconds, ...gpuNote})
      }
      const outs: LockedPath[] = []
      for (const o of stage.outs) {
        const got = await hashPath(repo, o.path, o.cache)
        if (!got) {
          failed = true
          return finish({stage: stage.name, action: 'failed', reasons, error: `stage ${stage.name} did not produce its output ${o.path}`, ...gpuNote})
        }
        outs.push(got)
      }
      crashPoint('repro.outs-cached')
      repo.state.save()
      // The run record before dv.lock, for the same reason as the .gitignore lines in record():
      // a kill between them lost the record for good (the rerun finds the stage up to date).
      if (cached && options.runCache !== false) runCache.put(key, {stage: stage.name, cmd: stage.cmd, outs})
      record(stage, {cmd: stage.cmd, deps, params, outs})
      crashPoint('repro.lock-written')
      return finish({stage: stage.name, action: 'ran', reasons, seconds: outcome.seconds, ...gpuNote})
    } finally {
      release()
      lease?.release()
    }
  }

  try {
    for (const name of g.order) {
      if (!selected.has(name)) continue
      done.set(name, decide(g.stages.get(name)!))
    }
    await Promise.all(done.values())
  } finally {
    process.off('SIGINT', interrupt)
    process.off('SIGTERM', interrupt)
    repo.state.save() // what was hashed stays known: the next no-op repro reads nothing
  }
  if (interrupted) {
    const finished = [...results.values()].filter((r) => r.action === 'ran' || r.action === 'restored').map((r) => r.stage)
    throw new DvError('EINTERRUPTED', `interrupted (${interrupted}): running stages were stopped; dv.lock records ${finished.length > 0 ? `only what finished (${finished.join(', ')})` : 'nothing new'}`, 130)
  }
  return g.order.filter((n) => results.has(n)).map((n) => results.get(n)!)
}
