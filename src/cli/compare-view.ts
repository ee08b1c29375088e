/**
 * `dv compare -i`: the compare table in an ink (React) terminal UI. Arrow keys (or h/j/k/l) move
 * the cursor, `s` sorts by the column under it (again: the other way), `c` shows only the
 * columns that differ between rows, `q` quits.
 *
 * Importing ink and React costs about 0.6 s, so only `-i` loads this module (see
 * interactive.ts); it is compiled beside the bundle, never into it. No JSX: the project builds
 * with plain tsc and esbuild, so elements are made with React.createElement.
 */
import {Box, render, Text, useApp, useInput, useStdout} from 'ink'
import React, {useReducer, useState} from 'react'

import type {CompareRow} from '../repo/compare.js'
import {columnChanges, compareTable, defaultOrder, sortRows, type TableOptions} from './compare-table.js'

const h = React.createElement

/** Widest a column is drawn; longer cells end in an ellipsis. */
const MAX_WIDTH = 40

interface ViewState {
  row: number
  col: number
  sortBy?: string
  order?: 'asc' | 'desc'
  onlyChanged: boolean
}

type Key = 'left' | 'right' | 'up' | 'down' | 'sort' | 'changed'

export interface ViewProps {
  rows: CompareRow[]
  options: TableOptions
}

const fit = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width))

/** The first index of a window of `size` over `count` items that keeps `cursor` in view, moved as little as possible from `start`. */
function windowStart(start: number, cursor: number, size: number, count: number): number {
  let s = Math.min(start, cursor)
  if (cursor >= s + size) s = cursor - size + 1
  return Math.max(0, Math.min(s, Math.max(0, count - size)))
}

