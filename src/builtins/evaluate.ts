/**
 * `dv evaluate`: runs an ONNX model over a tabular file and writes its metrics (JSON) and plot
 * data (ROC and precision-recall curves, a confusion matrix's counts) in the shapes `dv metrics`
 * and `dv plots` read.
 *
 * The data is read by DuckDB (src/data/engine.ts) as a stream of 2,048-row chunks, gathered into
 * batches of `batchSize` rows in one Float32Array [rows, features], each batch run through one
 * onnxruntime session and folded into the metrics at once (src/builtins/metrics-math.ts): memory
 * holds one batch of features, plus per row 4 bytes a class of scores (for the curves) and 8
 * bytes of actual and predicted class (for the confusion samples).
 *
 * Bad input (a model whose input does not fit the data, a label value that is not one of the
 * model's classes, a missing column, a NULL, no rows) fails with one line naming the file and the
 * column, and before anything is written: every output is written to a temporary name beside it
 * and all are renamed once complete, so a failure leaves none of them (and old ones as they were).
 */
import {closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, resolve} from 'node:path'

import type {DuckDBConnection, DuckDBDataChunk} from '@duckdb/node-api'
import type * as DuckDBBindings from '@duckdb/node-bindings'
import type * as Ort from 'onnxruntime-node'

import {DataEngine, formatOf, ident, isNumeric, literal, TABULAR_EXTENSIONS, type Column} from '../data/engine.js'
import {DvError, InvalidFileError, PathNotFoundError, UsageError} from '../errors.js'
import {tempPathBeside} from '../util/atomic.js'
import {crashPoint} from '../util/crash.js'
import {ClassificationMetrics, curveRows, RegressionMetrics, type ClassificationReport, type RegressionReport} from './metrics-math.js'

export type Task = 'classification' | 'regression'
export type ProviderChoice = 'auto' | 'cpu' | 'cuda'

export const DEFAULT_BATCH_ROWS = 65_536

export interface EvaluateOptions {
  /** The ONNX model: one float32 input [N, F]. */
  model: string
  /** A CSV, TSV, JSON lines or Parquet file (by extension). */
  data: string
  /** The column holding the actual class or value. */
  label: string
  /** Default: regression when the label column is floating-point and the model gives one value per row, else classification. */
  task?: Task
  /** The model's input columns, in order. Default: every numeric column but the label, in the file's order. */
  features?: string[]
  /** The classes in the order of the model's outputs. Default: the label's distinct values, sorted. */
  classes?: string[]
  /** The metrics file (JSON). */
  out: string
  /** Where roc.json, prc.json and confusion.csv go (classification only). Default: no plot files. */
  plotsDir?: string
  /** `auto`: CUDA when CUDA_VISIBLE_DEVICES names a GPU and onnxruntime has its CUDA provider, else the CPU. */
  provider?: ProviderChoice
  batchSize?: number
  /** Environment read for CUDA_VISIBLE_DEVICES (default: process.env). */
  env?: NodeJS.ProcessEnv
  /** Remarks for the user (the CPU used where a GPU was asked for). */
  onNote?: (line: string) => void
}

export interface EvaluateResult {
  task: Task
  rows: number
  /** The execution provider the model ran on. */
  provider: 'cpu' | 'cuda'
  features: string[]
  /** Classification only. */
  classes?: string[]
  metrics: ClassificationReport | RegressionReport
  /** The files written, metrics first. */
  outputs: string[]
  seconds: number
}

/** The file names of the plot data, under the plots directory. */
export const PLOT_FILES = {roc: 'roc.json', prc: 'prc.json', confusion: 'confusion.csv'} as const

/** Classes found in the data, at most (more can be named with --classes). */
const MAX_CLASSES = 1000

const FLOATING = /^(FLOAT|DOUBLE|DECIMAL(\(\d+,\s*\d+\))?)$/

