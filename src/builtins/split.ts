/**
 * `dv split`: one tabular file cut into train/val/test Parquet files (names and ratios from the
 * command line), then checked for leakage between them, with a report of each split's rows and
 * class balance shaped as a metrics file.
 *
 * Methods (each row's split depends only on its own content and the thresholds, never on its
 * position in the file, except where noted):
 * - random: rows ordered by a seeded hash of their content (or of `key` columns) and cut at the
 *   cumulative ratios. Identical rows hash alike, so they always land in the same split. The same
 *   rows in any order give the same splits.
 * - stratified: the same, within each class of the `stratify` column, so every class is cut at the
 *   ratios: a split's share of a class is within one row of its ratio.
 * - group: rows ordered by a seeded hash of the `group` column, so all rows of a group share a
 *   position and land together; ratios are met to within one group's size (the report says what
 *   they came out as).
 * - chronological: rows ordered by the `time` column; the earliest go to the first split. Rows
 *   with the same time at a cut go to the earlier split.
 * A class (or the whole input) of n rows is cut after its ⌈n·c⌉-th row for each cumulative ratio
 * c; rows tied with that row (same hash, group or time) go with it.
 *
 * Within each output file rows keep their input order, and the same input, options and seed give
 * the same bytes: the output's hash is stable for dv's run-cache. The report has no time in it.
 *
 * Streaming: one pass computes each class's cut points (DuckDB keeps one 8-byte key per row for
 * that), one pass per split writes its rows, and the leakage check reads the written files once.
 * Nothing is renamed into place until the check passes; on any failure no output is left behind.
 */
import {mkdirSync, renameSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'

import {DataEngine, ident, isNumeric, literal, plainExpr, type Column} from '../data/engine.js'
import {DvError, InvalidFileError, UsageError} from '../errors.js'
import {writeFileAtomic} from '../util/atomic.js'
import {columnList, freshName, guard, openInput, requireColumn, shownPath, shownValue, Staging, writeRows, type Input} from './tabular.js'

export type SplitMethod = 'random' | 'stratified' | 'group' | 'chronological'

export interface SplitOptions {
  /** The input file (CSV, TSV, JSON lines or Parquet), relative to `cwd`. */
  input: string
  /** Where `<name>.parquet` is written for each split. */
  outDir: string
  /** Each split's share of the rows, in order: `'0.8,0.1,0.1'` or numbers (default 0.8, 0.1, 0.1); they must sum to 1. */
  ratios?: string | number[]
  /** The splits' names (default train, val, test for three ratios; train, test for two). */
  names?: string[]
  stratify?: string
  group?: string
  time?: string
  /** Columns whose values identify a row for the random and stratified methods (default: all). */
  key?: string[]
  /** The column whose class balance the report gives (default: `stratify`). */
  label?: string
  seed?: number
  /** Where to write the report (JSON). */
  report?: string
  /** Write the splits even when rows or groups are shared between them (a warning instead of an error). */
  allowLeakage?: boolean
  cwd?: string
}

export interface ClassBalance {
  rows: number
  /** The class's share of the split's rows. */
  share: number
}

export interface SplitReport {
  method: SplitMethod
  seed: number
  rows: number
  splits: Record<string, {rows: number; ratio: number; classes?: Record<string, ClassBalance>}>
  leakage: {duplicate_rows: number; shared_groups?: number}
}

export interface SplitResult {
  report: SplitReport
  /** The files written, by split name, as given (relative to `cwd` when under it). */
  outputs: Record<string, string>
  /** Leakage allowed by `allowLeakage`, one line each. */
  warnings: string[]
}

/** Fixed-point scale of the ratios: 18 decimals, exact, as DuckDB's DECIMAL(19, 18) holds them. */
const SCALE = 18
const ONE = 10n ** BigInt(SCALE)

/** A non-negative decimal number (`0.8`, `.1`, `1`, `1e-1`) as an integer scaled by 10^18, exactly; undefined if it is not one or is finer than that. */
function parseDecimal(text: string): bigint | undefined {
  const m = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim())
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return undefined
  const digits = (m[1] ?? '') + (m[2] ?? '')
  // The value is digits × 10^shift / 10^SCALE once scaled.
  const shift = Number(m[3] ?? 0) - (m[2] ?? '').length + SCALE
  if (shift >= 0) return BigInt(digits || '0') * 10n ** BigInt(shift)
  const kept = digits.slice(0, Math.max(0, digits.length + shift))
  if (/[1-9]/.test(digits.slice(kept.length))) return undefined
  return BigInt(kept || '0')
}

