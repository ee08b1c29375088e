/**
 * dv evaluate with the real binary: a real ONNX model (written with onnx-proto, test/onnx-models.ts)
 * over a small Parquet file gives an exact metrics file, and plot files `dv plots show` draws.
 * Bad input gives one `ERROR:` line naming the file and the column, exit code 1, and no output
 * (an existing metrics file is left as it was).
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {DataEngine} from '../../src/data/engine.js'
import {cudaProviderLibrary} from '../../src/builtins/evaluate.js'
import {dv, dvEnv, makeRepo, PROJECT, tempDir, type Result} from '../helpers.js'
import {identityModel, linearModel, logisticModel, softmaxModel} from '../onnx-models.js'

/** Writes `rows` (SQL tuples) with `columns` as a Parquet file. */
async function parquet(path: string, columns: string, rows: string[], where = ''): Promise<void> {
  const engine = await DataEngine.open()
  try {
    await engine.export(`SELECT * FROM (VALUES ${rows.join(', ')}) t(${columns}) ${where}`, path)
  } finally {
    engine.close()
  }
}

/**
 * Six rows, three classes; the identity model outputs the p_* columns as they are, so every
 * number below is worked by hand. Predicted: a, b, b, c, c, c.
 */
const ROWS = [
  "(0.7, 0.2, 0.1, 'a')",
  "(0.4, 0.5, 0.1, 'a')",
  "(0.1, 0.8, 0.1, 'b')",
  "(0.2, 0.3, 0.5, 'b')",
  "(0.1, 0.1, 0.8, 'c')",
  "(0.3, 0.3, 0.4, 'c')",
].map((r) => r.replace(/(\d\.\d)/g, '$1::FLOAT'))
const COLUMNS = 'p_a, p_b, p_c, species'

const f = Math.fround
const EXPECTED = {
  rows: 6,
  accuracy: 4 / 6,
  log_loss: -(Math.log(f(0.7)) + Math.log(f(0.4)) + Math.log(f(0.8)) + Math.log(f(0.3)) + Math.log(f(0.8)) + Math.log(f(0.4))) / 6,
  // one-vs-rest: a ranks both positives first (8/8); b: 0.8 beats all 4 negatives, 0.3 beats 2
  // and ties 1 (6.5/8); c: 0.8 beats 4, 0.4 beats 3 (7/8)
  roc_auc: (1 + 6.5 / 8 + 7 / 8) / 3,
  macro: {precision: (1 + 0.5 + 2 / 3) / 3, recall: (0.5 + 0.5 + 1) / 3, f1: (2 / 3 + 0.5 + 0.8) / 3},
  classes: {
    a: {precision: 1, recall: 0.5, f1: 2 / 3, support: 2, roc_auc: 1},
    b: {precision: 0.5, recall: 0.5, f1: 0.5, support: 2, roc_auc: 6.5 / 8},
    c: {precision: 2 / 3, recall: 1, f1: 0.8, support: 2, roc_auc: 7 / 8},
  },
  confusion_matrix: {a: {a: 1, b: 1, c: 0}, b: {a: 0, b: 1, c: 1}, c: {a: 0, b: 0, c: 2}},
}

async function setup(dir: string): Promise<void> {
  await parquet(join(dir, 'test.parquet'), COLUMNS, ROWS)
  writeFileSync(join(dir, 'model.onnx'), identityModel(3))
}

/** Asserts one `ERROR:` line containing each of `parts`, and exit code 1. */
function expectError(r: Result, ...parts: string[]): void {
  expect(r.code, r.stderr).toBe(1)
  expect(r.stdout).toBe('')
  const lines = r.stderr.trimEnd().split('\n')
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^ERROR: /)
  for (const p of parts) expect(lines[0]).toContain(p)
}

