/**
 * Row-level difference between two versions of a table, both loaded into one DuckDB session.
 * Rows are compared on the columns both versions share. With a key, rows are matched on it
 * (FULL JOIN semantics split into anti joins and an inner join) and a matched row whose other
 * shared columns differ is modified; without one, the versions are multisets of rows and the
 * difference is EXCEPT ALL both ways, so duplicated rows count as often as they occur.
 */
import {InvalidFileError} from '../errors.js'
import type {Value} from '../metrics/values.js'
import {ident, isNumeric, plainExpr, type Column, type DataEngine} from './engine.js'
import {schemaChange, type SchemaChange} from './schema.js'

/** One version of the file, loaded as `table`; `shown` names it in messages (`path (at rev)`). */
export interface Side {
  table: string
  shown: string
  columns: Column[]
}

export type Row = Record<string, Value>

export interface RowSample {
  count: number
  /** The first rows (by key, or by all columns without one), at most the limit. */
  rows: Row[]
}

export interface ModifiedRow {
  key: Row
  /** Only the shared columns whose values differ. */
  changes: Record<string, {old: Value; new: Value}>
}

export interface RowsDiff {
  schema: SchemaChange
  /** The columns both versions have: what rows are compared on. */
  compared: string[]
  rows: {old: number; new: number}
  added: RowSample
  removed: RowSample
  /** Only with a key. */
  modified?: {count: number; columns: Record<string, number>; rows: ModifiedRow[]}
  unchanged: number
}

const typeOf = (side: Side, name: string) => side.columns.find((c) => c.name === name)?.type as string

/**
 * Whether a shared column compares as it is. Differing numeric types compare as numbers; any
 * other change of type compares the text DuckDB prints, because DuckDB refuses (or guesses at)
 * comparing, say, a VARCHAR with a BIGINT.
 */
function asIs(name: string, a: Side, b: Side): boolean {
  const [ta, tb] = [typeOf(a, name), typeOf(b, name)]
  return ta === tb || (isNumeric(ta) && isNumeric(tb))
}

/** The expression to compare a shared column by, on the side under `alias` (a or b). */
function comparable(name: string, a: Side, b: Side, alias: 'a' | 'b'): string {
  const col = `${alias}.${ident(name)}`
  return asIs(name, a, b) ? col : `CAST(${col} AS VARCHAR)`
}

/** A condition on a shared column, `a` against `b`. */
const compare = (name: string, a: Side, b: Side, op: string) => `${comparable(name, a, b, 'a')} ${op} ${comparable(name, a, b, 'b')}`

/** A select list of `columns` of alias `alias`, made plain for output, under their own names. */
const plainList = (alias: string, columns: readonly Column[]) => columns.map((c) => `${plainExpr(`${alias}.${ident(c.name)}`, c.type)} AS ${ident(c.name)}`).join(', ')

const from = (side: Side, alias: string) => `${ident(side.table)} AS ${alias}`

/** A key must name columns of both versions, and identify every row of each: no nulls, no repeats. */
async function checkKey(engine: DataEngine, key: readonly string[], side: Side): Promise<void> {
  const names = side.columns.map((c) => c.name)
  const unknown = key.find((k) => !names.includes(k))
  if (unknown !== undefined) throw new InvalidFileError(side.shown, `no column ${JSON.stringify(unknown)} for the key (columns: ${names.join(', ')})`)
  const cols = key.map(ident)
  const shownKey = key.length === 1 ? key[0] : `(${key.join(', ')})`
  const nulls = await engine.count(`SELECT count(*) FROM ${ident(side.table)} WHERE ${cols.map((c) => `${c} IS NULL`).join(' OR ')}`)
  if (nulls > 0) throw new InvalidFileError(side.shown, `key ${shownKey} is null on ${nulls} row${nulls === 1 ? '' : 's'}; a key must identify every row`)
  const keyCols = key.map((k) => side.columns.find((c) => c.name === k) as Column)
  const [dup] = await engine.rows(
    `SELECT ${keyCols.map((c) => plainExpr(ident(c.name), c.type)).join(', ')}, count(*) AS n FROM ${ident(side.table)} GROUP BY ALL HAVING count(*) > 1 ORDER BY n DESC, ${keyCols.map((_, i) => i + 1).join(', ')} LIMIT 1`,
  )
  if (dup) {
    const value = key.map((k, i) => `${k}=${String(dup[i])}`).join(', ')
    throw new InvalidFileError(side.shown, `key ${shownKey} is not unique: ${String(dup[key.length])} rows have ${value}`)
  }
}

/** The first `limit` rows of `columns` (under `alias`) that `query` (a FROM ... clause) selects, in `order`. */
async function firstRows(engine: DataEngine, query: string, columns: readonly Column[], alias: string, order: string, limit: number): Promise<Row[]> {
  return limit === 0 ? [] : engine.objects(`SELECT ${plainList(alias, columns)} ${query} ORDER BY ${order} LIMIT ${limit}`)
}

/** Rows that `query` selects: how many, and the first `limit`. */
async function sample(engine: DataEngine, query: string, columns: readonly Column[], alias: string, order: string, limit: number): Promise<RowSample> {
  const count = await engine.count(`SELECT count(*) ${query}`)
  return {count, rows: count === 0 ? [] : await firstRows(engine, query, columns, alias, order, limit)}
}