const decimalText = (v: bigint) => `${v / ONE}.${(v % ONE).toString().padStart(SCALE, '0')}`

export interface Ratios {
  values: number[]
  /** The cumulative ratio after each split but the last, as exact SQL DECIMAL literals. */
  cuts: string[]
}

/** Parses and checks `--ratios`: each above 0, summing to 1 within 1e-9. */
export function parseRatios(input: string | number[] = '0.8,0.1,0.1'): Ratios {
  const texts = typeof input === 'string' ? input.split(',') : input.map((n) => String(n))
  const scaled = texts.map((t) => {
    const v = parseDecimal(t)
    if (v === undefined) throw new UsageError(`--ratios: '${t.trim()}' is not a number with at most ${SCALE} decimals`)
    if (v === 0n) throw new UsageError(`--ratios: each ratio must be above 0, not '${t.trim()}'`)
    return v
  })
  if (scaled.length < 2) throw new UsageError(`--ratios needs at least two ratios (one per split), not ${scaled.length}`)
  const sum = scaled.reduce((a, b) => a + b, 0n)
  const off = sum > ONE ? sum - ONE : ONE - sum
  if (off > 10n ** BigInt(SCALE - 9)) throw new UsageError(`--ratios must sum to 1, not ${Number(decimalText(sum))} (${texts.map((t) => t.trim()).join(' + ')})`)
  const cuts: string[] = []
  let acc = 0n
  for (const v of scaled.slice(0, -1)) {
    acc += v
    cuts.push(`${decimalText(acc < ONE ? acc : ONE)}::DECIMAL(19, ${SCALE})`)
  }
  return {values: scaled.map((v) => Number(decimalText(v))), cuts}
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/

/** The splits' names: given (one per ratio, unique, plain file names) or the usual ones. */
export function splitNames(count: number, names?: string[]): string[] {
  if (!names || names.length === 0) {
    if (count === 2) return ['train', 'test']
    if (count === 3) return ['train', 'val', 'test']
    throw new UsageError(`--names is needed for ${count} splits (train,val,test is the default for three ratios, train,test for two)`)
  }
  if (names.length !== count) throw new UsageError(`--names gives ${names.length} names for ${count} ratios; give one name per ratio`)
  const seen = new Set<string>()
  for (const n of names) {
    if (!NAME.test(n)) throw new UsageError(`--names: '${n}' is not a plain file name (letters, digits, '_', '-' and '.')`)
    if (seen.has(n.toLowerCase())) throw new UsageError(`--names: '${n}' is given twice`)
    seen.add(n.toLowerCase())
  }
  return names
}

/** Which method the options ask for; more than one of stratify, group and time is an error. */
export function splitMethod(o: Pick<SplitOptions, 'stratify' | 'group' | 'time' | 'key'>): SplitMethod {
  const given = (['stratify', 'group', 'time'] as const).filter((k) => o[k] !== undefined)
  if (given.length > 1) throw new UsageError(`--${given.join(' and --')} cannot be combined: pick one way to split`)
  if (o.key?.length && (o.group !== undefined || o.time !== undefined)) throw new UsageError('--key applies to random and stratified splits, not with --group or --time')
  return o.stratify !== undefined ? 'stratified' : o.group !== undefined ? 'group' : o.time !== undefined ? 'chronological' : 'random'
}

const TIME_TYPES = /^(DATE|TIME|TIMESTAMP.*|TIME WITH TIME ZONE)$/

/** The ordering key of the chronological split: the column itself, or text parsed as timestamps (each must parse). */
async function timeKey(engine: DataEngine, input: Input, column: Column): Promise<string> {
  const col = ident(column.name)
  let key = col
  if (column.type === 'VARCHAR') {
    key = `TRY_CAST(${col} AS TIMESTAMP)`
    const [bad] = await engine.objects(
      `SELECT count(*) AS n, arg_min(${col}, ${ident(input.rn)}) AS v, min(${ident(input.rn)}) AS r FROM ${ident(input.numbered)} WHERE ${col} IS NOT NULL AND ${key} IS NULL`,
    )
    if (Number(bad.n) > 0) {
      throw new InvalidFileError(input.shown, `column '${column.name}' (--time): ${bad.n} value${Number(bad.n) === 1 ? ' is' : 's are'} not a date or time, e.g. ${shownValue(bad.v)} (row ${Number(bad.r) + 1})`)
    }
  } else if (!TIME_TYPES.test(column.type) && !isNumeric(column.type)) {
    throw new InvalidFileError(input.shown, `column '${column.name}' (--time) holds ${column.type}, not dates, times or numbers`)
  }
  const [nulls] = await engine.objects(`SELECT count(*) AS n, min(${ident(input.rn)}) AS r FROM ${ident(input.numbered)} WHERE ${col} IS NULL`)
  if (Number(nulls.n) > 0) {
    throw new InvalidFileError(input.shown, `column '${column.name}' (--time): ${nulls.n} row${Number(nulls.n) === 1 ? ' has' : 's have'} no time, e.g. row ${Number(nulls.r) + 1}; a chronological split needs one on every row`)
  }
  return key
}

/** The leakage found in written splits: counts and a few examples, each a short phrase. */
export interface Leakage {
  duplicateRows: number
  duplicateExamples: string[]
  sharedGroups?: number
  groupExamples: string[]
}

const EXAMPLES = 5

/**
 * The view `__dv_parts`: the rows of every part, each with the index of its part in a column
 * (named `s`, a name no column of the parts has).
 */
export async function unionParts(engine: DataEngine, parts: Array<{file: string}>): Promise<{columns: Column[]; s: string}> {
  const columns = (await engine.rows(`DESCRIBE SELECT * FROM read_parquet(${literal(parts[0].file)})`)).map(([name, type]) => ({name: String(name), type: String(type)}))
  const s = freshName('__dv_s', columns)
  const union = parts.map((p, i) => `SELECT *, ${i} AS ${ident(s)} FROM read_parquet(${literal(p.file)})`).join(' UNION ALL BY NAME ')
  await engine.run(`CREATE OR REPLACE TEMP VIEW __dv_parts AS ${union}`)
  return {columns, s}
}

/**
 * Rows with identical values in every column that are in more than one of `parts` (files with
 * the same columns), and with `group`, group keys found in more than one. Rows are compared by a
 * hash first, and the few candidates then by their values, so the count is exact.
 */
export async function findLeakage(engine: DataEngine, parts: Array<{name: string; file: string}>, group?: string): Promise<Leakage> {
  const {columns, s} = await unionParts(engine, parts)
  const h = freshName('__dv_h', columns)
  const all = `hash(${columnList(columns)})`
  const nameOf = (ss: unknown) => String(ss).split(',').map((i) => parts[Number(i)].name).join(', ')
  await engine.run(`CREATE OR REPLACE TEMP TABLE __dv_shared AS SELECT ${h} FROM (SELECT ${all} AS ${h}, ${ident(s)} FROM __dv_parts) GROUP BY ${h} HAVING min(${ident(s)}) <> max(${ident(s)})`)
  let duplicateRows = 0
  const duplicateExamples: string[] = []
  if ((await engine.count('SELECT count(*) FROM __dv_shared')) > 0) {
    // Candidates by hash, confirmed by comparing the values themselves.
    await engine.run(
      `CREATE OR REPLACE TEMP TABLE __dv_dups AS SELECT ${columnList(columns)}, array_to_string(list_sort(list(DISTINCT ${ident(s)})), ',') AS ${ident(s)} FROM __dv_parts ` +
        `WHERE ${all} IN (SELECT ${h} FROM __dv_shared) GROUP BY ALL HAVING count(DISTINCT ${ident(s)}) > 1`,
    )
    duplicateRows = await engine.count('SELECT count(*) FROM __dv_dups')
    const select = columns.map((c, i) => `${plainExpr(ident(c.name), c.type)} AS c${i}`).join(', ')
    for (const r of await engine.rows(`SELECT ${select}, ${ident(s)} FROM __dv_dups ORDER BY ${all} LIMIT ${EXAMPLES}`)) {
      const row = JSON.stringify(Object.fromEntries(columns.map((c, i) => [c.name, r[i]])))
      duplicateExamples.push(`${row.length > 200 ? `${row.slice(0, 200)}...` : row} in ${nameOf(r[columns.length])}`)
    }
  }
  let sharedGroups: number | undefined
  const groupExamples: string[] = []
  if (group !== undefined) {
    const g = ident(group)
    const type = columns.find((c) => c.name === group)?.type ?? 'VARCHAR'
    const shared = `SELECT ${g}, array_to_string(list_sort(list(DISTINCT ${ident(s)})), ',') AS ss FROM __dv_parts GROUP BY ${g} HAVING count(DISTINCT ${ident(s)}) > 1`
    sharedGroups = await engine.count(`SELECT count(*) FROM (${shared})`)
    if (sharedGroups > 0) {
      for (const [v, ss] of await engine.rows(`SELECT ${plainExpr(g, type)}, ss FROM (${shared}) ORDER BY ${g} NULLS FIRST LIMIT ${EXAMPLES}`)) {
        groupExamples.push(`${shownValue(v)} in ${nameOf(ss)}`)
      }
    }
  }
  return {duplicateRows, duplicateExamples, sharedGroups, groupExamples}
}

/** The leakage as one line, for an error or a warning. */
export function leakageMessage(leak: Leakage, group?: string): string {
  const parts: string[] = []
  if (leak.duplicateRows > 0) {
    parts.push(`${leak.duplicateRows} identical row${leak.duplicateRows === 1 ? ' is' : 's are'} in more than one split (e.g. ${leak.duplicateExamples.join('; ')})`)
  }
  if (leak.sharedGroups) {
    parts.push(`${leak.sharedGroups} group${leak.sharedGroups === 1 ? '' : 's'} of '${group}' ${leak.sharedGroups === 1 ? 'is' : 'are'} in more than one split (e.g. ${leak.groupExamples.join('; ')})`)
  }
  return parts.join('; and ')
}

/** Above this many classes a stratified split finds each row's cut points by a join (then sorts the rows back into input order). */
export const MAX_LOOKUP_CLASSES = 1024

const share = (n: number, of: number) => (of === 0 ? 0 : Number((n / of).toFixed(6)))

/** Splits `o.input` into `o.outDir/<name>.parquet`; see the file comment for the methods and guarantees. */
export async function split(o: SplitOptions): Promise<SplitResult> {
  const cwd = o.cwd ?? process.cwd()
  const method = splitMethod(o)
  const ratios = parseRatios(o.ratios)
  const names = splitNames(ratios.values.length, o.names)
  const seed = o.seed ?? 0
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be a whole number, not ${seed}`)
  const outDir = resolve(cwd, o.outDir)
  const finals = names.map((n) => join(outDir, `${n}.parquet`))

  const engine = await DataEngine.open()
  let staging: Staging | undefined
  let failed = true
  try {
    staging = new Staging(outDir)
    const input = await openInput(engine, resolve(cwd, o.input), o.input, staging)
    const view = ident(input.view)
    for (const [flag, name] of [['stratify', o.stratify], ['group', o.group], ['time', o.time], ['label', o.label]] as const) {
      if (name !== undefined) requireColumn(input, name, `--${flag}`)
    }
    for (const k of o.key ?? []) requireColumn(input, k, '--key')
    const label = o.label ?? o.stratify

    // The ordering key of each row, and the rows' partition (the class, for a stratified split).
    const seedMix = `hash(${seed}::BIGINT)`
    const mixed = (h: string) => `hash(xor(${h}, ${seedMix}))`
    let key: string
    if (method === 'chronological') key = await timeKey(engine, input, requireColumn(input, o.time!, '--time'))
    else if (method === 'group') key = mixed(`hash(${ident(o.group!)})`)
    else key = mixed(`hash(${o.key?.length ? o.key.map(ident).join(', ') : columnList(input.columns)})`)

    // Cut points: for each cumulative ratio c, the key of the ⌈n·c⌉-th row in key order
    // (quantile_disc, exact with DECIMAL fractions). A row goes to the first split whose cut
    // point is at or above its key.
    const cuts = `[${ratios.cuts.join(', ')}]`
    // The cut points live in session variables, which a query reads as constants. (A scalar
    // subquery would do, but DuckDB plans it as a join, and a join does not keep the input's
    // order: the output's bytes would change from run to run.)
    const k = freshName('__dv_k', input.columns)
    const t = freshName('__dv_t', input.columns)
    const which = `CASE ${ratios.cuts.map((_, i) => `WHEN ${ident(k)} <= ${ident(t)}[${i + 1}] THEN ${i}`).join(' ')} ELSE ${names.length - 1} END`
    /** The rows of split `i`, in input order. */
    let splitRows: (i: number) => string
    if (method === 'stratified') {
      const p = ident(o.stratify!)
      await guard(input.shown, () => engine.run(`CREATE OR REPLACE TEMP TABLE __dv_classes AS SELECT ${p} AS p, quantile_disc(${key}, ${cuts}) AS t FROM ${view} GROUP BY ${p}`))
      const classes = await engine.count('SELECT count(*) FROM __dv_classes')
      if (classes <= MAX_LOOKUP_CLASSES) {
        // Each class's cut points found per row in O(1), in a list indexed by a hash of the
        // class: without collisions where a salt and a list size up to 4096 give none (a few
        // dozen classes), else in short lists of (class, cut points) per hash bucket. (A MAP
        // lookup would scan every key; and the whole list is copied for each batch of rows,
        // hence the limits.)
        const nextPow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)))
        let perfect: {buckets: number; salt: number} | undefined = classes === 0 ? {buckets: 1, salt: 0} : undefined
        for (let b = nextPow2(2 * classes); b <= 4096 && !perfect; b *= 2) {
          const [[salt]] = await engine.rows(
            `SELECT min(salt) FROM (SELECT salt FROM range(32) s(salt), __dv_classes WHERE p IS NOT NULL GROUP BY salt HAVING count(DISTINCT hash(p, salt) % ${b}) = count(*))`,
          )
          if (salt !== null) perfect = {buckets: b, salt: Number(salt)}
        }
        await engine.run('SET VARIABLE __dv_null_cuts = (SELECT t FROM __dv_classes WHERE p IS NULL)')
        let lookup: string
        if (perfect) {
          const bucket = (v: string) => `(hash(${v}, ${perfect.salt}::BIGINT) % ${perfect.buckets})::BIGINT`
          await engine.run(
            `SET VARIABLE __dv_lookup = (SELECT list(t ORDER BY b) FROM range(${perfect.buckets}) r(b) ` +
              `LEFT JOIN (SELECT ${bucket('p')} AS b, t FROM __dv_classes WHERE p IS NOT NULL) USING (b))`,
          )
          lookup = `getvariable('__dv_lookup')[${bucket(p)} + 1]`
        } else {
          const buckets = nextPow2(2 * classes)
          const bucket = (v: string) => `(hash(${v}) % ${buckets})::BIGINT`
          await engine.run(
            `SET VARIABLE __dv_lookup = (SELECT list(coalesce(e, []) ORDER BY b) FROM range(${buckets}) r(b) ` +
              `LEFT JOIN (SELECT ${bucket('p')} AS b, list({'k': p, 't': t}) AS e FROM __dv_classes WHERE p IS NOT NULL GROUP BY 1) USING (b))`,
          )
          lookup = `list_filter(getvariable('__dv_lookup')[${bucket(p)} + 1], lambda __dv_e: __dv_e.k = ${p})[1].t`
        }
        const thresholds = `CASE WHEN ${p} IS NULL THEN getvariable('__dv_null_cuts') ELSE ${lookup} END`
        const keyed = `SELECT *, ${key} AS ${ident(k)}, ${thresholds} AS ${ident(t)} FROM ${view}`
        splitRows = (i) => `SELECT ${columnList(input.columns)} FROM (${keyed}) WHERE ${which} = ${i}`
      } else {
        // Many classes: a join, and the input's order restored by sorting on the row's position
        // (DuckDB sorts larger-than-memory data on disk).
        const rn = ident(input.rn)
        const keyed = `SELECT __dv_in.*, ${key} AS ${ident(k)}, __dv_c.t AS ${ident(t)} FROM ${ident(input.numbered)} __dv_in JOIN __dv_classes __dv_c ON __dv_in.${p} IS NOT DISTINCT FROM __dv_c.p`
        splitRows = (i) => `SELECT ${columnList(input.columns)} FROM (${keyed}) WHERE ${which} = ${i} ORDER BY ${rn}`
      }
    } else {
      await guard(input.shown, () => engine.run(`SET VARIABLE __dv_cuts = (SELECT quantile_disc(${key}, ${cuts}) FROM ${view})`))
      const keyed = `SELECT *, ${key} AS ${ident(k)}, getvariable('__dv_cuts') AS ${ident(t)} FROM ${view}`
      splitRows = (i) => `SELECT ${columnList(input.columns)} FROM (${keyed}) WHERE ${which} = ${i}`
    }

    // One pass per split.
    const parts = names.map((name) => ({name, file: staging!.path(`${name}.parquet`)}))
    for (const [i, part] of parts.entries()) {
      await guard(input.shown, () => writeRows(engine, splitRows(i), part.file), [input.parquet])
    }

    // Leakage, on the files as written.
    const leak = await findLeakage(engine, parts, o.group)
    const warnings: string[] = []
    if (leak.duplicateRows > 0 || leak.sharedGroups) {
      const message = `${input.shown}: the splits leak: ${leakageMessage(leak, o.group)}`
      if (!o.allowLeakage) throw new DvError('ELEAKAGE', `${message} (--allow-leakage writes them anyway)`)
      warnings.push(message)
    }

    // Rows and class balance per split.
    const {s} = await unionParts(engine, parts)
    const counts = await engine.rows(`SELECT ${ident(s)}, count(*) FROM __dv_parts GROUP BY 1`)
    const rowsOf = new Map(counts.map(([i, n]) => [Number(i), Number(n)]))
    const splits: SplitReport['splits'] = {}
    for (const [i, name] of names.entries()) {
      const n = rowsOf.get(i) ?? 0
      splits[name] = {rows: n, ratio: share(n, input.rows)}
    }
    if (label !== undefined) {
      const column = requireColumn(input, label, '--label')
      const cls = `coalesce(CAST(${ident(column.name)} AS VARCHAR), 'null')`
      const rows = await engine.rows(`SELECT ${ident(s)}, ${cls} AS c, count(*) FROM __dv_parts GROUP BY ALL`)
      const byName = new Map<number, Array<[string, number]>>()
      for (const [i, c, n] of rows) {
        const list = byName.get(Number(i)) ?? []
        list.push([String(c), Number(n)])
        byName.set(Number(i), list)
      }
      const allClasses = [...new Set(rows.map((r) => String(r[1])))].sort()
      for (const [i, name] of names.entries()) {
        const found = new Map(byName.get(i) ?? [])
        splits[name].classes = Object.fromEntries(allClasses.map((c) => [c, {rows: found.get(c) ?? 0, share: share(found.get(c) ?? 0, splits[name].rows)}]))
      }
    }
    const report: SplitReport = {
      method,
      seed,
      rows: input.rows,
      splits,
      leakage: {duplicate_rows: leak.duplicateRows, ...(leak.sharedGroups === undefined ? {} : {shared_groups: leak.sharedGroups})},
    }

    // All checks passed: into place, then the report.
    for (const [i, part] of parts.entries()) renameSync(part.file, finals[i])
    if (o.report !== undefined) {
      const path = resolve(cwd, o.report)
      mkdirSync(dirname(path), {recursive: true})
      writeFileAtomic(path, JSON.stringify(report, null, 2) + '\n')
    }
    failed = false
    return {report, outputs: Object.fromEntries(names.map((n, i) => [n, shownPath(finals[i], cwd)])), warnings}
  } finally {
    staging?.dispose(failed)
    engine.close()
  }
}