/** A list for messages: at most `max` items, then how many more. */
function listed(items: readonly string[], max = 10): string {
  const shown = items.slice(0, max).join(', ')
  return items.length > max ? `${shown} and ${items.length - max} more` : shown
}

/** One line of someone else's message: its first line, cut short. */
function firstLine(message: string): string {
  const line = message.split('\n').find((l) => l.trim() !== '') ?? message
  return line.length > 300 ? `${line.slice(0, 300)}...` : line.trim()
}

// ---------------------------------------------------------------------------------------------
// onnxruntime

/**
 * onnxruntime-node, loaded only when a model is to be run (a native module of ~40 MB). Required
 * rather than imported: it is CommonJS with native parts, which the CLI bundle must not inline.
 */
function loadOrt(): typeof Ort {
  return createRequire(import.meta.url)('onnxruntime-node') as typeof Ort
}

/** The CUDA provider library an onnxruntime-node install has when it was installed with CUDA (see docs/stages.md). */
export function cudaProviderLibrary(): string {
  const entry = createRequire(import.meta.url).resolve('onnxruntime-node')
  return join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so')
}

/** Whether this process was given a GPU: CUDA_VISIBLE_DEVICES set and naming one (dv repro sets it for stages with `gpus:`). */
export function gpuGiven(env: NodeJS.ProcessEnv): boolean {
  const v = env.CUDA_VISIBLE_DEVICES?.trim()
  return v !== undefined && v !== '' && !v.startsWith('-1')
}

interface Session {
  session: Ort.InferenceSession
  provider: 'cpu' | 'cuda'
}

async function openSession(ort: typeof Ort, model: string, choice: ProviderChoice, env: NodeJS.ProcessEnv, note: (line: string) => void): Promise<Session> {
  // onnxruntime logs its own failures (a provider library that does not load) in colour on
  // stderr; dv reports them itself, in one line.
  ort.env.logLevel = 'fatal'
  const create = (providers: string[]) => ort.InferenceSession.create(model, {executionProviders: providers, logSeverityLevel: 4, graphOptimizationLevel: 'all'})
  const cantLoad = (error: unknown) => new InvalidFileError(model, `onnxruntime cannot load it as an ONNX model: ${firstLine((error as Error).message).replace(/^Load model from .*? failed:/, '')}`)
  const tryCuda = choice === 'cuda' || (choice === 'auto' && gpuGiven(env))
  if (tryCuda) {
    const library = cudaProviderLibrary()
    const why = existsSync(library)
      ? await create(['cuda', 'cpu']).then(
          (session) => ({session}) as const,
          (error: Error) => ({reason: firstLine(error.message)}) as const,
        )
      : ({reason: `this onnxruntime-node has no CUDA provider (${library} is missing; see 'CUDA' in docs/stages.md)`} as const)
    if ('session' in why) return {session: why.session, provider: 'cuda'}
    if (choice === 'cuda') throw new DvError('ENOCUDA', `--provider cuda: ${why.reason}`)
    note(`CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES?.trim()}, but ${why.reason}: evaluating on the CPU`)
  }
  try {
    return {session: await create(['cpu']), provider: 'cpu'}
  } catch (error) {
    throw cantLoad(error)
  }
}

/** The model's one input: its name and, when the model says, the features per row. */
function modelInput(session: Ort.InferenceSession, model: string): {name: string; features?: number} {
  if (session.inputNames.length !== 1) {
    throw new InvalidFileError(model, `the model has ${session.inputNames.length} inputs (${listed(session.inputNames)}); dv evaluate feeds one, a float32 tensor [rows, features]`)
  }
  const meta = session.inputMetadata?.[0]
  const name = session.inputNames[0]
  if (!meta || !meta.isTensor) return {name}
  if (meta.type !== 'float32') throw new InvalidFileError(model, `input "${name}" is ${meta.type}; dv evaluate feeds float32 (convert the model's input to float)`)
  if (meta.shape.length !== 0 && meta.shape.length !== 2) {
    throw new InvalidFileError(model, `input "${name}" has shape [${meta.shape.join(', ')}]; dv evaluate feeds [rows, features]`)
  }
  const f = meta.shape[1]
  return {name, features: typeof f === 'number' && f > 0 ? f : undefined}
}

