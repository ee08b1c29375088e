/**
 * The DuckDB layer of `dv data`: files of every format read from disk, exact statistics, their
 * comparison, and row-level differences with and without a key.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {rowsDiff, type Side} from '../../src/data/diff.js'
import {DataEngine, formatOf, literal, type DataFormat} from '../../src/data/engine.js'
import {compareStats, tableStats, type TableStats} from '../../src/data/stats.js'
import {InvalidFileError} from '../../src/errors.js'
import {tempDir} from '../helpers.js'

const CSV = 'id,name,score,day\n1,alice,0.5,2024-01-01\n2,bob,,2024-01-02\n3,"o\'neil, jr",1.5,\n4,bob,2,2024-01-04\n'

/** The statistics CSV above gives, whichever format holds it. */
const EXPECTED: TableStats = {
  rows: 4,
  columns: [
    {column: 'id', type: 'BIGINT', nulls: 0, distinct: 4, min: 1, max: 4, mean: 2.5, std: Math.sqrt(5 / 3), q25: 1.75, q50: 2.5, q75: 3.25},
    {column: 'name', type: 'VARCHAR', nulls: 0, distinct: 3, min: 'alice', max: "o'neil, jr", top: 'bob', top_count: 2},
    {column: 'score', type: 'DOUBLE', nulls: 1, distinct: 3, min: 0.5, max: 2, mean: 4 / 3, std: Math.sqrt(7 / 12), q25: 1, q50: 1.5, q75: 1.75},
    {column: 'day', type: 'DATE', nulls: 1, distinct: 3, min: '2024-01-01', max: '2024-01-04', top: '2024-01-01', top_count: 1},
  ],
}

let engine: DataEngine | undefined
afterEach(() => {
  engine?.close()
  engine = undefined
})

async function open(): Promise<DataEngine> {
  engine = await DataEngine.open()
  return engine
}

let n = 0
async function side(e: DataEngine, file: string, format: DataFormat = formatOf(file) ?? 'csv'): Promise<Side> {
  const table = `t${n++}`
  return {table, shown: file, columns: await e.load(table, file, format, file)}
}

/** Statistics with floating-point results compared to 12 digits, the rest exactly. */
function expectStats(actual: TableStats, expected: TableStats): void {
  expect(actual.rows).toBe(expected.rows)
  expect(actual.columns.map((c) => c.column)).toEqual(expected.columns.map((c) => c.column))
  actual.columns.forEach((c, i) => {
    const want = expected.columns[i]
    expect(Object.keys(c).sort()).toEqual(Object.keys(want).sort())
    for (const [k, v] of Object.entries(want)) {
      if (typeof v === 'number' && !Number.isInteger(v)) expect(c[k as keyof typeof c], `${c.column}.${k}`).toBeCloseTo(v, 12)
      else expect(c[k as keyof typeof c], `${c.column}.${k}`).toEqual(v)
    }
  })
}

