/**
 * The arithmetic of `dv evaluate`, with no I/O: classification and regression metrics gathered
 * batch by batch (so a file larger than memory is never held as rows), ROC and precision-recall
 * curves with their exact areas, and the curves cut down to a drawable number of points.
 *
 * Definitions follow scikit-learn's, so numbers agree with what users already compute:
 * - precision, recall, F1 per class; 0 where the ratio is 0/0 (sklearn's zero_division=0);
 *   `macro` is their unweighted mean over every class.
 * - ROC-AUC: the exact area under the ROC curve, ties between a positive and a negative counting
 *   one half (sklearn's roc_auc_score). Binary: of the second class; multiclass: one-vs-rest per
 *   class and their macro mean (multi_class="ovr", average="macro"), over the classes that have
 *   both positives and negatives (the area of the others is undefined and left out).
 * - log loss: the mean of -ln p(actual class), p clipped to [1e-15, 1 - 1e-15].
 * - regression: MAE, RMSE, R² (1 - SSres/SStot; when every actual value is the same, 1 if the
 *   predictions are exact, else 0), MAPE as a fraction (mean |y - ŷ| / max(|y|, 2^-52)).
 */

/** Probabilities are clipped to [EPS, 1 - EPS] before their logarithm is taken. */
export const LOG_LOSS_EPS = 1e-15

/** sklearn's floor for |y| in MAPE (float64 machine epsilon). */
export const MAPE_EPS = 2.220446049250313e-16

/** Points kept per curve in the plot files. */
export const MAX_CURVE_POINTS = 200

export interface ClassReport {
  precision: number
  recall: number
  f1: number
  /** Rows whose actual class this is. */
  support: number
  /** Absent when the class has no positives or no negatives. */
  roc_auc?: number
}

export interface ClassificationReport {
  rows: number
  accuracy: number
  log_loss: number
  /** Binary: the AUC of the second class; multiclass: the macro mean of one-vs-rest AUCs. Absent when undefined. */
  roc_auc?: number
  macro: {precision: number; recall: number; f1: number}
  classes: Record<string, ClassReport>
  /** Counts by actual class, then predicted class. */
  confusion_matrix: Record<string, Record<string, number>>
}

export interface RegressionReport {
  rows: number
  mae: number
  rmse: number
  r2: number
  mape: number
}

export interface RocPoint {
  fpr: number
  tpr: number
  /** Rows scoring at least this are predicted positive; the first point's is above every score. */
  threshold: number
}

export interface PrcPoint {
  precision: number
  recall: number
  threshold: number
}

/**
 * One binary problem's curve: a point per distinct score, from the highest score down, with the
 * true and false positives counted among the rows scoring at least that. Kept as columns, since
 * a million rows can have a million distinct scores; rocPoints() and prcPoints() read it.
 */
export interface BinaryCurves {
  /** The exact area under the ROC curve; undefined when there are no positives or no negatives. */
  auc: number | undefined
  positives: number
  negatives: number
  /** Descending. */
  thresholds: Float64Array
  tp: Float64Array
  fp: Float64Array
}

type Scores = Float32Array | Float64Array

/**
 * The curve and its area of one binary problem, exactly, from the scores of its positives and of
 * its negatives, each sorted ascending. Ties between positives and negatives make one diagonal
 * step of the ROC curve, worth half.
 */
export function binaryCurves(positives: Scores, negatives: Scores): BinaryCurves {
  const P = positives.length
  const N = negatives.length
  const thresholds = new Float64Array(P + N)
  const tps = new Float64Array(P + N)
  const fps = new Float64Array(P + N)
  let m = 0
  let i = P - 1
  let j = N - 1
  let tp = 0
  let fp = 0
  // Twice the area under the curve in count units, Σ Δfp·(tp before + tp after): a sum of
  // integers, exact while it stays below 2^53 (P·N up to 4.5·10^15).
  let area2 = 0
  while (i >= 0 || j >= 0) {
    const s = i < 0 ? negatives[j] : j < 0 ? positives[i] : Math.max(positives[i], negatives[j])
    const tpBefore = tp
    const fpBefore = fp
    while (i >= 0 && positives[i] === s) {
      tp++
      i--
    }
    while (j >= 0 && negatives[j] === s) {
      fp++
      j--
    }
    area2 += (fp - fpBefore) * (tp + tpBefore)
    thresholds[m] = s
    tps[m] = tp
    fps[m] = fp
    m++
  }
  return {
    auc: P > 0 && N > 0 ? area2 / 2 / P / N : undefined,
    positives: P,
    negatives: N,
    thresholds: thresholds.subarray(0, m),
    tp: tps.subarray(0, m),
    fp: fps.subarray(0, m),
  }
}

