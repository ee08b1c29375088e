/**
 * `dv compare`: one row per revision, with the version of each tracked dataset and model (and
 * which changed from the row before), the params the pipeline uses, and the metrics. Everything
 * is read from git objects and the cache through one `git cat-file --batch` process.
 */
import {VersionedFiles, type Rev} from '../metrics/files.js'
import {flatten, parseMetrics, type Value} from '../metrics/values.js'
import {parseLock} from '../pipeline/lock.js'
import {DEFAULT_PARAMS_FILE, lookupParam, parseParams} from '../pipeline/params.js'
import type {GitObjects} from '../scm/objects.js'
import {label, metricsPaths, selectedRevisions} from './metrics.js'
import {pipelineOuts} from './pipeline-outs.js'
import type {Repo, TrackedOut} from './repo.js'
import {gitLines, outsAt, selectsRevisions, type RevisionSelection} from './revisions.js'

export interface DataVersion {
  oid: string
  size: number
  nfiles?: number
  /** Different from the row after (the older revision), or absent there. */
  changed: boolean
}

export interface CompareRow {
  rev: string
  /** The commit (short), for revisions; absent for the workspace. */
  commit?: string
  data: Record<string, DataVersion>
  params: Record<string, Value>
  metrics: Record<string, Value>
  /** Whether the revision had any metrics file. */
  hasMetrics: boolean
}

export interface CompareOptions extends RevisionSelection {
  cwd?: string
}

async function rowAt(repo: Repo, objects: GitObjects, files: VersionedFiles, rev: Rev): Promise<Omit<CompareRow, 'rev'>> {
  const pipeline = await files.pipeline(rev)
  let outs: TrackedOut[]
  let commit: string | undefined
  if (rev === undefined) {
    outs = [...repo.trackedOuts(), ...pipelineOuts(repo)]
  } else {
    commit = await objects.commitOf(rev)
    outs = await outsAt(repo, objects, commit)
    const lock = await objects.read(`${commit}:dv.lock`)
    if (lock) for (const s of parseLock(lock.data.toString('utf8'), `dv.lock (at ${rev})`).values()) for (const o of s.outs) outs.push({pointer: 'dv.lock', path: o.path, out: {path: o.path, oid: o.oid, size: o.size, ...(o.nfiles === undefined ? {} : {nfiles: o.nfiles})}})
  }
  const metricFiles = metricsPaths(pipeline)
  const data: Record<string, DataVersion> = {}
  for (const t of outs) {
    if (metricFiles.includes(t.path)) continue
    data[t.path] = {oid: t.out.oid, size: t.out.size, ...(t.out.nfiles === undefined ? {} : {nfiles: t.out.nfiles}), changed: false}
  }
  const params: Record<string, Value> = {}
  const byFile = new Map<string, string[]>()
  for (const ref of pipeline?.stages.flatMap((s) => s.params) ?? []) byFile.set(ref.file, [...(byFile.get(ref.file) ?? []), ...ref.keys])
  for (const [file, keys] of byFile) {
    const bytes = await files.read(rev, file)
    if (!bytes) continue
    const all = parseParams(bytes.toString('utf8'), file)
    const prefix = file === DEFAULT_PARAMS_FILE ? '' : `${file}:`
    const picked = keys.length === 0 ? flatten(all) : Object.assign({}, ...keys.map((k) => {
      const found = lookupParam(all, k)
      return found.found ? flatten(found.value, k) : {}
    }))
    for (const [k, v] of Object.entries(picked as Record<string, Value>)) params[prefix + k] = v
  }
  const metrics: Record<string, Value> = {}
  let hasMetrics = false
  for (const path of metricFiles) {
    const bytes = await files.read(rev, path)
    if (!bytes) continue
    hasMetrics = true
    const prefix = metricFiles.length > 1 ? `${path}:` : ''
    for (const [k, v] of Object.entries(parseMetrics(bytes, rev === undefined ? path : `${path} (at ${rev})`))) metrics[prefix + k] = v
  }
  return {...(commit ? {commit: commit.slice(0, 8)} : {}), data, params, metrics, hasMetrics}
}

/**
 * Rows for the workspace, then the revisions given or selected; with neither, the current
 * branch's history (first parents, newest first).
 */
export async function compare(revs: string[] = [], options: CompareOptions = {}): Promise<CompareRow[]> {
  return VersionedFiles.with(options.cwd ?? process.cwd(), async (repo, files, objects) => {
    const chosen = revs.length > 0 || selectsRevisions(options) ? selectedRevisions(repo.root, revs, options) : gitLines(repo.root, ['rev-list', '--first-parent', '--abbrev-commit', '--abbrev=8', 'HEAD'])
    const rows: CompareRow[] = []
    for (const rev of [undefined, ...chosen]) rows.push({rev: label(rev), ...(await rowAt(repo, objects, files, rev))})
    // Rows run newest first: a version changed in a row when the row after it (older) differs.
    for (let i = 0; i + 1 < rows.length; i++) {
      for (const [path, v] of Object.entries(rows[i].data)) v.changed = rows[i + 1].data[path]?.oid !== v.oid
    }
    return rows
  })
}
