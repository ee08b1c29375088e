/**
 * `dv data stats` and `dv data diff`: tabular files of a dataset, as they are in the workspace or
 * were at any git revision (src/metrics/files.ts), read and compared with DuckDB (src/data/).
 */
import {DataEngine, formatOf, ident, TABULAR_EXTENSIONS, type Column} from '../data/engine.js'
import {rowsDiff, type RowsDiff, type Side} from '../data/diff.js'
import {compareStats, tableStats, type StatsChange, type TableStats} from '../data/stats.js'
import {InvalidFileError, PathNotFoundError, UsageError} from '../errors.js'
import {VersionedFiles, type FileAt, type Rev} from '../metrics/files.js'
import {label} from './metrics.js'
import type {Repo} from './repo.js'

const READS = `dv data reads ${TABULAR_EXTENSIONS.join(', ')} files`

/** How a file is named in messages: its path, and the revision unless it is the workspace's. */
const shown = (path: string, rev: Rev) => (rev === undefined ? path : `${path} (at ${rev})`)

/** Opens the repository, its files at any revision, and a DuckDB session; closes all three afterwards. */
async function withData<T>(cwd: string, work: (repo: Repo, files: VersionedFiles, engine: DataEngine) => Promise<T>): Promise<T> {
  return VersionedFiles.with(cwd, async (repo, files) => {
    const engine = await DataEngine.open()
    try {
      return await work(repo, files, engine)
    } finally {
      engine.close()
    }
  })
}

/** The files at or under `target` at `rev`; undefined when there is none (the target did not exist then). */
async function filesAt(files: VersionedFiles, rev: Rev, target: string): Promise<FileAt[] | undefined> {
  try {
    return await files.files(rev, target)
  } catch (error) {
    if (error instanceof PathNotFoundError) return undefined
    throw error
  }
}

/** The tabular files among those of `target`: the file itself (which must be one), or those under a directory. */
function tabular(found: FileAt[], target: string, rev: Rev): FileAt[] {
  if (found.length === 1 && found[0].path === target) {
    if (!formatOf(target)) throw new InvalidFileError(shown(target, rev), `not a tabular file (${READS})`)
    return found
  }
  const picked = found.filter((f) => formatOf(f.path))
  if (picked.length === 0) throw new InvalidFileError(shown(target || '.', rev), `no tabular file in it (${READS})`)
  return picked
}

let tables = 0

/** Loads a file of a revision as a fresh table of the session. */
async function load(engine: DataEngine, f: FileAt, rev: Rev): Promise<Side> {
  const table = `t${tables++}`
  const columns: Column[] = await engine.load(table, f.file, formatOf(f.path) ?? 'csv', shown(f.path, rev))
  return {table, shown: shown(f.path, rev), columns}
}

/**
 * The side of a comparison where the file is missing: an empty table with the other side's
 * columns, so every row is added (or removed). It keeps the other side's name for messages
 * about columns, which are that file's.
 */
async function emptyLike(engine: DataEngine, other: Side): Promise<Side> {
  const table = `t${tables++}`
  await engine.emptyLike(table, other.table)
  return {...other, table}
}

/** Statistics of every tabular file of `target` at `rev`, by path. */
async function statsAt(engine: DataEngine, found: FileAt[], rev: Rev): Promise<Record<string, TableStats>> {
  const out: Record<string, TableStats> = {}
  for (const f of found) {
    const side = await load(engine, f, rev)
    out[f.path] = await tableStats(engine, side.table, side.columns)
    // Statistics are all that is kept; the rows need not stay in memory.
    await engine.run(`DROP TABLE ${ident(side.table)}`)
  }
  return out
}

export interface StatsReport {
  revision: string
  files: Record<string, TableStats>
}

export interface StatsDiffReport {
  a: string
  b: string
  files: Record<string, StatsChange>
}

