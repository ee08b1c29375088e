/**
 * Pipeline files: `dv.yaml`, or `dvc.yaml` when there is no `dv.yaml`, in DVC's `dvc.yaml`
 * schema so that a DVC pipeline runs unchanged. This module only parses: it validates the file,
 * expands `foreach`/`matrix` stages, interpolates `${}` from `vars` and params files, and
 * resolves every path against the repository root. Each error names the file, the line of the
 * offending node and the key, on one line (`dv.yaml:7: stage "train": unknown key "cmdd"`).
 *
 * DVC rules followed (dvc.org, user-guide/project-structure/dvcyaml-files, and DVC's parser,
 * dvc/parsing): stage keys and output subfields; params lists; `wdir` relative to the file and
 * every other path relative to `wdir`; `vars` merged in order after the root `params.yaml`,
 * merging mappings and refusing to redefine a value; `${a.b}` / `${a[0]}`, `\${` to escape; an
 * expression that is the whole value keeps its type; a mapping inside `cmd` unpacks to
 * `--key value` options; `foreach` names `name@<value>` (or `@<index>` for lists of lists or
 * mappings, `@<key>` for mappings) and `matrix` names `name@<v1>-<v2>` (`<axis><index>` for
 * composite values). Values print as Python prints them (`true`, `1.0`, `1e-05`, `None`).
 *
 * dv extension: a stage's `gpus: N` (a non-negative integer, default 0).
 */
import {existsSync, readFileSync, statSync} from 'node:fs'
import {join, posix} from 'node:path'
import {type Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument} from 'yaml'

import {DvError, InvalidFileError} from '../errors.js'
import {checkYamlDepth} from '../models/yaml.js'
import {DEFAULT_PARAMS_FILE, paramsFileType, parseParams} from './params.js'
import {readRecordFile} from '../util/read.js'

export const PIPELINE_FILES = ['dv.yaml', 'dvc.yaml']

export interface OutDef {
  /** Relative to the repository root, posix, normalized, no trailing slash. */
  path: string
  cache: boolean
  persist: boolean
  kind: 'out' | 'metric' | 'plot'
  /** For a plot output: how to draw it, and the fields to draw. */
  plot?: PlotOptions & {x?: string; y?: string[]}
}

/** DVC's plot options: `x`, `y` (fields, or files mapped to fields), `template`, labels. */
export interface PlotOptions {
  template?: string
  title?: string
  xLabel?: string
  yLabel?: string
}

/** One plot: data files (each with the fields to draw) or an image, drawn with one template. */
export interface PlotDef extends PlotOptions {
  /** The top-level plot's key, or the output's path. */
  id: string
  /** Relative to the repository root. `y` empty: the last numeric field; `x` unset: the row's index. */
  files: Array<{path: string; y: string[]; x?: string}>
}

export interface ParamRef {
  /** Relative to the repository root. */
  file: string
  /** Empty: every key of the file. */
  keys: string[]
}

export interface StageDef {
  name: string
  /** Each run by the shell in order. */
  cmd: string[]
  /** Relative to the repository root; '.' by default. */
  wdir: string
  /** Relative to the repository root. */
  deps: string[]
  outs: OutDef[]
  params: ParamRef[]
  frozen: boolean
  alwaysChanged: boolean
  desc?: string
  /** dv extension: how many GPUs the stage needs, 0 by default. */
  gpus: number
  /** Where the stage is defined, for messages. */
  file: string
  line: number
}

export interface Pipeline {
  file: string
  stages: StageDef[]
  /** Top-level lists, relative to the repository root. */
  metrics: string[]
  plots: string[]
  /** The plots at top level, as defined there (stage plot outputs are in the stages' outs). */
  plotDefs: PlotDef[]
  params: string[]
}

/** Every plot of the pipeline: top-level ones, then each stage's plot outputs not already among them. */
export function plotDefinitions(p: Pipeline): PlotDef[] {
  const defs = [...p.plotDefs]
  const covered = new Set(defs.flatMap((d) => d.files.map((f) => f.path)))
  for (const stage of p.stages) {
    for (const out of stage.outs) {
      if (out.kind !== 'plot' || covered.has(out.path)) continue
      const {x, y, ...rest} = out.plot ?? {}
      defs.push({...rest, id: out.path, files: [{path: out.path, y: y ?? [], ...(x === undefined ? {} : {x})}]})
    }
  }
  return defs
}

/** DVC's `parsing` config: how a mapping unpacked into `cmd` writes booleans and lists. */
export interface ParsingOptions {
  /** `store_true` (DVC's default): `--flag` when true, nothing when false; `boolean_optional`: `--no-flag` when false. */
  bool?: 'store_true' | 'boolean_optional'
  /** `nargs` (default): `--key a b`; `append`: `--key a --key b`. */
  list?: 'nargs' | 'append'
}

export interface PipelineOptions {
  parsing?: ParsingOptions
}

export interface StageOutput {
  stage: string
  /** Relative to the repository root. */
  path: string
}

/** The pipeline file at `root`: `dv.yaml`, else `dvc.yaml`; undefined when there is neither. */
export function pipelineFile(root: string): string | undefined {
  return PIPELINE_FILES.find((f) => existsSync(join(root, f)))
}

/** Reads, validates and expands the repository's pipeline; undefined when it has no pipeline file. */
export function loadPipeline(root: string, options: PipelineOptions = {}): Pipeline | undefined {
  const file = pipelineFile(root)
  if (!file) return undefined
  return parsePipeline(root, file, readRecordFile(join(root, file), file), options)
}

