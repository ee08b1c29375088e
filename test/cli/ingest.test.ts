/**
 * dv ingest, run as the real binary: local CSV, TSV, JSON lines and Parquet files and globs, an
 * http server and an S3 server (s3rver) started here on 127.0.0.1, and a real PostgreSQL server
 * started in a temporary directory. Outputs are read back with DuckDB and compared row by row;
 * reports exactly; bad inputs give one line, exit 1, and leave nothing behind.
 */
import {spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {hashBytes, loadHasher} from '../../dist/hash/blake3.js'
import {BIN, dv, dvEnv, haveProgram, makeRepo, Result, tempDir, testEnv, writeFiles} from '../helpers.js'
import {postgresBinDir, startPostgres, type Postgres} from '../postgres-control.js'
import {startS3Server, type S3Server} from '../s3-control.js'

const blake3 = (data: string | Buffer) => hashBytes(Buffer.from(data))

/** A table as DuckDB reads it back: column names and types, and every value as text (NULL as null). */
async function readTable(file: string): Promise<{schema: Array<[string, string]>; rows: Array<Array<string | null>>}> {
  const {DuckDBInstance} = await import('@duckdb/node-api')
  const db = await DuckDBInstance.create(':memory:')
  const c = await db.connect()
  try {
    const from = `read_parquet('${file.replace(/'/g, "''")}')`
    const schema = (await c.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`)).getRowsJS().map((r) => [String(r[0]), String(r[1])] as [string, string])
    const rows = (await c.runAndReadAll(`SELECT COLUMNS(*)::VARCHAR FROM ${from}`)).getRowsJS() as Array<Array<string | null>>
    return {schema, rows}
  } finally {
    c.closeSync()
    db.closeSync()
  }
}

/** Runs SQL in DuckDB (to make Parquet fixtures). */
async function duckdb(sql: string): Promise<void> {
  const {DuckDBInstance} = await import('@duckdb/node-api')
  const db = await DuckDBInstance.create(':memory:')
  const c = await db.connect()
  try {
    await c.run(sql)
  } finally {
    c.closeSync()
    db.closeSync()
  }
}

/**
 * dv as a child process without blocking this process: the http server below lives in it and
 * must answer while dv runs (dv() blocks in spawnSync).
 */
function dvAsync(cwd: string, ...args: string[]): Promise<Result> {
  const home = join(tmpdir(), 'dv-test-home')
  mkdirSync(home, {recursive: true})
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {cwd, env: testEnv(home)})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve(new Result(code ?? 1, stdout, stderr, args)))
  })
}

/** A one-line error, exit 1, nothing on stdout. */
function expectError(r: Result, message: string): void {
  expect({code: r.code, stdout: r.stdout, stderr: r.stderr}).toEqual({code: 1, stdout: '', stderr: `ERROR: ${message}\n`})
}

const A_CSV = 'id,name,score\n1,alice,1.5\n2,bob,2\n'
const B_CSV = 'id,name,score\n3,carol,3.5\n4,dave,\n'
const C_TSV = 'id\tname\tscore\n5\terin\t5\n'
const D_JSONL = '{"id":6,"name":"frank","tag":"x"}\n{"id":7,"name":null,"tag":"y"}\n'

/** A workspace with raw/a.csv, raw/b.csv, extra/c.tsv, extra/d.jsonl and extra/e.parquet. */
async function workspace(): Promise<{dir: string; parquet: Buffer}> {
  const dir = tempDir()
  writeFiles(dir, {'raw/a.csv': A_CSV, 'raw/b.csv': B_CSV, 'extra/c.tsv': C_TSV, 'extra/d.jsonl': D_JSONL})
  const parquet = join(dir, 'extra/e.parquet')
  await duckdb(`COPY (SELECT CAST(id AS BIGINT) AS id, name, CAST(score AS DOUBLE) AS score FROM (VALUES (8, 'gina', 8.5), (9, 'hal', NULL)) v(id, name, score) ORDER BY id) TO '${parquet}' (FORMAT parquet)`)
  return {dir, parquet: readFileSync(parquet)}
}

describe('dv ingest: local files', () => {
  it('CSV, TSV, JSON lines, Parquet and a glob into one Parquet file: sources sorted, rows in file order, columns by name; the report exact', async () => {
    await loadHasher()
    const {dir, parquet} = await workspace()
    const r = dv(dir, 'ingest', 'raw/*.csv', 'extra/e.parquet', 'extra/d.jsonl', 'extra/c.tsv', '-o', 'data/raw.parquet', '--report', 'reports/ingest.json').ok()
    expect(r.stdout).toBe('ingested 9 rows, 4 columns from 5 sources → data/raw.parquet\n')
    expect(r.stderr).toBe('')
    const table = await readTable(join(dir, 'data/raw.parquet'))
    expect(table.schema).toEqual([
      ['id', 'BIGINT'],
      ['name', 'VARCHAR'],
      ['score', 'DOUBLE'],
      ['tag', 'VARCHAR'],
    ])
    expect(table.rows).toEqual([
      ['5', 'erin', '5.0', null], // extra/c.tsv
      ['6', 'frank', null, 'x'], // extra/d.jsonl
      ['7', null, null, 'y'],
      ['8', 'gina', '8.5', null], // extra/e.parquet
      ['9', 'hal', null, null],
      ['1', 'alice', '1.5', null], // raw/a.csv
      ['2', 'bob', '2.0', null],
      ['3', 'carol', '3.5', null], // raw/b.csv
      ['4', 'dave', null, null],
    ])
    const file = (source: string, format: string, rows: number, bytes: string | Buffer) => ({source, kind: 'file', format, rows, bytes: Buffer.byteLength(bytes), blake3: blake3(bytes)})
    const report = {
      rows: 9,
      columns: 4,
      sources: [file('extra/c.tsv', 'tsv', 1, C_TSV), file('extra/d.jsonl', 'jsonl', 2, D_JSONL), file('extra/e.parquet', 'parquet', 2, parquet), file('raw/a.csv', 'csv', 2, A_CSV), file('raw/b.csv', 'csv', 2, B_CSV)],
      schema: {id: 'BIGINT', name: 'VARCHAR', score: 'DOUBLE', tag: 'VARCHAR'},
      output: {path: 'data/raw.parquet', format: 'parquet', rows: 9},
    }
    const text = readFileSync(join(dir, 'reports/ingest.json'), 'utf8')
    expect(JSON.parse(text)).toEqual(report)
    expect(text).toBe(JSON.stringify(report, null, 2) + '\n') // key order too
    // No temporary file is left beside either.
    expect(readdirSync(join(dir, 'data'))).toEqual(['raw.parquet'])
    expect(readdirSync(join(dir, 'reports'))).toEqual(['ingest.json'])
    // --json prints the same report.
    expect(dv(dir, 'ingest', 'raw/*.csv', 'extra/*', '-o', 'data/raw.parquet', '--json').ok().json()).toEqual(report)
  })

  it('is deterministic: the same inputs in any order give the same Parquet bytes and the same report', async () => {
    const {dir} = await workspace()
    dv(dir, 'ingest', 'raw/*.csv', 'extra/*', '-o', 'out.parquet', '--report', 'report.json').ok()
    const bytes = readFileSync(join(dir, 'out.parquet'))
    const report = readFileSync(join(dir, 'report.json'), 'utf8')
    dv(dir, 'ingest', 'extra/e.parquet', 'raw/b.csv', 'extra/d.jsonl', 'raw/a.csv', 'extra/c.tsv', 'raw/a.csv', '-o', 'out.parquet', '--report', 'report.json', '-q').ok()
    expect(readFileSync(join(dir, 'out.parquet')).equals(bytes)).toBe(true)
    expect(readFileSync(join(dir, 'report.json'), 'utf8')).toBe(report)
    expect(report).not.toMatch(/20\d\d-\d\d-\d\d/) // no time in it
  })

  it('keeps the row order of large files read by several threads, and streams them', async () => {
    const dir = tempDir()
    const big = (from: number, n: number) => {
      const lines = ['id,group,value']
      for (let i = from; i < from + n; i++) lines.push(`${i},g${i % 7},${(i * 37) % 1000}`)
      return lines.join('\n') + '\n'
    }
    writeFiles(dir, {'parts/p1.csv': big(0, 250_000), 'parts/p2.csv': big(250_000, 250_000), 'parts/p0.csv': big(500_000, 100_000)})
    dv(dir, 'ingest', 'parts/*.csv', '-o', 'all.parquet', '--report', 'r.json').ok()
    // p0 (ids 500000...) first, then p1 and p2: each row's position is known from its id.
    const {DuckDBInstance} = await import('@duckdb/node-api')
    const db = await DuckDBInstance.create(':memory:')
    const c = await db.connect()
    const rows = (await c.runAndReadAll(`SELECT count(*), count(*) FILTER (WHERE file_row_number <> CASE WHEN id >= 500000 THEN id - 500000 ELSE id + 100000 END) FROM read_parquet('${join(dir, 'all.parquet')}', file_row_number = true)`)).getRowsJS()
    c.closeSync()
    db.closeSync()
    expect(rows.map((r) => r.map(Number))).toEqual([[600_000, 0]])
    expect(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')).sources.map((s: {source: string; rows: number}) => [s.source, s.rows])).toEqual([
      ['parts/p0.csv', 100_000],
      ['parts/p1.csv', 250_000],
      ['parts/p2.csv', 250_000],
    ])
  })

  it('types guessed from the first rows are guessed again from all when a later row does not fit; an empty column takes the others’ type', async () => {
    const dir = tempDir()
    const lines = ['id,code']
    for (let i = 0; i < 30_000; i++) lines.push(`${i},${i}`)
    lines.push('30000,A-7')
    writeFiles(dir, {'late.csv': lines.join('\n') + '\n', 'a.csv': 'id,score\n1,0.5\n', 'b.csv': 'id,score\n2,\n3,\n'})
    dv(dir, 'ingest', 'late.csv', '-o', 'late.parquet').ok()
    const late = await readTable(join(dir, 'late.parquet'))
    expect(late.schema).toEqual([
      ['id', 'BIGINT'],
      ['code', 'VARCHAR'],
    ])
    expect(late.rows.at(-1)).toEqual(['30000', 'A-7'])
    // b.csv's score column has no value (DuckDB reads it as VARCHAR): it is not a conflict.
    dv(dir, 'ingest', 'a.csv', 'b.csv', '-o', 'ab.parquet').ok()
    expect(await readTable(join(dir, 'ab.parquet'))).toEqual({
      schema: [
        ['id', 'BIGINT'],
        ['score', 'DOUBLE'],
      ],
      rows: [
        ['1', '0.5'],
        ['2', null],
        ['3', null],
      ],
    })
  })

  it('--types enforces column types; --format reads files whatever their extension; compressed text works; .csv output too', async () => {
    const dir = tempDir()
    writeFiles(dir, {'in/a.txt': 'id,when,price\n1,2024-01-31,1.10\n2,2024-02-29,20\n'})
    dv(dir, 'ingest', 'in/a.txt', '--format', 'csv', '--types', 'id:INTEGER,price:DECIMAL(10,2)', '--types', 'when:VARCHAR', '-o', 'out.parquet').ok()
    expect(await readTable(join(dir, 'out.parquet'))).toEqual({
      schema: [
        ['id', 'INTEGER'],
        ['when', 'VARCHAR'],
        ['price', 'DECIMAL(10,2)'],
      ],
      rows: [
        ['1', '2024-01-31', '1.10'],
        ['2', '2024-02-29', '20.00'],
      ],
    })
    const {gzipSync} = await import('node:zlib')
    writeFileSync(join(dir, 'in/b.csv.gz'), gzipSync('id,name\n1,"a, quoted ""name"""\n'))
    dv(dir, 'ingest', 'in/b.csv.gz', '-o', 'out.csv').ok()
    expect(readFileSync(join(dir, 'out.csv'), 'utf8')).toBe('id,name\n1,"a, quoted ""name"""\n')
  })

  /** Runs a failing ingest over data/old.parquet: one line, and the old output untouched, nothing beside it, no report. */
  function fails(dir: string, message: string, ...args: string[]): void {
    expectError(dv(dir, 'ingest', ...args, '-o', 'data/old.parquet', '--report', 'reports/r.json'), message)
    expect(readFileSync(join(dir, 'data/old.parquet'), 'utf8')).toBe('old output')
    expect(readdirSync(join(dir, 'data'))).toEqual(['old.parquet'])
    expect(existsSync(join(dir, 'reports'))).toBe(false)
  }

  function badInputs(): string {
    const dir = tempDir()
    writeFiles(dir, {
      'raw/a.csv': A_CSV,
      'bad/zero.csv': '',
      'bad/header.csv': 'id,name\n',
      'bad/typed.csv': 'id,when\n1,2024-01-01\n2,yesterday\n',
      'bad/typed.jsonl': '{"id":1,"when":"2024-01-01"}\n{"id":2,"when":"yesterday"}\n',
      'bad/text-id.csv': 'id,name\nx1,zed\n',
      'bad/ragged.csv': 'id,name,score\n1,a,1\n2,b,2,extra\n',
      'bad/quote.csv': 'id,name\n1,"open\n',
      'bad/broken.jsonl': '{"id":1}\n{"id" 2}\n{"id":3}\n',
      'bad/fake.parquet': 'not parquet',
      'bad/notes.txt': 'hello\n',
      'data/old.parquet': 'old output',
    })
    return dir
  }

  it('a missing file, a glob matching nothing, an empty file, a header alone: one line naming it, exit 1, an old output untouched', () => {
    const dir = badInputs()
    fails(dir, 'raw/missing.csv: no such file or directory', 'raw/missing.csv')
    fails(dir, 'raw/*.tsv: no file matches this pattern', 'raw/*.tsv', 'raw/a.csv')
    fails(dir, 'bad/zero.csv: empty input (0 bytes): not even a header', 'bad/zero.csv')
    fails(dir, 'bad/header.csv: empty input: no rows, only a header (--allow-empty writes an empty table)', 'bad/header.csv')
    fails(dir, 'bad/notes.txt: unknown format: name it .csv, .tsv, .jsonl, .ndjson or .parquet (.gz or .zst compressed text too), or give --format', 'bad/notes.txt')
    fails(dir, 'bad: is a directory: give its files, or a glob such as bad/*.csv', 'bad')
  })

  it('a value that does not parse, types that do not fit together, a malformed file: one line naming the file, line and column', () => {
    const dir = badInputs()
    fails(dir, 'bad/typed.csv:3: column "when": cannot read "yesterday" as DATE', 'bad/typed.csv', '--types', 'when:date')
    fails(dir, 'bad/typed.jsonl: column "when": cannot read "yesterday" as DATE', 'bad/typed.jsonl', '--types', 'when:DATE')
    fails(dir, 'column "id" is VARCHAR in bad/text-id.csv but BIGINT in raw/a.csv: they cannot be combined (convert one, or give --types id:VARCHAR)', 'raw/a.csv', 'bad/text-id.csv')
    fails(dir, 'bad/ragged.csv:3: expected 3 columns, found 4', 'bad/ragged.csv')
    fails(dir, 'bad/quote.csv:2: value with unterminated quote found', 'bad/quote.csv')
    fails(dir, 'bad/broken.jsonl:2: malformed JSON: unexpected character', 'bad/broken.jsonl')
    fails(dir, "bad/fake.parquet: DuckDB cannot read it as PARQUET: File 'bad/fake.parquet' too small to be a Parquet file", 'bad/fake.parquet')
    fails(dir, '--types: no source has a column named "nope"', 'raw/a.csv', '--types', 'nope:INTEGER')
  })

  it('--types resolves a conflict, --allow-empty writes a header alone; usage errors exit 2', async () => {
    const dir = badInputs()
    dv(dir, 'ingest', 'raw/a.csv', 'bad/text-id.csv', '--types', 'id:VARCHAR', '-o', 'data/fixed.parquet').ok()
    expect((await readTable(join(dir, 'data/fixed.parquet'))).rows).toEqual([
      ['x1', 'zed', null], // bad/ sorts before raw/
      ['1', 'alice', '1.5'],
      ['2', 'bob', '2.0'],
    ])
    dv(dir, 'ingest', 'bad/header.csv', '--allow-empty', '-o', 'data/empty.parquet').ok()
    expect(await readTable(join(dir, 'data/empty.parquet'))).toEqual({
      schema: [
        ['id', 'VARCHAR'],
        ['name', 'VARCHAR'],
      ],
      rows: [],
    })
    // Usage errors exit 2.
    expect(dv(dir, 'ingest', '-o', 'x.parquet').code).toBe(2)
    expect(dv(dir, 'ingest', 'raw/a.csv', '-o', 'x.txt').stderr).toBe('ERROR: x.txt: unknown output format: name it .parquet (or .csv, .tsv, .jsonl)\n')
  })

  it('runs as a pipeline stage: dv repro writes the output and a report dv metrics shows; a second repro has nothing to do', () => {
    const repo = makeRepo()
    const bin = tempDir()
    writeFileSync(join(bin, 'dv'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
    chmodSync(join(bin, 'dv'), 0o755)
    writeFiles(repo, {
      'raw/a.csv': A_CSV,
      'raw/b.csv': B_CSV,
      'dv.yaml': 'stages:\n  ingest:\n    cmd: dv ingest raw/*.csv -o data/raw.parquet --report reports/ingest.json\n    deps: [raw]\n    outs: [data/raw.parquet]\n    metrics:\n      - reports/ingest.json:\n          cache: false\n',
    })
    const env = {PATH: `${bin}:${process.env.PATH}`}
    dvEnv(repo, env, 'repro').ok()
    expect(existsSync(join(repo, 'data/raw.parquet'))).toBe(true)
    const shown = dvEnv(repo, env, 'metrics', 'show', '--json').ok().json<Record<string, Record<string, Record<string, unknown>>>>()
    const metrics = Object.values(Object.values(shown)[0])[0]
    expect(metrics).toMatchObject({rows: 4, columns: 3, 'sources.0.source': 'raw/a.csv', 'sources.1.rows': 2, 'output.rows': 4})
    expect(dvEnv(repo, env, 'repro').ok().stdout).toContain('Stage ingest is up to date.')
  })
})

describe('dv ingest: http(s) URLs', () => {
  let server: Server
  let base: string
  const CSV = 'id,city\n1,Oslo\n2,Lima\n'
  let auth: string | undefined

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url!, 'http://x').pathname
      if (path === '/data/cities.csv' || path === '/export') {
        auth = req.headers.authorization
        res.writeHead(200, {'content-type': 'text/csv', etag: '"cities-v1"', 'last-modified': 'Tue, 30 Jan 2024 10:00:00 GMT'})
        res.end(CSV)
      } else {
        res.writeHead(404, {'content-type': 'text/plain'})
        res.end('not here')
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as {port: number}).port}`
  })

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve))
  })

  it('downloads, records the ETag, Last-Modified and BLAKE3; a password or token in the URL is never shown', async () => {
    await loadHasher()
    const dir = tempDir()
    writeFiles(dir, {'local.csv': 'id,city\n0,Rome\n'})
    const r = await dvAsync(dir, 'ingest', `${base}/data/cities.csv`, 'local.csv', '-o', 'out.parquet', '--report', 'report.json')
    expect(r.code, r.stderr).toBe(0)
    expect((await readTable(join(dir, 'out.parquet'))).rows).toEqual([
      ['1', 'Oslo'],
      ['2', 'Lima'],
      ['0', 'Rome'],
    ])
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).sources[0]).toEqual({
      source: `${base}/data/cities.csv`,
      kind: 'http',
      format: 'csv',
      rows: 2,
      bytes: CSV.length,
      blake3: blake3(CSV),
      etag: '"cities-v1"',
      last_modified: 'Tue, 30 Jan 2024 10:00:00 GMT',
    })
    const url = base.replace('http://', 'http://reader:hunter2secret@')
    const withSecrets = await dvAsync(dir, 'ingest', `${url}/export?format=csv&token=tok-12345`, '--format', 'csv', '-o', 'out2.parquet', '--json')
    expect(withSecrets.code, withSecrets.stderr).toBe(0)
    expect(auth).toBe(`Basic ${Buffer.from('reader:hunter2secret').toString('base64')}`)
    expect(withSecrets.json<{sources: Array<{source: string}>}>().sources[0].source).toBe(`${base.replace('http://', 'http://reader:***@')}/export?format=csv&token=***`)
    expect(withSecrets.stdout + withSecrets.stderr).not.toMatch(/hunter2secret|tok-12345/)
  })

  it('an HTTP error or an unreachable server is one line with the status; nothing is written', async () => {
    const dir = tempDir()
    expectError(await dvAsync(dir, 'ingest', `${base}/data/missing.csv`, '-o', 'out.parquet'), `${base}/data/missing.csv: HTTP 404 Not Found`)
    // A port nothing listens on (any more).
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as {port: number}).port
    await new Promise((resolve) => closed.close(resolve))
    expectError(await dvAsync(dir, 'ingest', `http://127.0.0.1:${port}/x.csv`, '-o', 'out.parquet'), `http://127.0.0.1:${port}/x.csv: cannot download (ECONNREFUSED)`)
    expectError(await dvAsync(dir, 'ingest', `${base}/export`, '-o', 'out.parquet'), `${base}/export: unknown format: name it .csv, .tsv, .jsonl, .ndjson or .parquet (.gz or .zst compressed text too), or give --format`)
    expect(readdirSync(dir)).toEqual([])
  })
})