/** `count` indices from 0 to count - 1, at most `max` of them, evenly spaced, the first and the last always. */
function spread(count: number, max: number): number[] {
  if (count <= max) return Array.from({length: count}, (_, k) => k)
  const out: number[] = []
  for (let k = 0; k < max; k++) {
    const at = Math.round((k * (count - 1)) / (max - 1))
    if (at !== out.at(-1)) out.push(at)
  }
  return out
}

/**
 * The ROC curve, from (0, 0) up (threshold descending), at most `max` points; empty when the area
 * is undefined. The first point's threshold is the highest score + 1, where no row is predicted
 * positive (sklearn's convention before 1.3: JSON has no infinity).
 */
export function rocPoints(c: BinaryCurves, max = Infinity): RocPoint[] {
  if (c.auc === undefined) return []
  const m = c.thresholds.length
  return spread(m + 1, max).map((k) =>
    k === 0 ? {fpr: 0, tpr: 0, threshold: Math.fround(c.thresholds[0] + 1)} : {fpr: c.fp[k - 1] / c.negatives, tpr: c.tp[k - 1] / c.positives, threshold: c.thresholds[k - 1]},
  )
}

/**
 * The precision-recall curve, threshold ascending (as sklearn's precision_recall_curve, less its
 * final point, which has no threshold), at most `max` points; empty when there are no positives.
 */
export function prcPoints(c: BinaryCurves, max = Infinity): PrcPoint[] {
  if (c.positives === 0) return []
  const m = c.thresholds.length
  return spread(m, max).map((k) => {
    const at = m - 1 - k
    return {precision: c.tp[at] / (c.tp[at] + c.fp[at]), recall: c.tp[at] / c.positives, threshold: c.thresholds[at]}
  })
}

/** At most `max` points of a curve, evenly spaced along it, the first and the last always kept. */
export function downsample<T>(points: readonly T[], max = MAX_CURVE_POINTS): T[] {
  return spread(points.length, max).map((k) => points[k])
}

/**
 * Sorts float32 values ascending, in place, by their bits (a radix sort: linear time, no
 * allocation per value, unlike TypedArray.prototype.sort). NaN must not occur.
 */
export function sortFloat32(values: Float32Array): Float32Array {
  const n = values.length
  if (n < 2) return values
  const bits = new Uint32Array(values.buffer, values.byteOffset, n)
  // Order-preserving keys: negatives have every bit flipped, positives only the sign bit.
  for (let k = 0; k < n; k++) {
    const b = bits[k]
    bits[k] = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0
  }
  let from: Uint32Array = bits
  let to: Uint32Array = new Uint32Array(n)
  const counts = new Uint32Array(2048)
  for (let shift = 0; shift < 32; shift += 11) {
    counts.fill(0)
    for (let k = 0; k < n; k++) counts[(from[k] >>> shift) & 0x7ff]++
    let sum = 0
    for (let d = 0; d < 2048; d++) {
      const c = counts[d]
      counts[d] = sum
      sum += c
    }
    for (let k = 0; k < n; k++) {
      const key = from[k]
      to[counts[(key >>> shift) & 0x7ff]++] = key
    }
    ;[from, to] = [to, from]
  }
  // After the three passes (and swaps) the sorted keys are in `from`.
  for (let k = 0; k < n; k++) {
    const b = from[k]
    bits[k] = b & 0x80000000 ? (b & 0x7fffffff) >>> 0 : ~b >>> 0
  }
  return values
}

/**
 * The shortest decimal that reads back as the same 32-bit float: model scores are float32, and
 * `0.30000001192092896` says no more than `0.3`.
 */