/** The paths the pipeline's stages produce (outs, metrics and plots), for refusing to `dv add` them by hand. */
export function stageOutputs(root: string): StageOutput[] {
  const pipeline = loadPipeline(root)
  if (!pipeline) return []
  return pipeline.stages.flatMap((s) => s.outs.map((o) => ({stage: s.name, path: o.path})))
}

/** Parses pipeline `text` as the file `file` (relative to `root`, which params files are read from). */
export function parsePipeline(root: string, file: string, text: string, options: PipelineOptions = {}): Pipeline {
  return new Parser(root, file, text, options).parse()
}

// ---------------------------------------------------------------------------------------------
// Positions in the pipeline file

type Path = Array<string | number>

class Positions {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  private lineOf(node: unknown): number | undefined {
    const range = (node as {range?: [number, number, number]} | null)?.range
    return range ? this.lines.linePos(range[0]).line : undefined
  }

  /** The line of the node at `path`: a mapping entry's key, a list item; the nearest ancestor when it is not in the file. */
  line(path: Path): number | undefined {
    let node: unknown = this.doc.contents
    let line = this.lineOf(node)
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(this.doc)
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p.key) === String(seg))
        if (!pair) break
        line = this.lineOf(pair.key) ?? this.lineOf(pair.value) ?? line
        node = pair.value
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg]
        if (item === undefined) break
        line = this.lineOf(item) ?? line
        node = item
      } else {
        break
      }
    }
    return line
  }
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value)
  return String(key)
}

// ---------------------------------------------------------------------------------------------
// Values: what the YAML holds, with integers as bigint and floats as number (as Python keeps them)

type Dict = Record<string, unknown>

const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v)
const isComposite = (v: unknown): boolean => v !== null && typeof v === 'object'

function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  if (typeof v === 'bigint' || typeof v === 'number') return 'a number'
  if (typeof v === 'boolean') return 'a boolean'
  return 'a string'
}

/** Python's `repr(float)`: shortest round-trip digits, exponent outside 1e-4 <= |x| < 1e16. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan'
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf'
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0'
  const sign = x < 0 ? '-' : ''
  const [mantissa, expText] = Math.abs(x).toExponential().split('e')
  const digits = mantissa.replace('.', '')
  const exp = Number(expText)
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0')
      return `${sign}${int}.${digits.slice(exp + 1) || '0'}`
    }
    return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`
}

/** How DVC prints an interpolated primitive: booleans as `true`/`false`, null as `None`. */
function toStr(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  return pyStr(v)
}

/** Python's `str()`/f-string of a primitive. */
function pyStr(v: unknown): string {
  if (v === null || v === undefined) return 'None'
  if (typeof v === 'boolean') return v ? 'True' : 'False'
  if (typeof v === 'number') return pyFloat(v)
  return String(v)
}

/** Python's `shlex.quote`. */
function shellQuote(s: string): string {
  if (s === '') return "''"
  if (!/[^\w@%+=:,./-]/.test(s)) return s
  return `'${s.replace(/'/g, `'"'"'`)}'`
}

function flatten(d: Dict, prefix = '', out: Array<[string, unknown]> = []): Array<[string, unknown]> {
  for (const [k, v] of Object.entries(d)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (isDict(v)) flatten(v, key, out)
    else out.push([key, v])
  }
  return out
}

function deepClone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepClone) as T
  if (isDict(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepClone(x)])) as T
  return v
}

// ---------------------------------------------------------------------------------------------
// Interpolation context (DVC's dvc/parsing/context.py)

class ContextError extends Error {}

class Context {
  data: Dict = {}
  /** Where each defined dotted path came from, for merge conflicts. */
  sources = new Map<string, string>()
  /** Params files loaded into this context: null when whole, else the keys loaded. */
  imports = new Map<string, string[] | null>()
  reserved = new Set<string>()

  clone(): Context {
    const c = new Context()
    c.data = deepClone(this.data)
    c.sources = new Map(this.sources)
    c.imports = new Map([...this.imports].map(([k, v]) => [k, v ? [...v] : null]))
    c.reserved = new Set(this.reserved)
    return c
  }

  /** A context with `values` set on top (foreach's `item`/`key`), which vars may not redefine. */
  withReserved(values: Dict): Context {
    const c = new Context()
    c.data = {...this.data, ...values}
    c.sources = this.sources
    c.imports = this.imports
    c.reserved = new Set([...this.reserved, ...Object.keys(values)])
    return c
  }

  /** Merges `update` in: mappings merge, any other value already defined is an error. */
  mergeUpdate(update: Dict, source: string): void {
    const clash = Object.keys(update).filter((k) => this.reserved.has(k))
    if (clash.length > 0) throw new ContextError(`cannot redefine reserved ${clash.map((k) => `"${k}"`).join(', ')} from ${source}`)
    const merge = (into: Dict, upd: Dict, prefix: string) => {
      for (const [k, v] of Object.entries(upd)) {
        const path = prefix ? `${prefix}.${k}` : k
        const cur = Object.prototype.hasOwnProperty.call(into, k) ? into[k] : undefined
        if (isDict(cur) && isDict(v)) {
          merge(cur, v, path)
        } else if (Object.prototype.hasOwnProperty.call(into, k)) {
          throw new ContextError(`cannot redefine "${path}" from ${source}: it is already defined in ${this.sourceOf(path)}`)
        } else {
          into[k] = deepClone(v)
          this.sources.set(path, source)
        }
      }
    }
    merge(this.data, update, '')
  }

  private sourceOf(path: string): string {
    const parts = path.split('.')
    for (let n = parts.length; n > 0; n--) {
      const s = this.sources.get(parts.slice(0, n).join('.'))
      if (s) return s
    }
    return 'an earlier source'
  }

