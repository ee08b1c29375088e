/**
 * The table `dv compare` prints and `dv compare -i` browses: one row per revision, columns
 * `data:<path>`, `param:<key>` and `metric:<key>`, filtered by globs or to the columns that
 * differ, sorted by one column.
 */
import {DvError} from '../errors.js'
import {show} from '../metrics/values.js'
import type {CompareRow} from '../repo/compare.js'
import {formatBytes} from './progress.js'

export interface TableOptions {
  /** Globs over column names (`*` any run of characters, `?` one); a column matching any is kept. */
  columns?: string[]
  /** Leave out columns whose value is the same in every row. */
  onlyChanged?: boolean
  sortBy?: string
  /** Default: descending for numbers, ascending for text. */
  sortOrder?: 'asc' | 'desc'
  precision?: number
}

export interface TableRow {
  row: CompareRow
  /** Column name → the text shown; a data version that changed from the older row ends in ` *`. */
  cells: Map<string, string>
}

export interface CompareTable {
  columns: string[]
  rows: TableRow[]
}

const globRe = (g: string) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)

/** The cells of one row, as text. */
export function rowCells(r: CompareRow, precision = 5): Map<string, string> {
  const c = new Map<string, string>()
  for (const [path, v] of Object.entries(r.data)) c.set(`data:${path}`, `${v.oid.slice(0, 8)} (${v.nfiles === undefined ? '' : `${v.nfiles} files, `}${formatBytes(v.size)})${v.changed ? ' *' : ''}`)
  for (const [k, v] of Object.entries(r.params)) c.set(`param:${k}`, show(v, precision))
  for (const [k, v] of Object.entries(r.metrics)) c.set(`metric:${k}`, show(v, precision))
  if (!r.hasMetrics) c.set('metrics', '(no metrics)')
  return c
}

/** Every column of the rows: data versions, then params, then metrics. */
export function allColumns(rows: readonly TableRow[]): string[] {
  const order = (name: string) => (name.startsWith('data:') ? 0 : name.startsWith('param:') ? 1 : 2)
  return [...new Set(rows.flatMap((r) => [...r.cells.keys()]))].sort((a, b) => order(a) - order(b))
}

/** Whether a column's value differs between rows (a data version's change mark aside). */
export function columnChanges(rows: readonly TableRow[], name: string): boolean {
  return new Set(rows.map((r) => r.cells.get(name)?.replace(/ \*$/, '') ?? '-')).size > 1
}

/** The raw value a column sorts by: numbers for numeric params and metrics, else the text. */
function sortValue(r: TableRow, column: string): string | number | boolean | null | undefined {
  const [kind, ...rest] = column.split(':')
  const key = rest.join(':')
  return kind === 'metric' ? r.row.metrics[key] : kind === 'param' ? r.row.params[key] : r.cells.get(column)
}

const isNumeric = (rows: readonly TableRow[], column: string) =>
  rows.every((r) => {
    const v = sortValue(r, column)
    return v === undefined || typeof v === 'number'
  })

/** How a column sorts unless told: numbers high to low (best metric first), text A to Z. */
export function defaultOrder(rows: readonly TableRow[], column: string): 'asc' | 'desc' {
  return isNumeric(rows, column) ? 'desc' : 'asc'
}

/** Rows sorted by `column`: missing values last; numbers high to low unless `order` says. */
export function sortRows(rows: readonly TableRow[], column: string, order?: 'asc' | 'desc'): TableRow[] {
  const numeric = isNumeric(rows, column)
  const dir = (order ?? defaultOrder(rows, column)) === 'asc' ? 1 : -1
  return [...rows].sort((a, b) => {
    const [va, vb] = [sortValue(a, column), sortValue(b, column)]
    if (va === undefined || vb === undefined) return va === undefined ? (vb === undefined ? 0 : 1) : -1
    return (numeric ? (va as number) - (vb as number) : String(va).localeCompare(String(vb))) * dir
  })
}

export function compareTable(rows: readonly CompareRow[], o: TableOptions = {}): CompareTable {
  let table: TableRow[] = rows.map((row) => ({row, cells: rowCells(row, o.precision)}))
  let columns = allColumns(table)
  const globs = o.columns?.flatMap((g) => g.split(',')).map(globRe)
  if (globs) columns = columns.filter((name) => globs.some((g) => g.test(name)))
  if (o.onlyChanged) columns = columns.filter((name) => columnChanges(table, name))
  if (o.sortBy) {
    if (!table.some((r) => r.cells.has(o.sortBy!))) throw new DvError('EUSAGE', `no column ${JSON.stringify(o.sortBy)} to sort by (columns: ${columns.join(', ')})`, 2)
    table = sortRows(table, o.sortBy, o.sortOrder)
  }
  return {columns, rows: table}
}
