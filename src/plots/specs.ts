/**
 * One Vega-Lite spec per plot, its data embedded as `data.values`: every revision's rows in one
 * chart, each datum carrying its revision in `rev`. DVC's templates (dvc-render), by name:
 *
 * - `linear` (the default), `simple`: lines; `linear` adds points that show values on hover.
 * - `scatter`: points.
 * - `bar`: vertical bars, one per x value and revision side by side; `bar_horizontal` (and
 *   `bar_horizontal_sorted`, longest first) as DVC draws it: `x` is the bar's length, `y` names it.
 * - `confusion`, `confusion_normalized`: `x` holds the actual class and `y` the predicted one (a
 *   numeric `count` field, when present, says how many samples a row stands for), a
 *   row per sample; the counts (or the share of each actual class) in a grid, one per revision.
 *
 * Colours: one per revision, the same in every chart of a page (`revisions` gives the order).
 * When a revision draws several series (several y fields or files), line style (or point shape)
 * tells them apart; with one revision, colour does.
 */
import {InvalidFileError} from '../errors.js'
import {fieldsOf, fileAt, lastNumericField, PlotError, type Cell, type Row} from './data.js'

/** JSON as a spec holds it. */
export type Json = Cell | Json[] | {[key: string]: Json}
export type VegaLiteSpec = {[key: string]: Json}

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json'

export const TEMPLATES = ['linear', 'simple', 'scatter', 'bar', 'bar_horizontal', 'bar_horizontal_sorted', 'confusion', 'confusion_normalized'] as const
export type Template = (typeof TEMPLATES)[number]

/** Vega's default categorical palette (tableau10), assigned to revisions in page order. */
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac']

const WIDTH = 560
const HEIGHT = 300
/** Width and height of one cell of a confusion matrix. */
const CELL = 44

/** The rows of one file of one revision, and the fields dv.yaml names for it. */
export interface Source {
  /** The revision's label (`workspace`, `HEAD`, `v1.0`). */
  rev: string
  path: string
  rows: Row[]
  /** Unset: the row's index, as `step` (or, for a confusion matrix, the first field). */
  x?: string
  /** Empty: the last numeric field (for a confusion matrix, the last field). */
  y: string[]
}

export interface PlotInput {
  id: string
  template?: string
  title?: string
  xLabel?: string
  yLabel?: string
  /** In drawing order. */
  sources: Source[]
  /** Every revision of the page, in order: a revision keeps its colour across charts. */
  revisions: string[]
}

/** The template named, or the default; an unknown name is an error naming the plot. */
export function templateOf(name: string | undefined, id: string): Template {
  if (name === undefined) return 'linear'
  if ((TEMPLATES as readonly string[]).includes(name)) return name as Template
  throw new PlotError(`plot "${id}": unknown template "${name}" (dv draws ${TEMPLATES.join(', ')})`)
}

export function plotSpec(input: PlotInput): VegaLiteSpec {
  const template = templateOf(input.template, input.id)
  if (template === 'confusion' || template === 'confusion_normalized') return confusionSpec(input, template === 'confusion_normalized')
  return seriesSpec(input, template)
}

/** Vega-Lite reads `.`, `[` and `]` in a field name as a path into the datum: taken literally here. */
export function fieldRef(name: string): string {
  return name.replace(/[\\.[\]]/g, (c) => `\\${c}`)
}

/** `preferred` unless taken (or reserved), else the first free fallback. */
function freeName(preferred: string | undefined, fallbacks: string[], taken: ReadonlySet<string>): string {
  for (const name of [...(preferred === undefined ? [] : [preferred]), ...fallbacks]) if (!taken.has(name)) return name
  throw new Error(`no free field name among ${fallbacks.join(', ')}`) // unreachable: fallbacks are distinct
}

/** Throws when a named field is in none of the rows (rows that are empty name no fields at all). */
function checkField(s: Source, field: string): void {
  if (s.rows.length === 0) return
  const fields = fieldsOf(s.rows)
  if (!fields.includes(field)) throw new InvalidFileError(fileAt(s.rev, s.path), `no field "${field}" (its fields: ${fields.join(', ')})`)
}

const orderedRevisions = (input: PlotInput) => input.revisions.filter((r) => input.sources.some((s) => s.rev === r))

/** The colour of revision `rev` among every revision of the page. */
export function colourOf(revisions: readonly string[], rev: string): string {
  return PALETTE[Math.max(0, revisions.indexOf(rev)) % PALETTE.length]
}

