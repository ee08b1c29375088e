/**
 * `dv ingest`: tabular sources (local CSV, TSV, JSON lines and Parquet files and globs, http(s)
 * URLs, S3 objects, a PostgreSQL query) read by DuckDB and written as one Parquet file, with a
 * provenance report (each source, its digest or ETag, its rows) shaped as a metrics file.
 *
 * The same inputs give the same bytes, so the output's hash is stable for dv's run-cache:
 * - sources are read in sorted order (by their name as the report shows it, byte order, each
 *   once), whatever order the command line or a shell's glob gave them in; the rows of each
 *   source stay in their file (or query) order;
 * - the sources are combined by column name (UNION ALL BY NAME): columns in the order they first
 *   appear, a column missing from a source is NULL in its rows; one column with types that do
 *   not fit together (a number in one file, text in another) is an error naming both files;
 * - the report has no time in it.
 * Files are streamed: DuckDB reads them as the output is written, never all in memory; remote
 * sources are first downloaded (streamed) to temporary files.
 * Nothing is left behind on failure: the output and the report are each written to a temporary
 * file and renamed into place once complete.
 */
import {createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, readSync, closeSync, rmSync, statSync, symlinkSync, copyFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {createInterface} from 'node:readline'
import {dirname, isAbsolute, join, resolve} from 'node:path'

import {DataEngine, formatOf, ident, isNumeric, literal, type DataFormat} from '../data/engine.js'
import {DvError, InvalidFileError, PathNotFoundError, UsageError} from '../errors.js'
import {loadHasher} from '../hash/blake3.js'
import {hashPath} from '../odb/ingest.js'
import {writeFileAtomic} from '../util/atomic.js'
import {configAt, fetchHttp, fetchPostgres, fetchS3, redactUrl} from './ingest-fetch.js'

export type SourceKind = 'file' | 'http' | 's3' | 'postgres'

export interface IngestOptions {
  /** Local files, globs, http(s) URLs and s3:// objects. */
  sources: string[]
  /** The output file (.parquet; .csv, .tsv and .jsonl also work). */
  out: string
  /** Where to write the provenance report (JSON). */
  report?: string
  /** Read every file and URL as this format, whatever its extension. */
  format?: DataFormat
  /** Column types to enforce, `name:TYPE` (DuckDB types), each entry possibly a comma list. */
  types?: string[]
  /** The dv remote whose credentials and endpoint read s3:// sources. */
  remote?: string
  /** A PostgreSQL connection URL, with `query`. */
  postgres?: string
  query?: string
  /** Write an output with no rows rather than fail. */
  allowEmpty?: boolean
  /** Paths are relative to this directory (default: the current one). */
  cwd?: string
}

/** One source in the report. */
export interface SourceRecord {
  source: string
  kind: SourceKind
  format?: DataFormat
  /** The SQL of a PostgreSQL source. */
  query?: string
  /** The dv remote an S3 object was read with. */
  remote?: string
  rows: number
  bytes: number
  /** BLAKE3 of the bytes read (for PostgreSQL: of the result as CSV). */
  blake3: string
  etag?: string
  last_modified?: string
}

export interface IngestReport {
  rows: number
  columns: number
  sources: SourceRecord[]
  /** Each output column's DuckDB type, in order. */
  schema: Record<string, string>
  output: {path: string; format: DataFormat; rows: number}
}

/** One source, resolved. */
interface Source {
  /** Its name in messages and in the report (URLs redacted). */
  shown: string
  kind: SourceKind
  format: DataFormat
  /** Where the bytes are: the local file, or where a remote source is downloaded to. */
  path?: string
  /** The name DuckDB reads it by (a link in the scratch directory: no glob characters, unique). */
  local?: string
  url?: string
  record?: Omit<SourceRecord, 'rows'>
  /** A PostgreSQL result's column types (its CSV is not sniffed). */
  columns?: Array<{name: string; type: string}>
  /** The raw view's columns, and the casts applied on top of it. */
  raw?: Array<{name: string; type: string}>
  casts?: Map<string, string>
}

const FORMAT_NAMES: DataFormat[] = ['csv', 'tsv', 'jsonl', 'parquet']
/** Compressed text files DuckDB reads as they are (by their file name's ending). */
const COMPRESSED = /\.(gz|zst)$/i
/** Characters that make an argument a glob pattern. */
const GLOB = /[*?[\]{}]/

/** A byte-order comparison (not the locale's, unlike a shell's glob). */
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** The format of `name` from its extension (a .gz or .zst after it is allowed for text formats). */
function formatFromName(name: string): DataFormat | undefined {
  const compressed = COMPRESSED.test(name)
  const format = formatOf(name.replace(COMPRESSED, ''))
  if (compressed && format === 'parquet') return undefined
  return format
}

function formatFor(name: string, shown: string, forced?: DataFormat): DataFormat {
  if (forced) return forced
  const format = formatFromName(name)
  if (!format) throw new InvalidFileError(shown, 'unknown format: name it .csv, .tsv, .jsonl, .ndjson or .parquet (.gz or .zst compressed text too), or give --format')
  return format
}

/** `--types id:BIGINT,price:DECIMAL(10,2)` → {id: 'BIGINT', price: 'DECIMAL(10,2)'}. */
export function parseTypes(entries: string[] = []): Map<string, {name: string; type: string}> {
  const out = new Map<string, {name: string; type: string}>()
  for (const entry of entries) {
    // Commas inside parentheses belong to the type: DECIMAL(10,2).
    for (const part of entry.split(/,(?![^(]*\))/)) {
      if (part.trim() === '') continue
      const colon = part.lastIndexOf(':')
      const name = part.slice(0, colon).trim()
      const type = part.slice(colon + 1).trim().toUpperCase()
      if (colon < 0 || name === '' || !/^[A-Z][A-Z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?(\[\])*$/.test(type)) {
        throw new UsageError(`--types: expected NAME:TYPE (such as id:BIGINT or price:DECIMAL(10,2)), got ${JSON.stringify(part.trim())}`)
      }
      out.set(name.toLowerCase(), {name, type})
    }
  }
  return out
}

/** Expands the command line's sources into files and URLs (globs sorted, each once). */
function resolveSources(args: string[], cwd: string, forced?: DataFormat): Source[] {
  const sources: Source[] = []
  for (const arg of args) {
    if (/^https?:\/\//i.test(arg)) {
      let url: URL
      try {
        url = new URL(arg)
      } catch {
        throw new UsageError(`${redactUrl(arg)}: not a valid URL`)
      }
      const shown = redactUrl(arg)
      sources.push({shown, kind: 'http', url: arg, format: formatFor(decodeURIComponent(url.pathname), shown, forced)})
    } else if (/^s3:\/\//i.test(arg)) {
      sources.push({shown: arg, kind: 's3', url: arg, format: formatFor(arg, arg, forced)})
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) {
      throw new UsageError(`${redactUrl(arg)}: unsupported source (give files, globs, http(s):// URLs, s3:// objects, or --postgres with --query)`)
    } else {
      const abs = resolve(cwd, arg)
      if (existsSync(abs) || !GLOB.test(arg)) {
        if (!existsSync(abs)) throw new PathNotFoundError(arg)
        if (statSync(abs).isDirectory()) throw new InvalidFileError(arg, 'is a directory: give its files, or a glob such as ' + join(arg, '*.csv'))
        sources.push({shown: arg, kind: 'file', path: abs, format: formatFor(arg, arg, forced)})
      } else {
        const matches = globSync(arg, cwd)
        if (matches.length === 0) throw new DvError('ENOMATCH', `${arg}: no file matches this pattern`)
        for (const m of matches) sources.push({shown: m, kind: 'file', path: resolve(cwd, m), format: formatFor(m, m, forced)})
      }
    }
  }
  return sources
}

let globImpl: typeof import('tinyglobby').globSync | undefined

function globSync(pattern: string, cwd: string): string[] {
  const found = globImpl!(pattern, {cwd, onlyFiles: true, expandDirectories: false, absolute: isAbsolute(pattern)})
  return found.sort(byName)
}

/** The header of a CSV or TSV file, for diagnosing a file DuckDB cannot sniff (plain text only). */
function readHeader(path: string, delim: string): string[] | undefined {
  if (COMPRESSED.test(path)) return undefined
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(1 << 16)
    const n = readSync(fd, buf, 0, buf.length, 0)
    const text = buf.subarray(0, n).toString('utf8').replace(/^\uFEFF/, '')
    const fields: string[] = []
    let field = ''
    let quoted = false
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]
      if (quoted) {
        if (ch === '"' && text[i + 1] === '"') (field += '"'), i++
        else if (ch === '"') quoted = false
        else field += ch
      } else if (ch === '"') quoted = true
      else if (ch === delim) fields.push(field), (field = '')
      else if (ch === '\n' || ch === '\r') return [...fields, field]
      else field += ch
    }
    return undefined
  } finally {
    closeSync(fd)
  }
}