/** The output read: the first float32 tensor (a classifier's label output, or sklearn's ZipMap, is passed over). */
function modelOutput(session: Ort.InferenceSession, model: string): {name: string; width?: number} {
  const metas = session.outputMetadata ?? []
  const found = metas.find((m) => m.isTensor && m.type === 'float32')
  if (!found) {
    const names = session.outputNames.join(', ')
    throw new InvalidFileError(model, `no float32 tensor among the model's outputs (${names}); a classifier must output probabilities [rows, classes] (for sklearn-onnx: options={'zipmap': False})`)
  }
  const shape = found.isTensor ? found.shape : []
  const last = shape.length === 1 ? 1 : shape.length === 2 ? shape[1] : undefined
  return {name: found.name, width: typeof last === 'number' && last > 0 ? last : undefined}
}

// ---------------------------------------------------------------------------------------------
// Data

/**
 * The engine's DuckDB connection, for reading results chunk by chunk: DataEngine has no
 * streaming read of its own yet (a `stream(sql)` there would replace this).
 */
function connectionOf(engine: DataEngine): DuckDBConnection {
  return (engine as unknown as {connection: DuckDBConnection}).connection
}

/** The C API bindings under @duckdb/node-api (the very copy it loads), for reading vectors' memory. */
type Bindings = Pick<typeof DuckDBBindings, 'data_chunk_get_vector' | 'vector_get_data' | 'vector_get_validity'>

function loadBindings(): Bindings {
  const api = createRequire(import.meta.url).resolve('@duckdb/node-api')
  return createRequire(api)('@duckdb/node-bindings') as Bindings
}

type NumberArray = Float32Array | Float64Array | Int32Array

/** The first row of column `j` of a chunk that is NULL, or -1: DuckDB has no validity mask when none is. */
function firstNull(bindings: Bindings, chunk: DuckDBDataChunk, j: number, n: number): number {
  const mask = bindings.vector_get_validity(bindings.data_chunk_get_vector(chunk.chunk, j), Math.ceil(n / 64) * 8)
  if (!mask) return -1
  for (let byte = 0; byte * 8 < n; byte++) {
    if (mask[byte] === 0xff) continue
    for (let r = byte * 8; r < Math.min(n, byte * 8 + 8); r++) if ((mask[byte] & (1 << (r & 7))) === 0) return r
  }
  return -1
}

/**
 * Column `j` of a result chunk as a typed array over DuckDB's own memory, valid while the chunk
 * is: a chunk's values are read at memory speed instead of one call (and one boxed number) per
 * value through DuckDBVector.getItem, which was a third of the time of a large evaluation. A
 * result chunk's vectors are flat; NULLs are found by firstNull().
 */
function columnData<T extends NumberArray>(bindings: Bindings, chunk: DuckDBDataChunk, j: number, n: number, type: {new (buffer: ArrayBufferLike, offset: number, length: number): T; BYTES_PER_ELEMENT: number}): T {
  const bytes = bindings.vector_get_data(bindings.data_chunk_get_vector(chunk.chunk, j), n * type.BYTES_PER_ELEMENT)
  if (bytes.byteOffset % type.BYTES_PER_ELEMENT === 0) return new type(bytes.buffer, bytes.byteOffset, n)
  const copy = bytes.slice()
  return new type(copy.buffer, 0, n)
}

function columnNamed(columns: readonly Column[], name: string, data: string): Column {
  const found = columns.find((c) => c.name === name)
  if (!found) throw new InvalidFileError(data, `no column "${name}" (its columns: ${listed(columns.map((c) => c.name), 30)})`)
  return found
}