export function CompareView({rows, options}: ViewProps): React.ReactElement {
  const {exit} = useApp()
  const {stdout} = useStdout()
  // Filtering by globs is fixed for the session; sorting and "only changed" are the keys' to change.
  const base = compareTable(rows, {columns: options.columns, precision: options.precision})
  const changedColumns = base.columns.filter((c) => columnChanges(base.rows, c))
  const columnsOf = (onlyChanged: boolean) => (onlyChanged ? changedColumns : base.columns)

  // One reducer for what the keys change: keys that arrive together (a paste, a held key) each
  // apply to the state the one before left, not to the state of the last drawn frame.
  const [state, press] = useReducer(
    (st: ViewState, k: Key): ViewState => {
      const cols = columnsOf(st.onlyChanged)
      const col = Math.min(st.col, Math.max(0, cols.length - 1))
      const row = Math.min(st.row, Math.max(0, base.rows.length - 1))
      switch (k) {
        case 'left':
          return {...st, col: Math.max(0, col - 1)}
        case 'right':
          return {...st, col: Math.min(Math.max(0, cols.length - 1), col + 1)}
        case 'up':
          return {...st, row: Math.max(0, row - 1)}
        case 'down':
          return {...st, row: Math.min(Math.max(0, base.rows.length - 1), row + 1)}
        case 'sort': {
          const name = cols[col]
          if (!name) return st
          if (st.sortBy !== name) return {...st, sortBy: name, order: defaultOrder(base.rows, name)}
          return {...st, order: (st.order ?? defaultOrder(base.rows, name)) === 'asc' ? 'desc' : 'asc'}
        }
        case 'changed': {
          // The cursor stays on its column when that column is still shown.
          const next = columnsOf(!st.onlyChanged)
          return {...st, onlyChanged: !st.onlyChanged, col: Math.max(0, next.indexOf(cols[col]))}
        }
      }
    },
    {row: 0, col: 0, sortBy: options.sortBy, order: options.sortOrder, onlyChanged: options.onlyChanged ?? false},
  )
  const [scroll, setScroll] = useState({row: 0, col: 0})
  const {sortBy, order, onlyChanged} = state
  const columns = columnsOf(onlyChanged)
  const body = sortBy ? sortRows(base.rows, sortBy, order) : base.rows
  const col = Math.min(state.col, Math.max(0, columns.length - 1))
  const row = Math.min(state.row, Math.max(0, body.length - 1))

  useInput((input, key) => {
    if (input === 'q' || key.escape || (key.ctrl && input === 'c')) return exit()
    if (key.leftArrow || input === 'h') press('left')
    else if (key.rightArrow || input === 'l') press('right')
    else if (key.upArrow || input === 'k') press('up')
    else if (key.downArrow || input === 'j') press('down')
    else if (input === 's') press('sort')
    else if (input === 'c') press('changed')
  })

  const width = stdout.columns || 80
  const height = Math.max(3, (stdout.rows || 24) - 5)
  const revWidth = Math.min(MAX_WIDTH, Math.max('Revision'.length, ...body.map((r) => r.row.rev.length)))
  const arrow = (name: string) => (sortBy === name ? ((order ?? defaultOrder(base.rows, name)) === 'asc' ? ' ↑' : ' ↓') : '')
  const widths = columns.map((c) => Math.min(MAX_WIDTH, Math.max((c + arrow(c)).length, ...body.map((r) => (r.cells.get(c) ?? '-').length))))

  // Horizontal scrolling: as many columns as fit after the revision column, the cursor's among them.
  let colStart = Math.min(scroll.col, col)
  const fits = (from: number, to: number) => revWidth + widths.slice(from, to + 1).reduce((a, w) => a + w + 2, 0) <= width
  while (colStart < col && !fits(colStart, col)) colStart++
  let colEnd = colStart
  while (colEnd + 1 < columns.length && fits(colStart, colEnd + 1)) colEnd++
  const rowStart = windowStart(scroll.row, row, height, body.length)
  if (colStart !== scroll.col || rowStart !== scroll.row) setScroll({row: rowStart, col: colStart})

  const shown = columns.slice(colStart, colEnd + 1).map((name, i) => ({name, index: colStart + i, width: widths[colStart + i]}))
  const header = h(
    Box,
    {key: 'header'},
    h(Text, {bold: true}, fit('Revision', revWidth)),
    ...shown.map((c) => h(Text, {key: c.name, bold: true, underline: c.index === col}, `  ${fit(c.name + arrow(c.name), c.width)}`)),
  )
  const lines = body.slice(rowStart, rowStart + height).map((r, i) => {
    const at = rowStart + i
    return h(
      Box,
      {key: r.row.rev},
      h(Text, {color: at === row ? 'cyan' : undefined, bold: at === row}, fit(r.row.rev, revWidth)),
      ...shown.map((c) => {
        const text = r.cells.get(c.name) ?? '-'
        return h(Text, {key: c.name}, '  ', h(Text, {inverse: at === row && c.index === col, color: text.endsWith(' *') ? 'yellow' : undefined}, fit(text, c.width)))
      }),
    )
  })
  const status = [
    `${body.length} revisions, ${columns.length} columns${columns.length > shown.length ? ` (${colStart + 1}-${colEnd + 1} shown)` : ''}`,
    sortBy ? `sorted by ${sortBy} (${order ?? defaultOrder(base.rows, sortBy)})` : '',
    onlyChanged ? 'only changed columns' : '',
  ].filter(Boolean)
  return h(
    Box,
    {flexDirection: 'column'},
    header,
    ...lines,
    columns.length === 0 ? h(Text, {key: 'empty', dimColor: true}, 'No columns to show.') : null,
    h(Text, {key: 'status', dimColor: true}, status.join(' · ')),
    h(Text, {key: 'keys', dimColor: true}, '←↑↓→ move  s sort by column  c only changed  q quit'),
  )
}

/** Draws the view on the terminal until the user quits. */
export async function runCompareView(rows: CompareRow[], options: TableOptions): Promise<void> {
  const app = render(h(CompareView, {rows, options}), {exitOnCtrlC: false})
  await app.waitUntilExit()
}
