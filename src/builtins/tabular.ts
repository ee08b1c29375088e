/**
 * What `dv clean` and `dv split` share: an input file staged for several streaming passes, DuckDB
 * errors turned into one-line errors naming the file, and a hidden staging directory beside the
 * outputs that holds every temporary file until the outputs are renamed into place.
 *
 * Rows never pass through JavaScript: each pass is one SQL statement DuckDB streams, and only
 * counts, thresholds and a few example values come back.
 */
import {randomBytes} from 'node:crypto'
import {copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, rmdirSync, statSync, symlinkSync} from 'node:fs'
import {dirname, join, relative, resolve, sep} from 'node:path'

import {formatOf, ident, literal, plainExpr, reader, TABULAR_EXTENSIONS, type Column, type DataEngine, type DataFormat} from '../data/engine.js'
import {DvError, InvalidFileError} from '../errors.js'
import {TEMP_SUFFIX} from '../util/atomic.js'

/** DuckDB's message on one line: its first paragraph, before the advice on reader options. */
export function duckdbReason(message: string): string {
  const parts: string[] = []
  for (const line of message.split('\n').map((l) => l.trim())) {
    if (line === '' || line.endsWith(':')) break
    parts.push(line.length > 200 ? `${line.slice(0, 200)}...` : line.replace(/\.$/, ''))
  }
  return parts.join('; ').replace(/^[A-Za-z ]+Error: /, '')
}

/** A name for an internal column that none of `columns` has (DuckDB compares names case-insensitively). */
export function freshName(base: string, columns: readonly Column[]): string {
  const taken = new Set(columns.map((c) => c.name.toLowerCase()))
  let name = base
  for (let i = 1; taken.has(name.toLowerCase()); i++) name = `${base}_${i}`
  return name
}

/** The column `name` of `input`, or a one-line error naming the file, the column, and what asked for it. */
export function requireColumn(input: Input, name: string, why: string): Column {
  const found = input.columns.find((c) => c.name === name)
  if (found) return found
  const folded = input.columns.find((c) => c.name.toLowerCase() === name.toLowerCase())
  const hint = folded ? ` (did you mean '${folded.name}'?)` : `; its columns: ${input.columns.map((c) => c.name).join(', ')}`
  throw new InvalidFileError(input.shown, `no column '${name}' (${why})${hint}`)
}

/** The SQL list of every column of the input, quoted, in file order. */
export const columnList = (columns: readonly Column[]) => columns.map((c) => ident(c.name)).join(', ')

/** `.<name>.<pid>-<12 hex>.dv-tmp`: a temporary file of a Staging, and the process that made it. */
const STAGED = /^\..+\.(\d+)-[0-9a-f]{12}\.dv-tmp$/

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Temporary files in the outputs' directory (the same file system, so they are renamed into
 * place), removed when done. Each is hidden and ends in `.dv-tmp`, which dv's workspace scans
 * skip, so one left by a killed run is never taken for data; the next run in that directory
 * removes those whose process is gone.
 */
export class Staging {
  /** Directories created for the outputs, outermost first: removed on failure while they are empty. */
  private readonly created: string[] = []
  private readonly files: string[] = []
  private readonly tag = `${process.pid}-${randomBytes(6).toString('hex')}`

  constructor(readonly dir: string) {
    const first = mkdirSync(dir, {recursive: true})
    if (first !== undefined) {
      for (let d = resolve(dir); ; d = dirname(d)) {
        this.created.unshift(d)
        if (d === resolve(first) || dirname(d) === d) break
      }
    }
    for (const name of readdirSync(dir)) {
      const m = STAGED.exec(name)
      if (m && !alive(Number(m[1]))) rmSync(join(dir, name), {force: true, recursive: true})
    }
  }

  /** A fresh temporary path for `name`. */
  path(name: string): string {
    const path = join(this.dir, `.${name}.${this.tag}${TEMP_SUFFIX}`)
    this.files.push(path)
    return path
  }

  /** Removes the temporary files; after a failure also the output directories this run created, if still empty. */
  dispose(failed: boolean): void {
    for (const f of this.files) rmSync(f, {force: true, recursive: true})
    if (!failed) return
    for (const d of [...this.created].reverse()) {
      try {
        rmdirSync(d)
      } catch {
        break
      }
    }
  }
}

/** The input of a stage: a view over a Parquet file (the file itself, or a staged copy of a CSV, TSV or JSON lines file). */
export interface Input {
  /** The view holding the file's columns, in file order. */
  view: string
  /** The same rows with the row's position in the file (from 0) as the column `rn`. */
  numbered: string
  rn: string
  /** The Parquet file the views read. */
  parquet: string
  shown: string
  format: DataFormat
  columns: Column[]
  rows: number
}

const GLOB = /[*?[\]{}]/