describe('dv evaluate', () => {
  it('writes the exact metrics, the curves and the confusion samples of a real model on a Parquet file', async () => {
    const repo = makeRepo()
    await setup(repo)
    const r = dv(repo, 'evaluate', '--model', 'model.onnx', '--data', 'test.parquet', '--label', 'species', '-o', 'eval/metrics.json', '--plots-dir', 'eval/plots').ok()
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^evaluated 6 rows of test\.parquet \(3 classes\) on the cpu execution provider in [\d.]+ s \([\d,]+ rows\/s\): eval\/metrics\.json, eval\/plots\/roc\.json, eval\/plots\/prc\.json, eval\/plots\/confusion\.csv\n$/)

    expect(JSON.parse(readFileSync(join(repo, 'eval/metrics.json'), 'utf8'))).toEqual(EXPECTED)
    expect(readFileSync(join(repo, 'eval/plots/confusion.csv'), 'utf8')).toBe('actual,predicted,count\na,a,1\na,b,1\nb,b,1\nb,c,1\nc,c,2\n')
    const {roc} = JSON.parse(readFileSync(join(repo, 'eval/plots/roc.json'), 'utf8'))
    // class a: positives 0.7, 0.4; negatives 0.1, 0.2, 0.1, 0.3
    expect(roc.filter((p: {class: string}) => p.class === 'a')).toEqual([
      {fpr: 0, tpr: 0, threshold: 1.7, class: 'a'},
      {fpr: 0, tpr: 0.5, threshold: 0.7, class: 'a'},
      {fpr: 0, tpr: 1, threshold: 0.4, class: 'a'},
      {fpr: 0.25, tpr: 1, threshold: 0.3, class: 'a'},
      {fpr: 0.5, tpr: 1, threshold: 0.2, class: 'a'},
      {fpr: 1, tpr: 1, threshold: 0.1, class: 'a'},
    ])
    expect(new Set(roc.map((p: {class: string}) => p.class))).toEqual(new Set(['a', 'b', 'c']))
    const {prc} = JSON.parse(readFileSync(join(repo, 'eval/plots/prc.json'), 'utf8'))
    expect(prc.filter((p: {class: string}) => p.class === 'a')).toEqual([
      {precision: 2 / 6, recall: 1, threshold: 0.1, class: 'a'},
      {precision: 2 / 4, recall: 1, threshold: 0.2, class: 'a'},
      {precision: 2 / 3, recall: 1, threshold: 0.3, class: 'a'},
      {precision: 1, recall: 1, threshold: 0.4, class: 'a'},
      {precision: 1, recall: 0.5, threshold: 0.7, class: 'a'},
    ])

    // What dv plots draws from them, with DVC's templates.
    writeFileSync(
      join(repo, 'dv.yaml'),
      `plots:
  - eval/plots/roc.json: {x: fpr, y: tpr, template: simple}
  - eval/plots/prc.json: {x: recall, y: precision}
  - eval/plots/confusion.csv: {template: confusion, x: actual, y: predicted}
`,
    )
    type Plot = {id: string; template: string; spec: {data: {values: Array<Record<string, unknown>>}}}
    const plots = dv(repo, 'plots', 'show', '--json').ok().json<Plot[]>()
    const byId = Object.fromEntries(plots.map((p) => [p.id, p]))
    expect(byId['eval/plots/roc.json'].spec.data.values).toHaveLength(roc.length)
    expect(byId['eval/plots/roc.json'].spec.data.values[1]).toEqual({rev: 'workspace', fpr: 0, tpr: 0.5})
    expect(byId['eval/plots/prc.json'].spec.data.values).toHaveLength(prc.length)
    const cells = byId['eval/plots/confusion.csv'].spec.data.values.map((v) => [v.actual, v.predicted, v.count])
    expect(cells).toEqual(Object.entries(EXPECTED.confusion_matrix).flatMap(([a, row]) => Object.entries(row).map(([p, n]) => [a, p, n])))
  })

  it('reads CSV, takes --features in order and --classes, and prints JSON with --json', async () => {
    const dir = tempDir()
    // the sigmoid of 4·(x - 0.5): x = 0.9 → dog, 0.2 → cat, 0.6 → dog
    writeFileSync(join(dir, 'data.csv'), 'x,noise,label\n0.9,5,dog\n0.2,5,cat\n0.6,5,cat\n')
    writeFileSync(join(dir, 'model.onnx'), logisticModel([4], -2))
    const r = dv(dir, 'evaluate', '-m', 'model.onnx', '-d', 'data.csv', '-l', 'label', '--features', 'x', '--classes', 'cat,dog', '--json').ok()
    const out = r.json<{task: string; rows: number; provider: string; features: string[]; classes: string[]; metrics: {accuracy: number; confusion_matrix: unknown}}>()
    expect(out).toMatchObject({task: 'classification', rows: 3, provider: 'cpu', features: ['x'], classes: ['cat', 'dog']})
    expect(out.metrics.confusion_matrix).toEqual({cat: {cat: 1, dog: 1}, dog: {cat: 0, dog: 1}})
    expect(JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'))).toEqual(out.metrics)
    expect(r.stderr).toBe('')

    // A CSV column of yes/no is read as BOOLEAN: the error says so.
    writeFileSync(join(dir, 'data.csv'), 'x,label\n0.9,yes\n0.2,no\n')
    expectError(dv(dir, 'evaluate', '-m', 'model.onnx', '-d', 'data.csv', '-l', 'label', '--classes', 'no,yes', '-o', 'm2.json'), 'data.csv: column "label" has the value "true", which is not one of the model\'s classes (no, yes) (it is read as BOOLEAN')
  })

  it('runs on the CPU, saying why, when given a GPU that onnxruntime cannot use', async (context) => {
    if (existsSync(cudaProviderLibrary())) return context.skip() // an install with CUDA: covered on GPU machines
    const dir = tempDir()
    await setup(dir)
    const r = dvEnv(dir, {CUDA_VISIBLE_DEVICES: '0'}, 'evaluate', '--model', 'model.onnx', '--data', 'test.parquet', '--label', 'species').ok()
    const lines = r.stderr.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^CUDA_VISIBLE_DEVICES=0, but this onnxruntime-node has no CUDA provider \(.*libonnxruntime_providers_cuda\.so is missing; see 'CUDA' in docs\/stages\.md\): evaluating on the CPU$/)
    expect(lines[1]).toContain('on the cpu execution provider')
    expect(JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'))).toEqual(EXPECTED)

    expectError(dv(dir, 'evaluate', '--model', 'model.onnx', '--data', 'test.parquet', '--label', 'species', '--provider', 'cuda', '-o', 'cuda.json'), '--provider cuda: this onnxruntime-node has no CUDA provider')
    expect(existsSync(join(dir, 'cuda.json'))).toBe(false)
  })

  describe('bad input: one line naming the file and the column, exit 1, no output', () => {
    /** Runs dv evaluate in a directory holding an old metrics.json; afterwards only the inputs and that file are there, unchanged. */
    async function fails(prepare: (dir: string) => Promise<void> | void, args: string[], ...parts: string[]): Promise<void> {
      const dir = tempDir()
      await setup(dir)
      await prepare(dir)
      writeFileSync(join(dir, 'metrics.json'), '{"accuracy": 0.5}\n')
      const before = readdirSync(dir).sort()
      expectError(dv(dir, 'evaluate', ...args, '--plots-dir', 'plots'), ...parts)
      expect(readdirSync(dir).sort()).toEqual(before)
      expect(readFileSync(join(dir, 'metrics.json'), 'utf8')).toBe('{"accuracy": 0.5}\n')
    }

    const base = ['--model', 'model.onnx', '--data', 'test.parquet', '--label', 'species']

    it('a model whose input takes another number of features', async () => {
      await fails((dir) => writeFileSync(join(dir, 'model.onnx'), identityModel(4)), base, 'model.onnx: ', `input "features" takes 4 features per row, but test.parquet has 3 numeric columns besides the label "species" (p_a, p_b, p_c)`)
    })

    it('a model whose feature count only running it finds wrong', async () => {
      const model = linearModel({weights: [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], bias: [0, 0, 0], symbolicFeatures: true})
      await fails((dir) => writeFileSync(join(dir, 'model.onnx'), model), base, 'model.onnx: ', 'does not take 3 features per row (p_a, p_b, p_c)')
    })

    it('a label value that is not one of the classes named', async () => {
      await fails(() => {}, [...base, '--classes', 'a,b,x'], 'test.parquet: column "species" has the value "c", which is not one of the model\'s classes (a, b, x)')
    })

    it("more label values than the model's outputs", async () => {
      await fails(
        (dir) => parquet(join(dir, 'test.parquet'), COLUMNS, [...ROWS, "(0.1::FLOAT, 0.1::FLOAT, 0.8::FLOAT, 'd')"]),
        base,
        'test.parquet: column "species" has 4 distinct values (a, b, c, d), but model.onnx outputs 3 class probabilities per row',
      )
    })

    it("fewer label values than the model's outputs: asks for --classes", async () => {
      await fails((dir) => parquet(join(dir, 'test.parquet'), COLUMNS, ROWS.slice(0, 4)), base, 'column "species" has 2 distinct values (a, b), but model.onnx outputs 3 class probabilities per row', 'with --classes')
    })

    it('a missing label column', async () => {
      await fails(() => {}, ['--model', 'model.onnx', '--data', 'test.parquet', '--label', 'kind'], 'test.parquet: no column "kind" (its columns: p_a, p_b, p_c, species)')
    })

    it('a missing feature column', async () => {
      await fails(() => {}, [...base, '--features', 'p_a,p_q,p_c'], 'test.parquet: no column "p_q"')
    })

    it('a feature column with nulls', async () => {
      await fails((dir) => parquet(join(dir, 'test.parquet'), COLUMNS, [...ROWS, "(NULL, 0.5::FLOAT, 0.5::FLOAT, 'a')"]), base, 'test.parquet: column "p_a" is empty (null) in 1 of 7 rows (the first: row 7); the model needs a number in every feature')
    })

    it('a label column with nulls', async () => {
      await fails((dir) => parquet(join(dir, 'test.parquet'), COLUMNS, [...ROWS, '(0.1::FLOAT, 0.1::FLOAT, 0.8::FLOAT, NULL)']), base, 'test.parquet: column "species" is empty (null) in 1 of 7 rows (the first: row 7)')
    })

    it('an empty file', async () => {
      await fails((dir) => parquet(join(dir, 'test.parquet'), COLUMNS, ROWS, 'WHERE false'), base, 'test.parquet: no rows to evaluate')
    })

    it('outputs that are not probabilities', async () => {
      await fails((dir) => parquet(join(dir, 'test.parquet'), COLUMNS, [...ROWS, "(2.5::FLOAT, 0.5::FLOAT, 0.5::FLOAT, 'a')"]), base, 'model.onnx: output "prediction" is 2.5 for row 7 of test.parquet, not a probability')
    })

    it('a model file that is missing, or not a model', async () => {
      await fails(() => {}, ['--model', 'nope.onnx', '--data', 'test.parquet', '--label', 'species'], 'nope.onnx: no such file or directory')
      await fails((dir) => writeFileSync(join(dir, 'model.onnx'), 'not a model'), base, 'model.onnx: onnxruntime cannot load it as an ONNX model')
    })

    it('a data file that is not a table', async () => {
      await fails((dir) => writeFileSync(join(dir, 'test.parquet'), 'not parquet'), base, 'test.parquet: DuckDB cannot read it as PARQUET')
    })
  })

  it('names a usage error with exit code 2', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'm.onnx'), softmaxModel([[1, 0]], [0, 0]))
    writeFileSync(join(dir, 'd.csv'), 'x,y\n1,a\n')
    const r = dv(dir, 'evaluate', '-m', 'm.onnx', '-d', 'd.csv', '-l', 'y', '-o', 'd.csv')
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('ERROR: d.csv is an input of dv evaluate; it cannot be an output too\n')
  })
})

