/**
 * Plots: data files parsed into rows (src/plots/data.ts), one Vega-Lite spec per plot and
 * template with every revision's data in it (src/plots/specs.ts), and the self-contained page
 * (src/plots/html.ts). The CLI and the page as a browser draws it: test/cli/plots.test.ts.
 */
import {describe, expect, it} from 'vitest'

import {DvError} from '../../src/errors.js'
import {fieldsOf, lastNumericField, parsePlotData, type Row} from '../../src/plots/data.js'
import {compileSpec, renderPage} from '../../src/plots/html.js'
import {fieldRef, plotSpec, TEMPLATES, templateOf, type Source} from '../../src/plots/specs.js'
import type {Plots} from '../../src/repo/plots.js'

const parse = (text: string, path: string, where = path) => parsePlotData(Buffer.from(text), path, where)

/** The error `fn` throws, which must be a DvError. */
function dvError(fn: () => unknown): DvError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(DvError)
    return error as DvError
  }
  throw new Error('expected a DvError')
}

describe('plot data', () => {
  it('reads CSV and TSV: numbers as numbers, empty cells as null, quoted fields, CRLF, blank lines', () => {
    expect(parse('step,loss,note\r\n0,1.5,"a, b"\r\n\r\n1,-2e-3,"say ""hi""\nthere"\n2,,text\n', 'loss.csv')).toEqual([
      {step: 0, loss: 1.5, note: 'a, b'},
      {step: 1, loss: -0.002, note: 'say "hi"\nthere'},
      {step: 2, loss: null, note: 'text'},
    ])
    expect(parse('\uFEFFfeature\timportance\nsize\t0.5\ncolour\t.25\n', 'f.tsv')).toEqual([
      {feature: 'size', importance: 0.5},
      {feature: 'colour', importance: 0.25},
    ])
    // Only plain decimal numbers are numbers: hex, blanks and words stay text.
    expect(parse('a,b,c\n0x10,nan,1.\n', 'x.csv')).toEqual([{a: '0x10', b: 'nan', c: 1}])
    expect(parse('', 'empty.csv')).toEqual([])
    expect(parse('step,loss\n', 'header.csv')).toEqual([])
  })

  it('reads JSON and YAML: a list of records, or the list an object holds (the one with the wanted fields)', () => {
    expect(parse('[{"step": 0, "acc": 0.5, "tags": ["x"], "big": 1}]', 'a.json')).toEqual([{step: 0, acc: 0.5, big: 1}])
    expect(parse('{"train": [{"loss": 1}, {"loss": 0.5}]}', 'a.json')).toEqual([{loss: 1}, {loss: 0.5}])
    const nested = '{"meta": {"runs": [{"name": "a"}]}, "history": {"val": [{"epoch": 1, "acc": 0.25}]}}'
    expect(parsePlotData(Buffer.from(nested), 'n.json', 'n.json', ['acc'])).toEqual([{epoch: 1, acc: 0.25}])
    expect(parse(nested, 'n.json')).toEqual([{name: 'a'}])
    expect(parse('- {epoch: 1, acc: 0.5}\n- {epoch: 2, acc: 0.75}\n', 'h.yaml')).toEqual([
      {epoch: 1, acc: 0.5},
      {epoch: 2, acc: 0.75},
    ])
  })

  it('refuses malformed data and unknown file types in one line naming the file', () => {
    expect(dvError(() => parse('step,loss\n0,1\n1\n', 'loss.csv', 'loss.csv (at HEAD)')).message).toBe(
      'loss.csv (at HEAD): not plot data dv can read: line 3 has 1 fields, the header 2',
    )
    expect(dvError(() => parse('a\n"open\n', 'q.csv')).message).toBe('q.csv: not plot data dv can read: line 2: a quoted field is not closed')
    expect(dvError(() => parse('{"a": ', 'bad.json')).message).toMatch(/^bad\.json: not plot data dv can read: .+$/)
    expect(dvError(() => parse('{"a": 1}', 'one.json')).message).toBe('one.json: not plot data dv can read: expected a list of records, or an object holding one')
    expect(dvError(() => parse('[1, 2]', 'nums.json')).message).toBe('nums.json: not plot data dv can read: item 0 of the list is not a record')
    expect(dvError(() => parse('x', 'notes.txt')).message).toBe(
      'notes.txt: not a plot file dv can draw: data must be .json, .yaml, .csv or .tsv, images .png, .jpg, .jpeg, .gif, .svg',
    )
  })

  it('finds fields, and the default y: the last numeric field', () => {
    const rows: Row[] = [
      {step: 0, loss: 1, label: 'a'},
      {step: 1, loss: null, label: 'b', acc: 0.5},
    ]
    expect(fieldsOf(rows)).toEqual(['step', 'loss', 'label', 'acc'])
    expect(lastNumericField(rows)).toBe('acc')
    expect(lastNumericField(rows, ['acc'])).toBe('loss')
    expect(lastNumericField([{a: 'x'}])).toBeUndefined()
    expect(fieldRef('val.acc[0]')).toBe('val\\.acc\\[0\\]')
  })
})