export function shortFloat32(x: number): number {
  if (!Number.isFinite(x) || Math.fround(x) !== x) return x
  for (let digits = 1; digits < 10; digits++) {
    const y = Number(x.toPrecision(digits))
    if (Math.fround(y) === x) return y
  }
  return x
}

/** A Float32Array or Int32Array that doubles when full. */
class Growing<T extends Float32Array | Int32Array> {
  length = 0
  constructor(
    public data: T,
    private readonly make: (n: number) => T,
  ) {}

  reserve(more: number): void {
    if (this.length + more <= this.data.length) return
    const next = this.make(Math.max(this.length + more, this.data.length * 2, 1024))
    next.set(this.data.subarray(0, this.length))
    this.data = next
  }

  view(): T {
    return this.data.subarray(0, this.length) as T
  }
}

/**
 * Classification metrics over rows given batch by batch: the confusion counts and the log loss
 * as they come, and each row's score for every class (4 bytes per row and class) for the areas
 * and curves at the end.
 */
export class ClassificationMetrics {
  private readonly C: number
  private readonly confusion: Float64Array
  private logLossSum = 0
  private readonly actual: Growing<Int32Array>
  private readonly predicted: Growing<Int32Array>
  /** Row-major: row r's score for class c at r·C + c. */
  private readonly scores: Growing<Float32Array>

  /** `classes` in the order of the model's outputs; `expectedRows` sizes the buffers (they grow past it). */
  constructor(
    readonly classes: readonly string[],
    expectedRows = 0,
  ) {
    this.C = classes.length
    if (this.C < 2) throw new Error('classification needs at least two classes')
    this.confusion = new Float64Array(this.C * this.C)
    this.actual = new Growing(new Int32Array(expectedRows), (n) => new Int32Array(n))
    this.predicted = new Growing(new Int32Array(expectedRows), (n) => new Int32Array(n))
    this.scores = new Growing(new Float32Array(expectedRows * this.C), (n) => new Float32Array(n))
  }

  get rows(): number {
    return this.actual.length
  }

  /**
   * `n` rows: `probabilities` row-major (n × classes), `labels` each row's actual class index.
   * The predicted class is the most probable one (the first of equals).
   */
  add(probabilities: ArrayLike<number>, labels: ArrayLike<number>, n: number): void {
    const C = this.C
    this.actual.reserve(n)
    this.predicted.reserve(n)
    this.scores.reserve(n * C)
    const actual = this.actual.data
    const predicted = this.predicted.data
    const scores = this.scores.data
    const base = this.actual.length
    for (let r = 0; r < n; r++) {
      const y = labels[r]
      let best = 0
      let bestP = probabilities[r * C]
      for (let c = 0; c < C; c++) {
        const p = probabilities[r * C + c]
        scores[(base + r) * C + c] = p
        if (p > bestP) {
          best = c
          bestP = p
        }
      }
      actual[base + r] = y
      predicted[base + r] = best
      this.confusion[y * C + best]++
      const py = Math.min(1 - LOG_LOSS_EPS, Math.max(LOG_LOSS_EPS, probabilities[r * C + y]))
      this.logLossSum -= Math.log(py)
    }
    this.actual.length += n
    this.predicted.length += n
    this.scores.length += n * C
  }

  /** Each row's actual and predicted class index, in the order the rows came. */
  pairs(): {actual: Int32Array; predicted: Int32Array} {
    return {actual: this.actual.view(), predicted: this.predicted.view()}
  }

  /**
   * The curves of class `c` against the rest: positives are the rows of class c, scored by their
   * probability of c. With two classes only the second class's curves are drawn.
   */
  curvesOf(c: number): BinaryCurves {
    const n = this.rows
    const C = this.C
    const actual = this.actual.data
    const scores = this.scores.data
    let P = 0
    for (let r = 0; r < n; r++) if (actual[r] === c) P++
    const pos = new Float32Array(P)
    const neg = new Float32Array(n - P)
    let i = 0
    let j = 0
    for (let r = 0; r < n; r++) {
      const s = scores[r * C + c]
      if (actual[r] === c) pos[i++] = s
      else neg[j++] = s
    }
    return binaryCurves(sortFloat32(pos), sortFloat32(neg))
  }