  /** Loads `item` (`file` or `file:key1,key2`, relative to `wdir`) from the repository at `root`. */
  mergeFrom(root: string, item: string, wdir: string, checkPath: (p: string, base: string) => string): void {
    const colon = item.indexOf(':')
    const fileText = colon < 0 ? item : item.slice(0, colon)
    const keys = colon < 0 ? [] : item.slice(colon + 1).split(',').filter(Boolean)
    const file = checkPath(fileText, wdir)
    const selected = keys.length > 0 ? keys : null
    if (this.imports.has(file)) {
      const imported = this.imports.get(file)!
      if (!selected && imported === null) return // the whole file again: allowed
      if (!selected || imported === null || selected.some((k) => imported.includes(k))) {
        throw new ContextError(`cannot load "${item}": ${file} is already ${imported === null ? '' : 'partly '}loaded`)
      }
    }
    const abs = join(root, file)
    if (!existsSync(abs)) throw new ContextError(`params file "${file}" does not exist`)
    if (statSync(abs).isDirectory()) throw new ContextError(`"${file}" is a directory, not a params file`)
    try {
      paramsFileType(file)
    } catch (error) {
      throw new ContextError((error as Error).message)
    }
    let data = parseParams(readFileSync(abs, 'utf8'), file, {intsAsBigInt: true})
    if (selected) {
      const picked: Dict = {}
      for (const k of selected) {
        if (!Object.prototype.hasOwnProperty.call(data, k)) throw new ContextError(`could not find "${k}" in ${file}`)
        picked[k] = data[k]
      }
      data = picked
    }
    this.mergeUpdate(data, file)
    const prev = this.imports.get(file)
    this.imports.set(file, selected ? [...(prev ?? []), ...selected] : null)
  }

  /** The value at `expr` (`a.b`, `a[0]`, `a.0`); undefined when it is not defined. */
  select(expr: string): {found: boolean; value?: unknown} {
    let cur: unknown = this.data
    for (const raw of expr.replace(/\[/g, '.').replace(/\]/g, '').split('.')) {
      const part = raw.trim()
      if (Array.isArray(cur)) {
        if (!/^[+-]?\d+$/.test(part)) return {found: false}
        let i = Number(part)
        if (i < 0) i += cur.length
        if (i < 0 || i >= cur.length) return {found: false}
        cur = cur[i]
      } else if (isDict(cur)) {
        if (!Object.prototype.hasOwnProperty.call(cur, part)) return {found: false}
        cur = cur[part]
      } else {
        return {found: false}
      }
    }
    return {found: true, value: cur}
  }
}

// ---------------------------------------------------------------------------------------------
// The parser

const TOP_KEYS = new Set(['stages', 'vars', 'params', 'metrics', 'plots', 'artifacts', 'datasets'])
const STAGE_KEYS = new Set(['cmd', 'wdir', 'deps', 'params', 'outs', 'metrics', 'plots', 'frozen', 'always_changed', 'desc', 'meta', 'vars', 'gpus'])
const OUT_KEYS = new Set(['cache', 'persist', 'checkpoint', 'remote', 'push', 'desc', 'type', 'labels', 'meta'])
const PLOT_KEYS = new Set([...OUT_KEYS, 'template', 'x', 'y', 'x_label', 'y_label', 'title', 'header'])
const TOP_PLOT_KEYS = new Set(['template', 'x', 'y', 'x_label', 'y_label', 'title'])
const OUT_KINDS: Array<[string, OutDef['kind']]> = [
  ['outs', 'out'],
  ['metrics', 'metric'],
  ['plots', 'plot'],
]

/** One `${...}`: the whole text, the expression inside, and where it starts. */
interface Interpolation {
  0: string
  1: string
  index: number
}

const LINE_TERMINATORS = new Set(['\n', '\r', '\u2028', '\u2029'])

/**
 * The `${...}` of `s` not preceded by a backslash, exactly as DVC's `(?<!\\)\$\{(.*?)\}` finds
 * them, in linear time. That regexp rescans to the end of the line from every `${` with no `}`
 * after it: quadratic, so a value of 100,000 `${` took seconds, and a megabyte minutes.
 */
function interpolations(s: string): Interpolation[] {
  const found: Interpolation[] = []
  let from = 0
  for (let start = s.indexOf('${', from); start >= 0; start = s.indexOf('${', from)) {
    if (start > 0 && s[start - 1] === '\\') {
      from = start + 1
      continue
    }
    // `.*?` stops at the first `}`, and cannot cross a line terminator.
    let end = start + 2
    while (end < s.length && s[end] !== '}' && !LINE_TERMINATORS.has(s[end])) end++
    if (s[end] === '}') found.push({0: s.slice(start, end + 1), 1: s.slice(start + 2, end), index: start})
    // On a failure every `${` before `end` would fail the same way: the scan goes on from there.
    from = s[end] === '}' ? end + 1 : end
  }
  return found
}

/** DVC's expression grammar: a word, then `.word` or `[word]` parts. */
const EXPRESSION = /^[^.[\]]+(?:\.[^.[\]]+|\[[^.[\]]+\])*$/

interface Where {
  /** `stage "train"`; empty at the top level. */
  label: string
  /** The key being resolved (`cmd`, `deps`, `foreach`, `metrics`...), for messages. */
  field: string
  /** DVC's rule for stage keys: only primitives interpolate into them (a mapping may unpack into `cmd`). */
  strict: boolean
}

/** `label: text`, or just `text` at the top level. */
function at(label: string, text: string): string {
  return label ? `${label}: ${text}` : text
}

