/**
 * Plot data files as rows of named values, the shapes DVC draws: JSON (a list of objects, or an
 * object holding such a list, like `{"train": [{...}]}`), YAML (the same), CSV and TSV (a header
 * line, then one row a line; numbers become numbers). Images are not parsed: they are shown as
 * they are (see IMAGE_TYPES).
 */
import {extname} from 'node:path'
import {parse as parseYamlText} from 'yaml'

import {DvError, InvalidFileError} from '../errors.js'
import {checkYamlDepth} from '../models/yaml.js'

/** A plot that cannot be drawn as asked: no plots, one missing everywhere, an unknown template. */
export class PlotError extends DvError {
  constructor(message: string) {
    super('EPLOT', message)
  }
}

/** How errors name a file of a revision: `loss.csv (in the workspace)`, `loss.csv (at HEAD~1)`. */
export function fileAt(rev: string, path: string): string {
  return `${path} (${rev === 'workspace' ? 'in the workspace' : `at ${rev}`})`
}

export type Cell = number | string | boolean | null
export type Row = Record<string, Cell>

/** The image files a plot may be, by extension, with the type a `data:` URI gives them. */
export const IMAGE_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
}

const DATA_EXTENSIONS = new Set(['.json', '.yaml', '.yml', '.csv', '.tsv'])

/** The MIME type of an image plot file; undefined for anything else. */
export function imageType(path: string): string | undefined {
  return IMAGE_TYPES[extname(path).toLowerCase()]
}

/** Whether dv can draw `path`: a data file or an image, by its extension. */
export function isPlotFile(path: string): boolean {
  const ext = extname(path).toLowerCase()
  return DATA_EXTENSIONS.has(ext) || ext in IMAGE_TYPES
}

/**
 * The rows of a data file. `where` names the file (and revision) in errors. `wanted` helps choose
 * among several lists in a JSON or YAML object: the first list holding all those fields is taken.
 */
export function parsePlotData(bytes: Buffer, path: string, where: string, wanted: readonly string[] = []): Row[] {
  const ext = extname(path).toLowerCase()
  if (!DATA_EXTENSIONS.has(ext)) {
    throw new InvalidFileError(where, `not a plot file dv can draw: data must be .json, .yaml, .csv or .tsv, images ${Object.keys(IMAGE_TYPES).join(', ')}`)
  }
  // A UTF-8 byte order mark (spreadsheets write one) is not part of the first field's name.
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '')
  let rows: Row[]
  try {
    if (ext === '.csv' || ext === '.tsv') rows = parseDelimited(text, ext === '.tsv' ? '\t' : ',')
    else rows = rowsOf(ext === '.json' ? JSON.parse(text) : (checkYamlDepth(text, where), parseYamlText(text, {logLevel: 'error'})), wanted)
  } catch (error) {
    throw new InvalidFileError(where, `not plot data dv can read: ${(error as Error).message.split('\n')[0]}`)
  }
  return rows
}

// ---------------------------------------------------------------------------------------------
// JSON and YAML

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** A list of records at the top, or the first such list inside an object (depth first, in key order). */
function rowsOf(doc: unknown, wanted: readonly string[]): Row[] {
  if (Array.isArray(doc)) return doc.map((item, i) => toRow(item, i))
  if (!isRecord(doc)) throw new Error('expected a list of records, or an object holding one')
  const lists: unknown[][] = []
  const collect = (v: unknown) => {
    if (Array.isArray(v)) {
      if (v.length > 0 && v.every(isRecord)) lists.push(v)
    } else if (isRecord(v)) {
      Object.values(v).forEach(collect)
    }
  }
  collect(doc)
  if (lists.length === 0) throw new Error('expected a list of records, or an object holding one')
  const fits = (list: unknown[]) => wanted.every((f) => list.some((r) => isRecord(r) && f in r))
  return (lists.find(fits) ?? lists[0]).map((item, i) => toRow(item, i))
}

/** A record's scalar values; nested lists and objects are not drawable and are left out. */
function toRow(item: unknown, index: number): Row {
  if (!isRecord(item)) throw new Error(`item ${index} of the list is not a record`)
  const row: Row = {}
  for (const [k, v] of Object.entries(item)) {
    if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') row[k] = v
    else if (typeof v === 'bigint') row[k] = Number(v)
  }
  return row
}

// ---------------------------------------------------------------------------------------------
// CSV and TSV

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** A cell: a number when it reads as one, null when empty, else the text. */
export function cell(text: string): Cell {
  const t = text.trim()
  if (t === '') return null
  return NUMBER.test(t) ? Number(t) : text
}

/**
 * RFC 4180 records: fields separated by `sep`, quoted with `"` (a quote doubled inside), quoted
 * fields may hold separators and line breaks; CRLF or LF line ends; blank lines skipped.
 */
export function parseDelimited(text: string, sep: string): Row[] {
  const records = splitRecords(text, sep)
  if (records.length === 0) return []
  const [header, ...body] = records
  const names = header.fields.map((h) => h.trim())
  return body.map((r) => {
    if (r.fields.length !== names.length) {
      throw new Error(`line ${r.line} has ${r.fields.length} fields, the header ${names.length}`)
    }
    return Object.fromEntries(names.map((n, i) => [n, cell(r.fields[i])]))
  })
}

function splitRecords(text: string, sep: string): Array<{line: number; fields: string[]}> {
  const records: Array<{line: number; fields: string[]}> = []
  let fields: string[] = []
  let field = ''
  let quoted = false
  let line = 1
  let start = 1
  let i = 0
  const endRecord = () => {
    fields.push(field)
    // A line with nothing on it is a blank line, not a record with one empty field.
    if (!(fields.length === 1 && fields[0].trim() === '')) records.push({line: start, fields})
    fields = []
    field = ''
  }
  while (i < text.length) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"'
        i += 2
        continue
      }
      if (c === '"') quoted = false
      else {
        if (c === '\n') line++
        field += c
      }
      i++
      continue
    }
    if (c === '"' && field.trim() === '') {
      quoted = true
      field = ''
    } else if (c === sep) {
      fields.push(field)
      field = ''
    } else if (c === '\n' || c === '\r') {
      endRecord()
      if (c === '\r' && text[i + 1] === '\n') i++
      line++
      start = line
    } else {
      field += c
    }
    i++
  }
  if (quoted) throw new Error(`line ${start}: a quoted field is not closed`)
  endRecord()
  return records
}

// ---------------------------------------------------------------------------------------------
// Fields

/** The fields of the rows, in the order they first appear. */
export function fieldsOf(rows: readonly Row[]): string[] {
  const seen = new Set<string>()
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k)
  return [...seen]
}

/** Whether every value of `field` that is there is a number, and at least one is. */
export function isNumericField(rows: readonly Row[], field: string): boolean {
  let any = false
  for (const r of rows) {
    const v = r[field]
    if (v === null || v === undefined) continue
    if (typeof v !== 'number') return false
    any = true
  }
  return any
}

/** DVC's default y: the last field whose values are numbers, other than those in `except`. */
export function lastNumericField(rows: readonly Row[], except: readonly string[] = []): string | undefined {
  return fieldsOf(rows)
    .filter((f) => !except.includes(f) && isNumericField(rows, f))
    .at(-1)
}