describe('dv data: reading files', () => {
  it('chooses the format by extension', () => {
    expect(['a.csv', 'A.CSV', 'b.tsv', 'c.jsonl', 'd.ndjson', 'e.parquet', 'f.json', 'g.txt', 'csv'].map(formatOf)).toEqual(['csv', 'csv', 'tsv', 'jsonl', 'jsonl', 'parquet', undefined, undefined, undefined])
  })

  it('gives the same exact statistics for CSV, TSV, JSON lines and Parquet', async () => {
    const dir = tempDir()
    const e = await open()
    writeFileSync(join(dir, 'rows.csv'), CSV)
    writeFileSync(join(dir, 'rows.tsv'), CSV.replace(/,(?! jr)/g, '\t').replace(/"/g, ''))
    const jsonl = [
      {id: 1, name: 'alice', score: 0.5, day: '2024-01-01'},
      {id: 2, name: 'bob', score: null, day: '2024-01-02'},
      {id: 3, name: "o'neil, jr", score: 1.5, day: null},
      {id: 4, name: 'bob', score: 2, day: '2024-01-04'},
    ]
    writeFileSync(join(dir, 'rows.jsonl'), jsonl.map((r) => JSON.stringify(r)).join('\n') + '\n')
    await e.run(`COPY (SELECT * FROM read_csv(${literal(join(dir, 'rows.csv'))}, header = true)) TO ${literal(join(dir, 'rows.parquet'))} (FORMAT parquet)`)
    for (const file of ['rows.csv', 'rows.tsv', 'rows.jsonl', 'rows.parquet']) {
      const s = await side(e, join(dir, file))
      expect(s.columns, file).toEqual(EXPECTED.columns.map((c) => ({name: c.column, type: c.type})))
      expectStats(await tableStats(e, s.table, s.columns), EXPECTED)
    }
  })

  it('reads files whose names have quotes, spaces, glob characters or no extension at all', async () => {
    const dir = tempDir()
    const e = await open()
    const odd = join(dir, "it's [1] *.csv")
    writeFileSync(odd, CSV)
    // A glob would match this one too; the file read must be the named one only.
    writeFileSync(join(dir, "it's 1 x.csv"), 'other\n1\n')
    writeFileSync(join(dir, 'blob'), '{"a": 1}\n{"a": 2}\n')
    const s = await side(e, odd)
    expectStats(await tableStats(e, s.table, s.columns), EXPECTED)
    const blob = await side(e, join(dir, 'blob'), 'jsonl')
    expect(await tableStats(e, blob.table, blob.columns)).toEqual({rows: 2, columns: [{column: 'a', type: 'BIGINT', nulls: 0, distinct: 2, min: 1, max: 2, mean: 1.5, std: Math.SQRT1_2, q25: 1.25, q50: 1.5, q75: 1.75}]})
  })

  it('names the file (not the local copy) when DuckDB cannot read it', async () => {
    const dir = tempDir()
    const e = await open()
    writeFileSync(join(dir, '0'), 'this is not parquet\n')
    const err = await e.load('t', join(dir, '0'), 'parquet', 'data/x.parquet (at HEAD)').catch((error: unknown) => error)
    expect(err).toBeInstanceOf(InvalidFileError)
    expect((err as Error).message).toMatch(/^data\/x\.parquet \(at HEAD\): DuckDB cannot read it as PARQUET: .*data\/x\.parquet \(at HEAD\)/)
    expect((err as Error).message).not.toContain(dir)
    expect((err as Error).message).not.toContain('\n')
  })

  it('guesses types from every row when a row past the sniffed sample does not fit', async () => {
    const dir = tempDir()
    const e = await open()
    const ids = Array.from({length: 25_000}, (_, i) => i)
    writeFileSync(join(dir, 'late.csv'), ['id,v', ...ids.map((i) => `${i},${i}`), '25000,abc'].join('\n') + '\n')
    writeFileSync(join(dir, 'late.jsonl'), [...ids.map((i) => JSON.stringify({id: i, v: i})), JSON.stringify({id: 25_000, v: 'abc'})].join('\n') + '\n')
    const csv = await side(e, join(dir, 'late.csv'))
    expect(csv.columns).toEqual([{name: 'id', type: 'BIGINT'}, {name: 'v', type: 'VARCHAR'}])
    const jsonl = await side(e, join(dir, 'late.jsonl'))
    expect(jsonl.columns).toEqual([{name: 'id', type: 'BIGINT'}, {name: 'v', type: 'JSON'}])
    const stats = await tableStats(e, jsonl.table, jsonl.columns)
    expect([stats.rows, stats.columns[1]]).toEqual([25_001, {column: 'v', type: 'JSON', nulls: 0, distinct: 25_001, min: '"abc"', max: '9999', top: '"abc"', top_count: 1}])
  })

  it('keeps booleans, lists and structs: no min/max for nested types, top values as text', async () => {
    const dir = tempDir()
    const e = await open()
    writeFileSync(join(dir, 'n.jsonl'), '{"ok": true, "l": [1, 2], "s": {"x": 1}}\n{"ok": true, "l": [1, 2], "s": {"x": 2}}\n{"ok": false, "l": null, "s": {"x": 2}}\n')
    const s = await side(e, join(dir, 'n.jsonl'))
    expect(await tableStats(e, s.table, s.columns)).toEqual({
      rows: 3,
      columns: [
        {column: 'ok', type: 'BOOLEAN', nulls: 0, distinct: 2, min: false, max: true, top: 'true', top_count: 2},
        {column: 'l', type: 'BIGINT[]', nulls: 1, distinct: 1, top: '[1, 2]', top_count: 2},
        {column: 's', type: 'STRUCT(x BIGINT)', nulls: 0, distinct: 2, top: '{\'x\': 2}', top_count: 2},
      ],
    })
  })

  it('gives empty statistics for a file with a header only', async () => {
    const dir = tempDir()
    const e = await open()
    writeFileSync(join(dir, 'e.csv'), 'a,b\n')
    const s = await side(e, join(dir, 'e.csv'))
    expect(await tableStats(e, s.table, s.columns)).toEqual({rows: 0, columns: [{column: 'a', type: 'VARCHAR', nulls: 0, distinct: 0, min: null, max: null, top: null, top_count: null}, {column: 'b', type: 'VARCHAR', nulls: 0, distinct: 0, min: null, max: null, top: null, top_count: null}]})
  })
})

describe('dv data: comparing statistics', () => {
  it('calls out added, dropped and retyped columns and the change of each statistic', () => {
    const before: TableStats = {rows: 2, columns: [{column: 'id', type: 'BIGINT', nulls: 0, distinct: 2, min: 1, max: 2}, {column: 'tag', type: 'VARCHAR', nulls: 1, distinct: 1, top: 'x', top_count: 1}]}
    const after: TableStats = {rows: 3, columns: [{column: 'id', type: 'VARCHAR', nulls: 0, distinct: 3, min: '1', max: '3'}, {column: 'w', type: 'DOUBLE', nulls: 0, distinct: 1, min: 0.5, max: 0.5}]}
    expect(compareStats(before, after)).toEqual({
      status: 'modified',
      rows: {old: 2, new: 3, diff: 1, relative: 0.5},
      schema: {added: [{column: 'w', type: 'DOUBLE'}], dropped: [{column: 'tag', type: 'VARCHAR'}], retyped: [{column: 'id', old: 'BIGINT', new: 'VARCHAR'}]},
      columns: [
        {column: 'id', type: {old: 'BIGINT', new: 'VARCHAR'}, distinct: {old: 2, new: 3, diff: 1, relative: 0.5}, min: {old: 1, new: '1'}, max: {old: 2, new: '3'}},
        {column: 'w', type: {new: 'DOUBLE'}, nulls: {new: 0}, distinct: {new: 1}, min: {new: 0.5}, max: {new: 0.5}},
        {column: 'tag', type: {old: 'VARCHAR'}, nulls: {old: 1}, distinct: {old: 1}, top: {old: 'x'}, top_count: {old: 1}},
      ],
    })
    expect(compareStats(before, before)).toEqual({status: 'unchanged', rows: {old: 2, new: 2, diff: 0, relative: 0}, schema: {added: [], dropped: [], retyped: []}, columns: []})
    expect(compareStats(before, before, true).columns[0]).toEqual({column: 'id', type: {old: 'BIGINT', new: 'BIGINT'}, nulls: {old: 0, new: 0, diff: 0}, distinct: {old: 2, new: 2, diff: 0, relative: 0}, min: {old: 1, new: 1, diff: 0, relative: 0}, max: {old: 2, new: 2, diff: 0, relative: 0}})
    expect(compareStats(undefined, after).status).toBe('added')
    expect(compareStats(before, undefined).status).toBe('removed')
  })
})

describe('dv data: row differences', () => {
  async function pair(a: string, b: string, ext = 'csv'): Promise<[DataEngine, Side, Side]> {
    const dir = tempDir()
    const e = await open()
    writeFileSync(join(dir, `a.${ext}`), a)
    writeFileSync(join(dir, `b.${ext}`), b)
    return [e, await side(e, join(dir, `a.${ext}`)), await side(e, join(dir, `b.${ext}`))]
  }

  it('without a key: whole rows as multisets (EXCEPT ALL), duplicates counted', async () => {
    const [e, a, b] = await pair('x,y\n1,a\n1,a\n1,a\n2,b\n3,c\n', 'x,y\n1,a\n2,b\n2,b\n4,d\n')
    expect(await rowsDiff(e, a, b)).toEqual({
      schema: {added: [], dropped: [], retyped: []},
      compared: ['x', 'y'],
      rows: {old: 5, new: 4},
      added: {count: 2, rows: [{x: 2, y: 'b'}, {x: 4, y: 'd'}]},
      removed: {count: 3, rows: [{x: 1, y: 'a'}, {x: 1, y: 'a'}, {x: 3, y: 'c'}]},
      unchanged: 2,
    })
    expect((await rowsDiff(e, a, b, {limit: 1})).removed).toEqual({count: 3, rows: [{x: 1, y: 'a'}]})
  })

  it('with a key: added, removed, and modified rows with the columns that changed (nulls compared safely)', async () => {
    const [e, a, b] = await pair(
      'id,name,score,tag\n1,alice,0.5,x\n2,bob,,y\n3,carol,2,z\n5,eve,,w\n6,finn,1,v\n',
      'id,name,score,extra\n1,alice,0.5,10\n2,bob,1.5,20\n4,dave,,40\n5,eve,,50\n6,fin,,60\n',
    )
    expect(await rowsDiff(e, a, b, {key: ['id']})).toEqual({
      schema: {added: [{column: 'extra', type: 'BIGINT'}], dropped: [{column: 'tag', type: 'VARCHAR'}], retyped: []},
      compared: ['id', 'name', 'score'],
      rows: {old: 5, new: 5},
      added: {count: 1, rows: [{id: 4, name: 'dave', score: null, extra: 40}]},
      removed: {count: 1, rows: [{id: 3, name: 'carol', score: 2, tag: 'z'}]},
      modified: {
        count: 2,
        columns: {name: 1, score: 2},
        rows: [
          {key: {id: 2}, changes: {score: {old: null, new: 1.5}}},
          {key: {id: 6}, changes: {name: {old: 'finn', new: 'fin'}, score: {old: 1, new: null}}},
        ],
      },
      unchanged: 2,
    })
  })

  it('matches on a key of several columns, and compares a retyped column as text', async () => {
    const [e, a, b] = await pair('{"k":1,"d":"x","v":1}\n{"k":1,"d":"y","v":2}\n{"k":2,"d":"x","v":3}\n', '{"k":1,"d":"x","v":"1"}\n{"k":1,"d":"y","v":"two"}\n{"k":2,"d":"x","v":"3"}\n', 'jsonl')
    const diff = await rowsDiff(e, a, b, {key: ['k', 'd']})
    expect(diff.schema.retyped).toEqual([{column: 'v', old: 'BIGINT', new: 'VARCHAR'}])
    expect(diff.modified).toEqual({count: 1, columns: {v: 1}, rows: [{key: {k: 1, d: 'y'}, changes: {v: {old: 2, new: 'two'}}}]})
    expect([diff.added.count, diff.removed.count, diff.unchanged]).toEqual([0, 0, 2])
  })

  it('compares numbers of different types as numbers', async () => {
    const [e, a, b] = await pair('id,v\n1,1\n2,2\n', 'id,v\n1,1.0\n2,2.5\n')
    const diff = await rowsDiff(e, a, b, {key: ['id']})
    expect(diff.schema.retyped).toEqual([{column: 'v', old: 'BIGINT', new: 'DOUBLE'}])
    expect(diff.modified?.rows).toEqual([{key: {id: 2}, changes: {v: {old: 2, new: 2.5}}}])
    expect((await rowsDiff(e, a, b)).added).toEqual({count: 1, rows: [{id: 2, v: 2.5}]})
  })

  it('with no column in common, every row is removed and every row added', async () => {
    const [e, a, b] = await pair('x\n1\n', 'y\n2\n3\n')
    const diff = await rowsDiff(e, a, b)
    expect([diff.compared, diff.added, diff.removed, diff.unchanged]).toEqual([[], {count: 2, rows: [{y: 2}, {y: 3}]}, {count: 1, rows: [{x: 1}]}, 0])
  })

  it('refuses a key that is not a column, not unique, or null', async () => {
    const [e, a, b] = await pair('id,v\n1,a\n2,b\n', 'id,v\n1,a\n1,b\n,c\n')
    await expect(rowsDiff(e, a, b, {key: ['nope']})).rejects.toThrow(`${a.shown}: no column "nope" for the key (columns: id, v)`)
    await expect(rowsDiff(e, b, a, {key: ['id', 'v']})).rejects.toThrow(`${b.shown}: key (id, v) is null on 1 row; a key must identify every row`)
    await e.run(`DELETE FROM ${b.table} WHERE id IS NULL`)
    await expect(rowsDiff(e, a, b, {key: ['id']})).rejects.toThrow(`${b.shown}: key id is not unique: 2 rows have id=1`)
    await expect(rowsDiff(e, a, b, {key: ['id']})).rejects.toBeInstanceOf(InvalidFileError)
  })
})