function revisionColour(input: PlotInput): VegaLiteSpec {
  const revs = orderedRevisions(input)
  return {field: 'rev', type: 'nominal', title: 'revision', scale: {domain: revs, range: revs.map((r) => colourOf(input.revisions, r))}}
}

// ---------------------------------------------------------------------------------------------
// Lines, points and bars: a key (x, or the bar's name) and one or more numeric values

interface Series {
  rev: string
  path: string
  /** The key field; undefined: the row's index. */
  key?: string
  value: string
  rows: Row[]
}

/** The series a source draws; `horizontal`: DVC's bar_horizontal, where `y` names the bar and `x` is its length. */
function seriesOf(s: Source, horizontal: boolean): Series[] {
  if (horizontal && s.y.length > 1) {
    throw new PlotError(`${fileAt(s.rev, s.path)}: a horizontal bar chart names its bars with one "y" field, got ${s.y.join(', ')}`)
  }
  const key = horizontal ? s.y[0] : s.x
  const named = horizontal ? (s.x === undefined ? [] : [s.x]) : s.y
  const fallback = named.length > 0 ? undefined : lastNumericField(s.rows, key === undefined ? [] : [key])
  const values = fallback === undefined ? named : [fallback]
  for (const f of [...(key === undefined ? [] : [key]), ...values]) checkField(s, f)
  if (values.length === 0 && s.rows.length > 0) {
    throw new InvalidFileError(fileAt(s.rev, s.path), `no numeric field to draw (name one with ${horizontal ? '"x"' : '"y"'} in dv.yaml)`)
  }
  return values.map((value) => ({rev: s.rev, path: s.path, key, value, rows: s.rows}))
}

/** What a chart of series holds, and how its data names things. */
interface Layout {
  series: Series[]
  /** The series' name in the data and legend: the field, the file, or `file: field`; empty when there is one series. */
  nameOf: (s: Series) => string
  /** The legend's title for series: `field`, `file` or `series`. */
  seriesTitle: string
  manySeries: boolean
  /** The page has several revisions: colour stands for the revision, even in a chart only one of them has. */
  manyRevs: boolean
  /** Bars of several revisions and several series: one bar colour per (revision, series) pair. */
  byGroup: boolean
  /** The datum's fields for the key and the value: their own names when every series shares them. */
  keyField: string
  valueField: string
  keyTitle: string
  valueTitle: string
}

function layoutOf(input: PlotInput, horizontal: boolean, bars: boolean): Layout {
  const series = input.sources.flatMap((s) => seriesOf(s, horizontal))
  const multiFile = new Set(series.map((s) => s.path)).size > 1
  const multiField = new Set(series.map((s) => s.value)).size > 1
  const nameOf = (s: Series) => [multiFile ? s.path : '', multiField ? s.value : ''].filter(Boolean).join(': ')
  const manySeries = new Set(series.map(nameOf)).size > 1
  const manyRevs = input.revisions.length > 1
  const keyNames = [...new Set(series.map((s) => s.key ?? 'step'))]
  const valueNames = [...new Set(series.map((s) => s.value))]
  const reserved = new Set(['rev', 'series', 'group'])
  const keyField = freeName(keyNames.length === 1 ? keyNames[0] : undefined, horizontal ? ['y', 'y_key'] : ['x', 'x_key'], reserved)
  const valueField = freeName(valueNames.length === 1 ? valueNames[0] : undefined, horizontal ? ['x', 'x_value'] : ['y', 'y_value'], new Set([...reserved, keyField]))
  return {
    series,
    nameOf,
    seriesTitle: multiFile && multiField ? 'series' : multiFile ? 'file' : 'field',
    manySeries,
    manyRevs,
    byGroup: manySeries && manyRevs && bars,
    keyField,
    valueField,
    keyTitle: (horizontal ? input.yLabel : input.xLabel) ?? keyNames.join(', '),
    valueTitle: (horizontal ? input.xLabel : input.yLabel) ?? valueNames.join(', '),
  }
}

/** One datum per row and series, with its revision; rows without a key or a numeric value are left out. */
function seriesValues(l: Layout): Array<{[k: string]: Json}> {
  const values: Array<{[k: string]: Json}> = []
  for (const s of l.series) {
    s.rows.forEach((row, i) => {
      const key = s.key === undefined ? i : row[s.key]
      const value = row[s.value]
      // A value that is not a number (missing, or text such as "nan") has no place on a numeric axis.
      if (key === null || key === undefined || typeof value !== 'number') return
      const datum: {[k: string]: Json} = {rev: s.rev, [l.keyField]: key, [l.valueField]: value}
      if (l.manySeries) datum.series = l.nameOf(s)
      if (l.byGroup) datum.group = `${s.rev}: ${l.nameOf(s)}`
      values.push(datum)
    })
  }
  return values
}