const REVISIONS = ['workspace', 'HEAD', 'HEAD~1']
const loss = (rev: string, values: number[], extra: Partial<Source> = {}): Source => ({
  rev,
  path: 'loss.csv',
  rows: values.map((v, step) => ({step, loss: v, acc: 1 - v})),
  y: ['loss'],
  x: 'step',
  ...extra,
})

describe('plot specs', () => {
  it('linear (the default): every revision in one chart, one colour each, points on hover', () => {
    const spec = plotSpec({id: 'loss.csv', sources: [loss('workspace', [1, 0.5]), loss('HEAD~1', [0.75])], revisions: REVISIONS})
    const tooltip = [
      {field: 'rev', type: 'nominal', title: 'revision'},
      {field: 'step', type: 'quantitative', title: 'step'},
      {field: 'loss', type: 'quantitative', title: 'loss'},
    ]
    expect(spec).toEqual({
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: 'loss.csv',
      data: {
        values: [
          {rev: 'workspace', step: 0, loss: 1},
          {rev: 'workspace', step: 1, loss: 0.5},
          {rev: 'HEAD~1', step: 0, loss: 0.75},
        ],
      },
      width: 560,
      height: 300,
      encoding: {
        x: {field: 'step', type: 'quantitative', title: 'step', axis: {tickMinStep: 1}},
        y: {field: 'loss', type: 'quantitative', title: 'loss', scale: {zero: false}},
        // HEAD~1 keeps the page's third colour though HEAD has no data here.
        color: {field: 'rev', type: 'nominal', title: 'revision', scale: {domain: ['workspace', 'HEAD~1'], range: ['#4c78a8', '#e45756']}},
      },
      layer: [
        {mark: {type: 'line'}},
        {
          mark: {type: 'point', filled: true, size: 50},
          params: [{name: 'hover', select: {type: 'point', on: 'pointerover', clear: 'pointerout', nearest: true}}],
          encoding: {opacity: {condition: {param: 'hover', empty: false, value: 1}, value: 0}, tooltip},
        },
      ],
    })
  })

  it('defaults: the row index as step, the last numeric field as y; labels and title from dv.yaml', () => {
    const rows = [
      {name: 'a', v: 3, w: 4},
      {name: 'b', v: 5, w: 6},
    ]
    const spec = plotSpec({id: 'p', template: 'simple', title: 'T', xLabel: 'X', yLabel: 'Y', sources: [{rev: 'workspace', path: 'p.json', rows, y: []}], revisions: ['workspace']})
    expect(spec).toEqual({
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: 'T',
      data: {
        values: [
          {rev: 'workspace', step: 0, w: 4},
          {rev: 'workspace', step: 1, w: 6},
        ],
      },
      width: 560,
      height: 300,
      mark: {type: 'line'},
      encoding: {
        x: {field: 'step', type: 'quantitative', title: 'X', axis: {tickMinStep: 1}},
        y: {field: 'w', type: 'quantitative', title: 'Y', scale: {zero: false}},
        color: {field: 'rev', type: 'nominal', title: 'revision', scale: {domain: ['workspace'], range: ['#4c78a8']}},
      },
    })
  })

  it('several y fields: colour tells fields apart in one revision; line style does across revisions', () => {
    const one = plotSpec({id: 'p', template: 'simple', sources: [loss('workspace', [1], {y: ['loss', 'acc']})], revisions: ['workspace']})
    expect(one.data).toEqual({
      values: [
        {rev: 'workspace', step: 0, y: 1, series: 'loss'},
        {rev: 'workspace', step: 0, y: 0, series: 'acc'},
      ],
    })
    expect(one.encoding).toMatchObject({y: {field: 'y', title: 'loss, acc'}, color: {field: 'series', type: 'nominal', title: 'field'}})
    expect(one.encoding).not.toHaveProperty('strokeDash')

    const two = plotSpec({id: 'p', template: 'simple', sources: [loss('workspace', [1], {y: ['loss', 'acc']}), loss('HEAD', [0.5], {y: ['loss', 'acc']})], revisions: REVISIONS})
    expect(two.encoding).toMatchObject({color: {field: 'rev'}, strokeDash: {field: 'series', type: 'nominal', title: 'field'}})
    // On a page of several revisions, a chart only one of them has still colours by revision.
    const alone = plotSpec({id: 'p', template: 'simple', sources: [loss('HEAD', [0.5], {y: ['loss', 'acc']})], revisions: REVISIONS})
    expect(alone.encoding).toMatchObject({color: {field: 'rev', scale: {domain: ['HEAD'], range: ['#f58518']}}, strokeDash: {field: 'series'}})

    // Several files: the series is the file (and the field, when they differ too).
    const files = plotSpec({
      id: 'cmp',
      template: 'scatter',
      sources: [loss('workspace', [1]), {...loss('workspace', [0.5]), path: 'b.csv', y: ['acc']}, loss('HEAD', [2])],
      revisions: REVISIONS,
    })
    expect(files.mark).toEqual({type: 'point', filled: true, size: 50})
    expect(files.data).toEqual({
      values: [
        {rev: 'workspace', step: 0, y: 1, series: 'loss.csv: loss'},
        {rev: 'workspace', step: 0, y: 0.5, series: 'b.csv: acc'},
        {rev: 'HEAD', step: 0, y: 2, series: 'loss.csv: loss'},
      ],
    })
    expect(files.encoding).toMatchObject({color: {field: 'rev'}, shape: {field: 'series', title: 'series'}})
  })

  it('bars: side by side per revision; bar_horizontal as DVC draws it (x the length, y the name)', () => {
    const rows = (a: number, b: number) => [
      {feature: 'size', importance: a},
      {feature: 'colour', importance: b},
    ]
    const sources: Source[] = [
      {rev: 'workspace', path: 'f.csv', rows: rows(0.5, 0.25), x: 'importance', y: ['feature']},
      {rev: 'HEAD', path: 'f.csv', rows: rows(0.75, 0.125), x: 'importance', y: ['feature']},
    ]
    const spec = plotSpec({id: 'f.csv', template: 'bar_horizontal', sources, revisions: REVISIONS})
    expect(spec.data).toEqual({
      values: [
        {rev: 'workspace', feature: 'size', importance: 0.5},
        {rev: 'workspace', feature: 'colour', importance: 0.25},
        {rev: 'HEAD', feature: 'size', importance: 0.75},
        {rev: 'HEAD', feature: 'colour', importance: 0.125},
      ],
    })
    expect(spec.mark).toEqual({type: 'bar'})
    expect(spec.encoding).toEqual({
      x: {field: 'importance', type: 'quantitative', title: 'importance'},
      y: {field: 'feature', type: 'nominal', sort: null, title: 'feature'},
      yOffset: {field: 'rev', sort: ['workspace', 'HEAD']},
      color: {field: 'rev', type: 'nominal', title: 'revision', scale: {domain: ['workspace', 'HEAD'], range: ['#4c78a8', '#f58518']}},
      tooltip: [
        {field: 'rev', type: 'nominal', title: 'revision'},
        {field: 'feature', type: 'nominal', title: 'feature'},
        {field: 'importance', type: 'quantitative', title: 'importance'},
      ],
    })
    expect(spec).not.toHaveProperty('height')
    expect((plotSpec({id: 'f', template: 'bar_horizontal_sorted', sources, revisions: REVISIONS}).encoding as {y: object}).y).toEqual({field: 'feature', type: 'nominal', sort: '-x', title: 'feature'})

    const vertical = plotSpec({id: 'loss.csv', template: 'bar', sources: [loss('workspace', [1, 0.5])], revisions: REVISIONS})
    expect(vertical.encoding).toMatchObject({x: {field: 'step', type: 'nominal', sort: null}, y: {field: 'loss', type: 'quantitative'}, xOffset: {field: 'rev'}})
  })

  it('confusion: counts per (actual, predicted) pair and revision, every cell of the classes, one grid per revision', () => {
    const rows = (pairs: Array<[string, string]>) => pairs.map(([actual, predicted]) => ({actual, predicted}))
    const sources: Source[] = [
      {rev: 'workspace', path: 'cm.csv', rows: rows([['cat', 'cat'], ['cat', 'dog'], ['dog', 'dog'], ['dog', 'dog']]), x: 'actual', y: ['predicted']},
      {rev: 'HEAD', path: 'cm.csv', rows: rows([['cat', 'cat']]), y: []},
    ]
    const spec = plotSpec({id: 'cm.csv', template: 'confusion', xLabel: 'truth', sources, revisions: REVISIONS})
    expect(spec).toEqual({
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: 'cm.csv',
      data: {
        values: [
          {rev: 'workspace', actual: 'cat', predicted: 'cat', count: 1},
          {rev: 'workspace', actual: 'cat', predicted: 'dog', count: 1},
          {rev: 'workspace', actual: 'dog', predicted: 'cat', count: 0},
          {rev: 'workspace', actual: 'dog', predicted: 'dog', count: 2},
          {rev: 'HEAD', actual: 'cat', predicted: 'cat', count: 1},
          {rev: 'HEAD', actual: 'cat', predicted: 'dog', count: 0},
          {rev: 'HEAD', actual: 'dog', predicted: 'cat', count: 0},
          {rev: 'HEAD', actual: 'dog', predicted: 'dog', count: 0},
        ],
      },
      facet: {column: {field: 'rev', type: 'nominal', title: null, sort: ['workspace', 'HEAD']}},
      spec: {
        width: {step: 44},
        height: {step: 44},
        encoding: {
          x: {field: 'actual', type: 'nominal', sort: ['cat', 'dog'], axis: {labelAngle: 0}, title: 'truth'},
          y: {field: 'predicted', type: 'nominal', sort: ['cat', 'dog'], title: 'predicted'},
        },
        layer: [
          {mark: {type: 'rect', tooltip: true}, encoding: {color: {field: 'count', type: 'quantitative', title: 'count', scale: {domainMin: 0}}}},
          {
            mark: {type: 'text'},
            encoding: {text: {field: 'count', type: 'quantitative'}, color: {condition: {test: 'datum.count > 1', value: 'white'}, value: 'black'}},
          },
        ],
      },
    })
    const normalized = plotSpec({id: 'cm.csv', template: 'confusion_normalized', sources: sources.slice(0, 1), revisions: REVISIONS})
    expect((normalized.data as {values: unknown[]}).values).toEqual([
      {rev: 'workspace', actual: 'cat', predicted: 'cat', count: 1, rate: 0.5},
      {rev: 'workspace', actual: 'cat', predicted: 'dog', count: 1, rate: 0.5},
      {rev: 'workspace', actual: 'dog', predicted: 'cat', count: 0, rate: 0},
      {rev: 'workspace', actual: 'dog', predicted: 'dog', count: 2, rate: 1},
    ])
    // Aggregated rows (dv evaluate's confusion.csv): a numeric `count` field weighs each row, and is never taken for a class.
    const counted: Source[] = [{rev: 'workspace', path: 'cm.csv', rows: [{actual: 'cat', predicted: 'cat', count: 5}, {actual: 'dog', predicted: 'cat', count: 2}, {actual: 'dog', predicted: 'dog', count: 7}], y: []}]
    expect((plotSpec({id: 'cm.csv', template: 'confusion', sources: counted, revisions: ['workspace']}).data as {values: unknown[]}).values).toEqual([
      {rev: 'workspace', actual: 'cat', predicted: 'cat', count: 5},
      {rev: 'workspace', actual: 'cat', predicted: 'dog', count: 0},
      {rev: 'workspace', actual: 'dog', predicted: 'cat', count: 2},
      {rev: 'workspace', actual: 'dog', predicted: 'dog', count: 7},
    ])
  })

  it('names the file, revision and fields when a plot cannot be drawn', () => {
    expect(dvError(() => templateOf('smooth', 'loss.csv')).message).toBe(
      'plot "loss.csv": unknown template "smooth" (dv draws linear, simple, scatter, bar, bar_horizontal, bar_horizontal_sorted, confusion, confusion_normalized)',
    )
    expect(dvError(() => plotSpec({id: 'p', sources: [loss('HEAD', [1], {y: ['val_loss']})], revisions: REVISIONS})).message).toBe(
      'loss.csv (at HEAD): no field "val_loss" (its fields: step, loss, acc)',
    )
    expect(dvError(() => plotSpec({id: 'p', sources: [{rev: 'workspace', path: 'w.csv', rows: [{a: 'x'}], y: []}], revisions: REVISIONS})).message).toBe(
      'w.csv (in the workspace): no numeric field to draw (name one with "y" in dv.yaml)',
    )
  })

  it('every template compiles to Vega without a warning', async () => {
    const cm = [
      {actual: 'a', predicted: 'b'},
      {actual: 'b', predicted: 'b'},
    ]
    const variants = (template: string): Source[][] => {
      if (template.startsWith('confusion')) return [[{rev: 'workspace', path: 'cm.csv', rows: cm, y: []}, {rev: 'HEAD', path: 'cm.csv', rows: cm.slice(1), y: []}]]
      // Horizontal bars name a bar with y: the index here; several series from several files.
      if (template.startsWith('bar_horizontal')) {
        const plain = (rev: string, path = 'loss.csv') => loss(rev, [1, 0.5], {path, x: undefined, y: []})
        return [[plain('workspace'), plain('HEAD')], [plain('workspace'), plain('workspace', 'b.csv'), plain('HEAD'), plain('HEAD', 'b.csv')]]
      }
      return [['loss'], ['loss', 'acc']].map((y) => [loss('workspace', [1, 0.5], {y}), loss('HEAD', [0.75, 0.25], {y})])
    }
    for (const template of TEMPLATES) {
      for (const [n, sources] of variants(template).entries()) {
        const {vega, warnings} = await compileSpec(plotSpec({id: 'p', template, sources, revisions: REVISIONS}))
        expect(warnings, `${template} #${n}`).toEqual([])
        expect(vega).toHaveProperty('marks')
      }
    }
  })
})