class Parser {
  private readonly positions: Positions
  private readonly doc: Document
  private readonly bool: 'store_true' | 'boolean_optional'
  private readonly list: 'nargs' | 'append'

  constructor(
    private readonly root: string,
    private readonly file: string,
    text: string,
    options: PipelineOptions,
  ) {
    const lines = new LineCounter()
    checkYamlDepth(text, file) // deep nesting would overflow the stack in parseDocument
    this.doc = parseDocument(text, {lineCounter: lines, prettyErrors: false, intAsBigInt: true, merge: true})
    this.positions = new Positions(this.doc, lines)
    if (this.doc.errors.length > 0) {
      const err = this.doc.errors[0]
      throw new InvalidFileError(file, `invalid YAML: ${err.message.split('\n')[0]}`, lines.linePos(err.pos[0]).line)
    }
    this.bool = options.parsing?.bool ?? 'store_true'
    this.list = options.parsing?.list ?? 'nargs'
  }

  private fail(path: Path, message: string): never {
    // Keys, names and paths from the file are quoted into messages and may hold line breaks:
    // escaped, so that the message stays on one line.
    const oneLine = message.replace(/\r/g, '\\r').replace(/\n/g, '\\n')
    throw new InvalidFileError(this.file, oneLine, this.positions.line(path))
  }

  parse(): Pipeline {
    let data: unknown
    try {
      data = this.doc.toJS()
    } catch (error) {
      // An alias bomb (past the `yaml` package's maxAliasCount) or an alias to a missing anchor:
      // a ReferenceError from toJS, which the YAML errors above do not catch.
      this.fail([], `invalid YAML: ${(error as Error).message.split('\n')[0]}`)
    }
    const pipeline: Pipeline = {file: this.file, stages: [], metrics: [], plots: [], plotDefs: [], params: []}
    if (data === null || data === undefined) return pipeline
    if (!isDict(data)) this.fail([], `expected a mapping with "stages", got ${typeName(data)}`)
    for (const key of Object.keys(data)) if (!TOP_KEYS.has(key)) this.fail([key], `unknown top-level key "${key}"`)

    const context = new Context()
    const defaultParams = join(this.root, DEFAULT_PARAMS_FILE)
    if (existsSync(defaultParams) && statSync(defaultParams).isFile()) {
      this.contextErrors([], '', () => context.mergeFrom(this.root, DEFAULT_PARAMS_FILE, '.', (p) => p))
    }
    this.loadVars(context, data.vars, ['vars'], '.', '', '')

    const stages = data.stages ?? {}
    if (!isDict(stages)) this.fail(['stages'], `"stages" must be a mapping of stage names to definitions, got ${typeName(stages)}`)
    const seen = new Map<string, string>()
    for (const [name, def] of Object.entries(stages)) {
      for (const stage of this.stage(name, def, context)) {
        const other = seen.get(stage.name)
        if (other !== undefined) this.fail(['stages', name], `stage "${stage.name}" is defined twice (by "${other}" and "${name}")`)
        seen.set(stage.name, name)
        pipeline.stages.push(stage)
      }
    }

    for (const key of ['metrics', 'params'] as const) {
      const list = data[key]
      if (list === undefined || list === null) continue
      if (!Array.isArray(list)) this.fail([key], `"${key}" must be a list of paths, got ${typeName(list)}`)
      list.forEach((item, i) => {
        const v = this.resolve(item, context, [key, i], {label: '', field: key, strict: false})
        if (!isPathLike(v)) this.fail([key, i], `"${key}" item must be a path, got ${typeName(v)}`)
        const p = this.repoPath(toStr(v), [key, i], '', `"${key}" path`)
        if (!pipeline[key].includes(p)) pipeline[key].push(p)
      })
    }
    if (data.plots !== undefined && data.plots !== null) {
      if (!Array.isArray(data.plots)) this.fail(['plots'], `"plots" must be a list, got ${typeName(data.plots)}`)
      data.plots.forEach((item, i) => {
        const v = this.resolve(item, context, ['plots', i], {label: '', field: 'plots', strict: false})
        for (const def of this.topPlots(v, ['plots', i])) {
          pipeline.plotDefs.push(def)
          for (const f of def.files) if (!pipeline.plots.includes(f.path)) pipeline.plots.push(f.path)
        }
      })
    }
    return pipeline
  }

  /** Top-level plots: a path, or `{id: {y: ..., x: ...}}` whose id is a path unless `y`/`x` map files to fields. */
  private topPlots(v: unknown, path: Path): PlotDef[] {
    if (isPathLike(v)) {
      const p = this.repoPath(toStr(v), path, '', '"plots" path')
      return [{id: p, files: [{path: p, y: []}]}]
    }
    if (!isDict(v)) this.fail(path, `"plots" item must be a path or {id: {options}}, got ${typeName(v)}`)
    const defs: PlotDef[] = []
    for (const [id, def] of Object.entries(v)) {
      const here = [...path, id]
      if (def !== null && def !== undefined && !isDict(def)) this.fail(here, `"plots" "${id}" must map to options, got ${typeName(def)}`)
      for (const k of Object.keys(def ?? {})) if (!TOP_PLOT_KEYS.has(k)) this.fail([...here, k], `"plots" "${id}": unknown key "${k}"`)
      const {x, y, ...options} = this.plotOptions(def ?? {}, here, `"plots" "${id}"`)
      const file = (f: string) => this.repoPath(f, here, '', '"plots" path')
      const rawY = def?.y
      const rawX = def?.x
      let files: PlotDef['files']
      if (isDict(rawY)) {
        files = Object.entries(rawY).map(([f, fields]) => ({path: file(f), y: this.fieldList(fields, [...here, 'y', f], `"plots" "${id}": "y" of "${f}"`)}))
      } else {
        files = [{path: file(id), y: y ?? []}]
      }
      if (isDict(rawX)) {
        for (const [f, field] of Object.entries(rawX)) {
          const target = files.find((e) => e.path === file(f))
          if (!target) this.fail([...here, 'x', f], `"plots" "${id}": "x" names "${f}", which is not among the files of "y"`)
          if (typeof field !== 'string') this.fail([...here, 'x', f], `"plots" "${id}": "x" of "${f}" must be a field name, got ${typeName(field)}`)
          target.x = field
        }
      } else if (x !== undefined) {
        for (const f of files) f.x = x
      }
      defs.push({...options, id, files})
    }
    return defs
  }

