/**
 * `dv metrics show`, `dv metrics diff` and `dv params diff`: what a dataset version did to the
 * model, read from the workspace and from any git revision (src/metrics/files.ts).
 */
import {VersionedFiles, type Rev} from '../metrics/files.js'
import {change, changed, flatten, parseMetrics, type Change, type Value} from '../metrics/values.js'
import {paramsFileType, parseParams, lookupParam} from '../pipeline/params.js'
import type {Pipeline} from '../pipeline/schema.js'
import {gitLines, type RevisionSelection} from './revisions.js'

/** The name a revision is shown under; the workspace is `workspace`. */
export const label = (rev: Rev) => rev ?? 'workspace'

/** Metrics files a pipeline declares: top-level `metrics` and every stage's metrics outputs. */
export function metricsPaths(p: Pipeline | undefined): string[] {
  if (!p) return []
  return [...new Set([...p.metrics, ...p.stages.flatMap((s) => s.outs.filter((o) => o.kind === 'metric').map((o) => o.path))])]
}

async function metricsAt(files: VersionedFiles, rev: Rev, targets: readonly string[]): Promise<Record<string, Record<string, Value>>> {
  const paths = targets.length > 0 ? targets : metricsPaths(await files.pipeline(rev))
  const out: Record<string, Record<string, Value>> = {}
  for (const path of paths) {
    const bytes = await files.read(rev, path)
    if (bytes) out[path] = parseMetrics(bytes, rev === undefined ? path : `${path} (at ${rev})`)
  }
  return out
}

/** The revisions a selection names, each under a readable name (branch, tag, short commit). */
export function selectedRevisions(root: string, revs: readonly string[], s: RevisionSelection): string[] {
  const names = new Set(revs)
  if (s.allBranches) gitLines(root, ['for-each-ref', '--format=%(refname:short)', 'refs/heads']).forEach((r) => names.add(r))
  if (s.allTags) gitLines(root, ['for-each-ref', '--format=%(refname:short)', 'refs/tags']).forEach((r) => names.add(r))
  if (s.allCommits) gitLines(root, ['rev-list', '--all', '--abbrev-commit', '--abbrev=8', '--topo-order']).forEach((r) => names.add(r))
  return [...names]
}

export interface MetricsAtRev {
  rev: string
  /** path → flattened metrics; empty when the revision has no metrics file. */
  metrics: Record<string, Record<string, Value>>
}

/** Metrics of the workspace, and of each revision given or selected. */
export async function metricsShow(targets: string[] = [], options: RevisionSelection & {cwd?: string} = {}): Promise<MetricsAtRev[]> {
  return VersionedFiles.with(options.cwd ?? process.cwd(), async (repo, files) => {
    const revs: Rev[] = [undefined, ...selectedRevisions(repo.root, options.revs ?? [], options)]
    const rows: MetricsAtRev[] = []
    for (const rev of revs) rows.push({rev: label(rev), metrics: await metricsAt(files, rev, targets.map((t) => repo.resolvePath(t, options.cwd ?? process.cwd())))})
    return rows
  })
}

/** path → key → change, from `a` (default HEAD) to `b` (default the workspace). */
export type DiffReport = Record<string, Record<string, Change>>

function diffValues(before: Record<string, Record<string, Value>>, after: Record<string, Record<string, Value>>, all: boolean): DiffReport {
  const report: DiffReport = {}
  for (const path of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const keys = [...new Set([...Object.keys(before[path] ?? {}), ...Object.keys(after[path] ?? {})])].sort()
    for (const key of keys) {
      const c = change(before[path]?.[key], after[path]?.[key])
      if (all || changed(c)) (report[path] ??= {})[key] = c
    }
  }
  return report
}

export async function metricsDiff(a: Rev = 'HEAD', b: Rev = undefined, options: {cwd?: string; targets?: string[]; all?: boolean} = {}): Promise<DiffReport> {
  return VersionedFiles.with(options.cwd ?? process.cwd(), async (repo, files) => {
    const targets = (options.targets ?? []).map((t) => repo.resolvePath(t, options.cwd ?? process.cwd()))
    const paths = targets.length > 0 ? targets : [...new Set([...metricsPaths(await files.pipeline(a)), ...metricsPaths(await files.pipeline(b))])]
    return diffValues(await metricsAt(files, a, paths), await metricsAt(files, b, paths), options.all ?? false)
  })
}

/** The params the pipeline's stages use at `rev`, flattened, by params file. */
async function paramsAt(files: VersionedFiles, rev: Rev, pipelines: ReadonlyArray<Pipeline | undefined>): Promise<Record<string, Record<string, Value>>> {
  const wanted = new Map<string, Set<string> | 'all'>()
  for (const p of pipelines) {
    for (const ref of p?.stages.flatMap((s) => s.params) ?? []) {
      const had = wanted.get(ref.file)
      if (ref.keys.length === 0 || had === 'all') wanted.set(ref.file, 'all')
      else wanted.set(ref.file, new Set([...(had ?? []), ...ref.keys]))
    }
    for (const file of p?.params ?? []) wanted.set(file, 'all')
  }
  const out: Record<string, Record<string, Value>> = {}
  for (const [file, keys] of wanted) {
    paramsFileType(file)
    const bytes = await files.read(rev, file)
    if (!bytes) continue
    const all = parseParams(bytes.toString('utf8'), file)
    if (keys === 'all') {
      out[file] = flatten(all)
      continue
    }
    const picked: Record<string, Value> = {}
    for (const key of keys) {
      const found = lookupParam(all, key)
      if (found.found) Object.assign(picked, flatten(found.value, key))
    }
    out[file] = picked
  }
  return out
}

export async function paramsDiff(a: Rev = 'HEAD', b: Rev = undefined, options: {cwd?: string; all?: boolean} = {}): Promise<DiffReport> {
  return VersionedFiles.with(options.cwd ?? process.cwd(), async (_repo, files) => {
    const pipelines = [await files.pipeline(a), await files.pipeline(b)]
    const report = diffValues(await paramsAt(files, a, pipelines), await paramsAt(files, b, pipelines), options.all ?? false)
    // Params are settings, not results: old and new only, as `dvc params diff` gives them.
    for (const keys of Object.values(report)) for (const c of Object.values(keys)) delete c.diff, delete c.relative
    return report
  })
}