function featureColumns(columns: readonly Column[], o: EvaluateOptions): string[] {
  if (o.features !== undefined) {
    const seen = new Set<string>()
    for (const f of o.features) {
      const c = columnNamed(columns, f, o.data)
      if (f === o.label) throw new UsageError(`--features: "${f}" is the label column`)
      if (seen.has(f)) throw new UsageError(`--features: "${f}" is named twice`)
      if (!isNumeric(c.type)) throw new InvalidFileError(o.data, `column "${f}" is ${c.type}, not a number; the model's features must be numbers`)
      seen.add(f)
    }
    return [...o.features]
  }
  return columns.filter((c) => c.name !== o.label && isNumeric(c.type)).map((c) => c.name)
}

/** The classes in the model's output order: as given, else the label's distinct values sorted. */
async function classesOf(engine: DataEngine, o: EvaluateOptions, label: string, type: string): Promise<string[]> {
  if (o.classes !== undefined) {
    const seen = new Set<string>()
    for (const c of o.classes) {
      if (seen.has(c)) throw new UsageError(`--classes: "${c}" is named twice`)
      seen.add(c)
    }
    const [stray] = await engine.rows(`SELECT CAST(${label} AS VARCHAR) AS v FROM data WHERE v NOT IN (${o.classes.map(literal).join(', ')}) LIMIT 1`)
    if (stray) {
      // DuckDB reads a CSV column of yes/no (or y/n, t/f) as BOOLEAN.
      const read = type === 'BOOLEAN' ? ` (it is read as BOOLEAN: its values are true and false)` : ''
      throw new InvalidFileError(o.data, `column "${o.label}" has the value "${String(stray[0])}", which is not one of the model's classes (${listed(o.classes)})${read}`)
    }
    return [...o.classes]
  }
  const rows = await engine.rows(`SELECT CAST(v AS VARCHAR) FROM (SELECT DISTINCT ${label} AS v FROM data WHERE v IS NOT NULL) ORDER BY v LIMIT ${MAX_CLASSES + 1}`)
  const classes = rows.map(([v]) => String(v))
  if (classes.length > MAX_CLASSES) {
    throw new InvalidFileError(o.data, `column "${o.label}" has more than ${MAX_CLASSES} distinct values: not classes (for a regression, --task regression; for that many classes, name them with --classes)`)
  }
  return classes
}

// ---------------------------------------------------------------------------------------------
// Outputs

/** RFC 4180 quoting where needed. */
function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** Files written under temporary names, renamed into place together by commit(), removed by abort(). */
class Outputs {
  private readonly pending: Array<{tmp: string; path: string}> = []
  private readonly madeDirs: string[] = []

  private temp(path: string): string {
    const made = mkdirSync(dirname(path), {recursive: true})
    if (made !== undefined) this.madeDirs.push(made)
    const tmp = tempPathBeside(path)
    this.pending.push({tmp, path})
    return tmp
  }

  /** Writes `path`'s content through `write(fd)`. */
  write(path: string, write: (fd: number) => void): void {
    const fd = openSync(this.temp(path), 'w', 0o644)
    try {
      write(fd)
    } finally {
      closeSync(fd)
    }
  }

  commit(): string[] {
    crashPoint('evaluate.outputs-written')
    for (const {tmp, path} of this.pending) renameSync(tmp, path)
    return this.pending.map((p) => p.path)
  }

  abort(): void {
    for (const {tmp} of this.pending) rmSync(tmp, {force: true})
    for (const dir of this.madeDirs.reverse()) rmSync(dir, {recursive: true, force: true})
  }
}

/** `{"<key>": [...]}` with a point a line: small, and a change shows as the lines that changed. */
function pointsJson(key: string, points: readonly object[]): string {
  return `{"${key}": [\n${points.map((p) => `  ${JSON.stringify(p)}`).join(',\n')}\n]}\n`
}

/**
 * The confusion matrix as `actual,predicted,count`, a row per pair that occurred, in class order:
 * dv's confusion template weighs each row by `count`, so a million samples stay a few rows.
 */