  /** A plot's `x`, `y`, `template` and labels, checked (a mapping `x`/`y` is left to the caller). */
  private plotOptions(o: Dict, path: Path, label: string): PlotOptions & {x?: string; y?: string[]} {
    const text = (k: string): string | undefined => {
      const v = o[k]
      if (v === undefined || v === null) return undefined
      if (typeof v !== 'string') this.fail([...path, k], `${label}: "${k}" must be a string, got ${typeName(v)}`)
      return v
    }
    const out: PlotOptions & {x?: string; y?: string[]} = {}
    const template = text('template')
    if (template !== undefined) out.template = template
    for (const [k, name] of [['title', 'title'], ['x_label', 'xLabel'], ['y_label', 'yLabel']] as const) {
      const v = text(k)
      if (v !== undefined) out[name] = v
    }
    if (!isDict(o.x)) {
      const x = text('x')
      if (x !== undefined) out.x = x
    }
    if (o.y !== undefined && o.y !== null && !isDict(o.y)) out.y = this.fieldList(o.y, [...path, 'y'], `${label}: "y"`)
    return out
  }

  private fieldList(v: unknown, path: Path, label: string): string[] {
    if (typeof v === 'string') return [v]
    if (Array.isArray(v) && v.every((f) => typeof f === 'string')) return v as string[]
    this.fail(path, `${label} must be a field name or a list of them, got ${typeName(v)}`)
  }

  /** Runs `fn`, turning a context error (or a DvError other than a file's own) into this file's error at `path`. */
  private contextErrors<T>(path: Path, label: string, fn: () => T): T {
    try {
      return fn()
    } catch (error) {
      if (error instanceof ContextError) this.fail(path, at(label, `"vars": ${error.message}`))
      if (error instanceof DvError && !(error instanceof InvalidFileError)) this.fail(path, at(label, `"vars": ${error.message}`))
      throw error
    }
  }

  /** `vars`: params file names (`file.yaml`, `file.yaml:k1,k2`, relative to `wdir`) and mappings, merged in order. */
  private loadVars(context: Context, vars: unknown, path: Path, wdir: string, label: string, stageName: string): void {
    if (vars === undefined || vars === null) return
    if (!Array.isArray(vars)) this.fail(path, at(label, `"vars" must be a list of params files and mappings, got ${typeName(vars)}`))
    vars.forEach((item, i) => {
      const here = [...path, i]
      if (containsInterpolation(item)) this.fail(here, at(label, `"vars" cannot use \${} interpolation`))
      if (typeof item === 'string') {
        const check = (p: string, base: string) => this.repoPath(p, here, label, '"vars" file', base)
        this.contextErrors(here, label, () => context.mergeFrom(this.root, item, wdir, check))
      } else if (isDict(item)) {
        const source = `${stageName ? `${stageName}.` : ''}vars[${i}]`
        this.contextErrors(here, label, () => context.mergeUpdate(item, source))
      } else {
        this.fail(here, at(label, `"vars" item must be a params file name or a mapping, got ${typeName(item)}`))
      }
    })
  }

  /** One entry of `stages`: a plain stage, a `foreach`/`do` group or a `matrix` group. */
  private stage(name: string, def: unknown, context: Context): StageDef[] {
    const path: Path = ['stages', name]
    const label = `stage "${name}"`
    if (!isDict(def)) this.fail(path, `${label}: the definition must be a mapping, got ${typeName(def)}`)
    if ('foreach' in def || 'do' in def) {
      for (const key of Object.keys(def)) {
        if (key !== 'foreach' && key !== 'do') this.fail([...path, key], `${label}: unknown key "${key}" (a foreach stage has only "foreach" and "do")`)
      }
      if (!('foreach' in def)) this.fail([...path, 'do'], `${label}: "do" needs "foreach"`)
      if (!('do' in def)) this.fail([...path, 'foreach'], `${label}: "foreach" needs "do"`)
      const template = def.do
      if (!isDict(template)) this.fail([...path, 'do'], `${label}: "do" must be a mapping, got ${typeName(template)}`)
      this.checkKeys(template, [...path, 'do'], label, false)
      const iterable = this.resolve(def.foreach, context, [...path, 'foreach'], {label, field: 'foreach', strict: false})
      const entries = new Map<string, Dict>()
      if (isDict(iterable)) {
        for (const [k, v] of Object.entries(iterable)) entries.set(k, {item: v, key: k})
      } else if (Array.isArray(iterable)) {
        // DVC: simple values name the stages; a list holding any list or mapping uses indexes.
        const composite = iterable.some(isComposite)
        iterable.forEach((v, i) => entries.set(composite ? String(i) : toStr(v), {item: v}))
      } else {
        this.fail([...path, 'foreach'], `${label}: "foreach" must be a list or a mapping, got ${typeName(iterable)}`)
      }
      return [...entries].map(([key, values]) => this.entry(`${name}@${key}`, template, [...path, 'do'], context.withReserved(values), path))
    }
    if ('matrix' in def) {
      this.checkKeys(def, path, label, true)
      const matrix = this.resolve(def.matrix, context, [...path, 'matrix'], {label, field: 'matrix', strict: false})
      if (!isDict(matrix)) this.fail([...path, 'matrix'], `${label}: "matrix" must be a mapping of names to lists, got ${typeName(matrix)}`)
      const axes = Object.entries(matrix).map(([axis, values]): [string, unknown[]] => {
        if (Array.isArray(values)) return [axis, values]
        if (isDict(values)) return [axis, Object.keys(values)]
        this.fail([...path, 'matrix', axis], `${label}: "matrix" "${axis}" must be a list, got ${typeName(values)}`)
      })
      // The cartesian product, first axis slowest; names join each value (or `<axis><index>` for a list or mapping) with '-'.
      let combos: Array<{item: Dict; fragments: string[]}> = axes.length === 0 ? [] : [{item: {}, fragments: []}]
      for (const [axis, values] of axes) {
        combos = combos.flatMap((c) =>
          values.map((v, i) => ({item: {...c.item, [axis]: v}, fragments: [...c.fragments, isComposite(v) ? `${axis}${i}` : toStr(v)]})),
        )
      }
      const entries = new Map<string, Dict>()
      for (const c of combos) entries.set(c.fragments.join('-'), c.item)
      const template: Dict = {...def}
      delete template.matrix
      return [...entries].map(([key, item]) => this.entry(`${name}@${key}`, template, path, context.withReserved({key, item}), path))
    }
    this.checkKeys(def, path, label, false)
    return [this.entry(name, def, path, context, path)]
  }

