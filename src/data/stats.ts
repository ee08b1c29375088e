/**
 * Per-column statistics of a table (rows, nulls, distinct values, numeric distribution, most
 * frequent value), exact, in a couple of aggregate queries; and how they changed between two
 * versions of a file. DuckDB's SUMMARIZE gives much the same but approximates distinct counts
 * and quantiles, and a version diff built on approximations reports changes that are not there.
 */
import {change, changed, type Change, type Value} from '../metrics/values.js'
import {ident, isNested, isNumeric, plainExpr, type Column, type DataEngine} from './engine.js'
import {schemaChange, schemaChanged, type SchemaChange} from './schema.js'

export interface ColumnStats {
  column: string
  type: string
  /** Rows where the column is null. */
  nulls: number
  /** Distinct non-null values. */
  distinct: number
  /** Smallest and largest value: numbers for numeric columns, text otherwise; none for lists and structs. */
  min?: Value
  max?: Value
  /** Numeric columns: mean, sample standard deviation and exact (interpolated) quartiles. */
  mean?: Value
  std?: Value
  q25?: Value
  q50?: Value
  q75?: Value
  /** Other columns: the most frequent non-null value (the smallest among equals), as text, and how often it occurs. */
  top?: Value
  top_count?: Value
}

export interface TableStats {
  rows: number
  columns: ColumnStats[]
}

/** The statistics each column can have, in the order they are shown and compared. */
export const STAT_KEYS = ['type', 'nulls', 'distinct', 'min', 'max', 'mean', 'std', 'q25', 'q50', 'q75', 'top', 'top_count'] as const
export type StatKey = (typeof STAT_KEYS)[number]

/** The aggregate expressions for column `i`, each under an alias that cannot clash with a column name. */
function aggregates(c: Column, i: number): string[] {
  const col = ident(c.name)
  const out = [`count(${col}) AS nn_${i}`, `count(DISTINCT ${col}) AS nd_${i}`]
  if (!isNested(c.type)) out.push(`${plainExpr(`min(${col})`, c.type)} AS min_${i}`, `${plainExpr(`max(${col})`, c.type)} AS max_${i}`)
  if (isNumeric(c.type)) {
    // The same quantile_cont aggregate three times: DuckDB computes it once.
    const q = (k: number) => `CAST((quantile_cont(${col}, [0.25, 0.5, 0.75]))[${k}] AS DOUBLE)`
    out.push(`CAST(avg(${col}) AS DOUBLE) AS mean_${i}`, `CAST(stddev_samp(${col}) AS DOUBLE) AS std_${i}`, `${q(1)} AS q25_${i}`, `${q(2)} AS q50_${i}`, `${q(3)} AS q75_${i}`)
  }
  return out
}

/** The most frequent non-null value of each non-numeric column, by column index. */
async function topValues(engine: DataEngine, table: string, columns: readonly Column[]): Promise<Map<number, [Value, Value]>> {
  const parts = columns.flatMap((c, i) => {
    if (isNumeric(c.type)) return []
    const col = ident(c.name)
    return [`SELECT * FROM (SELECT ${i} AS i, CAST(${col} AS VARCHAR) AS v, count(*) AS n FROM ${ident(table)} WHERE ${col} IS NOT NULL GROUP BY ${col} ORDER BY n DESC, ${col} LIMIT 1)`]
  })
  if (parts.length === 0) return new Map()
  const rows = await engine.rows(parts.join(' UNION ALL '))
  return new Map(rows.map(([i, v, n]) => [Number(i), [v, n]]))
}

/** Statistics of the loaded table `table` with these columns. */
export async function tableStats(engine: DataEngine, table: string, columns: readonly Column[]): Promise<TableStats> {
  const [row] = await engine.objects(`SELECT count(*) AS n_rows, ${columns.flatMap(aggregates).join(', ')} FROM ${ident(table)}`)
  const rows = Number(row.n_rows)
  const tops = await topValues(engine, table, columns)
  const stats = columns.map((c, i): ColumnStats => {
    const s: ColumnStats = {column: c.name, type: c.type, nulls: rows - Number(row[`nn_${i}`]), distinct: Number(row[`nd_${i}`])}
    for (const key of ['min', 'max', 'mean', 'std', 'q25', 'q50', 'q75'] as const) if (`${key}_${i}` in row) s[key] = row[`${key}_${i}`]
    if (!isNumeric(c.type)) [s.top, s.top_count] = tops.get(i) ?? [null, null]
    return s
  })
  return {rows, columns: stats}
}

export type ColumnChange = {column: string} & Partial<Record<StatKey, Change>>

export interface StatsChange {
  /** added: only in the new revision; removed: only in the old one. */
  status: 'added' | 'removed' | 'modified' | 'unchanged'
  rows: Change
  schema: SchemaChange
  /** Each column's changed statistics (all of them with `all`); columns of the new version first, then dropped ones. */
  columns: ColumnChange[]
}

function statValue(s: ColumnStats | undefined, key: StatKey): Value | undefined {
  return s?.[key]
}

/** How the statistics of a file changed from `before` to `after` (undefined: the file is not there). */
export function compareStats(before: TableStats | undefined, after: TableStats | undefined, all = false): StatsChange {
  const old = new Map((before?.columns ?? []).map((c) => [c.column, c]))
  const now = new Map((after?.columns ?? []).map((c) => [c.column, c]))
  const names = [...new Set([...now.keys(), ...old.keys()])]
  const columns: ColumnChange[] = []
  for (const name of names) {
    const entry: ColumnChange = {column: name}
    for (const key of STAT_KEYS) {
      const [was, is] = [statValue(old.get(name), key), statValue(now.get(name), key)]
      // A statistic neither version has (the mean of a text column) is no change, even with `all`.
      if (was === undefined && is === undefined) continue
      const c = change(was, is)
      if (all || changed(c)) entry[key] = c
    }
    if (Object.keys(entry).length > 1) columns.push(entry)
  }
  const rows = change(before?.rows, after?.rows)
  const schema = schemaChange(
    (before?.columns ?? []).map((c) => ({name: c.column, type: c.type})),
    (after?.columns ?? []).map((c) => ({name: c.column, type: c.type})),
  )
  const status = !before ? 'added' : !after ? 'removed' : changed(rows) || schemaChanged(schema) || columns.some((c) => STAT_KEYS.some((k) => c[k] && changed(c[k]))) ? 'modified' : 'unchanged'
  return {status, rows, schema, columns}
}