function writeConfusion(fd: number, classes: readonly string[], actual: Int32Array, predicted: Int32Array): void {
  const names = classes.map(csvField)
  const n = classes.length
  const counts = new Float64Array(n * n)
  for (let r = 0; r < actual.length; r++) counts[actual[r] * n + predicted[r]]++
  let text = 'actual,predicted,count\n'
  for (let a = 0; a < n; a++) for (let p = 0; p < n; p++) if (counts[a * n + p] > 0) text += `${names[a]},${names[p]},${counts[a * n + p]}\n`
  writeSync(fd, text)
}

// ---------------------------------------------------------------------------------------------
// The stage

/** Runs the model over the data and writes the metrics (and plot data); see the top of this file. */
export async function evaluate(o: EvaluateOptions): Promise<EvaluateResult> {
  const started = performance.now()
  const env = o.env ?? process.env
  const note = o.onNote ?? (() => {})
  const batchRows = o.batchSize ?? DEFAULT_BATCH_ROWS
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new UsageError(`--batch-size must be a positive whole number, not ${batchRows}`)
  for (const [what, path] of [['--model', o.model], ['--data', o.data]] as const) {
    if (!existsSync(path)) throw new PathNotFoundError(path)
    if (statSync(path).isDirectory()) throw new UsageError(`${what} ${path} is a directory; give a file`)
  }
  const format = formatOf(o.data)
  if (!format) throw new InvalidFileError(o.data, `not a tabular file (dv evaluate reads ${TABULAR_EXTENSIONS.join(', ')} files)`)
  const outputs = [o.out, ...(o.plotsDir === undefined ? [] : Object.values(PLOT_FILES).map((f) => join(o.plotsDir!, f)))]
  for (const path of outputs) {
    for (const input of [o.model, o.data]) if (resolve(path) === resolve(input)) throw new UsageError(`${path} is an input of dv evaluate; it cannot be an output too`)
  }
  if (new Set(outputs.map((p) => resolve(p))).size !== outputs.length) throw new UsageError(`-o ${o.out} is also one of the plot files under ${o.plotsDir}`)

  const ort = loadOrt()
  const {session, provider} = await openSession(ort, o.model, o.provider ?? 'auto', env, note)
  let engine: DataEngine | undefined
  try {
    engine = await DataEngine.open()
    const input = modelInput(session, o.model)
    const output = modelOutput(session, o.model)

    const columns = await engine.view('data', o.data, format, o.data)
    const labelColumn = columnNamed(columns, o.label, o.data)
    const features = featureColumns(columns, o)
    if (features.length === 0) throw new InvalidFileError(o.data, `no numeric column besides the label "${o.label}" to feed the model`)
    if (input.features !== undefined && input.features !== features.length) {
      const which = o.features ? `--features names ${features.length}` : `${o.data} has ${features.length} numeric columns besides the label "${o.label}"`
      throw new InvalidFileError(o.model, `the model's input "${input.name}" takes ${input.features} features per row, but ${which} (${listed(features)})${o.features ? '' : '; choose them with --features'}`)
    }

    const label = ident(o.label)
    // For Parquet, from the file's metadata: no scan.
    const rows = await engine.count('SELECT count(*) FROM data')
    if (rows === 0) throw new InvalidFileError(o.data, 'no rows to evaluate')

    const task: Task = o.task ?? (FLOATING.test(labelColumn.type) && output.width === 1 ? 'regression' : 'classification')
    if (task === 'regression' && !isNumeric(labelColumn.type)) throw new InvalidFileError(o.data, `column "${o.label}" is ${labelColumn.type}, not a number: it cannot be a regression target`)
    if (task === 'regression' && o.plotsDir !== undefined) throw new UsageError('--plots-dir: a regression has no plots (ROC, precision-recall and confusion are for classification)')
    if (task === 'regression' && o.classes !== undefined) throw new UsageError('--classes is for classification')

    let classes: string[] | undefined
    let targetExpr: string
    if (task === 'classification') {
      classes = await classesOf(engine, o, label, labelColumn.type)
      const wanted = output.width === undefined ? undefined : output.width === 1 ? 2 : output.width
      const gives = output.width === 1 ? 'one probability per row (binary: 2 classes)' : `${output.width} class probabilities per row`
      if (o.classes !== undefined) {
        if (classes.length < 2) throw new UsageError(`--classes names ${classes.length} class; classification needs at least 2`)
        if (wanted !== undefined && classes.length !== wanted) throw new InvalidFileError(o.model, `the model outputs ${gives}, but --classes names ${classes.length} (${listed(classes)})`)
      } else if (classes.length < 2 || (wanted !== undefined && classes.length !== wanted)) {
        const counted = `column "${o.label}" has ${classes.length} distinct value${classes.length === 1 ? '' : 's'} (${listed(classes)})`
        if (wanted === undefined) throw new InvalidFileError(o.data, `${counted}; classification needs at least 2 classes`)
        const hint = classes.length < wanted ? "; name the model's classes, in the order of its outputs, with --classes" : ''
        throw new InvalidFileError(o.data, `${counted}, but ${o.model} outputs ${gives}${hint}`)
      }
      // NULL stays NULL (an error, found as the rows are read); every other value is a class (checked above).
      targetExpr = `CAST(list_position([${classes.map(literal).join(', ')}], CAST(${label} AS VARCHAR)) - 1 AS INTEGER)`
    } else {
      targetExpr = `CAST(${label} AS DOUBLE)`
    }

    const F = features.length
    const C = classes?.length ?? 1
    const classification = classes === undefined ? undefined : new ClassificationMetrics(classes, rows)
    const regression = classes === undefined ? new RegressionMetrics() : undefined
    const batch = new Float32Array(Math.min(batchRows, rows) * F)
    const batchCap = batch.length / F
    const labels = classification ? new Int32Array(batchCap) : new Float64Array(batchCap)
    let twoColumn: Float32Array | undefined
    let filled = 0
    let done = 0
    let read = 0

    const runBatch = async () => {
      const n = filled
      let result: Ort.InferenceSession.ReturnType
      try {
        result = await session.run({[input.name]: new ort.Tensor('float32', batch.subarray(0, n * F), [n, F])}, [output.name])
      } catch (error) {
        const m = (error as Error).message
        if (/dimension|shape/i.test(m)) throw new InvalidFileError(o.model, `the model does not take ${F} features per row (${listed(features)}): ${firstLine(m)}`)
        throw new InvalidFileError(o.model, `onnxruntime failed on rows ${done + 1}-${done + n} of ${o.data}: ${firstLine(m)}`)
      }
      const tensor = result[output.name] as Ort.Tensor
      const dims = tensor.dims
      const width = dims.length === 1 ? 1 : dims.length === 2 ? dims[1] : -1
      const expected = classification ? (C === 2 ? [1, 2] : [C]) : [1]
      if (dims[0] !== n || !expected.includes(width)) {
        const want = classification ? `[${n}, ${C}]${C === 2 ? ` or [${n}, 1]` : ''}` : `[${n}] or [${n}, 1]`
        throw new InvalidFileError(o.model, `output "${output.name}" has shape [${dims.join(', ')}] for ${n} rows; ${task} with ${classification ? `${C} classes` : 'one value'} needs ${want}`)
      }
      const values = tensor.data as Float32Array
      for (let k = 0; k < values.length; k++) {
        const v = values[k]
        const bad = classification ? !(v >= -1e-6 && v <= 1 + 1e-6) : !Number.isFinite(v)
        if (bad) {
          const row = done + Math.floor(k / width) + 1
          throw new InvalidFileError(o.model, classification ? `output "${output.name}" is ${v} for row ${row} of ${o.data}, not a probability; a classifier must end in Softmax (or Sigmoid)` : `output "${output.name}" is ${v} for row ${row} of ${o.data}`)
        }
      }
      if (classification) {
        if (width === 1) {
          twoColumn ??= new Float32Array(batchCap * 2)
          for (let r = 0; r < n; r++) {
            twoColumn[2 * r] = 1 - values[r]
            twoColumn[2 * r + 1] = values[r]
          }
          classification.add(twoColumn, labels, n)
        } else classification.add(values, labels, n)
      } else {
        for (let r = 0; r < n; r++) {
          if (!Number.isFinite(labels[r])) throw new InvalidFileError(o.data, `column "${o.label}" is ${labels[r]} in row ${done + r + 1}, not a number to compare the prediction with`)
        }
        regression!.add(values, labels, n)
      }
      done += n
      filled = 0
    }

    const bindings = loadBindings()
    const stream = await connectionOf(engine).stream(`SELECT ${features.map((f) => `CAST(${ident(f)} AS FLOAT)`).join(', ')}, ${targetExpr} FROM data`)
    for (;;) {
      const chunk = await stream.fetchChunk()
      if (!chunk || chunk.rowCount === 0) break
      const count = chunk.rowCount
      for (let j = 0; j <= F; j++) {
        const at = firstNull(bindings, chunk, j, count)
        if (at >= 0) {
          const name = j < F ? features[j] : o.label
          const empty = await engine.count(`SELECT count(*) - count(${ident(name)}) FROM data`)
          const needs = j < F ? 'the model needs a number in every feature' : 'every row needs its actual class or value'
          throw new InvalidFileError(o.data, `column "${name}" is empty (null) in ${empty} of ${rows} rows (the first: row ${read + at + 1}); ${needs}`)
        }
      }
      const columns = features.map((_, j) => columnData(bindings, chunk, j, count, Float32Array))
      const target = classification ? columnData(bindings, chunk, F, count, Int32Array) : columnData(bindings, chunk, F, count, Float64Array)
      let offset = 0
      while (offset < count) {
        const take = Math.min(count - offset, batchCap - filled)
        for (let j = 0; j < F; j++) {
          const column = columns[j]
          for (let r = 0; r < take; r++) batch[(filled + r) * F + j] = column[offset + r]
        }
        labels.set(target.subarray(offset, offset + take), filled)
        filled += take
        offset += take
        if (filled === batchCap) await runBatch()
      }
      read += count
    }
    if (filled > 0) await runBatch()
    if (done !== rows) throw new InvalidFileError(o.data, `read ${done} rows, expected ${rows} (did the file change while dv read it?)`)

    let metrics: ClassificationReport | RegressionReport
    const files = new Outputs()
    try {
      if (classification) {
        const {report, curves} = classification.finish()
        metrics = report
        if (o.plotsDir !== undefined) {
          const {roc, prc} = curveRows(classes!, curves)
          const {actual, predicted} = classification.pairs()
          files.write(join(o.plotsDir, PLOT_FILES.roc), (fd) => writeSync(fd, pointsJson('roc', roc)))
          files.write(join(o.plotsDir, PLOT_FILES.prc), (fd) => writeSync(fd, pointsJson('prc', prc)))
          files.write(join(o.plotsDir, PLOT_FILES.confusion), (fd) => writeConfusion(fd, classes!, actual, predicted))
        }
      } else metrics = regression!.finish()
      files.write(o.out, (fd) => writeSync(fd, JSON.stringify(metrics, null, 2) + '\n'))
      const written = files.commit()
      // The metrics file first, as listed to the user.
      const ordered = [written.at(-1)!, ...written.slice(0, -1)]
      return {task, rows, provider, features, ...(classes ? {classes} : {}), metrics, outputs: ordered, seconds: (performance.now() - started) / 1000}
    } catch (error) {
      files.abort()
      throw error
    }
  } finally {
    engine?.close()
    await session.release()
  }
}
