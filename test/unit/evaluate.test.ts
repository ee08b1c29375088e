/**
 * The arithmetic of `dv evaluate` on cases worked by hand (and agreeing with scikit-learn's
 * documented examples), then the stage itself as a library call: batches of any size give the
 * same numbers, sigmoid and softmax models, regression.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {DataEngine} from '../../src/data/engine.js'
import {evaluate, gpuGiven} from '../../src/builtins/evaluate.js'
import {binaryCurves, ClassificationMetrics, curveRows, downsample, prcPoints, RegressionMetrics, rocPoints, shortFloat32, sortFloat32} from '../../src/builtins/metrics-math.js'
import {tempDir} from '../helpers.js'
import {identityModel, linearModel, logisticModel, softmaxModel} from '../onnx-models.js'

const f64 = (xs: number[]) => Float64Array.from(xs).sort()

describe('binaryCurves', () => {
  it("gives sklearn's roc_curve, roc_auc_score and precision_recall_curve on their documented example", () => {
    // y = [0, 0, 1, 1], scores = [0.1, 0.4, 0.35, 0.8]
    const curves = binaryCurves(f64([0.35, 0.8]), f64([0.1, 0.4]))
    expect(curves.auc).toBe(0.75)
    expect(rocPoints(curves)).toEqual([
      {fpr: 0, tpr: 0, threshold: Math.fround(1.8)},
      {fpr: 0, tpr: 0.5, threshold: 0.8},
      {fpr: 0.5, tpr: 0.5, threshold: 0.4},
      {fpr: 0.5, tpr: 1, threshold: 0.35},
      {fpr: 1, tpr: 1, threshold: 0.1},
    ])
    // sklearn: precision [0.5, 0.667, 0.5, 1, (1)], recall [1, 1, 0.5, 0.5, (0)], thresholds [0.1, 0.35, 0.4, 0.8]
    expect(prcPoints(curves)).toEqual([
      {precision: 0.5, recall: 1, threshold: 0.1},
      {precision: 2 / 3, recall: 1, threshold: 0.35},
      {precision: 0.5, recall: 0.5, threshold: 0.4},
      {precision: 1, recall: 0.5, threshold: 0.8},
    ])
  })

  it('counts a tie between a positive and a negative as one half', () => {
    expect(binaryCurves(f64([0.5, 0.5]), f64([0.5, 0.5])).auc).toBe(0.5)
    // positives 0.3, 0.8; negatives 0.1, 0.3, 0.9: pairs won 1 + 0.5 + 0 + (1 + 1 + 0) = 3.5 of 6
    expect(binaryCurves(f64([0.3, 0.8]), f64([0.1, 0.3, 0.9])).auc).toBe(3.5 / 6)
    // a tied group is one diagonal step of the curve
    expect(rocPoints(binaryCurves(f64([0.5, 0.5]), f64([0.5, 0.5]))).map((p) => [p.fpr, p.tpr])).toEqual([
      [0, 0],
      [1, 1],
    ])
  })

  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    expect(binaryCurves(f64([0.6, 0.9]), f64([0.1, 0.2, 0.5])).auc).toBe(1)
    expect(binaryCurves(f64([0.1, 0.2]), f64([0.6, 0.9])).auc).toBe(0)
  })

  it('has no area (and no ROC) without positives or without negatives', () => {
    const onlyNegatives = binaryCurves(f64([]), f64([0.1, 0.2]))
    expect(onlyNegatives.auc).toBeUndefined()
    expect(rocPoints(onlyNegatives)).toEqual([])
    expect(prcPoints(onlyNegatives)).toEqual([])
    const onlyPositives = binaryCurves(f64([0.1, 0.2]), f64([]))
    expect(onlyPositives.auc).toBeUndefined()
    expect(rocPoints(onlyPositives)).toEqual([])
    expect(prcPoints(onlyPositives)).toEqual([
      {precision: 1, recall: 1, threshold: 0.1},
      {precision: 1, recall: 0.5, threshold: 0.2},
    ])
  })
})

describe('downsample, sortFloat32, shortFloat32', () => {
  it('keeps at most 200 points, evenly spaced, the first and the last', () => {
    const points = Array.from({length: 1000}, (_, i) => i)
    const kept = downsample(points)
    expect(kept).toHaveLength(200)
    expect(kept[0]).toBe(0)
    expect(kept.at(-1)).toBe(999)
    for (let k = 1; k < kept.length; k++) expect(kept[k]).toBeGreaterThan(kept[k - 1])
    expect(downsample([1, 2, 3])).toEqual([1, 2, 3])
  })

  it('cuts a curve of a million distinct scores to 200 points, ends included', () => {
    const n = 1_000_000
    const curves = binaryCurves(Float64Array.from({length: n}, (_, i) => i + 0.5), Float64Array.from({length: n}, (_, i) => i))
    expect(curves.auc).toBe(0.5 + 0.5 / n)
    const roc = rocPoints(curves, 200)
    expect(roc).toHaveLength(200)
    expect(roc[0]).toMatchObject({fpr: 0, tpr: 0})
    expect(roc.at(-1)).toEqual({fpr: 1, tpr: 1, threshold: 0})
    expect(prcPoints(curves, 200)).toHaveLength(200)
  })

  it('sorts float32 values as numbers, negatives and zeros included', () => {
    const values = Float32Array.from({length: 5000}, (_, i) => Math.sin(i * 12.9898) * 43758.5453 * (i % 7 === 0 ? 1e-30 : 1))
    values[17] = 0
    values[18] = -0
    values[19] = Infinity
    values[20] = -Infinity
    // -0 and 0 are equal scores: compared without their sign
    const expected = Array.from(values).sort((a, b) => a - b).map((x) => x + 0)
    expect(Array.from(sortFloat32(values.slice())).map((x) => x + 0)).toEqual(expected)
    expect(Array.from(sortFloat32(Float32Array.from([3, -1, 2])))).toEqual([-1, 2, 3])
  })

  it('writes a float32 as the shortest decimal that reads back as it', () => {
    expect(shortFloat32(Math.fround(0.3))).toBe(0.3)
    expect(shortFloat32(Math.fround(1 / 3))).toBe(0.33333334)
    expect(shortFloat32(Math.fround(1.8))).toBe(1.8)
    expect(shortFloat32(0.1)).toBe(0.1) // not a float32: left as it is
  })
})

describe('ClassificationMetrics', () => {
  // Six rows, three classes; predicted: a, b, b, c, c, c.
  const classes = ['a', 'b', 'c']
  const probabilities = [0.7, 0.2, 0.1, 0.4, 0.5, 0.1, 0.1, 0.8, 0.1, 0.2, 0.3, 0.5, 0.1, 0.1, 0.8, 0.3, 0.3, 0.4]
  const labels = [0, 0, 1, 1, 2, 2]

  const expected = {
    rows: 6,
    accuracy: 4 / 6,
    log_loss: -(Math.log(0.7) + Math.log(0.4) + Math.log(0.8) + Math.log(0.3) + Math.log(0.8) + Math.log(0.4)) / 6,
    // one-vs-rest: a 8/8; b: 0.8 beats 4 negatives, 0.3 beats 2 and ties 1 (6.5/8); c: 4 + 3 of 8
    roc_auc: (1 + 6.5 / 8 + 7 / 8) / 3,
    macro: {precision: (1 + 0.5 + 2 / 3) / 3, recall: (0.5 + 0.5 + 1) / 3, f1: (2 / 3 + 0.5 + 0.8) / 3},
    classes: {
      a: {precision: 1, recall: 0.5, f1: 2 / 3, support: 2, roc_auc: 1},
      b: {precision: 0.5, recall: 0.5, f1: 0.5, support: 2, roc_auc: 6.5 / 8},
      c: {precision: 2 / 3, recall: 1, f1: 0.8, support: 2, roc_auc: 7 / 8},
    },
    confusion_matrix: {a: {a: 1, b: 1, c: 0}, b: {a: 0, b: 1, c: 1}, c: {a: 0, b: 0, c: 2}},
  }

  it('gives accuracy, per-class and macro precision/recall/F1, one-vs-rest AUC with ties, log loss, confusion', () => {
    const m = new ClassificationMetrics(classes)
    m.add(probabilities, labels, 6)
    expect(m.finish().report).toEqual(expected)
  })

  it('gives the same numbers whatever the batches', () => {
    const whole = new ClassificationMetrics(classes)
    whole.add(probabilities, labels, 6)
    const parts = new ClassificationMetrics(classes, 1)
    for (let r = 0; r < 6; r += 4) {
      const n = Math.min(4, 6 - r)
      parts.add(probabilities.slice(r * 3, (r + n) * 3), labels.slice(r, r + n), n)
    }
    expect(parts.finish().report).toEqual(whole.finish().report)
    expect(parts.pairs()).toEqual({actual: Int32Array.from(labels), predicted: Int32Array.from([0, 1, 1, 2, 2, 2])})
  })

  it('scores 0 (not NaN) for a class never predicted and never present, and leaves its AUC out', () => {
    const m = new ClassificationMetrics(['a', 'b', 'z'])
    m.add([0.9, 0.1, 0, 0.2, 0.8, 0], [0, 1], 2)
    const {report} = m.finish()
    expect(report.classes.z).toEqual({precision: 0, recall: 0, f1: 0, support: 0})
    expect(report.macro).toEqual({precision: 2 / 3, recall: 2 / 3, f1: 2 / 3})
    expect(report.roc_auc).toBe(1)
  })

  it('clips probabilities of 0 and 1 for the log loss', () => {
    const m = new ClassificationMetrics(['no', 'yes'])
    m.add([1, 0, 1, 0], [0, 1], 2)
    expect(m.finish().report.log_loss).toBe(-(Math.log(1 - 1e-15) + Math.log(1e-15)) / 2)
  })

  it('takes the AUC of the second class for two classes, and draws only its curves', () => {
    const m = new ClassificationMetrics(['neg', 'pos'])
    // sklearn's example again: y = [0, 0, 1, 1], p(pos) = [0.1, 0.4, 0.35, 0.8]
    m.add([0.9, 0.1, 0.6, 0.4, 0.65, 0.35, 0.2, 0.8], [0, 0, 1, 1], 4)
    const {report, curves} = m.finish()
    expect(report.roc_auc).toBe(0.75)
    const {roc, prc} = curveRows(['neg', 'pos'], curves)
    expect(roc.map((p) => [p.fpr, p.tpr, p.threshold, p.class])).toEqual([
      [0, 0, 1.8, 'pos'],
      [0, 0.5, 0.8, 'pos'],
      [0.5, 0.5, 0.4, 'pos'],
      [0.5, 1, 0.35, 'pos'],
      [1, 1, 0.1, 'pos'],
    ])
    expect(prc.map((p) => p.threshold)).toEqual([0.1, 0.35, 0.4, 0.8])
  })
})

describe('RegressionMetrics', () => {
  it("gives MAE, RMSE, R² and MAPE (sklearn's documented example)", () => {
    const m = new RegressionMetrics()
    m.add([2.5, 0.0], [3, -0.5], 2)
    m.add([2, 8], [2, 7], 2)
    const r = m.finish()
    expect(r).toEqual({rows: 4, mae: 0.5, rmse: Math.sqrt(0.375), r2: 1 - 1.5 / 29.1875, mape: (0.5 / 3 + 1 + 0 + 1 / 7) / 4})
    expect(r.r2).toBeCloseTo(0.9486081370449679, 15) // sklearn.metrics.r2_score
    expect(r.mape).toBeCloseTo(0.3273809523809524, 15) // sklearn.metrics.mean_absolute_percentage_error
  })

  it('gives R² 1 for exact predictions of a constant, else 0', () => {
    const exact = new RegressionMetrics()
    exact.add([2, 2], [2, 2], 2)
    expect(exact.finish().r2).toBe(1)
    const off = new RegressionMetrics()
    off.add([1, 2], [2, 2], 2)
    expect(off.finish().r2).toBe(0)
  })
})

describe('gpuGiven', () => {
  it('is true when CUDA_VISIBLE_DEVICES names a device', () => {
    expect(gpuGiven({CUDA_VISIBLE_DEVICES: '0'})).toBe(true)
    expect(gpuGiven({CUDA_VISIBLE_DEVICES: 'GPU-1234'})).toBe(true)
    expect(gpuGiven({CUDA_VISIBLE_DEVICES: ''})).toBe(false)
    expect(gpuGiven({CUDA_VISIBLE_DEVICES: '-1'})).toBe(false)
    expect(gpuGiven({})).toBe(false)
  })
})

describe('evaluate (the stage, as a library call)', () => {
  async function parquet(path: string, columns: string, rows: string[]): Promise<void> {
    const engine = await DataEngine.open()
    try {
      await engine.export(`SELECT * FROM (VALUES ${rows.join(', ')}) t(${columns})`, path)
    } finally {
      engine.close()
    }
  }

  it('gives the same metrics and plot files for any batch size', async () => {
    const dir = tempDir()
    const rows = Array.from({length: 23}, (_, i) => `(${(i * 7) % 5}.0, ${(i * 3) % 4}.0, '${'xyz'[i % 3]}')`)
    await parquet(join(dir, 'd.parquet'), 'u, v, y', rows)
    writeFileSync(join(dir, 'm.onnx'), softmaxModel([[0.5, -0.25, 0], [-0.5, 0.75, 0.25]], [0, 0.1, -0.1]))
    const run = async (batchSize: number, name: string) => {
      const r = await evaluate({model: join(dir, 'm.onnx'), data: join(dir, 'd.parquet'), label: 'y', out: join(dir, name, 'metrics.json'), plotsDir: join(dir, name, 'plots'), batchSize})
      expect(r.rows).toBe(23)
      expect(r.provider).toBe('cpu')
      return ['metrics.json', 'plots/roc.json', 'plots/prc.json', 'plots/confusion.csv'].map((f) => readFileSync(join(dir, name, f), 'utf8'))
    }
    const whole = await run(65_536, 'a')
    expect(await run(4, 'b')).toEqual(whole)
    expect(await run(1, 'c')).toEqual(whole)
    // The confusion matrix: a row per pair that occurred, counts adding up to every row evaluated.
    const cells = whole[3].trimEnd().split('\n')
    expect(cells[0]).toBe('actual,predicted,count')
    expect(cells.slice(1).reduce((n, l) => n + Number(l.split(',')[2]), 0)).toBe(23)
  })

  it('reads files of many DuckDB chunks (2,048 rows each) across batch boundaries', async () => {
    const dir = tempDir()
    const engine = await DataEngine.open()
    try {
      await engine.export(`SELECT (i % 17)::FLOAT / 16 AS u, ((i * 7) % 13)::FLOAT / 12 AS v, ['x', 'y', 'z'][i % 3 + 1] AS y FROM range(5000) t(i)`, join(dir, 'd.parquet'))
    } finally {
      engine.close()
    }
    writeFileSync(join(dir, 'm.onnx'), softmaxModel([[2, -1, 0], [-1, 0.5, 1]], [0, 0.25, -0.25]))
    const run = async (batchSize: number, name: string) => {
      const r = await evaluate({model: join(dir, 'm.onnx'), data: join(dir, 'd.parquet'), label: 'y', out: join(dir, `${name}.json`), plotsDir: join(dir, name), batchSize})
      expect(r.rows).toBe(5000)
      return ['.json', '/roc.json', '/prc.json', '/confusion.csv'].map((f) => readFileSync(join(dir, name + f), 'utf8'))
    }
    const whole = await run(65_536, 'a')
    expect(await run(3000, 'b')).toEqual(whole)
    expect(await run(777, 'c')).toEqual(whole)
    // the confusion counts cover every row, in class order
    const cells = whole[3].trimEnd().split('\n').slice(1).map((l) => l.split(','))
    expect(cells.reduce((n, c) => n + Number(c[2]), 0)).toBe(5000)
    expect([...new Set(cells.map((c) => c[0]))]).toEqual(['x', 'y', 'z'])
  })

  it('reads a sigmoid model as two classes, the second positive', async () => {
    const dir = tempDir()
    // logit = 2x - 1: x = 0 → 0.269 (no), x = 0.5 → 0.5 (no: ties go to the first class), x = 1 → 0.731 (yes)
    await parquet(join(dir, 'd.parquet'), 'x, y', ["(0.0, 'no')", "(0.5, 'yes')", "(1.0, 'yes')", "(1.0, 'no')"])
    writeFileSync(join(dir, 'm.onnx'), logisticModel([2], -1))
    const r = await evaluate({model: join(dir, 'm.onnx'), data: join(dir, 'd.parquet'), label: 'y', out: join(dir, 'metrics.json')})
    expect(r.classes).toEqual(['no', 'yes'])
    const m = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'))
    expect(m.confusion_matrix).toEqual({no: {no: 1, yes: 1}, yes: {no: 1, yes: 1}})
    expect(m.accuracy).toBe(0.5)
    // positives score 0.5, 0.731; negatives 0.269, 0.731: pairs won 1 + 0 + 1 + 0.5 → 2.5 of 4
    expect(m.roc_auc).toBe(0.625)
  })

  it('evaluates a regression: a float label and one output per row', async () => {
    const dir = tempDir()
    await parquet(join(dir, 'd.parquet'), 'a, b, target', ['(1.0, 2.0, 3.0::DOUBLE)', '(0.0, -1.0, -0.5)', '(2.0, 0.0, 2.0)', '(4.0, 1.0, 7.0)'])
    // prediction = a + b - 0.5
    writeFileSync(join(dir, 'm.onnx'), linearModel({weights: [[1], [1]], bias: [-0.5]}))
    const r = await evaluate({model: join(dir, 'm.onnx'), data: join(dir, 'd.parquet'), label: 'target', out: join(dir, 'metrics.json')})
    expect(r.task).toBe('regression')
    // predictions: 2.5, -1.5, 1.5, 4.5 against 3, -0.5, 2, 7
    const m = new RegressionMetrics()
    m.add([2.5, -1.5, 1.5, 4.5], [3, -0.5, 2, 7], 4)
    expect(JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'))).toEqual(m.finish())
  })

  it('takes the features named, in the order named', async () => {
    const dir = tempDir()
    await parquet(join(dir, 'd.parquet'), 'p_b, junk, p_a, y', ["(0.2, 9.0, 0.8, 'a')", "(0.9, 9.0, 0.1, 'b')"])
    writeFileSync(join(dir, 'm.onnx'), identityModel(2))
    const r = await evaluate({model: join(dir, 'm.onnx'), data: join(dir, 'd.parquet'), label: 'y', features: ['p_a', 'p_b'], out: join(dir, 'metrics.json')})
    expect(r.features).toEqual(['p_a', 'p_b'])
    expect(JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')).accuracy).toBe(1)
  })
})
