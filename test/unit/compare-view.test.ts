/**
 * dv compare -i's ink view, driven by key presses through ink-testing-library: moving, sorting
 * by the column under the cursor, only changed columns, quitting.
 */
import {render} from 'ink-testing-library'
import React from 'react'
import {afterEach, describe, expect, it} from 'vitest'

import {CompareView} from '../../src/cli/compare-view.js'
import type {CompareRow} from '../../src/repo/compare.js'

const row = (rev: string, accuracy: number | undefined, lr: number, oid: string, changed = false): CompareRow => ({
  rev,
  data: {data: {oid: oid.repeat(64), size: 2048, nfiles: 3, changed}},
  params: {'train.lr': lr, 'train.epochs': 10},
  metrics: accuracy === undefined ? {} : {accuracy},
  hasMetrics: accuracy !== undefined,
})

const ROWS = [row('workspace', 0.75, 0.2, 'b'), row('v2', 0.9, 0.1, 'b', true), row('v1', 0.5, 0.3, 'a'), row('v0', undefined, 0.3, 'a')]
const RIGHT = '\u001B[C'
const DOWN = '\u001B[B'

/** The view's text lines, trailing spaces dropped. */
const lines = (frame: string | undefined) => (frame ?? '').split('\n').map((l) => l.trimEnd())
const revisions = (frame: string | undefined) => lines(frame).slice(1, 1 + ROWS.length).map((l) => l.split(/\s+/)[0])

/** Lets ink handle a key press and draw again. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50))

/** Waits (up to 5 s, for a loaded machine) until the last frame has a line matching `pattern`. */
async function shows(view: ReturnType<typeof render>, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 250 && !lines(view.lastFrame()).some((l) => pattern.test(l)); i++) await new Promise((r) => setTimeout(r, 20))
}

let app: ReturnType<typeof render> | undefined
afterEach(() => app?.unmount())

describe('dv compare -i view', () => {
  it('shows every column, a status line and the keys', () => {
    app = render(React.createElement(CompareView, {rows: ROWS, options: {}}))
    // ink-testing-library draws 100 columns wide: the last column is off to the right.
    expect(lines(app.lastFrame())).toEqual([
      'Revision   data:data                       param:train.lr  param:train.epochs  metric:accuracy',
      'workspace  bbbbbbbb (3 files, 2.00 KiB)    0.2             10                  0.75',
      'v2         bbbbbbbb (3 files, 2.00 KiB) *  0.1             10                  0.9',
      'v1         aaaaaaaa (3 files, 2.00 KiB)    0.3             10                  0.5',
      'v0         aaaaaaaa (3 files, 2.00 KiB)    0.3             10                  -',
      '4 revisions, 5 columns (1-4 shown)',
      '←↑↓→ move  s sort by column  c only changed  q quit',
    ])
  })

  it('sorts by the column under the cursor, the other way on a second press', async () => {
    app = render(React.createElement(CompareView, {rows: ROWS, options: {}}))
    for (const key of [RIGHT, RIGHT, RIGHT, 's']) {
      app.stdin.write(key)
      await settle()
    }
    await shows(app, /sorted by/)
    expect(lines(app.lastFrame())[0]).toMatch(/metric:accuracy ↓/)
    expect(revisions(app.lastFrame())).toEqual(['v2', 'workspace', 'v1', 'v0'])
    expect(lines(app.lastFrame())).toContain('4 revisions, 5 columns (1-4 shown) · sorted by metric:accuracy (desc)')
    app.stdin.write('s')
    await shows(app, /\(asc\)/)
    expect(lines(app.lastFrame())[0]).toMatch(/metric:accuracy ↑/)
    // A revision without the metric stays last either way.
    expect(revisions(app.lastFrame())).toEqual(['v1', 'workspace', 'v2', 'v0'])
    app.stdin.write('h')
    await settle()
    app.stdin.write('s')
    await shows(app, /epochs \(desc\)/)
    expect(lines(app.lastFrame())).toContain('4 revisions, 5 columns (1-4 shown) · sorted by param:train.epochs (desc)')
  })

  it('shows only the columns that differ, keeping the cursor on its column', async () => {
    app = render(React.createElement(CompareView, {rows: ROWS, options: {}}))
    app.stdin.write(RIGHT)
    await settle()
    app.stdin.write(RIGHT)
    await settle()
    app.stdin.write('c')
    await shows(app, /only changed columns/)
    expect(lines(app.lastFrame())[0]).toBe('Revision   data:data                       param:train.lr  metric:accuracy  metrics')
    expect(lines(app.lastFrame())[4]).toBe('v0         aaaaaaaa (3 files, 2.00 KiB)    0.3             -                (no metrics)')
    expect(lines(app.lastFrame())).toContain('4 revisions, 4 columns · only changed columns')
    // The cursor was on param:train.epochs, which is gone: it lands on the first column; s sorts by it.
    app.stdin.write(DOWN)
    await settle()
    app.stdin.write('s')
    await shows(app, /sorted by/)
    expect(lines(app.lastFrame())).toContain('4 revisions, 4 columns · sorted by data:data (asc) · only changed columns')
    app.stdin.write('c')
    await shows(app, /5 columns/)
    expect(lines(app.lastFrame())).toContain('4 revisions, 5 columns (1-4 shown) · sorted by data:data (asc)')
  })

  it('scrolls columns that do not fit the terminal into view', async () => {
    const wide = ROWS.map((r) => ({...r, params: Object.fromEntries(Array.from({length: 12}, (_, i) => [`group.parameter_${i}`, i]))}))
    app = render(React.createElement(CompareView, {rows: wide, options: {}}))
    expect(lines(app.lastFrame())[0]).toMatch(/^Revision +data:data +param:group\.parameter_0 /)
    expect(lines(app.lastFrame())).toContain('4 revisions, 15 columns (1-3 shown)')
    for (let i = 0; i < 14; i++) {
      app.stdin.write(RIGHT)
      await settle()
    }
    await shows(app, /\(1[0-4]-15 shown\)/)
    expect(lines(app.lastFrame())[0]).toMatch(/metrics$/)
    expect(lines(app.lastFrame())[0]).not.toMatch(/data:data/)
    expect(lines(app.lastFrame())).toContainEqual(expect.stringMatching(/^4 revisions, 15 columns \(1[0-4]-15 shown\)$/))
    expect(lines(app.lastFrame())[4]).toMatch(/^v0 .* \(no metrics\)$/)
  })

  it('quits on q: keys after it change nothing', async () => {
    app = render(React.createElement(CompareView, {rows: ROWS, options: {}}))
    app.stdin.write('q')
    await settle()
    const frames = app.frames.length
    for (const key of [RIGHT, RIGHT, RIGHT, 's']) {
      app.stdin.write(key)
      await settle()
    }
    expect(app.frames.length).toBe(frames)
    expect(lines(app.lastFrame())[0]).not.toMatch(/↓/)
  })
})
