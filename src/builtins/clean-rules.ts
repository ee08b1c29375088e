/**
 * The rules of `dv clean`: a schema file (YAML) and command-line flags, parsed and checked into
 * one description. Errors in a schema file name it and the line of the bad entry.
 *
 *   columns:
 *     age: {type: integer, required: true, min: 0, max: 120}
 *     country: {type: string, allowed: [FR, DE]}
 *     email: {type: string, regex: '^[^@]+@[^@]+$'}
 *     income: {type: double, nulls: fill, fill: 0, outliers: iqr}
 *   duplicates: drop
 *   nulls: keep        # default for every column: keep, drop, fill or fail
 *   fill: 0            # default fill value
 */
import {isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode} from 'yaml'

import {InvalidFileError, UsageError} from '../errors.js'
import {parseYaml} from '../models/yaml.js'

/** The rules, in the order they apply: each sees only the rows the ones before it kept. */
export const RULES = ['type', 'nulls', 'required', 'range', 'allowed', 'regex', 'duplicates', 'outliers'] as const
export type Rule = (typeof RULES)[number]

/** Type names a schema may use, and the DuckDB type each means. */
export const TYPES: Record<string, string> = {
  integer: 'BIGINT',
  int: 'BIGINT',
  double: 'DOUBLE',
  float: 'DOUBLE',
  number: 'DOUBLE',
  string: 'VARCHAR',
  str: 'VARCHAR',
  text: 'VARCHAR',
  boolean: 'BOOLEAN',
  bool: 'BOOLEAN',
  date: 'DATE',
  timestamp: 'TIMESTAMP',
  datetime: 'TIMESTAMP',
}

export const NULL_POLICIES = ['keep', 'drop', 'fill', 'fail'] as const
export type NullPolicy = (typeof NULL_POLICIES)[number]

export type Scalar = string | number | boolean

export interface Outliers {
  method: 'iqr' | 'zscore'
  /** IQR: values beyond k interquartile ranges from the quartiles (default 1.5); z-score: beyond k standard deviations from the mean (default 3). */
  k: number
}

export interface ColumnRules {
  name: string
  /** The schema's type name (a key of TYPES). */
  type?: string
  required?: boolean
  min?: Scalar
  max?: Scalar
  allowed?: Scalar[]
  regex?: string
  nulls?: NullPolicy
  fill?: Scalar
  outliers?: Outliers
  /** Where each rule was given, for errors about its value: `schema.yaml:4` or `--outliers`. */
  where: Partial<Record<keyof ColumnRules | 'column', Where>>
}

/** A place in a schema file (file and line), or a command-line flag. */
export interface Where {
  file?: string
  line?: number
  flag?: string
}

export interface CleanRules {
  /** The columns with rules, in the order given. */
  columns: ColumnRules[]
  duplicates: boolean
  /** The null policy of columns that name none. */
  nulls?: NullPolicy
  fill?: Scalar
  where: {nulls?: Where; fill?: Where}
}

/** An error about a rule's value, pointing at where the rule was given. */
export function ruleError(where: Where | undefined, message: string): Error {
  if (where?.file !== undefined) return new InvalidFileError(where.file, message, where.line)
  return new UsageError(where?.flag ? `${where.flag}: ${message}` : message)
}

const DEFAULT_K = {iqr: 1.5, zscore: 3}

/** `iqr`, `zscore`, `iqr:2`, `zscore:2.5`: a method and its optional factor. */
function parseOutlierMethod(text: string): Outliers | undefined {
  const [method, k, ...rest] = text.split(':')
  if ((method !== 'iqr' && method !== 'zscore') || rest.length > 0) return undefined
  if (k === undefined) return {method, k: DEFAULT_K[method]}
  const n = Number(k)
  return k.trim() !== '' && Number.isFinite(n) && n > 0 ? {method, k: n} : undefined
}

/** One `--outliers` entry: `iqr:income`, `zscore:score:3`. */
export function parseOutlierFlag(text: string): {column: string; outliers: Outliers} {
  const parts = text.split(':')
  const method = parts[0]
  let k: number | undefined
  if (parts.length >= 3 && parts.at(-1)!.trim() !== '' && Number.isFinite(Number(parts.at(-1)))) k = Number(parts.pop())
  const column = parts.slice(1).join(':')
  if ((method !== 'iqr' && method !== 'zscore') || column === '') {
    throw new UsageError(`--outliers: '${text}' is not METHOD:COLUMN[:K] with METHOD iqr or zscore (e.g. iqr:income, zscore:score:3)`)
  }
  if (k !== undefined && !(k > 0)) throw new UsageError(`--outliers: the factor in '${text}' must be above 0`)
  return {column, outliers: {method, k: k ?? DEFAULT_K[method]}}
}