/**
 * The line of a JSON lines file that does not parse, near the one DuckDB names: DuckDB 1.5 counts
 * one line more than there is, so the line before it is checked first (then DuckDB's own);
 * undefined when neither fails to parse (the message then names no line rather than a wrong one).
 */
async function badJsonLine(path: string, said: number): Promise<number | undefined> {
  if (COMPRESSED.test(path)) return undefined
  const lines = createInterface({input: createReadStream(path, {encoding: 'utf8'}), crlfDelay: Infinity})
  const bad = new Set<number>()
  let n = 0
  try {
    for await (const line of lines) {
      n++
      if (n === said - 1 || n === said) {
        try {
          JSON.parse(line)
        } catch {
          bad.add(n)
        }
      }
      if (n >= said) break
    }
  } finally {
    lines.close()
  }
  return bad.has(said - 1) ? said - 1 : bad.has(said) ? said : undefined
}

/** DuckDB's first paragraph, on one line (its advice on reader options left out). */
function duckdbReason(message: string): string {
  const parts: string[] = []
  for (const line of message.split('\n').map((l) => l.trim())) {
    if (line === '' || line.endsWith(':') || line.startsWith('LINE ')) break
    parts.push(line.length > 200 ? `${line.slice(0, 200)}...` : line.replace(/\.$/, ''))
  }
  return parts.join('; ').replace(/^[A-Za-z ]+Error: /, '')
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1)