  /** The report, and each class's curves (computed once: sorting a million scores is the costly part). */
  finish(): {report: ClassificationReport; curves: BinaryCurves[]} {
    const n = this.rows
    const C = this.C
    const curves = this.classes.map((_, c) => this.curvesOf(c))
    const count = (a: number, p: number) => this.confusion[a * C + p]
    let correct = 0
    const classes: Record<string, ClassReport> = {}
    const confusion: Record<string, Record<string, number>> = {}
    let sumP = 0
    let sumR = 0
    let sumF = 0
    const aucs: number[] = []
    this.classes.forEach((name, c) => {
      correct += count(c, c)
      let support = 0
      let predictedAs = 0
      for (let k = 0; k < C; k++) {
        support += count(c, k)
        predictedAs += count(k, c)
      }
      const tp = count(c, c)
      const precision = predictedAs === 0 ? 0 : tp / predictedAs
      const recall = support === 0 ? 0 : tp / support
      const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)
      const auc = curves[c].auc
      classes[name] = {precision, recall, f1, support, ...(auc === undefined ? {} : {roc_auc: auc})}
      if (auc !== undefined) aucs.push(auc)
      sumP += precision
      sumR += recall
      sumF += f1
      confusion[name] = Object.fromEntries(this.classes.map((p, k) => [p, count(c, k)]))
    })
    const rocAuc = C === 2 ? curves[1].auc : aucs.length === 0 ? undefined : aucs.reduce((a, b) => a + b, 0) / aucs.length
    const report: ClassificationReport = {
      rows: n,
      accuracy: n === 0 ? 0 : correct / n,
      log_loss: n === 0 ? 0 : this.logLossSum / n,
      ...(rocAuc === undefined ? {} : {roc_auc: rocAuc}),
      macro: {precision: sumP / C, recall: sumR / C, f1: sumF / C},
      classes,
      confusion_matrix: confusion,
    }
    return {report, curves}
  }
}

/**
 * The curve rows of the plot files: per class (one-vs-rest; with two classes, the second class
 * only), at most MAX_CURVE_POINTS each, every row naming its class.
 */
export function curveRows(classes: readonly string[], curves: readonly BinaryCurves[], max = MAX_CURVE_POINTS): {roc: Array<RocPoint & {class: string}>; prc: Array<PrcPoint & {class: string}>} {
  const drawn = classes.length === 2 ? [1] : classes.map((_, c) => c)
  const roc: Array<RocPoint & {class: string}> = []
  const prc: Array<PrcPoint & {class: string}> = []
  for (const c of drawn) {
    for (const p of rocPoints(curves[c], max)) roc.push({...p, threshold: shortFloat32(p.threshold), class: classes[c]})
    for (const p of prcPoints(curves[c], max)) prc.push({...p, threshold: shortFloat32(p.threshold), class: classes[c]})
  }
  return {roc, prc}
}

/** Regression metrics over rows given batch by batch, in constant memory. */
export class RegressionMetrics {
  private n = 0
  private absSum = 0
  private sqSum = 0
  private apeSum = 0
  /** Welford's running mean and sum of squared deviations of the actual values. */
  private mean = 0
  private m2 = 0

  get rows(): number {
    return this.n
  }

  add(predicted: ArrayLike<number>, actual: ArrayLike<number>, n: number): void {
    for (let r = 0; r < n; r++) {
      const y = actual[r]
      const e = y - predicted[r]
      this.absSum += Math.abs(e)
      this.sqSum += e * e
      this.apeSum += Math.abs(e) / Math.max(Math.abs(y), MAPE_EPS)
      this.n++
      const d = y - this.mean
      this.mean += d / this.n
      this.m2 += d * (y - this.mean)
    }
  }

  finish(): RegressionReport {
    const n = this.n
    if (n === 0) return {rows: 0, mae: 0, rmse: 0, r2: 0, mape: 0}
    const r2 = this.m2 === 0 ? (this.sqSum === 0 ? 1 : 0) : 1 - this.sqSum / this.m2
    return {rows: n, mae: this.absSum / n, rmse: Math.sqrt(this.sqSum / n), r2, mape: this.apeSum / n}
  }
}