/** Parses a schema file's text; `file` names it in errors. */
export function parseSchema(text: string, file: string): CleanRules {
  parseYaml(text, file) // syntax errors, one line with the line number
  const lines = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lines})
  const at = (node: unknown): Where => {
    const range = (node as {range?: [number, number, number]} | null)?.range
    return {file, line: range ? lines.linePos(range[0]).line : undefined}
  }
  const fail = (node: unknown, message: string): never => {
    throw ruleError(at(node), message)
  }
  const scalar = (node: unknown, what: string): Scalar => {
    if (!isScalar(node) || node.value === null || !['string', 'number', 'boolean'].includes(typeof node.value)) return fail(node, `${what} must be a single value`)
    return node.value as Scalar
  }
  const word = <T extends string>(node: unknown, what: string, allowed: readonly T[]): T => {
    const v = isScalar(node) ? node.value : undefined
    if (typeof v !== 'string' || !allowed.includes(v as T)) return fail(node, `${what} must be one of ${allowed.join(', ')}, not ${shownYaml(node)}`)
    return v as T
  }

  const rules: CleanRules = {columns: [], duplicates: false, where: {}}
  const root = doc.contents
  if (root === null || (isScalar(root) && root.value === null)) return rules
  if (!isMap(root)) return fail(root, "a schema is a mapping with 'columns:' (and optionally 'duplicates:', 'nulls:', 'fill:')")
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : ''
    switch (key) {
      case 'columns': {
        if (isScalar(pair.value) && pair.value.value === null) break
        if (!isMap(pair.value)) fail(pair.value ?? pair.key, "'columns' must map each column name to its rules")
        for (const col of (pair.value as {items: Array<{key: unknown; value: unknown}>}).items) {
          const name = isScalar(col.key) ? String(col.key.value) : fail(col.key, 'a column name must be a plain value')
          if (rules.columns.some((c) => c.name === name)) fail(col.key, `column '${name}' is declared twice`)
          rules.columns.push(parseColumn(name, col.key, col.value))
        }
        break
      }
      case 'duplicates': {
        const v = isScalar(pair.value) ? pair.value.value : undefined
        if (v === true || v === 'drop') rules.duplicates = true
        else if (v === false || v === 'keep') rules.duplicates = false
        else fail(pair.value, `'duplicates' must be drop or keep, not ${shownYaml(pair.value)}`)
        break
      }
      case 'nulls':
        rules.nulls = word(pair.value, "'nulls'", NULL_POLICIES)
        rules.where.nulls = at(pair.value)
        break
      case 'fill':
        rules.fill = scalar(pair.value, "'fill'")
        rules.where.fill = at(pair.value)
        break
      default:
        fail(pair.key, `unknown key '${key}' (a schema has columns, duplicates, nulls and fill)`)
    }
  }
  return rules

  function parseColumn(name: string, keyNode: unknown, node: unknown): ColumnRules {
    const c: ColumnRules = {name, where: {column: at(keyNode)}}
    // `age: integer` is short for `age: {type: integer}`.
    if (isScalar(node) && typeof node.value === 'string') {
      c.type = word(node, `column '${name}': type`, Object.keys(TYPES))
      c.where.type = at(node)
      return c
    }
    if (isScalar(node) && node.value === null) return c
    if (!isMap(node)) return fail(node, `column '${name}': expected its rules as a mapping (type, required, min, max, allowed, regex, nulls, fill, outliers)`)
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : ''
      const v = pair.value as YamlNode | null
      const what = `column '${name}': ${key}`
      switch (key) {
        case 'type':
          c.type = word(v, what, Object.keys(TYPES))
          break
        case 'required': {
          const b = isScalar(v) ? v.value : undefined
          if (typeof b !== 'boolean') fail(v, `${what} must be true or false`)
          c.required = b as boolean
          break
        }
        case 'min':
        case 'max':
          c[key] = scalar(v, what)
          break
        case 'allowed':
          if (!isSeq(v) || v.items.length === 0) fail(v, `${what} must be a list of values, e.g. [FR, DE]`)
          c.allowed = (v as {items: unknown[]}).items.map((item) => scalar(item, `${what}: each value`))
          break
        case 'regex': {
          const r = isScalar(v) ? v.value : undefined
          if (typeof r !== 'string') fail(v, `${what} must be a string (a regular expression)`)
          c.regex = r as string
          break
        }
        case 'nulls':
          c.nulls = word(v, what, NULL_POLICIES)
          break
        case 'fill':
          c.fill = scalar(v, what)
          break
        case 'outliers': {
          let o: Outliers | undefined
          if (isScalar(v) && typeof v.value === 'string') o = parseOutlierMethod(v.value)
          else if (isMap(v)) {
            const m = v.get('method')
            const k = v.get('k')
            const extra = v.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '')).filter((x) => x !== 'method' && x !== 'k')
            if (extra.length === 0 && (m === 'iqr' || m === 'zscore') && (k === undefined || (typeof k === 'number' && k > 0))) o = {method: m, k: (k as number | undefined) ?? DEFAULT_K[m]}
          }
          if (!o) fail(v, `${what} must be iqr or zscore, optionally with a factor (iqr:2, zscore:2.5, or {method: zscore, k: 2.5})`)
          c.outliers = o
          break
        }
        default:
          fail(pair.key, `column '${name}': unknown rule '${key}' (rules: type, required, min, max, allowed, regex, nulls, fill, outliers)`)
      }
      c.where[key as keyof ColumnRules] = at(v ?? pair.key)
    }
    return c
  }
}