/** The reader of one source, as SQL. `types`: CSV column types to enforce (by the file's header names). */
function reader(source: Source, wholeFile: boolean, types?: Map<string, string>): string {
  const file = literal(source.local!)
  const sample = wholeFile ? ', sample_size = -1' : ''
  if (source.columns) {
    // A PostgreSQL result: COPY's CSV dialect, the query's own types.
    const columns = source.columns.map((c) => `${literal(c.name)}: ${literal(types?.get(c.name) ?? c.type)}`).join(', ')
    return `read_csv(${file}, header = true, delim = ',', quote = '"', escape = '"', skip = 0, comment = '', auto_detect = false, strict_mode = true, allow_quoted_nulls = false, columns = {${columns}})`
  }
  switch (source.format) {
    case 'csv':
    case 'tsv': {
      // The dialect is fixed (DuckDB's sniffer would otherwise guess skipped rows and comment
      // lines, and drop them); only the types are detected.
      const delim = source.format === 'tsv' ? '\t' : ','
      const typed = types && types.size > 0 ? `, types = {${[...types].map(([n, t]) => `${literal(n)}: ${literal(t)}`).join(', ')}}` : ''
      return `read_csv(${file}, header = true, delim = ${literal(delim)}, quote = '"', escape = '"', skip = 0, comment = '', auto_detect = true, strict_mode = true, null_padding = false${typed}${sample})`
    }
    case 'jsonl':
      return `read_json(${file}, format = 'newline_delimited', auto_detect = true${sample})`
    case 'parquet':
      return `read_parquet(${file})`
  }
}

/** Thrown when DuckDB's type guess from the first rows failed on a later row. */
class SampleTooSmall extends Error {}

class Ingest {
  private engine!: DataEngine
  private scratch!: string
  /** Whether types are guessed from every row (after a guess from the first rows failed). */
  private wholeFile = false
  private readonly types: Map<string, {name: string; type: string}>

