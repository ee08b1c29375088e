/**
 * Parameters files, as DVC reads them: `params.yaml` by default, or any `.yaml`/`.yml`/`.json`
 * file a stage names. Values are looked up by dotted keys (`train.lr`, `layers.0`).
 *
 * TOML and Python params files (which DVC also reads) are refused with "unsupported params file
 * type": dv carries no TOML parser.
 */
import {existsSync, readFileSync, statSync} from 'node:fs'
import {extname, join} from 'node:path'
import {LineCounter, parseDocument} from 'yaml'

import {DvError, InvalidFileError, PathNotFoundError} from '../errors.js'
import {readRecordFile} from '../util/read.js'
import {checkYamlDepth} from '../models/yaml.js'

export const DEFAULT_PARAMS_FILE = 'params.yaml'

export type ParamsFileType = 'yaml' | 'json'

export interface ReadParamsOptions {
  /**
   * Integers come back as `bigint` and floats as `number`, so that `1.0` and `1` stay apart
   * (templating prints them as Python does). Off by default: plain JSON-safe numbers.
   */
  intsAsBigInt?: boolean
}

/** The format of a params file, from its extension; a DvError for anything dv cannot read. */
export function paramsFileType(file: string): ParamsFileType {
  const ext = extname(file).toLowerCase()
  if (ext === '.yaml' || ext === '.yml') return 'yaml'
  if (ext === '.json') return 'json'
  throw new DvError('EPARAMSTYPE', `${file}: unsupported params file type${ext ? ` "${ext}"` : ''} (dv reads .yaml, .yml and .json)`)
}

/** Parses a params file's text; `file` names it in errors. The top level must be a mapping. */
export function parseParams(text: string, file: string, options: ReadParamsOptions = {}): Record<string, unknown> {
  const type = paramsFileType(file)
  const bigint = options.intsAsBigInt === true
  // JSON is parsed as YAML here too: both go through the depth check first.
  checkYamlDepth(text, file)
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, intAsBigInt: bigint, merge: type === 'yaml', uniqueKeys: type === 'yaml'})
  let data: unknown
  if (doc.errors.length === 0) {
    data = doc.toJS()
  } else if (type === 'json') {
    // JSON that the YAML parser refuses (rare): JSON.parse, with whole numbers taken as integers.
    try {
      data = JSON.parse(text)
    } catch (error) {
      throw new InvalidFileError(file, `invalid JSON: ${(error as Error).message}`)
    }
    if (bigint) data = integersToBigInt(data)
  } else {
    const err = doc.errors[0]
    throw new InvalidFileError(file, `invalid YAML: ${err.message.split('\n')[0]}`, lineCounter.linePos(err.pos[0]).line)
  }
  if (data === null || data === undefined) return {}
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new InvalidFileError(file, `expected a mapping of parameters at the top level, got ${describe(data)}`)
  }
  return data as Record<string, unknown>
}

/** Reads `file` (relative to `root`; it names the file in errors). A missing file is a PathNotFoundError. */
export function readParams(root: string, file: string, options: ReadParamsOptions = {}): Record<string, unknown> {
  paramsFileType(file)
  const abs = join(root, file)
  if (!existsSync(abs)) throw new PathNotFoundError(file)
  if (statSync(abs).isDirectory()) throw new DvError('EISDIR', `${file}: is a directory, not a params file`)
  return parseParams(readRecordFile(abs, file), file, options)
}

/** Splits `a.b[0].c` into ['a', 'b', '0', 'c']. */
export function splitParamKey(key: string): string[] {
  return key.replace(/\[([^\][]*)\]/g, '.$1').split('.')
}

/** Looks a dotted key up; `found` is false when any part of the path is missing. */
export function lookupParam(obj: unknown, key: string): {found: true; value: unknown} | {found: false} {
  let cur: unknown = obj
  for (const part of splitParamKey(key)) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part)) return {found: false}
      const i = Number(part)
      if (i >= cur.length) return {found: false}
      cur = cur[i]
    } else if (cur !== null && typeof cur === 'object') {
      if (!Object.prototype.hasOwnProperty.call(cur, part)) return {found: false}
      cur = (cur as Record<string, unknown>)[part]
    } else {
      return {found: false}
    }
  }
  return {found: true, value: cur}
}

/** The value at a dotted key (`a.b.c`, `layers.0`); a DvError naming `file` and the key when it is missing. */
export function paramValue(obj: unknown, key: string, file = DEFAULT_PARAMS_FILE): unknown {
  const r = lookupParam(obj, key)
  if (!r.found) throw new DvError('EPARAM', `parameter "${key}" not found in ${file}`)
  return r.value
}

/** `{key: value}` for each of `keys`, or the whole file when `keys` is empty. */
export function selectParams(obj: Record<string, unknown>, keys: string[], file = DEFAULT_PARAMS_FILE): Record<string, unknown> {
  if (keys.length === 0) return obj
  const out: Record<string, unknown> = {}
  for (const key of keys) out[key] = paramValue(obj, key, file)
  return out
}

function integersToBigInt(v: unknown): unknown {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : v
  if (Array.isArray(v)) return v.map(integersToBigInt)
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, integersToBigInt(x)]))
  }
  return v
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list'
  return `a ${typeof v === 'bigint' ? 'number' : typeof v}`
}