describe("the example's training script", () => {
  it('trains a softmax model that dv evaluate reads, the same bytes every time', () => {
    const dir = tempDir()
    const raw = join(PROJECT, 'fixtures/example/data/raw')
    // The clean parts (iris-part3.csv holds the dirty rows dv clean removes in the example).
    const parts = ['iris-part0.csv', 'iris-part1.csv', 'iris-part2.csv'].map((f) => readFileSync(join(raw, f), 'utf8').trimEnd().split('\n'))
    writeFileSync(join(dir, 'train.csv'), [parts[0][0], ...parts.flatMap((p) => p.slice(1))].join('\n') + '\n')
    writeFileSync(join(dir, 'params.yaml'), 'train:\n  lr: 0.5\n  epochs: 100\n  l2: 0.001\n')
    const train = (out: string) => {
      const r = spawnSync(process.execPath, [join(PROJECT, 'fixtures/example/src/train.mjs'), 'train.csv', out], {cwd: dir, encoding: 'utf8', env: {...process.env, DV_NODE_MODULES: join(PROJECT, 'node_modules')}})
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/^trained on 150 rows, 4 features, 3 classes \(setosa, versicolor, virginica\): loss [\d.]+ after 100 epochs/)
      return readFileSync(join(dir, out))
    }
    expect(train('a.onnx').equals(train('b.onnx'))).toBe(true)
    dv(dir, 'evaluate', '-m', 'a.onnx', '-d', 'train.csv', '-l', 'species').ok()
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'))
    expect(metrics.rows).toBe(150)
    expect(metrics.accuracy).toBeGreaterThan(0.9)
  })
})