/** Statistics of the tabular files of `target` in the workspace, or at the one revision given. */
export async function dataStats(target: string, rev: Rev, options: {cwd?: string} = {}): Promise<StatsReport> {
  const cwd = options.cwd ?? process.cwd()
  return withData(cwd, async (repo, files, engine) => {
    const path = repo.resolvePath(target, cwd)
    const found = tabular(await files.files(rev, path), path, rev)
    return {revision: label(rev), files: await statsAt(engine, found, rev)}
  })
}

/**
 * How the statistics of the tabular files of `target` changed from `a` to `b`. A file on one
 * side only is added or removed; so is every file when the target itself is missing on a side.
 */
export async function dataStatsDiff(target: string, a: Rev, b: Rev, options: {cwd?: string; all?: boolean} = {}): Promise<StatsDiffReport> {
  const cwd = options.cwd ?? process.cwd()
  return withData(cwd, async (repo, files, engine) => {
    const path = repo.resolvePath(target, cwd)
    const [before, after] = [await filesAt(files, a, path), await filesAt(files, b, path)]
    if (!before && !after) throw new PathNotFoundError(`${path || '.'} (at ${label(a)} and at ${label(b)})`)
    const old = before ? await statsAt(engine, tabularEither(before, after, path, a), a) : {}
    const now = after ? await statsAt(engine, tabularEither(after, before, path, b), b) : {}
    const report: StatsDiffReport = {a: label(a), b: label(b), files: {}}
    for (const p of [...new Set([...Object.keys(old), ...Object.keys(now)])].sort()) report.files[p] = compareStats(old[p], now[p], options.all)
    return report
  })
}

/** The tabular files of one side; a directory with none is fine when the other side has some. */
function tabularEither(found: FileAt[], other: FileAt[] | undefined, target: string, rev: Rev): FileAt[] {
  try {
    return tabular(found, target, rev)
  } catch (error) {
    const isFile = found.length === 1 && found[0].path === target
    if (!isFile && other?.some((f) => formatOf(f.path))) return []
    throw error
  }
}

export interface DataDiffReport extends RowsDiff {
  path: string
  a: string
  b: string
  key?: string[]
  /** The revision where the file does not exist: every row is added (or removed). */
  missing?: string
}

/** The one file `target` names at `rev`; undefined when it does not exist there. */
async function oneFile(files: VersionedFiles, rev: Rev, path: string): Promise<FileAt | undefined> {
  const found = await filesAt(files, rev, path)
  if (found && (found.length > 1 || found[0].path !== path)) throw new InvalidFileError(shown(path, rev), 'a directory, not a file; dv data diff compares one tabular file (dv data stats takes directories)')
  return found?.[0]
}

/** Row-level difference of the tabular file `target` from `a` (default HEAD) to `b` (default the workspace). */
export async function dataDiff(target: string, a: Rev = 'HEAD', b: Rev = undefined, options: {cwd?: string; key?: string[]; limit?: number} = {}): Promise<DataDiffReport> {
  const cwd = options.cwd ?? process.cwd()
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 0)) throw new UsageError(`--limit must be a whole number of rows, not ${options.limit}`)
  return withData(cwd, async (repo, files, engine) => {
    const path = repo.resolvePath(target, cwd)
    const [before, after] = [await oneFile(files, a, path), await oneFile(files, b, path)]
    if (!before && !after) throw new PathNotFoundError(`${path} (at ${label(a)} and at ${label(b)})`)
    if (!formatOf(path)) throw new InvalidFileError(path, `not a tabular file (${READS})`)
    const sideA = before && (await load(engine, before, a))
    const sideB = after && (await load(engine, after, b))
    const finalA = sideA ?? (await emptyLike(engine, sideB as Side))
    const finalB = sideB ?? (await emptyLike(engine, sideA as Side))
    const key = options.key?.length ? options.key : undefined
    const diff = await rowsDiff(engine, finalA, finalB, {key, limit: options.limit})
    return {path, a: label(a), b: label(b), ...(key ? {key} : {}), ...(before && after ? {} : {missing: label(before ? b : a)}), ...diff}
  })
}