function seriesSpec(input: PlotInput, template: Exclude<Template, 'confusion' | 'confusion_normalized'>): VegaLiteSpec {
  const horizontal = template === 'bar_horizontal' || template === 'bar_horizontal_sorted'
  const bars = template.startsWith('bar')
  const l = layoutOf(input, horizontal, bars)
  const values = seriesValues(l)

  const keys = values.map((d) => d[l.keyField])
  const keyNumeric = keys.every((k) => typeof k === 'number')
  const key: VegaLiteSpec =
    bars || !keyNumeric
      ? {field: fieldRef(l.keyField), type: 'nominal', sort: template === 'bar_horizontal_sorted' ? '-x' : null, title: l.keyTitle}
      : // Steps and epochs are whole numbers: no ticks between them.
        {field: fieldRef(l.keyField), type: 'quantitative', title: l.keyTitle, ...(keys.every(Number.isInteger) ? {axis: {tickMinStep: 1}} : {})}
  const value: VegaLiteSpec = {field: fieldRef(l.valueField), type: 'quantitative', title: l.valueTitle, ...(bars ? {} : {scale: {zero: false}})}
  const series: VegaLiteSpec = {field: 'series', type: 'nominal', title: l.seriesTitle}
  const colour: VegaLiteSpec = l.byGroup
    ? {field: 'group', type: 'nominal', title: `revision: ${l.seriesTitle}`}
    : l.manySeries && !l.manyRevs
      ? series
      : revisionColour(input)
  // Series of several revisions are told apart by line style or point shape, colour being taken.
  const second = l.manySeries && l.manyRevs && !bars ? series : undefined
  const tooltip: Json[] = [
    {field: 'rev', type: 'nominal', title: 'revision'},
    ...(l.manySeries ? [series] : []),
    {field: key.field, type: key.type, title: l.keyTitle},
    {field: value.field, type: 'quantitative', title: l.valueTitle},
  ]

  const spec: VegaLiteSpec = {$schema: VEGA_LITE_SCHEMA, title: input.title ?? input.id, data: {values}, width: WIDTH, ...(horizontal ? {} : {height: HEIGHT})}
  if (bars) {
    const offset = l.byGroup ? 'group' : l.manySeries ? 'series' : 'rev'
    const side = {field: offset, sort: offset === 'rev' ? orderedRevisions(input) : null}
    return {...spec, mark: {type: 'bar'}, encoding: horizontal ? {x: value, y: key, yOffset: side, color: colour, tooltip} : {x: key, y: value, xOffset: side, color: colour, tooltip}}
  }
  if (template === 'scatter') return {...spec, mark: {type: 'point', filled: true, size: 50}, encoding: {x: key, y: value, color: colour, ...(second ? {shape: second} : {}), tooltip}}
  if (template === 'simple') return {...spec, mark: {type: 'line'}, encoding: {x: key, y: value, color: colour, ...(second ? {strokeDash: second} : {})}}
  // linear: the lines, and on them the points nearest the pointer, with their values.
  return {
    ...spec,
    encoding: {x: key, y: value, color: colour},
    layer: [
      {mark: {type: 'line'}, ...(second ? {encoding: {strokeDash: second}} : {})},
      {
        mark: {type: 'point', filled: true, size: 50},
        params: [{name: 'hover', select: {type: 'point', on: 'pointerover', clear: 'pointerout', nearest: true}}],
        encoding: {opacity: {condition: {param: 'hover', empty: false, value: 1}, value: 0}, tooltip},
      },
    ],
  }
}

// ---------------------------------------------------------------------------------------------
// Confusion matrices

/** Labels in a stable order: numbers by value, then text. */
function compareLabels(a: Cell, b: Cell): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'number') return -1
  if (typeof b === 'number') return 1
  return String(a).localeCompare(String(b))
}