describe('plots page', () => {
  it('is one self-contained file: vega inline, data embedded, images as data: URIs, text escaped', async () => {
    const plots: Plots = {
      revisions: ['workspace', 'HEAD'],
      plots: [
        {
          type: 'chart',
          id: 'loss.csv',
          title: 'loss.csv',
          template: 'linear',
          revisions: ['workspace'],
          missing: ['HEAD'],
          // A title that would end the script element were it not escaped.
          spec: plotSpec({id: 'loss.csv', title: 'Loss </script><!--', sources: [{rev: 'workspace', path: 'loss.csv', rows: [{step: 0, loss: 0.625}], y: []}], revisions: ['workspace', 'HEAD']}),
        },
        {type: 'image', id: 'img.png', title: '<img>', revisions: ['HEAD'], missing: ['workspace'], images: [{rev: 'HEAD', path: 'img.png', src: 'data:image/png;base64,iVBORw0KGgo='}]},
      ],
    }
    const html = await renderPage(plots)
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i)
    expect(html).not.toMatch(/<link[^>]*href="https?:/i)
    expect(html).toContain('vega={}') // the browser build, inline
    expect(html).toContain('"rev":"workspace","step":0,"loss":0.625')
    expect(html).toContain('Loss \\u003c/script>\\u003c!--')
    expect(html).toContain('<div id="plot-0" class="chart"></div>\n<p class="missing">not found in: HEAD</p>')
    expect(html).toContain('<h2>&#60;img&#62;</h2>')
    expect(html).toContain('<img src="data:image/png;base64,iVBORw0KGgo=" alt="img.png (HEAD)"><figcaption>HEAD</figcaption>')
    expect(html).toContain('<p class="missing">not found in: workspace</p>')
    // One </script> per <script>: nothing in the data closes one early.
    expect(html.match(/<\/script>/g)?.length).toBe(html.match(/<script>/g)?.length)
  })
})
