/**
 * Metrics and params values: files (JSON, YAML, CSV/TSV) flattened into `a.b.c` keys, and how
 * values are compared and printed.
 */
import {extname} from 'node:path'
import {parse as parseYamlText} from 'yaml'

import {InvalidFileError} from '../errors.js'
import {checkYamlDepth} from '../models/yaml.js'

export type Value = number | string | boolean | null

/** Nested mappings and lists flattened: `{a: {b: [1, 2]}}` → `{'a.b.0': 1, 'a.b.1': 2}`. */
export function flatten(value: unknown, prefix = '', out: Record<string, Value> = {}): Record<string, Value> {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value)
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out)
    return out
  }
  if (prefix) out[prefix] = typeof value === 'bigint' ? Number(value) : (value as Value) ?? null
  return out
}

const cell = (s: string): Value => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s)

/**
 * A metrics file's values. CSV/TSV: a header and one row gives `column: value`; more rows give
 * `<row>.<column>` (rows counted from 0).
 */
export function parseMetrics(bytes: Buffer, path: string): Record<string, Value> {
  const text = bytes.toString('utf8')
  const ext = extname(path).toLowerCase()
  try {
    if (ext === '.csv' || ext === '.tsv') {
      const sep = ext === '.tsv' ? '\t' : ','
      const [header, ...rows] = text.split(/\r?\n/).filter((l) => l.trim() !== '').map((l) => l.split(sep))
      if (!header) return {}
      if (rows.length === 1) return Object.fromEntries(header.map((h, i) => [h.trim(), cell(rows[0][i] ?? '')]))
      return Object.fromEntries(rows.flatMap((r, n) => header.map((h, i) => [`${n}.${h.trim()}`, cell(r[i] ?? '')])))
    }
    const doc = ext === '.json' ? JSON.parse(text) : (checkYamlDepth(text, path), parseYamlText(text, {logLevel: 'error'}))
    return flatten(doc)
  } catch (error) {
    throw new InvalidFileError(path, `not a metrics file dv can read: ${(error as Error).message.split('\n')[0]}`)
  }
}

/** A value as a table shows it: numbers rounded to `precision` decimals. */
export function show(v: Value | undefined, precision: number): string {
  if (v === undefined) return '-'
  if (typeof v === 'number') return String(Number(v.toFixed(precision)))
  return v === null ? 'null' : String(v)
}

export interface Change {
  old?: Value
  new?: Value
  /** new − old, when both are numbers. */
  diff?: number
  /** diff / |old|, when both are numbers and old is not 0. */
  relative?: number
}

export function change(old: Value | undefined, now: Value | undefined): Change {
  const c: Change = {...(old === undefined ? {} : {old}), ...(now === undefined ? {} : {new: now})}
  if (typeof old === 'number' && typeof now === 'number') {
    c.diff = now - old
    if (old !== 0) c.relative = (now - old) / Math.abs(old)
  }
  return c
}

export const changed = (c: Change) => JSON.stringify(c.old) !== JSON.stringify(c.new)
