/**
 * The remote sources of `dv ingest`, each downloaded (streamed) into a local temporary file that
 * DuckDB then reads like any other: an http(s) URL (Node's fetch), an S3 object (GetObject, with
 * the credentials of the dv remote in that bucket), and a PostgreSQL query (COPY ... TO STDOUT in
 * CSV, through pg-copy-streams). Each download is hashed (BLAKE3) as it is written, so no source
 * is read twice for its digest. Passwords, keys and signatures never reach a message or a report:
 * URLs are shown through redactUrl().
 */
import {createWriteStream} from 'node:fs'
import {join} from 'node:path'
import {Readable, Transform} from 'node:stream'
import type {ReadableStream as WebReadableStream} from 'node:stream/web'
import {pipeline} from 'node:stream/promises'

import {DvError} from '../errors.js'
import {createHasher, loadHasher} from '../hash/blake3.js'
import {s3Client} from '../remote/s3.js'
import {Config} from '../repo/config.js'
import {DV_DIR, Repo} from '../repo/repo.js'

/** What a download leaves: the local file, its size and BLAKE3, and what the server said of it. */
export interface Fetched {
  bytes: number
  blake3: string
  etag?: string
  lastModified?: string
}

/** Query parameters whose values are secrets (presigned URLs, tokens, passwords). */
const SECRET_PARAM = /pass|secret|token|signature|sig$|credential|key/i

/**
 * `url` as it may be shown: a password replaced by `***`, and so is each query parameter whose
 * name says it is a secret (X-Amz-Signature, token, password, ...).
 */
export function redactUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return raw.replace(/\/\/[^@/]*@/, '//***@')
  }
  if (url.password) url.password = '***'
  const secret = [...url.searchParams.keys()].filter((k) => SECRET_PARAM.test(k))
  for (const key of secret) url.searchParams.set(key, '***')
  return url.toString().replace(/%2A%2A%2A/g, '***')
}

/** Writes `body` to `dest`, hashing it on the way; returns its size and BLAKE3. */
async function save(body: Readable, dest: string): Promise<{bytes: number; blake3: string}> {
  await loadHasher()
  const hasher = createHasher()
  let bytes = 0
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hasher.update(chunk)
      bytes += chunk.length
      done(null, chunk)
    },
  })
  await pipeline(body, tap, createWriteStream(dest))
  return {bytes, blake3: hasher.digestHex()}
}

/** The system error code under a failed fetch or socket (ECONNREFUSED, ENOTFOUND, ...). */
function causeOf(error: unknown): string {
  let e = error as {code?: string; cause?: unknown; message?: string} | undefined
  let deepest = (error as Error)?.message ?? String(error)
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string') return e.code
    if (typeof e.message === 'string' && e.message) deepest = e.message
    e = e.cause as typeof e
  }
  return deepest.split('\n')[0]
}

/** Downloads an http(s) URL into `dest`. `shown` is the redacted URL. */
export async function fetchHttp(raw: string, dest: string, shown: string): Promise<Fetched> {
  const url = new URL(raw)
  const headers: Record<string, string> = {}
  // fetch() refuses URLs with credentials in them: they go in an Authorization header instead.
  if (url.username || url.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    url.username = ''
    url.password = ''
  }
  let response: Response
  try {
    response = await fetch(url, {headers, redirect: 'follow'})
  } catch (error) {
    throw new DvError('EHTTP', `${shown}: cannot download (${causeOf(error)})`)
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {})
    throw new DvError('EHTTP', `${shown}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`)
  }
  if (!response.body) throw new DvError('EHTTP', `${shown}: the server sent no body`)
  let saved
  try {
    saved = await save(Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>), dest)
  } catch (error) {
    if (error instanceof DvError) throw error
    const known = (error as NodeJS.ErrnoException).syscall ? error : undefined
    if (known) throw known
    throw new DvError('EHTTP', `${shown}: the download broke off (${causeOf(error)})`)
  }
  return {
    ...saved,
    ...(response.headers.get('etag') ? {etag: response.headers.get('etag')!} : {}),
    ...(response.headers.get('last-modified') ? {lastModified: response.headers.get('last-modified')!} : {}),
  }
}

/** An s3:// URL's bucket and key. */
export function parseS3Url(url: string): {bucket: string; key: string} {
  const rest = url.slice('s3://'.length)
  const slash = rest.indexOf('/')
  const bucket = slash < 0 ? rest : rest.slice(0, slash)
  const key = slash < 0 ? '' : rest.slice(slash + 1)
  if (!bucket || !key || key.endsWith('/')) throw new DvError('EUSAGE', `${url}: expected s3://bucket/key (one object)`, 2)
  return {bucket, key}
}