function shownYaml(node: unknown): string {
  if (isScalar(node)) return node.value === null ? 'nothing' : `'${String(node.value)}'`
  if (isMap(node)) return 'a mapping'
  if (isSeq(node)) return 'a list'
  return 'nothing'
}

/** Command-line rules, added to (and taking precedence over the defaults of) a schema's. */
export interface RuleFlags {
  dropDuplicates?: boolean
  nulls?: string
  fill?: string
  outliers?: string[]
}

/**
 * The schema's rules with the command line's: `--drop-duplicates` turns duplicate removal on,
 * `--nulls` and `--fill` replace the schema's defaults (a column's own setting still wins),
 * `--outliers` sets a column's outlier rule. Checks that every column whose nulls are filled has
 * a fill value.
 */
export function cleanRules(schema: CleanRules | undefined, flags: RuleFlags): CleanRules {
  const rules: CleanRules = schema ? {...schema, columns: schema.columns.map((c) => ({...c, where: {...c.where}})), where: {...schema.where}} : {columns: [], duplicates: false, where: {}}
  if (flags.dropDuplicates) rules.duplicates = true
  if (flags.nulls !== undefined) {
    if (!(NULL_POLICIES as readonly string[]).includes(flags.nulls)) throw new UsageError(`--nulls must be one of ${NULL_POLICIES.join(', ')}, not '${flags.nulls}'`)
    rules.nulls = flags.nulls as NullPolicy
    rules.where.nulls = {flag: '--nulls'}
  }
  if (flags.fill !== undefined) {
    rules.fill = flags.fill
    rules.where.fill = {flag: '--fill'}
  }
  for (const entry of (flags.outliers ?? []).flatMap((e) => e.split(',')).filter((e) => e.trim() !== '')) {
    const {column, outliers} = parseOutlierFlag(entry.trim())
    let c = rules.columns.find((x) => x.name === column)
    if (!c) {
      c = {name: column, where: {column: {flag: '--outliers'}}}
      rules.columns.push(c)
    }
    c.outliers = outliers
    c.where.outliers = {flag: '--outliers'}
  }
  for (const c of rules.columns) {
    if (c.nulls === 'fill' && c.fill === undefined && rules.fill === undefined) {
      throw ruleError(c.where.nulls, `column '${c.name}': nulls: fill needs a value (fill: VALUE beside it, or a top-level fill)`)
    }
  }
  if (rules.nulls === 'fill' && rules.fill === undefined) throw ruleError(rules.where.nulls, 'nulls: fill needs a value (fill: VALUE in the schema, or --fill VALUE)')
  return rules
}

/** `--fail-on type,range` or `--fail-on any`: the rules that fail the stage when they find anything. */
export function parseFailOn(entries: string[] = []): Set<Rule> {
  const out = new Set<Rule>()
  for (const name of entries.flatMap((e) => e.split(',')).map((e) => e.trim()).filter((e) => e !== '')) {
    if (name === 'any' || name === 'all') RULES.forEach((r) => out.add(r))
    else if ((RULES as readonly string[]).includes(name)) out.add(name as Rule)
    else throw new UsageError(`--fail-on: unknown rule '${name}' (rules: ${RULES.join(', ')}, or any)`)
  }
  return out
}