/** Runs `work`; a DuckDB error becomes one line naming `shown` (the file the statement reads). */
export async function guard<T>(shown: string, work: () => Promise<T>, paths: string[] = []): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof DvError) throw error
    let reason = duckdbReason((error as Error).message)
    for (const p of paths) reason = reason.split(p).join(shown)
    throw new InvalidFileError(shown, reason)
  }
}

let views = 0

/**
 * Opens `file` (as given by the user; `shown` names it in errors) for a stage. Parquet is read in
 * place; CSV, TSV and JSON lines are first written once to a Parquet file in `staging`, so the
 * stage's several passes read compressed columns instead of parsing text each time, and every row
 * gets its position in the file. Types are guessed from a sample of rows, or from all of them
 * where a later row does not fit the guess. An input with no rows is an error.
 */
export async function openInput(engine: DataEngine, file: string, shown: string, staging: Staging): Promise<Input> {
  if (!existsSync(file)) throw new DvError('ENOENT', `${shown}: no such file or directory`)
  if (statSync(file).isDirectory()) throw new InvalidFileError(shown, 'is a directory, not a tabular file')
  const format = formatOf(file)
  if (!format) throw new InvalidFileError(shown, `not a tabular file (dv reads ${TABULAR_EXTENSIONS.join(', ')} files)`)
  let local = file
  if (GLOB.test(file)) {
    // DuckDB takes these characters for a glob pattern.
    local = staging.path(`input.${format}`)
    try {
      symlinkSync(resolve(file), local)
    } catch {
      copyFileSync(file, local)
    }
  }
  let parquet = local
  if (format !== 'parquet') {
    parquet = staging.path('input.parquet')
    const copy = (wholeFile: boolean) => engine.run(`COPY (SELECT * FROM ${reader(local, format, wholeFile)}) TO ${literal(parquet)} (FORMAT parquet, COMPRESSION lz4_raw)`)
    await guard(
      shown,
      async () => {
        try {
          await copy(false)
        } catch (error) {
          // Types are guessed from the first rows; a later row that does not fit fails the read
          // and DuckDB's advice names sample_size: guess again from every row (a second pass).
          if (!/sample_size/.test((error as Error).message)) throw error
          await copy(true)
        }
      },
      [local, file],
    )
  }
  const n = views++
  const view = `__dv_in${n}`
  const numbered = `__dv_in${n}_rn`
  await guard(shown, () => engine.run(`CREATE OR REPLACE TEMP VIEW ${ident(view)} AS SELECT * FROM read_parquet(${literal(parquet)})`), [parquet, local, file])
  const columns = await engine.columns(view)
  const rn = freshName('__dv_rn', columns)
  // file_row_number numbers rows in parallel; a file with a column of that name needs the serial way.
  const numberedSql = columns.some((c) => c.name.toLowerCase() === 'file_row_number')
    ? `SELECT *, row_number() OVER () - 1 AS ${ident(rn)} FROM read_parquet(${literal(parquet)})`
    : `SELECT * EXCLUDE (file_row_number), file_row_number AS ${ident(rn)} FROM read_parquet(${literal(parquet)}, file_row_number = true)`
  await engine.run(`CREATE OR REPLACE TEMP VIEW ${ident(numbered)} AS ${numberedSql}`)
  const rows = await guard(shown, () => engine.count(`SELECT count(*) FROM ${ident(view)}`))
  if (rows === 0) throw new InvalidFileError(shown, 'no rows (the input is empty)')
  return {view, numbered, rn, parquet, shown, format, columns, rows}
}

/** Writes the rows of `query` to `path` as `format` (see DataEngine.write). */
export async function writeRows(engine: DataEngine, query: string, path: string, format: DataFormat = 'parquet'): Promise<void> {
  await engine.write(query, path, format)
}

/** A row as one line of JSON, for an error message or a report: `{"id":1,"name":"a"}`. */
export async function rowExamples(engine: DataEngine, from: string, columns: readonly Column[], where: string, order: string, limit: number): Promise<string[]> {
  const names = columns.map((_, i) => `c${i}`)
  const select = columns.map((c, i) => `${plainExpr(ident(c.name), c.type)} AS ${names[i]}`).join(', ')
  const rows = await engine.rows(`SELECT ${select} FROM ${from} WHERE ${where} ORDER BY ${order} LIMIT ${limit}`)
  return rows.map((r) => JSON.stringify(Object.fromEntries(columns.map((c, i) => [c.name, r[i]]))))
}

/** A value as an error message shows it: text quoted, long text cut short. */
export function shownValue(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'string') return `'${v.length > 60 ? `${v.slice(0, 60)}...` : v}'`
  return String(v)
}

/** `path` as a message shows it: relative to the current directory when inside it. */
export function shownPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, resolve(cwd, path))
  return rel && !rel.startsWith(`..${sep}`) && rel !== '..' ? rel : path
}