describe('dv ingest: S3 objects (s3rver on 127.0.0.1)', () => {
  let server: S3Server

  beforeAll(async () => {
    server = await startS3Server()
  })

  afterAll(async () => {
    await server.stop()
  })

  async function put(key: string, body: string): Promise<string> {
    const sdk = await import('@aws-sdk/client-s3')
    const client = new sdk.S3Client({endpoint: server.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: {accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER'}})
    const r = await client.send(new sdk.PutObjectCommand({Bucket: 'dv-test', Key: key, Body: body}))
    client.destroy()
    return r.ETag!
  }

  function s3Repo(key = 'S3RVER'): string {
    const repo = makeRepo()
    dv(repo, 'remote', 'add', '-d', 'store', 's3://dv-test/dv-store').ok()
    dv(repo, 'remote', 'modify', 'store', 'endpointurl', server.endpoint).ok()
    dv(repo, 'remote', 'modify', '--local', 'store', 'access_key_id', key).ok()
    dv(repo, 'remote', 'modify', '--local', 'store', 'secret_access_key', 'S3RVER-SECRET-VALUE').ok()
    return repo
  }

  it("reads an object with the credentials of the dv remote in its bucket; the report has its ETag", async () => {
    await loadHasher()
    const body = '{"id":1,"label":"cat"}\n{"id":2,"label":"dog"}\n'
    const etag = await put('ingest/labels.jsonl', body)
    const repo = s3Repo()
    const r = dv(repo, 'ingest', 's3://dv-test/ingest/labels.jsonl', '-o', 'data/labels.parquet', '--report', 'report.json').ok()
    expect(r.stdout + r.stderr).not.toContain('S3RVER-SECRET-VALUE')
    expect((await readTable(join(repo, 'data/labels.parquet'))).rows).toEqual([
      ['1', 'cat'],
      ['2', 'dog'],
    ])
    expect(JSON.parse(readFileSync(join(repo, 'report.json'), 'utf8')).sources).toEqual([
      {source: 's3://dv-test/ingest/labels.jsonl', kind: 's3', format: 'jsonl', remote: 'store', rows: 2, bytes: body.length, blake3: blake3(body), etag},
    ])
    // --remote names it explicitly; a remote that is not S3 is refused.
    dv(repo, 'ingest', 's3://dv-test/ingest/labels.jsonl', '--remote', 'store', '-o', 'data/labels.parquet').ok()
    dv(repo, 'remote', 'add', 'dir', '/tmp/somewhere').ok()
    expectError(dv(repo, 'ingest', 's3://dv-test/ingest/labels.jsonl', '--remote', 'dir', '-o', 'x.parquet'), 'remote "dir" is not an S3 remote (/tmp/somewhere)')
  })

  it('a missing key and wrong credentials are one line each, with no secret in it and no output', async () => {
    await put('ingest/ok.csv', 'a\n1\n')
    const repo = s3Repo()
    expectError(dv(repo, 'ingest', 's3://dv-test/ingest/nope.csv', '-o', 'out.parquet'), 's3://dv-test/ingest/nope.csv: no such object in the bucket')
    const wrong = s3Repo('NOT-A-KEY')
    const r = dv(wrong, 'ingest', 's3://dv-test/ingest/ok.csv', '-o', 'out.parquet')
    expectError(r, 's3://dv-test/ingest/ok.csv: access denied (InvalidAccessKeyId): check the credentials of remote "store"')
    expect(existsSync(join(repo, 'out.parquet')) || existsSync(join(wrong, 'out.parquet'))).toBe(false)
  })
})

describe('dv ingest: a PostgreSQL query (a real server in a temporary directory)', () => {
  // Debian's package keeps the programs in /usr/lib/postgresql/<version>/bin, off the PATH.
  const installed = postgresBinDir() !== undefined || haveProgram('initdb')
  let pg: Postgres

  beforeAll(async () => {
    if (!installed) return
    pg = await startPostgres()
    const {default: pgClient} = await import('pg')
    const client = new pgClient.Client({connectionString: pg.url})
    await client.connect()
    await client.query(`CREATE TABLE orders (id bigint PRIMARY KEY, customer text, note text, price numeric(10,2), paid boolean, day date, at timestamptz, weight float8, tags text[])`)
    await client.query(`INSERT INTO orders VALUES
      (2, 'bob', '', 20.00, false, NULL, NULL, 'NaN', '{}'),
      (1, 'alice', 'a, "quoted"' || chr(10) || 'note', 1.50, true, '2024-01-31', '2024-01-31 10:00:00+02', 0.1, '{x,y}'),
      (3, NULL, NULL, NULL, NULL, '2020-02-29', '2020-01-01 00:00:00Z', 1e300, NULL)`)
    await client.end()
  }, 120_000)

  afterAll(() => pg?.stop())

  it.skipIf(!installed)('streams the rows of a query with their PostgreSQL types; the password is never shown', async () => {
    await loadHasher()
    const dir = tempDir()
    const query = 'SELECT * FROM orders ORDER BY id'
    const r = dv(dir, 'ingest', '--postgres', pg.url, '--query', query, '-o', 'orders.parquet', '--report', 'report.json').ok()
    expect(r.stdout).toBe('ingested 3 rows, 9 columns from 1 source → orders.parquet\n')
    expect(await readTable(join(dir, 'orders.parquet'))).toEqual({
      schema: [
        ['id', 'BIGINT'],
        ['customer', 'VARCHAR'],
        ['note', 'VARCHAR'],
        ['price', 'DECIMAL(10,2)'],
        ['paid', 'BOOLEAN'],
        ['day', 'DATE'],
        ['at', 'TIMESTAMP WITH TIME ZONE'],
        ['weight', 'DOUBLE'],
        ['tags', 'VARCHAR'],
      ],
      rows: [
        // NULL and the empty string stay apart.
        ['1', 'alice', 'a, "quoted"\nnote', '1.50', 'true', '2024-01-31', '2024-01-31 08:00:00+00', '0.1', '{x,y}'],
        ['2', 'bob', '', '20.00', 'false', null, null, 'nan', '{}'],
        ['3', null, null, null, null, '2020-02-29', '2020-01-01 00:00:00+00', '1e+300', null],
      ],
    })
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))
    const shown = `postgres://${pg.user}:***@127.0.0.1:${pg.port}/postgres`
    expect(report.sources).toEqual([{source: shown, kind: 'postgres', query, rows: 3, bytes: report.sources[0].bytes, blake3: report.sources[0].blake3}])
    expect(report.sources[0].blake3).toMatch(/^[0-9a-f]{64}$/)
    expect(readFileSync(join(dir, 'report.json'), 'utf8')).not.toContain(pg.password)
    // Deterministic: the same query gives the same bytes.
    const first = readFileSync(join(dir, 'orders.parquet'))
    dv(dir, 'ingest', '--postgres', pg.url, '--query', `${query};`, '-o', 'orders.parquet', '-q').ok()
    expect(readFileSync(join(dir, 'orders.parquet')).equals(first)).toBe(true)
  })

  it.skipIf(!installed)('bad SQL, a wrong password, a type that does not parse: one line each, the password redacted, no output', () => {
    const dir = tempDir()
    const shown = `postgres://${pg.user}:***@127.0.0.1:${pg.port}/postgres`
    const run = (url: string, query: string, ...more: string[]) => {
      const r = dv(dir, 'ingest', '--postgres', url, '--query', query, '-o', 'out.parquet', ...more)
      expect(r.stdout + r.stderr).not.toContain(pg.password)
      return r
    }
    expectError(run(pg.url, 'SELECT * FROM no_such_table'), `${shown}: the query failed: relation "no_such_table" does not exist`)
    expectError(run(pg.url, 'SELECT id FROM orders WHERE'), `${shown}: the query failed: syntax error at or near ")"`)
    expectError(run(pg.url.replace(pg.password, 'wrong-password'), 'SELECT 1'), `${shown}: cannot connect: password authentication failed for user "${pg.user}"`)
    expectError(run(pg.url, 'SELECT customer FROM orders ORDER BY id', '--types', 'customer:INTEGER'), `${shown}: column "customer": cannot read "alice" as INTEGER`)
    expectError(run(pg.url, 'SELECT * FROM orders WHERE false'), `${shown}: empty input: no rows, only a header (--allow-empty writes an empty table)`)
    expect(readdirSync(dir)).toEqual([])
  })
})