async function keyedDiff(engine: DataEngine, a: Side, b: Side, key: readonly string[], compared: readonly string[], limit: number) {
  const on = key.map((k) => compare(k, a, b, '=')).join(' AND ')
  const others = compared.filter((c) => !key.includes(c))
  const differs = others.map((c) => compare(c, a, b, 'IS DISTINCT FROM'))
  const anyDiffers = differs.length > 0 ? `(${differs.join(' OR ')})` : 'false'
  // Every count in one pass over the FULL JOIN. Keys are never null (checkKey), so a null key
  // on one side means the row is only on the other.
  const [onlyB, onlyA] = [`a.${ident(key[0])} IS NULL`, `b.${ident(key[0])} IS NULL`]
  const both = `NOT ${onlyB} AND NOT ${onlyA}`
  const [counts] = await engine.rows(
    `SELECT count(*) FILTER (WHERE ${onlyB}), count(*) FILTER (WHERE ${onlyA}), count(*) FILTER (WHERE ${both} AND ${anyDiffers}), count(*) FILTER (WHERE ${both} AND NOT ${anyDiffers})` +
      differs.map((d) => `, count(*) FILTER (WHERE ${both} AND ${d})`).join('') +
      ` FROM ${from(a, 'a')} FULL JOIN ${from(b, 'b')} ON ${on}`,
  )
  const [added, removed, modified, unchanged, ...perColumn] = counts.map(Number)
  const byKey = (alias: string) => key.map((k) => `${alias}.${ident(k)}`).join(', ')
  const columns: Record<string, number> = {}
  others.forEach((c, i) => {
    if (perColumn[i] > 0) columns[c] = perColumn[i]
  })
  return {
    added: {count: added, rows: added ? await firstRows(engine, `FROM ${from(b, 'b')} ANTI JOIN ${from(a, 'a')} ON ${on}`, b.columns, 'b', byKey('b'), limit) : []},
    removed: {count: removed, rows: removed ? await firstRows(engine, `FROM ${from(a, 'a')} ANTI JOIN ${from(b, 'b')} ON ${on}`, a.columns, 'a', byKey('a'), limit) : []},
    modified: {count: modified, columns, rows: modified && limit ? await modifiedRows(engine, a, b, key, others, differs, `FROM ${from(a, 'a')} JOIN ${from(b, 'b')} ON ${on}`, limit) : []},
    unchanged,
  }
}

/** The first `limit` modified rows by key: the key (as the new version has it) and each changed column's old and new value. */
async function modifiedRows(engine: DataEngine, a: Side, b: Side, key: readonly string[], others: readonly string[], differs: readonly string[], matched: string, limit: number): Promise<ModifiedRow[]> {
  // Positional aliases: column names could clash with each other once prefixed.
  const select = [
    ...key.map((k, i) => `${plainExpr(`b.${ident(k)}`, typeOf(b, k))} AS k${i}`),
    ...others.flatMap((c, i) => [`${differs[i]} AS d${i}`, `${plainExpr(`a.${ident(c)}`, typeOf(a, c))} AS o${i}`, `${plainExpr(`b.${ident(c)}`, typeOf(b, c))} AS n${i}`]),
  ]
  const rows = await engine.objects(`SELECT ${select.join(', ')} ${matched} WHERE ${differs.join(' OR ')} ORDER BY ${key.map((k) => `b.${ident(k)}`).join(', ')} LIMIT ${limit}`)
  return rows.map((r) => {
    const changes: ModifiedRow['changes'] = {}
    others.forEach((c, i) => {
      if (r[`d${i}`] === true) changes[c] = {old: r[`o${i}`], new: r[`n${i}`]}
    })
    return {key: Object.fromEntries(key.map((k, i) => [k, r[`k${i}`]])), changes}
  })
}

async function setDiff(engine: DataEngine, a: Side, b: Side, compared: readonly string[], old: number, limit: number) {
  // No column in common: no row can be in both; every row is removed, and every row added.
  if (compared.length === 0) {
    const all = async (side: Side, alias: string) => sample(engine, `FROM ${from(side, alias)}`, side.columns, alias, 'ALL', limit)
    return {added: await all(b, 'b'), removed: await all(a, 'a'), unchanged: 0}
  }
  const side = (alias: 'a' | 'b') => `SELECT ${compared.map((c) => `${comparable(c, a, b, alias)} AS ${ident(c)}`).join(', ')} FROM ${from(alias === 'a' ? a : b, alias)}`
  const minus = (x: 'a' | 'b', y: 'a' | 'b') => `FROM (${side(x)} EXCEPT ALL ${side(y)}) AS d`
  // The compared values, named as in the file: text where the column changed type.
  const columns = (s: Side) => compared.map((c) => ({name: c, type: asIs(c, a, b) ? typeOf(s, c) : 'VARCHAR'}))
  const added = await sample(engine, minus('b', 'a'), columns(b), 'd', 'ALL', limit)
  const removed = await sample(engine, minus('a', 'b'), columns(a), 'd', 'ALL', limit)
  return {added, removed, unchanged: old - removed.count}
}

/** How the table `b` differs from `a`: schema, then rows added, removed and (with `key`) modified. */
export async function rowsDiff(engine: DataEngine, a: Side, b: Side, options: {key?: readonly string[]; limit?: number} = {}): Promise<RowsDiff> {
  const limit = options.limit ?? 10
  const schema = schemaChange(a.columns, b.columns)
  const compared = b.columns.filter((c) => a.columns.some((o) => o.name === c.name)).map((c) => c.name)
  const rows = {old: await engine.count(`SELECT count(*) FROM ${ident(a.table)}`), new: await engine.count(`SELECT count(*) FROM ${ident(b.table)}`)}
  const key = options.key ?? []
  if (key.length === 0) return {schema, compared, rows, ...(await setDiff(engine, a, b, compared, rows.old, limit))}
  await checkKey(engine, key, a)
  await checkKey(engine, key, b)
  return {schema, compared, rows, ...(await keyedDiff(engine, a, b, key, compared, limit))}
}