  constructor(private readonly options: IngestOptions) {
    this.types = parseTypes(options.types)
  }

  /** Which source a DuckDB message is about (its local name appears in it). */
  private sourceIn(message: string, sources: Source[]): Source | undefined {
    return [...sources].sort((a, b) => b.local!.length - a.local!.length).find((s) => message.includes(s.local!))
  }

  /** A DuckDB failure as one line naming the file (and line, and column where DuckDB says). */
  private async explain(error: unknown, sources: Source[], fallback?: Source): Promise<DvError> {
    if (error instanceof DvError) return error
    const message = (error as Error).message ?? String(error)
    // Types are guessed from the first rows; a later row that does not fit names sample_size.
    if (!this.wholeFile && /sample_size/.test(message)) throw new SampleTooSmall(message)
    const source = this.sourceIn(message, sources) ?? fallback
    const local = (s: string) => (source ? s.split(source.local!).join(source.shown) : s)
    const csvLine = /CSV Error on Line: (\d+)/.exec(message)
    if (source && csvLine) {
      const line = source.kind === 'postgres' ? undefined : Number(csvLine[1])
      const conversion = /Error when converting column "(.*)"\. Could not convert string "(.*)" to '(.+?)'/.exec(message)
      if (conversion) return new InvalidFileError(source.shown, `column ${JSON.stringify(conversion[1])}: cannot read ${JSON.stringify(conversion[2])} as ${conversion[3]}`, line)
      const columns = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(message)
      if (columns) return new InvalidFileError(source.shown, `expected ${columns[1]} columns, found ${columns[2]}`, line)
      const reason = message
        .split('\n')
        .slice(1)
        .map((l) => l.trim())
        .find((l) => l !== '' && !l.startsWith('Original Line:') && !l.startsWith('Possible'))
      return new InvalidFileError(source.shown, lowerFirst((reason ?? duckdbReason(message)).replace(/\.$/, '')), line)
    }
    if (source && /Error when sniffing file/.test(message)) {
      // The dialect could not be detected: read it strictly as text to find the line at fault.
      const delim = source.format === 'tsv' ? '\t' : ','
      const header = readHeader(source.local!, delim)
      if (header && header.length > 0) {
        const columns = header.map((h, i) => `${literal(h || `column${i}`)}: 'VARCHAR'`).join(', ')
        try {
          await this.engine.run(
            `SELECT count(*) FROM read_csv(${literal(source.local!)}, header = true, delim = ${literal(delim)}, quote = '"', escape = '"', skip = 0, comment = '', auto_detect = false, strict_mode = true, null_padding = false, columns = {${columns}})`,
          )
        } catch (strict) {
          if (/CSV Error on Line/.test((strict as Error).message)) return this.explain(strict, sources, source)
        }
      }
      return new InvalidFileError(source.shown, `DuckDB cannot read it as ${source.format.toUpperCase()}: the rows do not share one CSV dialect`)
    }
    const json = /Malformed JSON in file "(?:.*?)", at byte \d+ in line (\d+): (.*?)\.?\s*$/m.exec(message)
    if (source && json) return new InvalidFileError(source.shown, `malformed JSON: ${json[2]}`, await badJsonLine(source.local!, Number(json[1])))
    const cast = /when casting from source column (.+)$/m.exec(message)
    if (cast) {
      const found = await this.findBadCast(sources)
      if (found) return found
      // A cast DuckDB has no rule for (BIGINT to DATE): name the source with that cast.
      const column = cast[1].trim().replace(/^"(.*)"$/, '$1')
      const culprit = sources.find((s) => s.casts?.has(column))
      if (culprit) return new InvalidFileError(culprit.shown, `column ${JSON.stringify(column)}: ${lowerFirst(duckdbReason(message).replace(/ when casting from source column .*$/, ''))}`)
    }
    const reason = local(duckdbReason(message))
    if (source) return new InvalidFileError(source.shown, `DuckDB cannot read it as ${source.format.toUpperCase()}: ${reason}`)
    return new DvError('EINGEST', `cannot write ${this.options.out}: ${reason}`)
  }