  private checkKeys(def: Dict, path: Path, label: string, matrix: boolean): void {
    for (const key of Object.keys(def)) {
      if (STAGE_KEYS.has(key) || (matrix && key === 'matrix')) continue
      if (matrix && (key === 'foreach' || key === 'do')) this.fail([...path, key], `${label}: "${key}" cannot be combined with "matrix"`)
      this.fail([...path, key], `${label}: unknown key "${key}"`)
    }
  }

  /** Resolves one stage from its definition (`path` locates the raw definition, `stagePath` its entry under `stages`). */
  private entry(name: string, def: Dict, path: Path, context: Context, stagePath: Path): StageDef {
    const label = `stage "${name}"`
    const key = (k: string, ...rest: Path): Path => [...path, k, ...rest]

    let wdir = '.'
    if (def.wdir !== undefined && def.wdir !== null && def.wdir !== '') {
      const v = this.resolve(def.wdir, context, key('wdir'), {label, field: 'wdir', strict: true})
      if (!isPathLike(v)) this.fail(key('wdir'), `${label}: "wdir" must be a path, got ${typeName(v)}`)
      wdir = this.repoPath(toStr(v), key('wdir'), label, '"wdir"')
    }

    if (def.vars !== undefined && def.vars !== null) {
      context = context.clone()
      this.loadVars(context, def.vars, key('vars'), wdir, label, name)
    }
    const resolve = (k: string) => this.resolve(def[k], context, key(k), {label, field: k, strict: true})

    if (def.cmd === undefined || def.cmd === null) this.fail(stagePath, `${label}: "cmd" is required`)
    if (typeof def.cmd !== 'string' && !Array.isArray(def.cmd)) this.fail(key('cmd'), `${label}: "cmd" must be a string or a list of strings, got ${typeName(def.cmd)}`)
    const cmdValue = resolve('cmd')
    const cmd: string[] = []
    const cmdItems = Array.isArray(cmdValue) ? cmdValue : [cmdValue]
    cmdItems.forEach((c, i) => {
      const where = Array.isArray(cmdValue) ? key('cmd', i) : key('cmd')
      if (isDict(c)) cmd.push(this.unpack(c, where, label, 'cmd'))
      else if (isPathLike(c)) cmd.push(toStr(c))
      else this.fail(where, `${label}: "cmd" must be a string or a list of strings, got ${typeName(c)}${Array.isArray(cmdValue) ? ' in the list' : ''}`)
    })
    if (cmd.length === 0 || cmd.every((c) => c.trim() === '')) this.fail(key('cmd'), `${label}: "cmd" is empty`)

    const deps: string[] = []
    const depsValue = resolve('deps')
    if (depsValue !== undefined && depsValue !== null) {
      if (!Array.isArray(depsValue)) this.fail(key('deps'), `${label}: "deps" must be a list of paths, got ${typeName(depsValue)}`)
      depsValue.forEach((d, i) => {
        if (!isPathLike(d)) this.fail(key('deps', i), `${label}: "deps" item must be a path, got ${typeName(d)}`)
        const p = this.repoPath(toStr(d), key('deps', i), label, '"deps" path', wdir)
        if (!deps.includes(p)) deps.push(p)
      })
    }

    const outs: OutDef[] = []
    for (const [field, kind] of OUT_KINDS) {
      const list = resolve(field)
      if (list === undefined || list === null) continue
      if (!Array.isArray(list)) this.fail(key(field), `${label}: "${field}" must be a list, got ${typeName(list)}`)
      list.forEach((item, i) => {
        const itemPath = key(field, i)
        let entries: Array<[string, unknown]>
        if (isPathLike(item)) entries = [[toStr(item), null]]
        else if (isDict(item) && Object.keys(item).length > 0) entries = Object.entries(item)
        else this.fail(itemPath, `${label}: "${field}" item must be a path or {path: {options}}, got ${typeName(item)}`)
        for (const [p, opts] of entries) {
          const optPath = [...itemPath, p]
          const out: OutDef = {path: this.repoPath(p, itemPath, label, `"${field}" path`, wdir), cache: true, persist: false, kind}
          if (out.path === '.') this.fail(itemPath, `${label}: "${field}" path "${p}" is the repository root`)
          // Outputs are written on checkout and pull: never into .git (hooks, config) or .dv.
          // Any case, for case-insensitive file systems. Reading from there (deps) stays allowed.
          const first = out.path.split('/')[0]
          if (RESERVED_DIRS.has(first.toLowerCase())) this.fail(itemPath, `${label}: "${field}" path "${p}" is inside ${first}, which dv and git keep for themselves`)
          const allowed = kind === 'plot' ? PLOT_KEYS : OUT_KEYS
          // DVC lets a plot output carry a list of option sets.
          const optList = Array.isArray(opts) && kind === 'plot' ? opts : [opts]
          for (const o of optList) {
            if (o === null || o === undefined) continue
            if (!isDict(o)) this.fail(optPath, `${label}: "${field}" path "${p}" must map to options, got ${typeName(o)}`)
            for (const [k, v] of Object.entries(o)) {
              if (!allowed.has(k)) this.fail([...optPath, k], `${label}: "${field}" path "${p}": unknown key "${k}"`)
              if (BOOLEAN_OUT_KEYS.has(k) && typeof v !== 'boolean') {
                this.fail([...optPath, k], `${label}: "${field}" path "${p}": "${k}" must be true or false, got ${typeName(v)}`)
              }
            }
            if (o.cache === false) out.cache = false
            if (o.persist === true) out.persist = true
            if (kind === 'plot') {
              const {x, y, ...rest} = this.plotOptions(o, optPath, `${label}: "${field}" path "${p}"`)
              if (isDict(o.x) || isDict(o.y)) this.fail(optPath, `${label}: "${field}" path "${p}": "x" and "y" of a plot output are field names, not files`)
              out.plot = {...out.plot, ...rest, ...(x === undefined ? {} : {x}), ...(y === undefined ? {} : {y})}
            }
          }
          const dup = outs.find((x) => x.path === out.path)
          if (dup) this.fail(itemPath, `${label}: "${out.path}" is listed as an output twice`)
          outs.push(out)
        }
      })
    }

    const params = this.stageParams(resolve('params'), key('params'), label, wdir)

    const flag = (k: string): boolean => {
      const v = resolve(k)
      if (v === undefined || v === null) return false
      if (typeof v !== 'boolean') this.fail(key(k), `${label}: "${k}" must be true or false, got ${typeName(v)}`)
      return v
    }
    const frozen = flag('frozen')
    const alwaysChanged = flag('always_changed')

    let desc: string | undefined
    const descValue = resolve('desc')
    if (descValue !== undefined && descValue !== null) {
      if (!isPathLike(descValue)) this.fail(key('desc'), `${label}: "desc" must be a string, got ${typeName(descValue)}`)
      desc = toStr(descValue)
    }

    let gpus = 0
    const g = resolve('gpus')
    if (g !== undefined && g !== null) {
      const n = typeof g === 'bigint' ? g : typeof g === 'number' && Number.isInteger(g) ? BigInt(g) : undefined
      if (n === undefined || n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) {
        this.fail(key('gpus'), `${label}: "gpus" must be a non-negative integer, got ${describeValue(g)}`)
      }
      gpus = Number(n)
    }

    const stage: StageDef = {name, cmd, wdir, deps, outs, params, frozen, alwaysChanged, gpus, file: this.file, line: this.positions.line(stagePath) ?? 1}
    if (desc !== undefined) stage.desc = desc
    return stage
  }

