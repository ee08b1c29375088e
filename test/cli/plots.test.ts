/**
 * dv plots show / diff over three versions of a real pipeline: the stage's plots (a CSV curve, a
 * confusion matrix's samples, a directory of images) are stage outputs, in the cache and read at
 * each revision through its dv.lock; acc.json is in git from the second commit on. The page is
 * then drawn by headless Chromium, which must find each chart drawn as SVG. Chromium is
 * required: CI installs it (apt), and these tests fail without it rather than pass untested.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {deflateSync} from 'node:zlib'
import {describe, expect, it} from 'vitest'

import {dv, git, haveProgram, makeRepo, tempDir, writeFiles} from '../helpers.js'

const PIPELINE = `stages:
  train:
    cmd: mkdir -p plots && cp src/loss.csv src/classes.csv plots/ && rm -rf plots/images && cp -r src/images plots/images
    deps: [src]
    plots:
      - plots/loss.csv: {x: step, y: loss, title: Loss}
      - plots/classes.csv: {template: confusion, x: actual, y: predicted}
      - plots/images
plots:
  - accuracy:
      x: epoch
      y: {acc.json: [train, val]}
`

const CRC_TABLE = Array.from({length: 256}, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes: Buffer): number {
  let c = 0xffffffff
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** A real PNG of one colour (so a browser can show it, and the screenshot in docs is honest). */
function png([r, g, b]: [number, number, number], size = 24): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const out = Buffer.alloc(body.length + 8)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc32(body), body.length + 4)
    return out
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header[8] = 8 // bits per channel
  header[9] = 2 // RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({length: size}, () => [r, g, b]).flat())])
  const pixels = deflateSync(Buffer.concat(Array.from({length: size}, () => row)))
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))])
}

const RED = png([220, 60, 60])
const GREEN = png([60, 160, 80])
const BLUE = png([60, 100, 200])

const csv = (header: string, rows: Array<Array<string | number>>) => `${header}\n${rows.map((r) => r.join(',')).join('\n')}\n`
const curve = (losses: number[]) => csv('step,loss', losses.map((l, i) => [i, l]))
const samples = (pairs: string) => csv('actual,predicted', pairs.split(' ').map((p) => p.split('>')))

/** v1 and v2 committed, the workspace a third version (reproduced, not committed). */
function history(): string {
  const repo = makeRepo()
  const version = (files: Record<string, string | Buffer>, message: string) => {
    writeFiles(repo, {'dv.yaml': PIPELINE, ...files})
    dv(repo, 'repro').ok()
    if (message) {
      git(repo, 'add', '-A')
      git(repo, 'commit', '-q', '-m', message)
    }
  }
  version({'src/loss.csv': curve([1, 0.5]), 'src/classes.csv': samples('cat>cat cat>dog dog>dog'), 'src/images/curve.png': RED}, 'v1')
  version(
    {
      'src/loss.csv': curve([0.75, 0.375, 0.25]),
      'src/classes.csv': samples('cat>cat cat>cat dog>dog dog>cat'),
      'src/images/curve.png': GREEN,
      'acc.json': JSON.stringify({history: [{epoch: 1, train: 0.5, val: 0.25}, {epoch: 2, train: 0.75, val: 0.5}]}),
    },
    'v2',
  )
  version({'src/loss.csv': curve([0.5, 0.25, 0.125, 0.0625]), 'src/classes.csv': samples('cat>cat dog>dog dog>dog'), 'src/images/curve.png': BLUE}, '')
  return repo
}

const dataUri = (bytes: Buffer) => `data:image/png;base64,${bytes.toString('base64')}`


