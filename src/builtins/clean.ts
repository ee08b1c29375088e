/**
 * `dv clean`: one tabular file checked and cleaned by rules (a schema file and flags, see
 * clean-rules.ts), written as one file, with a report of the rows each rule removed or fixed
 * shaped as a metrics file.
 *
 * The rules apply in a fixed order, each to the rows the ones before it kept, so each row removed
 * is counted once, under the first rule that removed it, and rows_in - sum(removed) = rows_out:
 *   type       a value that does not parse as its column's declared type (the row is removed)
 *   nulls      per column policy: drop removes the row, fill replaces the null (counted under
 *              `fixed`), fail fails the stage, keep (the default) does nothing
 *   required   a null left in a required column
 *   range      a value below `min` or above `max`
 *   allowed    a value not in `allowed`
 *   regex      a value (as text) in which the regular expression finds no match
 *   duplicates a row equal in every column (after the fixes above) to an earlier one
 *   outliers   a value beyond k interquartile ranges from the quartiles (iqr) or k standard
 *              deviations from the mean (zscore), bounds taken over the rows the rules above kept
 * A rule in `failOn` that finds anything fails the stage instead, naming the rule, the column,
 * the count and the first example; nothing is written then.
 *
 * DuckDB does the work in a few streaming passes (counts, then duplicates, then outlier bounds,
 * then the output); rows keep their input order, and the same input and rules give the same
 * bytes. The report has no time in it.
 */
import {mkdirSync, readFileSync, renameSync} from 'node:fs'
import {basename, dirname, resolve} from 'node:path'

import {DataEngine, formatOf, ident, isNumeric, literal, plainExpr, TABULAR_EXTENSIONS, type Column} from '../data/engine.js'
import {DvError, UsageError} from '../errors.js'
import {writeFileAtomic} from '../util/atomic.js'
import {cleanRules, parseFailOn, parseSchema, ruleError, RULES, TYPES, type CleanRules, type ColumnRules, type NullPolicy, type Rule, type RuleFlags, type Scalar, type Where} from './clean-rules.js'
import {duckdbReason, guard, openInput, requireColumn, shownPath, shownValue, Staging, writeRows, type Input} from './tabular.js'

export interface CleanOptions extends RuleFlags {
  /** The input file (CSV, TSV, JSON lines or Parquet), relative to `cwd`. */
  input: string
  /** The output file; its extension picks the format (.parquet, .csv, .tsv, .jsonl). */
  out: string
  /** A schema file (YAML) with the rules. */
  schema?: string
  /** Rules (names, comma lists, or `any`) that fail the stage when they find anything. */
  failOn?: string[]
  /** Where to write the report (JSON). */
  report?: string
  cwd?: string
}

export interface CleanReport {
  rows_in: number
  rows_out: number
  /** Rows each rule removed, for the rules in use, in the order they apply. */
  removed: Partial<Record<Rule, number>>
  /** Rows each rule fixed: `nulls`, rows with at least one null filled. */
  fixed: {nulls?: number}
  /** Per column with rules: the rows each rule removed (or `filled`) because of that column. */
  columns: Record<string, Record<string, number>>
}

export interface CleanResult {
  report: CleanReport
  /** The file written, as given (relative to `cwd` when under it). */
  output: string
}

/** A rule in `--fail-on` (or a column's `nulls: fail`) found something. */
export class RuleFailedError extends DvError {
  constructor(message: string) {
    super('ERULE', message)
  }
}

const INTEGER = /^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/