  /** A stage's `params`: keys from `params.yaml` in `wdir`, `{file: [keys]}`, or `{file: null}` for every key. */
  private stageParams(value: unknown, path: Path, label: string, wdir: string): ParamRef[] {
    if (value === undefined || value === null) return []
    if (!Array.isArray(value)) this.fail(path, `${label}: "params" must be a list, got ${typeName(value)}`)
    const byFile = new Map<string, {keys: string[]; whole: boolean}>()
    const add = (file: string, here: Path, keys: string[] | null) => {
      const rel = this.repoPath(file, here, label, '"params" file', wdir)
      try {
        paramsFileType(rel)
      } catch (error) {
        this.fail(here, `${label}: "params": ${(error as Error).message}`)
      }
      const entry = byFile.get(rel) ?? {keys: [], whole: false}
      byFile.set(rel, entry)
      // DVC: a file tracked whole anywhere in the list is tracked whole.
      if (keys === null) entry.whole = true
      else for (const k of keys) if (!entry.keys.includes(k)) entry.keys.push(k)
    }
    value.forEach((item, i) => {
      const here = [...path, i]
      if (isPathLike(item)) {
        add(DEFAULT_PARAMS_FILE, here, [toStr(item)])
      } else if (isDict(item) && Object.keys(item).length > 0) {
        for (const [file, keys] of Object.entries(item)) {
          if (keys === null || keys === undefined || (Array.isArray(keys) && keys.length === 0)) add(file, [...here, file], null)
          else if (Array.isArray(keys) && keys.every(isPathLike)) add(file, [...here, file], keys.map(toStr))
          else this.fail([...here, file], `${label}: "params" file "${file}" must map to a list of keys (or nothing, for every key), got ${typeName(keys)}`)
        }
      } else {
        this.fail(here, `${label}: "params" item must be a key or {file: [keys]}, got ${typeName(item)}`)
      }
    })
    return [...byFile].map(([file, e]) => ({file, keys: e.whole ? [] : e.keys}))
  }

