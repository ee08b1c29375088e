/**
 * Printing `dv data stats` and `dv data diff` as text or Markdown. Both print sections (a title
 * line, indented notes, a table); Markdown makes the title bold and the notes a list, so the
 * output pastes into a pull request comment as it is.
 */
import type {Retyped, SchemaChange} from '../data/schema.js'
import {STAT_KEYS, type ColumnStats} from '../data/stats.js'
import {renderTable} from '../metrics/table.js'
import {show, type Change, type Value} from '../metrics/values.js'
import type {DataDiffReport, StatsDiffReport, StatsReport} from '../repo/data.js'

export type DataFormat = 'text' | 'md'

interface Section {
  title: string
  notes?: string[]
  table?: {header: string[]; rows: string[][]}
}

function renderSections(sections: Section[], format: DataFormat): string {
  const one = (s: Section) => {
    const table = s.table ? renderTable(s.table.header, s.table.rows, format) : ''
    if (format === 'text') return [s.title, ...(s.notes ?? []).map((n) => `  ${n}`)].join('\n') + '\n' + table
    const parts = [`**${s.title}**`, ...(s.notes?.length ? [s.notes.map((n) => `- ${n}`).join('\n')] : [])]
    return parts.join('\n\n') + '\n' + (table ? '\n' + table : '')
  }
  return sections.map(one).join('\n')
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`

/** A table cell: numbers rounded; nothing there (not applicable, or no value) as `-`. */
const cell = (v: Value | undefined, precision: number) => (v === undefined || v === null ? '-' : show(v, precision))

const retyped = (r: Retyped) => `retyped column: ${r.column} (${r.old} -> ${r.new})`

function schemaNotes(s: SchemaChange): string[] {
  return [...s.added.map((c) => `added column: ${c.column} (${c.type})`), ...s.dropped.map((c) => `dropped column: ${c.column} (${c.type})`), ...s.retyped.map(retyped)]
}

const STATS_HEADER = ['Column', 'Type', 'Nulls', 'Distinct', 'Min', 'Max', 'Mean', 'Std', 'Median', 'Top']

function statsRow(c: ColumnStats, precision: number): string[] {
  const top = c.top === undefined || c.top === null ? '-' : `${show(c.top, precision)} (${c.top_count})`
  return [c.column, c.type, String(c.nulls), String(c.distinct), ...[c.min, c.max, c.mean, c.std, c.q50].map((v) => cell(v, precision)), top]
}

export function renderStats(report: StatsReport, format: DataFormat, precision = 5): string {
  const at = report.revision === 'workspace' ? '' : ` (at ${report.revision})`
  const sections = Object.entries(report.files).map(([path, s]) => ({
    title: `${path}${at}: ${plural(s.rows, 'row')}, ${plural(s.columns.length, 'column')}`,
    table: {header: STATS_HEADER, rows: s.columns.map((c) => statsRow(c, precision))},
  }))
  return renderSections(sections, format)
}

/** The Change column: numeric change (and relative), or new / deleted / - as `dv metrics diff` prints them. */
function delta(c: Change, precision: number): string {
  if (c.diff === undefined) return c.old === undefined ? 'new' : c.new === undefined ? 'deleted' : '-'
  const rel = c.relative === undefined ? '' : ` (${c.relative > 0 ? '+' : ''}${(c.relative * 100).toFixed(1)}%)`
  return `${c.diff > 0 ? '+' : ''}${show(c.diff, precision)}${rel}`
}

function rowsTitle(rows: Change): string {
  const [old, now] = [Number(rows.old), Number(rows.new)]
  return old === now ? plural(now, 'row') : `${old} -> ${now} rows (${now > old ? '+' : ''}${now - old})`
}

export function renderStatsDiff(report: StatsDiffReport, format: DataFormat, precision = 5): string {
  const sections = Object.entries(report.files).map(([path, f]): Section => {
    if (f.status === 'removed') return {title: `${path}: not in ${report.b} (${plural(Number(f.rows.old), 'row')} in ${report.a})`}
    if (f.status === 'unchanged') return {title: `${path}: ${rowsTitle(f.rows)}, no change`}
    const title = f.status === 'added' ? `${path}: new in ${report.b}, ${plural(Number(f.rows.new), 'row')}` : `${path}: ${rowsTitle(f.rows)}`
    // Dropped columns are named in the notes; their old statistics are in --json.
    const dropped = new Set(f.schema.dropped.map((c) => c.column))
    const rows = f.columns
      .filter((c) => !dropped.has(c.column))
      .flatMap((c) => STAT_KEYS.flatMap((stat) => {
        const ch = c[stat]
        return ch ? [[c.column, stat, cell(ch.old, precision), cell(ch.new, precision), delta(ch, precision)]] : []
      }))
    return {title, notes: f.status === 'added' ? [] : schemaNotes(f.schema), table: rows.length ? {header: ['Column', 'Stat', report.a, report.b, 'Change'], rows} : undefined}
  })
  return renderSections(sections, format)
}

/** A sample of rows, under the columns of the first (all rows of a sample have the same); none for an empty sample (--limit 0). */
function sampleTable(rows: Array<Record<string, Value>>, precision: number): Section['table'] {
  if (rows.length === 0) return undefined
  const header = Object.keys(rows[0])
  return {header, rows: rows.map((r) => header.map((h) => show(r[h], precision)))}
}

/** `Added (25 rows, first 10 shown)`, with `more` added inside the parentheses. */
function sampleTitle(what: string, count: number, shown: number, more = ''): string {
  return `${what} (${plural(count, 'row')}${shown < count ? `, first ${shown} shown` : ''}${more}):`
}

export function renderDataDiff(r: DataDiffReport, format: DataFormat, precision = 5): string {
  const how = r.key ? `rows matched by key ${r.key.join(', ')}` : 'whole rows compared (no key)'
  const notes = schemaNotes(r.schema)
  if (r.missing) notes.push(`not in ${r.missing}: every row is ${r.missing === r.a ? 'added' : 'removed'}`)
  else if (r.schema.added.length + r.schema.dropped.length > 0) notes.push(`compared on the shared columns: ${r.compared.join(', ') || '(none)'}`)
  const counts = [`${r.added.count} added`, `${r.removed.count} removed`, ...(r.modified ? [`${r.modified.count} modified`] : []), `${r.unchanged} unchanged`]
  notes.push(`rows: ${r.rows.old} -> ${r.rows.new}: ${counts.join(', ')}`)
  const sections: Section[] = [{title: `${r.path}: ${r.a} -> ${r.b}, ${how}`, notes}]
  if (r.added.count > 0) sections.push({title: sampleTitle('Added', r.added.count, r.added.rows.length), table: sampleTable(r.added.rows, precision)})
  if (r.removed.count > 0) sections.push({title: sampleTitle('Removed', r.removed.count, r.removed.rows.length), table: sampleTable(r.removed.rows, precision)})
  if (r.modified && r.modified.count > 0) {
    const by = Object.entries(r.modified.columns).map(([c, n]) => `${c} (${n})`)
    // One line per changed value: the row's key, the column, its old and new value.
    const rows = r.modified.rows.flatMap((m) => Object.entries(m.changes).map(([col, ch]) => [...Object.values(m.key).map((v) => show(v, precision)), col, show(ch.old, precision), show(ch.new, precision)]))
    sections.push({
      title: sampleTitle('Modified', r.modified.count, r.modified.rows.length, `; changed columns: ${by.join(', ')}`),
      table: rows.length ? {header: [...(r.key ?? []), 'Column', r.a, r.b], rows} : undefined,
    })
  }
  return renderSections(sections, format)
}