/** The page as Chromium has it once its scripts ran: the DOM with the charts drawn in. */
function renderedDom(file: string): string {
  const r = spawnSync(
    'chromium',
    ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${tempDir()}`, '--virtual-time-budget=10000', '--dump-dom', pathToFileURL(file).href],
    {encoding: 'utf8', timeout: 90_000, maxBuffer: 1 << 28},
  )
  if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

/** Each chart's part of the page: from its container to the end of its section. */
function charts(dom: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const section of dom.split('<section').slice(1)) {
    const id = /<div id="(plot-\d+)"/.exec(section)?.[1]
    if (id) out.set(id, section.slice(0, section.indexOf('</section>')))
  }
  return out
}

describe('dv plots', () => {
  it('diff draws two revisions into one self-contained page, the data and images of each embedded', () => {
    const repo = history()
    const run = dv(repo, 'plots', 'diff', 'HEAD~1', 'HEAD').ok()
    const file = join(repo, 'dv_plots', 'index.html')
    expect(run.stdout).toBe(`${pathToFileURL(file).href}\n`)
    const html = readFileSync(file, 'utf8')

    // Nothing to fetch: no script, stylesheet or image from anywhere else.
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i)
    expect(html).not.toMatch(/<(link|img)[^>]*(href|src)="https?:/i)
    // Both revisions' data, and only theirs (the workspace is not among the revisions drawn).
    expect(html).toContain('"rev":"HEAD~1","step":0,"loss":1}')
    expect(html).toContain('"rev":"HEAD","step":2,"loss":0.25}')
    expect(html).toContain('"rev":"HEAD~1","actual":"cat","predicted":"dog","count":1}')
    expect(html).toContain('"rev":"HEAD","actual":"dog","predicted":"cat","count":1}')
    expect(html).not.toContain('"rev":"workspace"')
    // The images of each revision, from the cache through each revision's dv.lock.
    expect(html).toContain(`<img src="${dataUri(RED)}" alt="plots/images/curve.png (HEAD~1)"><figcaption>HEAD~1</figcaption>`)
    expect(html).toContain(`<img src="${dataUri(GREEN)}" alt="plots/images/curve.png (HEAD)"><figcaption>HEAD</figcaption>`)
    // acc.json came with v2: its chart says where it is missing.
    expect(html).toMatch(/<div id="plot-0" class="chart"><\/div>\n<p class="missing">not found in: HEAD~1<\/p>/)

  })

  it.skipIf(!haveProgram('chromium'))('Chromium draws every chart of the page as SVG, with the marks of each revision', () => {
    const repo = history()
    dv(repo, 'plots', 'diff', 'HEAD~1', 'HEAD').ok()
    const file = join(repo, 'dv_plots', 'index.html')
    const drawn = charts(renderedDom(file))
    expect([...drawn.keys()]).toEqual(['plot-0', 'plot-1', 'plot-2'])
    // What each chart drew: its marks, by kind, with the labels Vega gives them (from their data).
    const marks = (id: string, kind: string) =>
      [...drawn.get(id)!.matchAll(new RegExp(`aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="${kind}"`, 'g'))].map((m) => m[1]).sort()
    for (const part of drawn.values()) {
      expect(part).toMatch(/<svg[^>]*class="marks"/)
      expect(part).toContain('role-mark')
    }
    // accuracy: HEAD only, a line per field. Loss: a line per revision. Confusion: 2x2 cells per revision.
    expect(marks('plot-0', 'line mark')).toEqual(['epoch: 1; train, val: 0.25; revision: HEAD; field: val', 'epoch: 1; train, val: 0.5; revision: HEAD; field: train'])
    expect(marks('plot-1', 'line mark')).toEqual(['step: 0; loss: 0.75; revision: HEAD', 'step: 0; loss: 1; revision: HEAD~1'])
    const cell = (a: string, p: string, n: number) => `actual: ${a}; predicted: ${p}; count: ${n}`
    expect(marks('plot-2', 'rect mark')).toEqual([
      ...[cell('cat', 'cat', 1), cell('cat', 'cat', 2)], // HEAD~1, HEAD
      ...[cell('cat', 'dog', 0), cell('cat', 'dog', 1)],
      ...[cell('dog', 'cat', 0), cell('dog', 'cat', 1)],
      ...[cell('dog', 'dog', 1), cell('dog', 'dog', 1)],
    ])
    expect(marks('plot-2', 'text mark')).toHaveLength(8)
  })

  it('--json prints the plots: each Vega-Lite spec with every revision in its data', () => {
    const repo = history()
    expect(dv(repo, 'plots', 'show', 'plots/loss.csv', '-r', 'HEAD~1', '--json').ok().json()).toEqual([
      {
        type: 'chart',
        id: 'plots/loss.csv',
        title: 'Loss',
        template: 'linear',
        revisions: ['workspace', 'HEAD~1'],
        missing: [],
        spec: {
          $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
          title: 'Loss',
          data: {
            values: [
              {rev: 'workspace', step: 0, loss: 0.5},
              {rev: 'workspace', step: 1, loss: 0.25},
              {rev: 'workspace', step: 2, loss: 0.125},
              {rev: 'workspace', step: 3, loss: 0.0625},
              {rev: 'HEAD~1', step: 0, loss: 1},
              {rev: 'HEAD~1', step: 1, loss: 0.5},
            ],
          },
          width: 560,
          height: 300,
          encoding: {
            x: {field: 'step', type: 'quantitative', title: 'step', axis: {tickMinStep: 1}},
            y: {field: 'loss', type: 'quantitative', title: 'loss', scale: {zero: false}},
            color: {field: 'rev', type: 'nominal', title: 'revision', scale: {domain: ['workspace', 'HEAD~1'], range: ['#4c78a8', '#f58518']}},
          },
          layer: [
            {mark: {type: 'line'}},
            {
              mark: {type: 'point', filled: true, size: 50},
              params: [{name: 'hover', select: {type: 'point', on: 'pointerover', clear: 'pointerout', nearest: true}}],
              encoding: {
                opacity: {condition: {param: 'hover', empty: false, value: 1}, value: 0},
                tooltip: [
                  {field: 'rev', type: 'nominal', title: 'revision'},
                  {field: 'step', type: 'quantitative', title: 'step'},
                  {field: 'loss', type: 'quantitative', title: 'loss'},
                ],
              },
            },
          ],
        },
      },
    ])

    // An image directory by its path: one plot per image (the same as naming the image, which at
    // HEAD~1 is a file inside a cached directory); diff with one revision adds the workspace.
    const image = dv(repo, 'plots', 'diff', 'HEAD~1', '--targets', 'plots/images/curve.png', '--json').ok().json()
    expect(dv(repo, 'plots', 'diff', 'HEAD~1', '--targets', 'plots/images', '--json').ok().json()).toEqual(image)
    expect(image).toEqual([
      {
        type: 'image',
        id: 'plots/images/curve.png',
        title: 'plots/images/curve.png',
        revisions: ['HEAD~1', 'workspace'],
        missing: [],
        images: [
          {rev: 'HEAD~1', path: 'plots/images/curve.png', src: dataUri(RED)},
          {rev: 'workspace', path: 'plots/images/curve.png', src: dataUri(BLUE)},
        ],
      },
    ])

    // `workspace` names the workspace among the revisions of diff.
    const named = dv(repo, 'plots', 'diff', 'workspace', 'HEAD~1', '--targets', 'plots/loss.csv', '--json').ok().json<Array<{revisions: string[]}>>()
    expect(named.map((p) => p.revisions)).toEqual([['workspace', 'HEAD~1']])

    // A file dv.yaml does not declare is drawn with the defaults: the index as step, the last numeric field.
    const plain = dv(repo, 'plots', 'diff', '--targets', 'src/loss.csv', '--json').ok().json<Array<{revisions: string[]; spec: {data: {values: object[]}}}>>()
    expect(plain.map((p) => p.revisions)).toEqual([['HEAD', 'workspace']])
    expect(plain[0].spec.data.values.slice(0, 2)).toEqual([
      {rev: 'HEAD', step: 0, loss: 0.75},
      {rev: 'HEAD', step: 1, loss: 0.375},
    ])
  })

  it('show draws the workspace alone by default, into -o DIR', () => {
    const repo = history()
    const out = dv(repo, 'plots', 'show', '-o', 'report').ok()
    const file = join(repo, 'report', 'index.html')
    expect(out.stdout).toBe(`${pathToFileURL(file).href}\n`)
    expect(existsSync(join(repo, 'dv_plots'))).toBe(false)
    const html = readFileSync(file, 'utf8')
    expect(html).toContain('"rev":"workspace","step":3,"loss":0.0625}')
    expect(html).not.toMatch(/"rev":"HEAD/)
    expect(html).toContain(`<img src="${dataUri(BLUE)}"`)
    expect(html).toContain('<p class="revisions">Revisions:<span class="swatch" style="background:#4c78a8"></span>workspace</p>')
    expect(dv(repo, 'plots', 'show', '-q').ok().stdout).toBe('')
  })

  it('fails in one line: bad data (naming file and revision), a plot found nowhere, nothing to draw', () => {
    const repo = history()
    // acc.json broken at HEAD, fine in the workspace.
    writeFileSync(join(repo, 'acc.json'), '{"history": [')
    git(repo, 'commit', '-q', '-am', 'broken')
    git(repo, 'checkout', '-q', 'HEAD~1', '--', 'acc.json')
    const atHead = dv(repo, 'plots', 'diff', 'HEAD', '--targets', 'accuracy')
    expect(atHead.code).toBe(1)
    expect(atHead.stderr).toMatch(/^ERROR: acc\.json \(at HEAD\): not plot data dv can read: [^\n]+\n$/)

    writeFileSync(join(repo, 'plots', 'loss.csv'), 'step,loss\n0,1\n1\n')
    const inWorkspace = dv(repo, 'plots', 'show')
    expect(inWorkspace.code).toBe(1)
    expect(inWorkspace.stderr).toBe('ERROR: plots/loss.csv (in the workspace): not plot data dv can read: line 3 has 1 fields, the header 2\n')
    expect(existsSync(join(repo, 'dv_plots'))).toBe(false)

    const nowhere = dv(repo, 'plots', 'diff', 'HEAD~1', 'HEAD~2', '--targets', 'nope.csv')
    expect(nowhere.code).toBe(1)
    expect(nowhere.stderr).toBe('ERROR: plot "nope.csv": nope.csv not found in HEAD~1, HEAD~2\n')

    expect(dv(repo, 'plots', 'diff', 'no-such-rev').stderr).toBe('ERROR: unknown revision "no-such-rev"\n')

    const empty = makeRepo()
    const none = dv(empty, 'plots', 'show')
    expect(none.code).toBe(1)
    expect(none.stderr).toBe('ERROR: nothing to draw: no plots in dv.yaml (workspace); declare some under "plots", or name the files to draw\n')
  })
})