  /**
   * A path from the file, relative to `base` (a directory relative to the root), as a normalized
   * repository path. Refuses absolute paths, URLs and paths that leave the repository.
   */
  private repoPath(p: string, path: Path, label: string, what: string, base = '.'): string {
    if (p === '') this.fail(path, at(label, `${what} is empty`))
    if (/^[a-zA-Z][a-zA-Z0-9+.-]+:\/\//.test(p)) this.fail(path, at(label, `${what} "${p}" is a URL; dv pipelines use paths inside the repository`))
    if (p.includes('\0')) this.fail(path, at(label, `${what} ${JSON.stringify(p)} holds a NUL byte`)) // no file system path can
    if (posix.isAbsolute(p) || /^[a-zA-Z]:[\\/]/.test(p) || p.startsWith('\\')) {
      this.fail(path, at(label, `${what} "${p}" is absolute; use a path relative to the repository`))
    }
    let joined = posix.normalize(posix.join(base, p))
    if (joined.length > 1 && joined.endsWith('/')) joined = joined.slice(0, -1)
    if (joined === '..' || joined.startsWith('../')) this.fail(path, at(label, `${what} "${p}" is outside the repository`))
    return joined
  }

  // -------------------------------------------------------------------------------------------
  // Interpolation (DVC's dvc/parsing/interpolate.py)

  /** Resolves every `${}` in `value`: strings, list items, mapping keys and values. */
  private resolve(value: unknown, context: Context, path: Path, where: Where): unknown {
    if (typeof value === 'string') return this.resolveString(value, context, path, where)
    if (Array.isArray(value)) return value.map((v, i) => this.resolve(v, context, [...path, i], where))
    if (isDict(value)) {
      const out: Dict = {}
      for (const [k, v] of Object.entries(value)) {
        const resolvedKey = this.resolveString(k, context, [...path, k], where)
        if (!isPathLike(resolvedKey)) this.fail([...path, k], at(where.label, `${k} in "${where.field}" is ${typeName(resolvedKey)}, which cannot be a key`))
        out[toStr(resolvedKey)] = this.resolve(v, context, [...path, k], where)
      }
      return out
    }
    return value
  }

  private resolveString(s: string, context: Context, path: Path, where: Where): unknown {
    const matches = interpolations(s)
    if (matches.length === 0) return s.replace(/\\\$\{/g, '${')
    const lookup = (m: Interpolation): unknown => {
      if (!EXPRESSION.test(m[1])) this.fail(path, at(where.label, `invalid expression ${m[0]} in "${where.field}"`))
      const r = context.select(m[1])
      if (!r.found) this.fail(path, at(where.label, `${m[0]} in "${where.field}" is not defined`))
      this.checkInterpolable(r.value, m[0], path, where)
      return r.value
    }
    // The whole value is one expression: it keeps its type.
    if (matches.length === 1 && matches[0][0] === s) return lookup(matches[0])
    let out = ''
    let last = 0
    for (const m of matches) {
      const value = lookup(m)
      if (Array.isArray(value)) this.fail(path, at(where.label, `${m[0]} in "${where.field}" is a list, which cannot be interpolated into a string`))
      out += s.slice(last, m.index) + (isDict(value) ? this.unpack(value, path, where.label, m[0]) : toStr(value))
      last = m.index + m[0].length
    }
    return (out + s.slice(last)).replace(/\\\$\{/g, '${')
  }

  /** DVC: only primitives interpolate into a stage's keys, except a mapping into `cmd` (unpacked). */
  private checkInterpolable(value: unknown, expr: string, path: Path, where: Where): void {
    if (!where.strict || !isComposite(value)) return
    if (isDict(value) && where.field === 'cmd') return
    const hint = isDict(value) ? '; only "cmd" unpacks a mapping' : ''
    this.fail(path, at(where.label, `${expr} in "${where.field}" is ${typeName(value)}, which cannot be interpolated${hint}`))
  }

  /** A mapping as command-line options (`--key value`, nested keys dotted), per the `parsing` options. */
  private unpack(d: Dict, path: Path, label: string, expr: string): string {
    let out = ''
    for (const [k, v] of flatten(d)) {
      if (typeof v === 'boolean') {
        if (v) out += `--${k} `
        else if (this.bool === 'boolean_optional') out += `--no-${k} `
      } else if (typeof v === 'string') {
        out += `--${k} ${shellQuote(v)} `
      } else if (Array.isArray(v)) {
        v.forEach((item, n) => {
          if (isComposite(item)) this.fail(path, at(label, `${expr} in "cmd" holds a nested list or mapping in "${k}", which cannot be unpacked`))
          const text = typeof item === 'string' ? shellQuote(item) : pyStr(item)
          out += this.list === 'append' || n === 0 ? `--${k} ${text} ` : `${text} `
        })
      } else {
        out += `--${k} ${pyStr(v)} `
      }
    }
    return out.trimEnd()
  }
}

/** Where no output may go (first path segment, compared lower-cased). */
const RESERVED_DIRS = new Set(['.git', '.dv'])

const BOOLEAN_OUT_KEYS = new Set(['cache', 'persist', 'push', 'checkpoint', 'header'])

/** A scalar that can stand for a path, key or command (DVC prints numbers as Python does). */
function isPathLike(v: unknown): v is string | number | bigint {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint'
}

function containsInterpolation(v: unknown): boolean {
  if (typeof v === 'string') return interpolations(v).length > 0
  if (Array.isArray(v)) return v.some(containsInterpolation)
  if (isDict(v)) return Object.entries(v).some(([k, x]) => containsInterpolation(k) || containsInterpolation(x))
  return false
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return `"${v}"`
  if (isComposite(v)) return typeName(v)
  return toStr(v)
}