interface S3Remote {
  /** The dv remote whose settings are used; undefined: none, the standard AWS chain. */
  name?: string
  options: Record<string, string | undefined>
}

/** The configuration dv reads from `cwd`: the repository's (with .dv/config.local), else the global one. */
export function configAt(cwd: string): Config {
  const root = Repo.findRoot(cwd)
  return new Config(root === undefined ? undefined : join(root, DV_DIR))
}

/**
 * The dv remote whose settings reach `bucket`: the one `--remote` names, else the S3 remote whose
 * URL is in that bucket (the one whose prefix holds the key, the longest such, then the default
 * remote, then the first by name). None: plain AWS with the standard credential chain.
 */
export function s3RemoteFor(config: Config, bucket: string, key: string, explicit?: string): S3Remote {
  const all = config.all()
  const remotes = new Map<string, Record<string, string>>()
  for (const [k, v] of all) {
    if (!k.startsWith('remote.')) continue
    const dot = k.lastIndexOf('.')
    const name = k.slice('remote.'.length, dot)
    remotes.set(name, {...remotes.get(name), [k.slice(dot + 1)]: v})
  }
  if (explicit !== undefined) {
    const options = remotes.get(explicit)
    if (!options?.url) throw new DvError('ENOREMOTE', `no remote named ${JSON.stringify(explicit)} (see 'dv remote list')`)
    if (!options.url.startsWith('s3://')) throw new DvError('ENOREMOTE', `remote ${JSON.stringify(explicit)} is not an S3 remote (${options.url})`)
    return {name: explicit, options}
  }
  const inBucket = [...remotes.entries()]
    .filter(([, o]) => o.url?.startsWith('s3://') && o.url.slice(5).split('/')[0] === bucket)
    .map(([name, options]) => {
      const prefix = options.url.slice(5).split('/').slice(1).join('/').replace(/\/+$/, '')
      return {name, options, holds: prefix === '' || key.startsWith(`${prefix}/`) ? prefix.length : -1}
    })
  if (inBucket.length === 0) return {options: {}}
  const byDefault = all.get('core.remote')
  inBucket.sort((a, b) => b.holds - a.holds || Number(b.name === byDefault) - Number(a.name === byDefault) || (a.name < b.name ? -1 : 1))
  return {name: inBucket[0].name, options: inBucket[0].options}
}


/** One line for an S3 failure; never the credentials. */
function s3Error(error: unknown, shown: string, remote?: string): DvError {
  if (error instanceof DvError) return error
  const e = error as {name?: string; message?: string; code?: string; $metadata?: {httpStatusCode?: number}}
  const name = e.name ?? e.code ?? ''
  const whose = remote ? `the credentials of remote ${JSON.stringify(remote)}` : 'the AWS credentials'
  if (name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return new DvError('ENOKEY', `${shown}: no such object in the bucket`)
  if (name === 'NoSuchBucket') return new DvError('ENOBUCKET', `${shown}: the bucket does not exist`)
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'CredentialsProviderError'].includes(name) || e.$metadata?.httpStatusCode === 403) {
    return new DvError('ECREDENTIALS', `${shown}: access denied (${name || 'HTTP 403'}): check ${whose}`)
  }
  const code = causeOf(error)
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE'].includes(code)) return new DvError('EUNREACHABLE', `${shown}: cannot reach the endpoint (${code})`)
  return new DvError('ES3', `${shown}: ${name ? `${name}: ` : ''}${(e.message ?? String(error)).split('\n')[0]}`)
}

/** Downloads the object `url` (s3://bucket/key) into `dest` with the settings of the remote in its bucket. */
export async function fetchS3(url: string, dest: string, config: Config, explicitRemote?: string): Promise<Fetched & {remote?: string}> {
  const {bucket, key} = parseS3Url(url)
  const remote = s3RemoteFor(config, bucket, key, explicitRemote)
  const {client, sdk} = await s3Client(remote.options)
  try {
    const r = await client.send(new sdk.GetObjectCommand({Bucket: bucket, Key: key}))
    const saved = await save(r.Body as Readable, dest)
    return {...saved, ...(r.ETag ? {etag: r.ETag} : {}), ...(remote.name ? {remote: remote.name} : {})}
  } catch (error) {
    if ((error as NodeJS.ErrnoException).syscall && (error as NodeJS.ErrnoException).path) throw error
    throw s3Error(error, url, remote.name)
  } finally {
    client.destroy()
  }
}

