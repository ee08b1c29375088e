/** Printing a metrics or params diff (dv metrics diff, dv params diff). */
import {renderTable, type TableFormat} from '../metrics/table.js'
import {show, type Change} from '../metrics/values.js'
import type {DiffReport} from '../repo/metrics.js'

function delta(c: Change, precision: number): string {
  if (c.diff === undefined) return c.old === undefined ? 'new' : c.new === undefined ? 'deleted' : '-'
  const sign = c.diff > 0 ? '+' : ''
  const rel = c.relative === undefined ? '' : ` (${c.relative > 0 ? '+' : ''}${(c.relative * 100).toFixed(1)}%)`
  return `${sign}${show(c.diff, precision)}${rel}`
}

export function renderDiff(report: DiffReport, what: 'Metric' | 'Param', a: string, b: string, format: TableFormat, precision = 5, withChange = true): string {
  const rows = Object.entries(report).flatMap(([path, keys]) =>
    Object.entries(keys).map(([key, c]) => [path, key, show(c.old, precision), show(c.new, precision), ...(withChange ? [delta(c, precision)] : [])]),
  )
  return renderTable(['Path', what, a, b, ...(withChange ? ['Change'] : [])], rows, format)
}