  /** The first value of a --types column that does not convert, named by source and column. */
  private async findBadCast(sources: Source[]): Promise<DvError | undefined> {
    for (const [i, s] of sources.entries()) {
      for (const [name, type] of s.casts ?? []) {
        const col = ident(name)
        let rows
        try {
          rows = await this.engine.rows(`SELECT CAST(${col} AS VARCHAR) FROM ${ident(`raw${i}`)} WHERE ${col} IS NOT NULL AND TRY_CAST(${col} AS ${type}) IS NULL LIMIT 1`)
        } catch {
          continue
        }
        if (rows.length > 0) return new InvalidFileError(s.shown, `column ${JSON.stringify(name)}: cannot read ${JSON.stringify(rows[0][0])} as ${type}`)
      }
    }
    return undefined
  }

  /** Makes the local name DuckDB reads a source by: a link with a plain, unique name. */
  private link(source: Source, i: number): void {
    const suffix = COMPRESSED.exec(source.shown.split('?')[0])?.[0] ?? ''
    const local = join(this.scratch, `source-${i}.${source.kind === 'postgres' ? 'csv' : source.format}${suffix}`)
    if (source.kind === 'file') {
      try {
        symlinkSync(source.path!, local)
      } catch {
        copyFileSync(source.path!, local)
      }
    }
    source.local = local
  }

  /** Downloads remote sources, hashes local ones. */
  private async collect(sources: Source[]): Promise<void> {
    const config = sources.some((s) => s.kind === 's3') ? configAt(this.options.cwd ?? process.cwd()) : undefined
    for (const [i, s] of sources.entries()) {
      this.link(s, i)
      switch (s.kind) {
        case 'file': {
          const blake3 = await hashPath(s.path!)
          s.record = {source: s.shown, kind: 'file', format: s.format, bytes: statSync(s.path!).size, blake3}
          break
        }
        case 'http': {
          const got = await fetchHttp(s.url!, s.local!, s.shown)
          s.record = {source: s.shown, kind: 'http', format: s.format, bytes: got.bytes, blake3: got.blake3, ...(got.etag ? {etag: got.etag} : {}), ...(got.lastModified ? {last_modified: got.lastModified} : {})}
          break
        }
        case 's3': {
          const got = await fetchS3(s.url!, s.local!, config!, this.options.remote)
          s.record = {source: s.shown, kind: 's3', format: s.format, ...(got.remote ? {remote: got.remote} : {}), bytes: got.bytes, blake3: got.blake3, ...(got.etag ? {etag: got.etag} : {})}
          break
        }
        case 'postgres': {
          const got = await fetchPostgres(s.url!, this.options.query!, s.local!, s.shown)
          s.columns = got.columns
          s.record = {source: s.shown, kind: 'postgres', query: this.options.query!, bytes: got.bytes, blake3: got.blake3}
          break
        }
      }
      if (s.record!.bytes === 0) throw new InvalidFileError(s.shown, 'empty input (0 bytes): not even a header')
    }
  }

  /** The raw view of each source, then the typed view over it (--types, and all-NULL columns given the type of the others). */
  private async views(sources: Source[], wholeFile: boolean): Promise<void> {
    for (const [i, s] of sources.entries()) {
      const raw = ident(`raw${i}`)
      const create = async (types?: Map<string, string>) => {
        try {
          await this.engine.run(`CREATE OR REPLACE VIEW ${raw} AS SELECT * FROM ${reader(s, wholeFile, types)}`)
          s.raw = await this.engine.columns(`raw${i}`)
        } catch (error) {
          throw await this.explain(error, sources, s)
        }
      }
      await create()
      s.casts = new Map()
      const csvTypes = new Map<string, string>()
      for (const c of s.raw!) {
        const want = this.types.get(c.name.toLowerCase())
        if (!want || want.type === c.type) continue
        // CSV: DuckDB converts as it reads, and names the line of a value that does not fit.
        if (s.format === 'csv' || s.format === 'tsv' || s.columns) csvTypes.set(c.name, want.type)
        else s.casts.set(c.name, want.type)
      }
      if (csvTypes.size > 0) await create(csvTypes)
    }
    const missing = [...this.types.values()].filter((t) => !sources.some((s) => s.raw!.some((c) => c.name.toLowerCase() === t.name.toLowerCase())))
    if (missing.length > 0) throw new DvError('ETYPES', `--types: no source has a column named ${JSON.stringify(missing[0].name)}`)
    await this.reconcile(sources)
    for (const [i, s] of sources.entries()) {
      const replace = [...s.casts!].map(([name, type]) => `CAST(${ident(name)} AS ${type}) AS ${ident(name)}`)
      await this.engine.run(`CREATE OR REPLACE VIEW ${ident(`src${i}`)} AS SELECT *${replace.length ? ` REPLACE (${replace.join(', ')})` : ''} FROM ${ident(`raw${i}`)}`)
    }
  }