/** A PostgreSQL column as DuckDB reads it from COPY's CSV (by type OID; the rest stay text). */
function duckdbTypeOf(oid: number, modifier: number): string {
  switch (oid) {
    case 16:
      return 'BOOLEAN'
    case 20:
      return 'BIGINT'
    case 21:
      return 'SMALLINT'
    case 23:
      return 'INTEGER'
    case 26:
      return 'UINTEGER'
    case 700:
      return 'FLOAT'
    case 701:
      return 'DOUBLE'
    case 1700: {
      // numeric(p, s): the modifier is ((p << 16) | s) + 4; unconstrained numeric has -1.
      if (modifier >= 4) {
        const precision = ((modifier - 4) >> 16) & 0xffff
        const scale = (modifier - 4) & 0xffff
        if (precision >= 1 && precision <= 38 && scale <= precision) return `DECIMAL(${precision},${scale})`
      }
      return 'DOUBLE'
    }
    case 1082:
      return 'DATE'
    case 1083:
      return 'TIME'
    case 1114:
      return 'TIMESTAMP'
    case 1184:
      return 'TIMESTAMPTZ'
    case 2950:
      return 'UUID'
    default:
      // text, varchar, char, name, json(b), bytea (hex text), interval, arrays, enums, ...
      return 'VARCHAR'
  }
}

export interface QueryResult extends Fetched {
  /** The result's columns in order, with the DuckDB types their CSV text is read as. */
  columns: Array<{name: string; type: string}>
}

/**
 * Runs `query` on the PostgreSQL server at `url` and streams its rows into `dest` as CSV (COPY
 * ... TO STDOUT, header first; NULL as an empty field, an empty string as ""), inside one
 * read-only REPEATABLE READ transaction in UTC, ISO dates, round-trip floats. The columns and
 * their types come from the same query's description, in the same snapshot.
 */
export async function fetchPostgres(url: string, query: string, dest: string, shown: string): Promise<QueryResult> {
  const {default: pg} = await import('pg')
  const {to: copyTo} = (await import('pg-copy-streams')).default
  const password = (() => {
    try {
      return decodeURIComponent(new URL(url).password)
    } catch {
      return ''
    }
  })()
  const scrub = (s: string) => (password.length >= 3 ? s.split(password).join('***') : s)
  const sql = query.trim().replace(/;+\s*$/, '')
  if (sql === '') throw new DvError('EUSAGE', '--query is empty', 2)
  const client = new pg.Client({connectionString: url, connectionTimeoutMillis: 30_000})
  // An error the server sends after the connection broke would otherwise be thrown unhandled.
  client.on('error', () => {})
  let stage = 'cannot connect'
  try {
    await client.connect()
    stage = 'the query failed'
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    for (const set of ["TimeZone = 'UTC'", "DateStyle = 'ISO, YMD'", "IntervalStyle = 'postgres'", 'extra_float_digits = 3', "bytea_output = 'hex'", "client_encoding = 'UTF8'"]) {
      await client.query(`SET LOCAL ${set}`)
    }
    const described = await client.query(`SELECT * FROM (${sql}) AS dv_ingest_query LIMIT 0`)
    const columns = described.fields.map((f) => ({name: f.name, type: duckdbTypeOf(f.dataTypeID, f.dataTypeModifier)}))
    const seen = new Set<string>()
    for (const c of columns) {
      if (seen.has(c.name.toLowerCase())) throw new DvError('EQUERY', `${shown}: the query gives two columns named ${JSON.stringify(c.name)}: name them apart (AS)`)
      seen.add(c.name.toLowerCase())
    }
    const saved = await save(client.query(copyTo(`COPY (${sql}) TO STDOUT WITH (FORMAT csv, HEADER true)`)), dest)
    await client.query('COMMIT')
    return {...saved, columns}
  } catch (error) {
    if (error instanceof DvError) throw error
    const e = error as NodeJS.ErrnoException & {severity?: string; position?: string}
    if (e.syscall && e.path) throw error // writing the local file failed: fromSystemError names it
    const reason = e.severity ? `: ${e.message.split('\n')[0]}` : ` (${causeOf(error)})`
    throw new DvError('EPOSTGRES', scrub(`${shown}: ${stage}${reason}`))
  } finally {
    await client.end().catch(() => {})
  }
}