/** The actual and predicted fields of a source: as named, else the first and the last field. */
function confusionFields(s: Source): {actual?: string; predicted?: string} {
  if (s.y.length > 1) throw new PlotError(`${fileAt(s.rev, s.path)}: a confusion matrix has one "y" field (the predicted class), got ${s.y.join(', ')}`)
  const fields = fieldsOf(s.rows)
  const actual = s.x ?? fields[0]
  // A `count` field weighs each row (aggregated matrices, as dv evaluate writes): not a class.
  const predicted = s.y[0] ?? fields.filter((f) => f !== actual && f !== 'count').at(-1)
  if (s.rows.length > 0 && (actual === undefined || predicted === undefined)) {
    throw new InvalidFileError(fileAt(s.rev, s.path), 'a confusion matrix needs two fields, the actual class ("x") and the predicted one ("y")')
  }
  for (const f of [actual, predicted]) if (f !== undefined) checkField(s, f)
  return {actual, predicted}
}

/** Samples counted per revision and (actual, predicted) pair (keyed by JSON, so 1 and "1" stay apart), and every class seen. */
function countPairs(sources: readonly Source[]): {classes: Cell[]; counts: Map<string, Map<string, number>>} {
  const labels = new Map<string, Cell>()
  const counts = new Map<string, Map<string, number>>()
  for (const s of sources) {
    const {actual, predicted} = confusionFields(s)
    if (actual === undefined || predicted === undefined) continue
    const byPair = counts.get(s.rev) ?? new Map<string, number>()
    counts.set(s.rev, byPair)
    for (const row of s.rows) {
      const a = row[actual] ?? null
      const p = row[predicted] ?? null
      if (a === null || p === null) continue
      labels.set(JSON.stringify(a), a)
      labels.set(JSON.stringify(p), p)
      const k = JSON.stringify([a, p])
      const weight = actual !== 'count' && predicted !== 'count' && typeof row.count === 'number' ? row.count : 1
      byPair.set(k, (byPair.get(k) ?? 0) + weight)
    }
  }
  return {classes: [...labels.values()].sort(compareLabels), counts}
}

function confusionSpec(input: PlotInput, normalized: boolean): VegaLiteSpec {
  const fields = input.sources.map(confusionFields)
  const actualNames = [...new Set(fields.flatMap((f) => (f.actual === undefined ? [] : [f.actual])))]
  const predictedNames = [...new Set(fields.flatMap((f) => (f.predicted === undefined ? [] : [f.predicted])))]
  const reserved = new Set(['rev', 'count', 'rate'])
  const actualField = freeName(actualNames.length === 1 ? actualNames[0] : undefined, ['actual', 'actual_class'], reserved)
  const predictedField = freeName(predictedNames.length === 1 ? predictedNames[0] : undefined, ['predicted', 'predicted_class'], new Set([...reserved, actualField]))

  // Every pair of the classes seen is a cell, 0 when no sample fell in it.
  const {classes, counts} = countPairs(input.sources)
  const revs = orderedRevisions(input).filter((r) => counts.has(r))
  const values: Json[] = []
  let most = 0
  for (const rev of revs) {
    const count = (a: Cell, p: Cell) => counts.get(rev)!.get(JSON.stringify([a, p])) ?? 0
    for (const a of classes) {
      const total = classes.reduce<number>((sum, p) => sum + count(a, p), 0)
      for (const p of classes) {
        most = Math.max(most, count(a, p))
        values.push({rev, [actualField]: a, [predictedField]: p, count: count(a, p), ...(normalized ? {rate: total === 0 ? 0 : count(a, p) / total} : {})})
      }
    }
  }

  const shown = normalized ? 'rate' : 'count'
  // Dark cells get white text: above half the colour scale.
  const dark = normalized ? 0.5 : most / 2
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: input.title ?? input.id,
    data: {values},
    facet: {column: {field: 'rev', type: 'nominal', title: null, sort: revs}},
    spec: {
      width: {step: CELL},
      height: {step: CELL},
      encoding: {
        x: {field: fieldRef(actualField), type: 'nominal', sort: classes, axis: {labelAngle: 0}, title: input.xLabel ?? actualNames.join(', ')},
        y: {field: fieldRef(predictedField), type: 'nominal', sort: classes, title: input.yLabel ?? predictedNames.join(', ')},
      },
      layer: [
        {
          mark: {type: 'rect', tooltip: true},
          encoding: {color: {field: shown, type: 'quantitative', title: shown, scale: normalized ? {domain: [0, 1]} : {domainMin: 0}}},
        },
        {
          mark: {type: 'text'},
          encoding: {
            text: {field: shown, type: 'quantitative', ...(normalized ? {format: '.2f'} : {})},
            color: {condition: {test: `datum.${shown} > ${dark}`, value: 'white'}, value: 'black'},
          },
        },
      ],
    },
  }
}