  /**
   * Checks that each column's types fit together across sources: the same type, or numbers of
   * any kind (DuckDB widens them). A column that is NULL in every row of a source (an empty CSV
   * column reads as VARCHAR) takes the others' type. Anything else names the column and two files.
   */
  private async reconcile(sources: Source[]): Promise<void> {
    const typeIn = (s: Source, lower: string) => {
      const c = s.raw!.find((x) => x.name.toLowerCase() === lower)
      if (!c) return undefined
      return {name: c.name, type: s.casts!.get(c.name) ?? c.type}
    }
    const names = [...new Set(sources.flatMap((s) => s.raw!.map((c) => c.name.toLowerCase())))]
    for (const lower of names) {
      if (this.types.has(lower)) continue
      const having = sources.map((s, i) => ({s, i, c: typeIn(s, lower)})).filter((x) => x.c !== undefined) as Array<{s: Source; i: number; c: {name: string; type: string}}>
      const fits = (list: typeof having) => list.every((x) => x.c.type === list[0].c.type) || list.every((x) => isNumeric(x.c.type))
      if (fits(having)) continue
      // Columns with no value at all in a source do not count.
      const valued: typeof having = []
      const empty: typeof having = []
      for (const x of having) {
        const untyped = ['VARCHAR', 'JSON', 'NULL'].includes(x.c.type)
        if (untyped && (await this.engine.count(`SELECT count(${ident(x.c.name)}) FROM ${ident(`raw${x.i}`)}`)) === 0) empty.push(x)
        else valued.push(x)
      }
      if (valued.length > 0 && fits(valued)) {
        for (const x of empty) x.s.casts!.set(x.c.name, valued[0].c.type)
        continue
      }
      const first = valued[0]
      const other = valued.find((x) => x.c.type !== first.c.type && !(isNumeric(x.c.type) && isNumeric(first.c.type)))!
      throw new DvError(
        'ETYPES',
        `column ${JSON.stringify(first.c.name)} is ${first.c.type} in ${first.s.shown} but ${other.c.type} in ${other.s.shown}: they cannot be combined (convert one, or give --types ${first.c.name}:${other.c.type === 'VARCHAR' || first.c.type === 'VARCHAR' ? 'VARCHAR' : first.c.type})`,
      )
    }
  }