/** What the passes need to know about one input column. */
interface Plan {
  column: Column
  /** Position among the input's columns: internal columns are named o<i> (as read), v<i> (typed), f<i> (filled). */
  i: number
  rules?: ColumnRules
  /** The output type: the declared one, else the input's. */
  type: string
  /** SQL: the value does not parse as the declared type (given it is not null); undefined when there is nothing to check. */
  bad?: string
  nulls: NullPolicy
  /** SQL: the fill value, cast to the column's type. */
  fill?: string
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** A rule's value as SQL of type `type`, or an error pointing at where the rule was given. */
async function typedLiteral(engine: DataEngine, value: Scalar, type: string, where: Where | undefined, what: string): Promise<string> {
  const sql = `CAST(${literal(String(value))} AS ${type})`
  const ok = await engine.count(`SELECT count(*) FROM (SELECT TRY_CAST(${literal(String(value))} AS ${type}) AS x) WHERE x IS NOT NULL`)
  if (!ok) throw ruleError(where, `${what}: '${String(value)}' is not a valid ${type}`)
  return sql
}

/** Cleans `o.input` into `o.out` by the rules of `o.schema` and the flags; see the file comment. */
export async function clean(o: CleanOptions): Promise<CleanResult> {
  const cwd = o.cwd ?? process.cwd()
  const failOn = parseFailOn(o.failOn)
  const outFormat = formatOf(o.out)
  if (!outFormat) throw new UsageError(`-o ${o.out}: dv clean writes ${TABULAR_EXTENSIONS.join(', ')} files (by extension)`)
  let schema: CleanRules | undefined
  if (o.schema !== undefined) {
    let text: string
    try {
      text = readFileSync(resolve(cwd, o.schema), 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new DvError('ENOENT', `${o.schema}: no such file or directory`)
      throw error
    }
    schema = parseSchema(text, o.schema)
  }
  const rules = cleanRules(schema, o)
  const out = resolve(cwd, o.out)

  const engine = await DataEngine.open()
  let staging: Staging | undefined
  let failed = true
  try {
    staging = new Staging(dirname(out))
    const input = await openInput(engine, resolve(cwd, o.input), o.input, staging)
    const plans = await planColumns(engine, input, rules)
    const written = staging.path(basename(out))
    const result = await run(engine, input, plans, rules, failOn, written, outFormat)
    renameSync(written, out)
    if (o.report !== undefined) {
      const path = resolve(cwd, o.report)
      mkdirSync(dirname(path), {recursive: true})
      writeFileAtomic(path, JSON.stringify(result, null, 2) + '\n')
    }
    failed = false
    return {report: result, output: shownPath(out, cwd)}
  } finally {
    staging?.dispose(failed)
    engine.close()
  }
}

/** Checks the rules against the input's columns and turns each column's rules into SQL pieces. */
async function planColumns(engine: DataEngine, input: Input, rules: CleanRules): Promise<Plan[]> {
  for (const c of rules.columns) {
    const where = c.where.column
    requireColumn(input, c.name, where?.file ? `the schema ${where.file}${where.line ? `:${where.line}` : ''} declares it` : `${where?.flag ?? 'a rule'} names it`)
  }
  const plans: Plan[] = []
  for (const [i, column] of input.columns.entries()) {
    const r = rules.columns.find((c) => c.name === column.name)
    const type = r?.type ? TYPES[r.type] : column.type
    const plan: Plan = {column, i, rules: r, type, nulls: r?.nulls ?? rules.nulls ?? 'keep'}
    if (r?.type && type !== column.type) {
      const d = `TRY_CAST(o${i} AS DOUBLE)`
      // DuckDB rounds '1.5' to 2 when it casts to an integer; a whole number is asked for.
      plan.bad = type === 'BIGINT' && !INTEGER.test(column.type) ? `(v${i} IS NULL OR coalesce(${d} <> trunc(${d}), true))` : `v${i} IS NULL`
    }
    if (plan.nulls === 'fill') {
      const value = r?.fill ?? rules.fill!
      const where = r?.fill !== undefined ? r.where.fill : rules.where.fill
      plan.fill = await typedLiteral(engine, value, type, where, `column '${column.name}': fill`)
    }
    if (r?.regex !== undefined) {
      try {
        await engine.run(`SELECT regexp_matches('', ${literal(r.regex)})`)
      } catch (error) {
        throw ruleError(r.where.regex, `column '${column.name}': regex ${shownValue(r.regex)} is not a valid regular expression: ${duckdbReason((error as Error).message)}`)
      }
    }
    if (r?.outliers && !isNumeric(type)) throw ruleError(r.where.outliers, `column '${column.name}' holds ${type}: outliers are found in numbers only`)
    plans.push(plan)
  }
  return plans
}

interface Count {
  alias: string
  sql: string
}

async function run(engine: DataEngine, input: Input, plans: Plan[], rules: CleanRules, failOn: Set<Rule>, out: string, outFormat: NonNullable<ReturnType<typeof formatOf>>): Promise<CleanReport> {
  const shown = input.shown
  const fail = (rule: Rule, column: string | undefined, detail: string): never => {
    throw new RuleFailedError(`${shown}: rule '${rule}' failed${column === undefined ? '' : ` on column '${column}'`}: ${detail}`)
  }

  // Views: __dv_l1 has each column as read (o<i>) and typed (v<i>); __dv_l2 adds the filled
  // values (f<i>) and one flag per column and rule (<kind><i>); then, per rule, whether the rules
  // before it kept the row (k_<rule>) and whether the row breaks it (x_<rule>), up to __dv_rows.
  // Internal names never meet the input's: its columns are all renamed in __dv_l1.
  const l1 = plans.map((p) => `${ident(p.column.name)} AS o${p.i}, ${p.rules?.type && p.type !== p.column.type ? `TRY_CAST(${ident(p.column.name)} AS ${p.type})` : ident(p.column.name)} AS v${p.i}`)
  const flags: Record<string, string[]> = {type: [], nullsFail: [], nulls: [], filled: [], required: [], range: [], allowed: [], regex: []}
  const l2: string[] = plans.map((p) => `${p.fill ? `coalesce(v${p.i}, ${p.fill})` : `v${p.i}`} AS f${p.i}`)
  const flag = (kind: string, p: Plan, sql: string) => {
    l2.push(`${sql} AS ${kind}${p.i}`)
    flags[kind].push(`${kind}${p.i}`)
  }
  const ruleOf: Record<string, Rule> = {type: 'type', nullsFail: 'nulls', nulls: 'nulls', filled: 'nulls', required: 'required', range: 'range', allowed: 'allowed', regex: 'regex'}
  for (const p of plans) {
    const r = p.rules
    const f = `f${p.i}`
    if (p.bad) flag('type', p, `(o${p.i} IS NOT NULL AND ${p.bad})`)
    if (p.nulls === 'fail') flag('nullsFail', p, `(v${p.i} IS NULL)`)
    if (p.nulls === 'drop') flag('nulls', p, `(v${p.i} IS NULL)`)
    if (p.nulls === 'fill') flag('filled', p, `(v${p.i} IS NULL)`)
    if (r?.required) flag('required', p, `(${f} IS NULL)`)
    if (r && (r.min !== undefined || r.max !== undefined)) {
      for (const key of ['min', 'max'] as const) {
        // Text compares as text: '-1' < '-10'. A number for a bound asks for numbers.
        if (typeof r[key] === 'number' && !isNumeric(p.type)) {
          throw ruleError(r.where[key], `column '${p.column.name}': ${key} is a number but the column holds ${p.type}; declare its type (type: integer or double)`)
        }
      }
      const parts: string[] = []
      if (r.min !== undefined) parts.push(`${f} < ${await typedLiteral(engine, r.min, p.type, r.where.min, `column '${p.column.name}': min`)}`)
      if (r.max !== undefined) parts.push(`${f} > ${await typedLiteral(engine, r.max, p.type, r.where.max, `column '${p.column.name}': max`)}`)
      flag('range', p, `coalesce(${parts.join(' OR ')}, false)`)
    }
    if (r?.allowed) {
      const values = []
      for (const v of r.allowed) values.push(await typedLiteral(engine, v, p.type, r.where.allowed, `column '${p.column.name}': allowed`))
      flag('allowed', p, `coalesce(${f} NOT IN (${values.join(', ')}), false)`)
    }
    if (r?.regex !== undefined) flag('regex', p, `coalesce(NOT regexp_matches(CAST(${f} AS VARCHAR), ${literal(r.regex)}), false)`)
  }
  const any = (kind: string) => (flags[kind].length ? `(${flags[kind].join(' OR ')})` : 'false')
  // The row-level rules in order; each keeps the rows the ones before it kept.
  const stages = ['type', 'nulls', 'required', 'range', 'allowed', 'regex'] as const
  await engine.run(`CREATE OR REPLACE TEMP VIEW __dv_l1 AS SELECT ${ident(input.rn)} AS rn, ${l1.join(', ')} FROM ${ident(input.numbered)}`)
  await engine.run(`CREATE OR REPLACE TEMP VIEW __dv_l2 AS SELECT *, ${l2.join(', ')} FROM __dv_l1`)
  // A view cannot refer to its own columns: k_<s> comes from x_<s-1> of the same row, so one view per stage.
  let from = '__dv_l2'
  for (const [j, s] of stages.entries()) {
    const prev = j === 0 ? 'true' : `k_${stages[j - 1]} AND NOT x_${stages[j - 1]}`
    await engine.run(`CREATE OR REPLACE TEMP VIEW __dv_k_${s} AS SELECT *, ${prev} AS k_${s}, ${any(s)} AS x_${s} FROM ${from}`)
    from = `__dv_k_${s}`
  }
  await engine.run(`CREATE OR REPLACE TEMP VIEW __dv_rows AS SELECT *, k_regex AND NOT x_regex AS k_duplicates FROM ${from}`)

  // Pass 1: the row-level rules' counts, per rule and per column.
  const counts: Count[] = [{alias: 'rows_in', sql: 'count(*)'}]
  for (const kind of Object.keys(flags)) {
    const stage = kind === 'nullsFail' ? 'nulls' : kind === 'filled' ? 'required' : kind
    if (flags[kind].length === 0) continue
    const k = `k_${stage}`
    counts.push({alias: `all_${kind}`, sql: `count(*) FILTER (WHERE ${k} AND ${any(kind)})`})
    for (const name of flags[kind]) counts.push({alias: name, sql: `count(*) FILTER (WHERE ${k} AND ${name})`})
  }
  const [got] = await guard(shown, () => engine.objects(`SELECT ${counts.map((c) => `${c.sql} AS ${c.alias}`).join(', ')} FROM __dv_rows`), [input.parquet])
  const n = (alias: string) => Number(got[alias] ?? 0)
  const rowsIn = n('rows_in')

  /** The first row (in file order) matching `where`, with `value` (a plain SQL value). */
  const first = async (where: string, value: string): Promise<{row: number; value: unknown}> => {
    const [r] = await engine.rows(`SELECT rn, ${value} FROM __dv_rows WHERE ${where} ORDER BY rn LIMIT 1`)
    return {row: Number(r[0]) + 1, value: r[1]}
  }
  const describe = (kind: string, p: Plan, count: number): string => {
    const r = p.rules
    switch (kind) {
      case 'type':
        return `${plural(count, 'value')} that ${count === 1 ? 'is' : 'are'} not ${r?.type === 'integer' || r?.type === 'int' ? 'an' : 'a'} ${r?.type}`
      case 'nullsFail':
      case 'nulls':
      case 'filled':
        return `${plural(count, 'null')} (nulls: ${p.nulls})`
      case 'required':
        return `${plural(count, 'null')} in a required column`
      case 'range':
        return `${plural(count, 'value')} outside ${r?.min === undefined ? `(max ${r?.max})` : r?.max === undefined ? `(min ${r?.min})` : `[${r.min}, ${r.max}]`}`
      case 'allowed':
        return `${plural(count, 'value')} not in [${r?.allowed?.join(', ')}]`
      default:
        return `${plural(count, 'value')} that do${count === 1 ? 'es' : ''} not match ${shownValue(r?.regex)}`
    }
  }
  // Failures, in rule order: a column's nulls: fail always, the others when --fail-on names them.
  for (const kind of ['type', 'nullsFail', 'nulls', 'filled', 'required', 'range', 'allowed', 'regex']) {
    const rule = ruleOf[kind]
    if (kind !== 'nullsFail' && !failOn.has(rule)) continue
    const stage = kind === 'nullsFail' ? 'nulls' : kind === 'filled' ? 'required' : kind
    for (const name of flags[kind]) {
      if (n(name) === 0) continue
      const p = plans[Number(name.replace(/^\D+/, ''))]
      const example = await first(`k_${stage} AND ${name}`, kind === 'type' ? plainExpr(`o${p.i}`, p.column.type) : plainExpr(`f${p.i}`, p.type))
      const e = kind === 'type' || kind === 'range' || kind === 'allowed' || kind === 'regex' ? `e.g. ${shownValue(example.value)} (row ${example.row})` : `e.g. row ${example.row}`
      fail(rule, p.column.name, `${describe(kind, p, n(name))}, ${e}`)
    }
  }

  const removed: Partial<Record<Rule, number>> = {}
  const columns: Record<string, Record<string, number>> = {}
  const perColumn = (p: Plan, key: string, count: number) => {
    columns[p.column.name] ??= {}
    columns[p.column.name][key] = count
  }
  for (const kind of ['type', 'nulls', 'filled', 'required', 'range', 'allowed', 'regex']) {
    if (flags[kind].length === 0) continue
    if (kind !== 'filled') removed[ruleOf[kind]] = n(`all_${kind}`)
    for (const name of flags[kind]) perColumn(plans[Number(name.replace(/^\D+/, ''))], kind, n(name))
  }
  const fixed: CleanReport['fixed'] = flags.filled.length ? {nulls: n('all_filled')} : {}
  let rowsLeft = rowsIn - stages.reduce((sum, s) => sum + (flags[s].length ? n(`all_${s}`) : 0), 0)

  // Pass 2: duplicates, by a hash of the row first, then comparing the values of the candidates.
  const values = plans.map((p) => `f${p.i}`).join(', ')
  let keptRows = 'k_duplicates'
  let reordered = false
  if (rules.duplicates) {
    await guard(shown, () => engine.run(`CREATE OR REPLACE TEMP TABLE __dv_dupcand AS SELECT h FROM (SELECT hash(${values}) AS h FROM __dv_rows WHERE k_duplicates) GROUP BY h HAVING count(*) > 1`))
    await engine.run(
      `CREATE OR REPLACE TEMP TABLE __dv_dups AS SELECT rn, first_rn FROM (SELECT rn, row_number() OVER w AS k, min(rn) OVER w AS first_rn FROM __dv_rows ` +
        `WHERE k_duplicates AND hash(${values}) IN (SELECT h FROM __dv_dupcand) WINDOW w AS (PARTITION BY ${values} ORDER BY rn)) WHERE k > 1`,
    )
    const dups = await engine.count('SELECT count(*) FROM __dv_dups')
    if (dups > 0) {
      if (failOn.has('duplicates')) {
        const [[row, of]] = await engine.rows('SELECT rn, first_rn FROM __dv_dups ORDER BY rn LIMIT 1')
        fail('duplicates', undefined, `${plural(dups, 'duplicate row')}, e.g. row ${Number(row) + 1} repeats row ${Number(of) + 1}`)
      }
      // Removing them is a join, which does not keep the rows' order: the output is sorted back.
      keptRows = 'k_duplicates AND rn NOT IN (SELECT rn FROM __dv_dups)'
      reordered = true
    }
    removed.duplicates = dups
    rowsLeft -= dups
  }

  // Pass 3: outlier bounds over the rows kept so far, then pass 4 counts the rows beyond them.
  const outlierPlans = plans.filter((p) => p.rules?.outliers)
  let outliers = 'false'
  if (outlierPlans.length > 0) {
    const x = (p: Plan) => `CAST(f${p.i} AS DOUBLE)`
    const stats = outlierPlans.flatMap((p) => [`quantile_cont(${x(p)}, 0.25)`, `quantile_cont(${x(p)}, 0.75)`, `avg(${x(p)})`, `stddev_pop(${x(p)})`])
    const [row] = await guard(shown, () => engine.rows(`SELECT ${stats.join(', ')} FROM __dv_rows WHERE ${keptRows}`))
    const flagsOf: string[] = []
    const bounds = new Map<Plan, [number, number]>()
    for (const [j, p] of outlierPlans.entries()) {
      const [q1, q3, mean, sd] = row.slice(4 * j, 4 * j + 4).map((v) => (v === null ? null : Number(v)))
      const {method, k} = p.rules!.outliers!
      let b: [number, number] | undefined
      if (method === 'iqr' && q1 !== null && q3 !== null) b = [q1 - k * (q3 - q1), q3 + k * (q3 - q1)]
      if (method === 'zscore' && mean !== null && sd !== null && sd > 0) b = [mean - k * sd, mean + k * sd]
      const f = b ? `coalesce(${x(p)} < '${b[0]}'::DOUBLE OR ${x(p)} > '${b[1]}'::DOUBLE, false)` : 'false'
      if (b) bounds.set(p, b)
      flagsOf.push(f)
    }
    outliers = `(${flagsOf.join(' OR ')})`
    const [c] = await engine.rows(`SELECT count(*) FILTER (WHERE ${outliers}), ${flagsOf.map((f) => `count(*) FILTER (WHERE ${f})`).join(', ')} FROM __dv_rows WHERE ${keptRows}`)
    const total = Number(c[0])
    if (total > 0 && failOn.has('outliers')) {
      const j = flagsOf.findIndex((_, i) => Number(c[i + 1]) > 0)
      const p = outlierPlans[j]
      const example = await first(`${keptRows} AND ${flagsOf[j]}`, plainExpr(`f${p.i}`, p.type))
      const [lo, hi] = bounds.get(p)!
      fail('outliers', p.column.name, `${plural(Number(c[j + 1]), 'value')} outside [${lo}, ${hi}] (${p.rules!.outliers!.method}), e.g. ${shownValue(example.value)} (row ${example.row})`)
    }
    removed.outliers = total
    rowsLeft -= total
    for (const [j, p] of outlierPlans.entries()) perColumn(p, 'outliers', Number(c[j + 1]))
  }

  // Pass 5: the output.
  const select = plans.map((p) => `f${p.i} AS ${ident(p.column.name)}`).join(', ')
  const query = `SELECT ${select} FROM __dv_rows WHERE ${keptRows} AND NOT ${outliers}${reordered ? ' ORDER BY rn' : ''}`
  await guard(shown, () => writeRows(engine, query, out, outFormat), [input.parquet])

  // Report keys in rule order, columns in input order.
  const ordered: Partial<Record<Rule, number>> = {}
  for (const r of RULES) if (removed[r] !== undefined) ordered[r] = removed[r]
  const byColumn: CleanReport['columns'] = {}
  for (const p of plans) if (columns[p.column.name]) byColumn[p.column.name] = columns[p.column.name]
  return {rows_in: rowsIn, rows_out: rowsLeft, removed: ordered, fixed, columns: byColumn}
}