  async run(): Promise<IngestReport> {
    const o = this.options
    const cwd = o.cwd ?? process.cwd()
    if (o.format && !FORMAT_NAMES.includes(o.format)) throw new UsageError(`--format: expected one of ${FORMAT_NAMES.join(', ')}`)
    if ((o.postgres === undefined) !== (o.query === undefined)) throw new UsageError('--postgres and --query go together')
    if (o.sources.length === 0 && o.postgres === undefined) throw new UsageError('no sources: give files, globs or URLs, or --postgres with --query')
    const outFormat = formatOf(o.out)
    if (!outFormat) throw new UsageError(`${o.out}: unknown output format: name it .parquet (or .csv, .tsv, .jsonl)`)
    if (o.postgres !== undefined && !/^postgres(ql)?:\/\//i.test(o.postgres)) throw new UsageError('--postgres: expected a URL such as postgres://user@host:5432/db')

    if (o.sources.some((s) => GLOB.test(s))) globImpl = (await import('tinyglobby')).globSync
    const resolved = resolveSources(o.sources, cwd, o.format)
    if (o.postgres !== undefined) resolved.push({shown: redactUrl(o.postgres), kind: 'postgres', url: o.postgres, format: 'csv'})
    const unique = new Map<string, Source>()
    for (const s of resolved) if (!unique.has(s.shown)) unique.set(s.shown, s)
    const sources = [...unique.values()].sort((a, b) => byName(a.shown, b.shown))

    await loadHasher()
    this.scratch = mkdtempSync(join(tmpdir(), 'dv-ingest-'))
    try {
      await this.collect(sources)
      this.engine = await DataEngine.open()
      try {
        return await this.write(sources, outFormat, cwd)
      } finally {
        this.engine.close()
      }
    } finally {
      rmSync(this.scratch, {recursive: true, force: true})
    }
  }

  private async write(sources: Source[], outFormat: DataFormat, cwd: string): Promise<IngestReport> {
    const o = this.options
    const out = resolve(cwd, o.out)
    const attempt = async () => {
      await this.views(sources, this.wholeFile)
      const counts: number[] = []
      for (const [i, s] of sources.entries()) {
        try {
          counts.push(await this.engine.count(`SELECT count(*) FROM ${ident(`src${i}`)}`))
        } catch (error) {
          throw await this.explain(error, sources, s)
        }
      }
      const total = counts.reduce((a, b) => a + b, 0)
      if (total === 0 && !o.allowEmpty) {
        const which = sources.length === 1 ? sources[0].shown : `${sources.length} sources (${sources.map((s) => s.shown).join(', ')})`
        throw new DvError('EEMPTY', `${which}: empty input: no rows, only a header (--allow-empty writes an empty table)`)
      }
      // UNION ALL keeps each source's rows in file order, and the sources in this order: DuckDB
      // preserves insertion order (preserve_insertion_order, on by default) through it.
      const union = sources.map((_, i) => `SELECT * FROM ${ident(`src${i}`)}`).join(' UNION ALL BY NAME ')
      const schema = (await this.engine.rows(`DESCRIBE ${union}`)).map(([name, type]) => ({name: String(name), type: String(type)}))
      try {
        await this.engine.export(union, out, outFormat)
      } catch (error) {
        throw await this.explain(error, sources)
      }
      return {counts, total, schema}
    }
    let result
    try {
      result = await attempt()
    } catch (error) {
      // Guessing the types from every row costs a pass over each file, so it is done only when
      // the guess from the first rows failed.
      if (!(error instanceof SampleTooSmall)) throw error
      this.wholeFile = true
      result = await attempt()
    }
    const report: IngestReport = {
      rows: result.total,
      columns: result.schema.length,
      sources: sources.map((s, i) => ({...s.record!, rows: result.counts[i]})).map(order),
      schema: Object.fromEntries(result.schema.map((c) => [c.name, c.type])),
      output: {path: o.out, format: outFormat, rows: result.total},
    }
    if (o.report !== undefined) {
      const path = resolve(cwd, o.report)
      mkdirSync(dirname(path), {recursive: true})
      writeFileAtomic(path, JSON.stringify(report, null, 2) + '\n')
    }
    return report
  }
}

/** A source record's keys in one order, whatever order they were set in. */
function order(r: SourceRecord): SourceRecord {
  const keys: Array<keyof SourceRecord> = ['source', 'kind', 'format', 'query', 'remote', 'rows', 'bytes', 'blake3', 'etag', 'last_modified']
  return Object.fromEntries(keys.filter((k) => r[k] !== undefined).map((k) => [k, r[k]])) as unknown as SourceRecord
}

/**
 * Reads the sources and writes them as one table to `options.out`, and the report to
 * `options.report` when given. Returns the report.
 *
 * @example
 * await ingest({sources: ['raw/*.csv', 'https://example.com/extra.parquet'], out: 'data/raw.parquet', report: 'reports/ingest.json'})
 */
export async function ingest(options: IngestOptions): Promise<IngestReport> {
  return new Ingest(options).run()
}
