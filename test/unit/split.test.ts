/**
 * dv split on real files in temporary directories: exact class balance, determinism (the same
 * seed gives the same bytes; shuffled input rows give the same splits), group integrity,
 * chronological order with ties, the leakage check, and bad input leaving nothing behind.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {literal} from '../../src/data/engine.js'
import {DvError, InvalidFileError, UsageError} from '../../src/errors.js'
import {findLeakage, leakageMessage, MAX_LOOKUP_CLASSES, parseRatios, split, splitNames, type SplitReport} from '../../src/builtins/split.js'
import {query, testEngine} from '../duckdb.js'
import {tempDir, writeFiles} from '../helpers.js'

const LABELS = (i: number) => (i % 10 < 6 ? 'a' : i % 10 < 9 ? 'b' : 'c')

/** n rows: id, label (60% a, 30% b, 10% c), user (37 groups), day (100 distinct days), x. */
function rows(n: number): string[] {
  return Array.from({length: n}, (_, i) => {
    const day = new Date(Date.UTC(2024, 0, 1) + (i % 100) * 86_400_000).toISOString().slice(0, 10)
    return `${i},${LABELS(i)},u${i % 37},${day},${((i * 7919) % 1000) / 10}`
  })
}

const HEADER = 'id,label,user,day,x'

function csv(dir: string, name: string, lines: string[], header = HEADER): string {
  const path = join(dir, name)
  writeFileSync(path, [header, ...lines].join('\n') + '\n')
  return path
}

/** The same lines in another order (a fixed permutation). */
const shuffled = (lines: string[]) => lines.map((l, i) => [(i * 7919) % lines.length, l] as const).sort((a, b) => a[0] - b[0]).map(([, l]) => l)


/** The ids in a split file, sorted. */
async function ids(file: string): Promise<number[]> {
  return (await query(`SELECT id FROM read_parquet(${literal(file)}) ORDER BY id`)).map((r) => Number(r[0]))
}

/** Rows per class in a split file. */
async function classes(file: string, column = 'label'): Promise<Record<string, number>> {
  return Object.fromEntries((await query(`SELECT ${column}, count(*) FROM read_parquet(${literal(file)}) GROUP BY 1 ORDER BY 1`)).map(([c, n]) => [String(c), Number(n)]))
}

/** Everything in `dir`, hidden files included. */
const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : [])

describe('dv split: ratios and names', () => {
  it('parses ratios exactly and checks their sum', () => {
    expect(parseRatios('0.8,0.1,0.1').values).toEqual([0.8, 0.1, 0.1])
    expect(parseRatios('0.8,0.1,0.1').cuts).toEqual(['0.800000000000000000::DECIMAL(19, 18)', '0.900000000000000000::DECIMAL(19, 18)'])
    expect(parseRatios([0.7, 0.3]).values).toEqual([0.7, 0.3])
    expect(parseRatios('.5,5e-1').values).toEqual([0.5, 0.5])
    expect(parseRatios('0.3333333333,0.3333333333,0.3333333334').values).toHaveLength(3)
    // Within 1e-9 of 1 is accepted; further is not.
    expect(() => parseRatios('0.5,0.4999999999')).not.toThrow()
    expect(() => parseRatios('0.8,0.1,0.2')).toThrow(/--ratios must sum to 1, not 1.1 \(0.8 \+ 0.1 \+ 0.2\)/)
    expect(() => parseRatios('0.5,0.49')).toThrow(UsageError)
    expect(() => parseRatios('1')).toThrow(/at least two ratios/)
    expect(() => parseRatios('0.8,x,0.2')).toThrow(/'x' is not a number/)
    expect(() => parseRatios('1,0')).toThrow(/must be above 0/)
    expect(() => parseRatios('0.8,-0.1,0.3')).toThrow(UsageError)
  })

  it('names the splits', () => {
    expect(splitNames(3)).toEqual(['train', 'val', 'test'])
    expect(splitNames(2)).toEqual(['train', 'test'])
    expect(splitNames(2, ['fit', 'holdout'])).toEqual(['fit', 'holdout'])
    expect(() => splitNames(4)).toThrow(/--names is needed for 4 splits/)
    expect(() => splitNames(3, ['a', 'b'])).toThrow(/gives 2 names for 3 ratios/)
    expect(() => splitNames(2, ['a', 'A'])).toThrow(/given twice/)
    expect(() => splitNames(2, ['a', '../b'])).toThrow(/not a plain file name/)
  })
})

describe('dv split: methods', () => {
  it('stratified: each class cut at the ratios, to the row, and the report says so', async () => {
    const dir = tempDir()
    // Class d has 7 rows: cut after row ⌈5.6⌉ = 6 and ⌈6.3⌉ = 7, so 6, 1, 0.
    const lines = [...rows(1000), ...Array.from({length: 7}, (_, i) => `${1000 + i},d,u0,2024-05-01,1`)]
    const input = csv(dir, 'data.csv', lines)
    const {report, outputs} = await split({input, outDir: join(dir, 'split'), stratify: 'label', seed: 7, report: join(dir, 'reports', 'split.json')})
    expect(outputs).toEqual({train: join(dir, 'split', 'train.parquet'), val: join(dir, 'split', 'val.parquet'), test: join(dir, 'split', 'test.parquet')})
    expect(listing(join(dir, 'split'))).toEqual(['test.parquet', 'train.parquet', 'val.parquet'])
    expect(await classes(join(dir, 'split', 'train.parquet'))).toEqual({a: 480, b: 240, c: 80, d: 6})
    expect(await classes(join(dir, 'split', 'val.parquet'))).toEqual({a: 60, b: 30, c: 10, d: 1})
    expect(await classes(join(dir, 'split', 'test.parquet'))).toEqual({a: 60, b: 30, c: 10})
    const expected: SplitReport = {
      method: 'stratified',
      seed: 7,
      rows: 1007,
      splits: {
        train: {rows: 806, ratio: 0.800397, classes: {a: {rows: 480, share: 0.595533}, b: {rows: 240, share: 0.297767}, c: {rows: 80, share: 0.099256}, d: {rows: 6, share: 0.007444}}},
        val: {rows: 101, ratio: 0.100298, classes: {a: {rows: 60, share: 0.594059}, b: {rows: 30, share: 0.29703}, c: {rows: 10, share: 0.09901}, d: {rows: 1, share: 0.009901}}},
        test: {rows: 100, ratio: 0.099305, classes: {a: {rows: 60, share: 0.6}, b: {rows: 30, share: 0.3}, c: {rows: 10, share: 0.1}, d: {rows: 0, share: 0}}},
      },
      leakage: {duplicate_rows: 0},
    }
    expect(report).toEqual(expected)
    expect(JSON.parse(readFileSync(join(dir, 'reports', 'split.json'), 'utf8'))).toEqual(expected)
    // Every row in exactly one split.
    const all = [...(await ids(outputs.train)), ...(await ids(outputs.val)), ...(await ids(outputs.test))].sort((a, b) => a - b)
    expect(all).toEqual(Array.from({length: 1007}, (_, i) => i))
  })

  it('stratified: a null class is a class of its own', async () => {
    const dir = tempDir()
    const lines = Array.from({length: 20}, (_, i) => `${i},${i < 10 ? '' : 'x'},u0,2024-01-01,1`)
    const {report} = await split({input: csv(dir, 'd.csv', lines), outDir: join(dir, 'out'), stratify: 'label', ratios: '0.5,0.5'})
    expect(report.splits.train.classes).toEqual({null: {rows: 5, share: 0.5}, x: {rows: 5, share: 0.5}})
    expect(report.splits.test.classes).toEqual({null: {rows: 5, share: 0.5}, x: {rows: 5, share: 0.5}})
  })

  // Each class's cut points are found per row three ways, by the number of classes: a list
  // indexed by a collision-free hash (few), short lists per hash bucket (hundreds), a join (more
  // than MAX_LOOKUP_CLASSES). All give the same guarantees.
  for (const count of [5, 600, MAX_LOOKUP_CLASSES + 100]) {
    it(`stratified with ${count} classes: exact per class, in input order, whatever the input's order`, async () => {
      const dir = tempDir()
      const n = count * 5
      const lines = Array.from({length: n}, (_, i) => `${i},k${i % count},u0,2024-01-01,${i}`)
      const a = await split({input: csv(dir, 'a.csv', lines), outDir: join(dir, 'a'), stratify: 'label', seed: 3})
      // Five rows per class, 0.8/0.1/0.1: 4, 1, 0.
      expect([a.report.splits.train.rows, a.report.splits.val.rows, a.report.splits.test.rows]).toEqual([4 * count, count, 0])
      const perClass = await query(`SELECT count(DISTINCT label), min(c), max(c) FROM (SELECT label, count(*) c FROM read_parquet(${literal(a.outputs.train)}) GROUP BY 1)`)
      expect(perClass[0].map(Number)).toEqual([count, 4, 4])
      const order = await query(`SELECT count(*) FROM (SELECT id, lag(id) OVER () AS prev FROM read_parquet(${literal(a.outputs.train)})) WHERE id < prev`)
      expect(Number(order[0][0])).toBe(0)
      const b = await split({input: csv(dir, 'b.csv', shuffled(lines)), outDir: join(dir, 'b'), stratify: 'label', seed: 3})
      expect(await ids(b.outputs.val)).toEqual(await ids(a.outputs.val))
    })
  }

  it('random: exact sizes, and the same seed gives the same bytes, whatever the order of the input rows', async () => {
    const dir = tempDir()
    const lines = rows(1000)
    const a = await split({input: csv(dir, 'a.csv', lines), outDir: join(dir, 'a'), seed: 11})
    expect(Object.values(a.report.splits).map((s) => s.rows)).toEqual([800, 100, 100])
    expect(a.report.method).toBe('random')
    const again = await split({input: csv(dir, 'a.csv', lines), outDir: join(dir, 'again'), seed: 11})
    for (const name of ['train', 'val', 'test']) {
      expect(readFileSync(again.outputs[name]).equals(readFileSync(a.outputs[name])), name).toBe(true)
    }
    // Shuffled rows: the same rows in each split; within a file, the rows keep the input's order.
    const b = await split({input: csv(dir, 'b.csv', shuffled(lines)), outDir: join(dir, 'b'), seed: 11})
    for (const name of ['train', 'val', 'test']) expect(await ids(b.outputs[name]), name).toEqual(await ids(a.outputs[name]))
    // Parquet input: the same splits as the CSV it holds.
    const parquet = join(dir, 'a.parquet')
    await query(`COPY (SELECT * FROM read_csv(${literal(join(dir, 'a.csv'))})) TO ${literal(parquet)} (FORMAT parquet)`)
    const c = await split({input: parquet, outDir: join(dir, 'c'), seed: 11})
    expect(await ids(c.outputs.test)).toEqual(await ids(a.outputs.test))
    // Another seed, other splits.
    const d = await split({input: csv(dir, 'a.csv', lines), outDir: join(dir, 'd'), seed: 12})
    expect(await ids(d.outputs.test)).not.toEqual(await ids(a.outputs.test))
    expect((await ids(d.outputs.test)).length).toBe(100)
  })

  it('reads CSV, TSV and JSON lines alike, and names with glob characters', async () => {
    const dir = tempDir()
    const lines = rows(200)
    const base = await split({input: csv(dir, 'a.csv', lines), outDir: join(dir, 'a'), seed: 2})
    writeFileSync(join(dir, 'b.tsv'), [HEADER, ...lines].join('\n').replaceAll(',', '\t') + '\n')
    const fields = HEADER.split(',')
    writeFileSync(join(dir, 'c.jsonl'), lines.map((l) => JSON.stringify(Object.fromEntries(l.split(',').map((v, i) => [fields[i], i === 0 || i === 4 ? Number(v) : v])))).join('\n') + '\n')
    const other = [await split({input: join(dir, 'b.tsv'), outDir: join(dir, 'b'), seed: 2}), await split({input: csv(dir, 'd[1]*.csv', lines), outDir: join(dir, 'd [x]'), seed: 2})]
    for (const r of other) expect(await ids(r.outputs.test)).toEqual(await ids(base.outputs.test))
    // JSON lines with the same types (numbers, text, dates): the same rows too.
    const j = await split({input: join(dir, 'c.jsonl'), outDir: join(dir, 'c'), seed: 2})
    expect(await ids(j.outputs.test)).toEqual(await ids(base.outputs.test))
    expect(listing(join(dir, 'd [x]'))).toEqual(['test.parquet', 'train.parquet', 'val.parquet'])
  })

  it('random with --key: rows with the same key land together', async () => {
    const dir = tempDir()
    // Ten rows per user that differ in every other column.
    const lines = rows(370)
    const {outputs} = await split({input: csv(dir, 'a.csv', lines), outDir: join(dir, 'a'), key: ['user'], ratios: '0.5,0.5', seed: 1})
    const users = async (f: string) => (await query(`SELECT DISTINCT user FROM read_parquet(${literal(f)}) ORDER BY 1`)).map((r) => String(r[0]))
    const train = await users(outputs.train)
    const test = await users(outputs.test)
    expect(train.filter((u) => test.includes(u))).toEqual([])
    expect(train.length + test.length).toBe(37)
  })

  it('group: no group in two splits; ratios close, and reported as they came out', async () => {
    const dir = tempDir()
    const lines = rows(3700)
    const {report, outputs} = await split({input: csv(dir, 'a.csv', lines), outDir: join(dir, 'a'), group: 'user', seed: 5, label: 'label'})
    expect(report.method).toBe('group')
    expect(report.leakage).toEqual({duplicate_rows: 0, shared_groups: 0})
    const groups = await Promise.all(['train', 'val', 'test'].map(async (s) => (await query(`SELECT DISTINCT user FROM read_parquet(${literal(outputs[s])})`)).map((r) => String(r[0]))))
    const seen = groups.flat()
    expect(new Set(seen).size).toBe(seen.length)
    expect(seen.length).toBe(37)
    // 37 groups of 100 rows: each split within one group (100 rows) of its share.
    expect(Math.abs(report.splits.train.rows - 2960)).toBeLessThanOrEqual(100)
    expect(report.splits.train.rows % 100).toBe(0)
    expect(report.splits.train.rows + report.splits.val.rows + report.splits.test.rows).toBe(3700)
    expect(report.splits.train.ratio).toBe(Number((report.splits.train.rows / 3700).toFixed(6)))
    expect(Object.keys(report.splits.train.classes ?? {})).toEqual(['a', 'b', 'c'])
    // Shuffled rows: the same groups in each split.
    const b = await split({input: csv(dir, 'b.csv', shuffled(lines)), outDir: join(dir, 'b'), group: 'user', seed: 5})
    expect(await ids(b.outputs.val)).toEqual(await ids(outputs.val))
  })

  it('chronological: earliest rows first, ties at a cut going to the earlier split', async () => {
    const dir = tempDir()
    // Ten rows; times 8 twice: the 0.8 cut falls on the first 8, and the second 8 goes with it.
    const times = [5, 1, 8, 3, 9, 2, 8, 4, 7, 6]
    const lines = times.map((t, i) => `${i},${t}`)
    const {report, outputs} = await split({input: csv(dir, 't.csv', lines, 'id,t'), outDir: join(dir, 'out'), time: 't', ratios: '0.8,0.2'})
    expect(report.method).toBe('chronological')
    const timesOf = async (f: string) => (await query(`SELECT t FROM read_parquet(${literal(f)})`)).map((r) => Number(r[0]))
    // Rows keep their input order within each file.
    expect(await timesOf(outputs.train)).toEqual([5, 1, 8, 3, 2, 8, 4, 7, 6])
    expect(await timesOf(outputs.test)).toEqual([9])
    // Dates as text are parsed.
    const dated = rows(100).map((l) => l.split(',').slice(0, 4).join(','))
    const d = await split({input: csv(dir, 'd.csv', dated, 'id,label,user,day'), outDir: join(dir, 'd'), time: 'day', ratios: '0.5,0.5'})
    const [[maxTrain]] = await query(`SELECT max(day) FROM read_parquet(${literal(d.outputs.train)})`)
    const [[minTest]] = await query(`SELECT min(day) FROM read_parquet(${literal(d.outputs.test)})`)
    expect(String(maxTrain) < String(minTest)).toBe(true)
    expect(d.report.splits.train.rows).toBe(50)
  })
})

describe('dv split: leakage', () => {
  it('finds rows and groups in more than one split, with counts and examples', async () => {
    const dir = tempDir()
    const part = (name: string, body: string) => {
      const src = join(dir, `${name}.csv`)
      writeFileSync(src, `id,user,v\n${body}`)
      return src
    }
    const engine = await testEngine()
    const parts: Array<{name: string; file: string}> = []
    for (const [name, body] of [
      ['train', '1,u1,a\n2,u2,b\n3,u3,c\n3,u3,c\n'],
      ['val', '4,u4,d\n2,u2,b\n5,u1,e\n'],
      ['test', '6,u6,f\n3,u3,c\n2,u2,b\n'],
    ]) {
      const file = join(dir, `${name}.parquet`)
      await engine.run(`COPY (SELECT * FROM read_csv(${literal(part(name, body))})) TO ${literal(file)} (FORMAT parquet)`)
      parts.push({name, file})
    }
    const leak = await findLeakage(engine, parts, 'user')
    expect(leak.duplicateRows).toBe(2)
    expect([...leak.duplicateExamples].sort()).toEqual(['{"id":2,"user":"u2","v":"b"} in train, val, test', '{"id":3,"user":"u3","v":"c"} in train, test'])
    expect(leak.sharedGroups).toBe(3)
    expect(leak.groupExamples).toEqual(["'u1' in train, val", "'u2' in train, val, test", "'u3' in train, test"])
    expect(leakageMessage({...leak, duplicateExamples: leak.duplicateExamples.slice(0, 1), groupExamples: leak.groupExamples.slice(0, 1)}, 'user')).toBe(
      `2 identical rows are in more than one split (e.g. ${leak.duplicateExamples[0]}); and 3 groups of 'user' are in more than one split (e.g. 'u1' in train, val)`,
    )
    const none = await findLeakage(engine, [parts[0]], 'user')
    expect(none).toEqual({duplicateRows: 0, duplicateExamples: [], sharedGroups: 0, groupExamples: []})
  })

  it('splits it writes have none: identical rows always land together', async () => {
    const dir = tempDir()
    // Every row three times.
    const lines = rows(300).flatMap((l) => [l, l, l])
    for (const options of [{}, {stratify: 'label'}, {key: ['label']}, {time: 'day'}]) {
      const {report} = await split({input: csv(dir, 'd.csv', lines), outDir: join(dir, 'out'), ...options})
      expect(report.leakage.duplicate_rows).toBe(0)
    }
  })
})

describe('dv split: bad input leaves nothing behind', () => {
  const fails = async (dir: string, options: Parameters<typeof split>[0], error: unknown, message: RegExp | string) => {
    const attempt = split(options)
    await expect(attempt).rejects.toThrow(error as typeof DvError)
    await expect(attempt).rejects.toThrow(message)
    // The output directory did not exist: it is not left behind.
    expect(listing(dir).filter((f) => f.startsWith('out') || f.startsWith('.'))).toEqual([])
  }

  it('a missing column names the file and the column', async () => {
    const dir = tempDir()
    const input = csv(dir, 'data.csv', rows(10))
    await fails(dir, {input, outDir: join(dir, 'out', 'split'), stratify: 'lable'}, InvalidFileError, `${input}: no column 'lable' (--stratify); its columns: id, label, user, day, x`)
    await fails(dir, {input, outDir: join(dir, 'out'), group: 'Label'}, InvalidFileError, "no column 'Label' (--group) (did you mean 'label'?)")
    await fails(dir, {input, outDir: join(dir, 'out'), key: ['id', 'nope']}, InvalidFileError, "no column 'nope' (--key)")
  })

  it('an empty input, a missing file, a file that is not a table', async () => {
    const dir = tempDir()
    await fails(dir, {input: csv(dir, 'empty.csv', []), outDir: join(dir, 'out')}, InvalidFileError, /empty\.csv: no rows \(the input is empty\)$/)
    writeFileSync(join(dir, 'zero.csv'), '')
    await fails(dir, {input: join(dir, 'zero.csv'), outDir: join(dir, 'out')}, InvalidFileError, /zero\.csv: /)
    await fails(dir, {input: join(dir, 'nope.csv'), outDir: join(dir, 'out')}, DvError, /nope\.csv: no such file or directory/)
    writeFileSync(join(dir, 'notes.txt'), 'x')
    await fails(dir, {input: join(dir, 'notes.txt'), outDir: join(dir, 'out')}, InvalidFileError, /notes\.txt: not a tabular file/)
  })

  it('a time that does not parse, or is missing', async () => {
    const dir = tempDir()
    const bad = csv(dir, 'bad.csv', ['1,2024-01-01', '2,yesterday', '3,2024-01-03'], 'id,ts')
    await fails(dir, {input: bad, outDir: join(dir, 'out'), time: 'ts'}, InvalidFileError, `${bad}: column 'ts' (--time): 1 value is not a date or time, e.g. 'yesterday' (row 2)`)
    const gap = csv(dir, 'gap.csv', ['1,2024-01-01', '2,', '3,2024-01-03'], 'id,ts')
    await fails(dir, {input: gap, outDir: join(dir, 'out'), time: 'ts'}, InvalidFileError, "column 'ts' (--time): 1 row has no time, e.g. row 2")
    const flag = csv(dir, 'flag.csv', ['1,true', '2,false'], 'id,ok')
    await fails(dir, {input: flag, outDir: join(dir, 'out'), time: 'ok'}, InvalidFileError, "column 'ok' (--time) holds BOOLEAN")
  })

  it('bad options fail before anything is read', async () => {
    const dir = tempDir()
    const input = csv(dir, 'data.csv', rows(10))
    await fails(dir, {input, outDir: join(dir, 'out'), ratios: '0.7,0.2'}, UsageError, '--ratios must sum to 1')
    await fails(dir, {input, outDir: join(dir, 'out'), stratify: 'label', group: 'user'}, UsageError, '--stratify and --group cannot be combined')
    await fails(dir, {input, outDir: join(dir, 'out'), group: 'user', key: ['id']}, UsageError, '--key applies to random and stratified splits')
  })

  it('an existing output directory keeps its other files and gets no temporary ones', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'out'))
    // A temporary file of a killed run (its process is gone), and one of a live process.
    const stale = '.train.parquet.999999999-0123456789ab.dv-tmp'
    const live = `.train.parquet.${process.pid}-0123456789ab.dv-tmp`
    writeFiles(join(dir, 'out'), {'keep.txt': 'mine', [stale]: 'x', [live]: 'y'})
    const input = csv(dir, 'data.csv', rows(10))
    await expect(split({input, outDir: join(dir, 'out'), stratify: 'nope'})).rejects.toThrow(InvalidFileError)
    expect(listing(join(dir, 'out'))).toEqual([live, 'keep.txt'])
    await split({input, outDir: join(dir, 'out'), ratios: '0.5,0.5'})
    expect(listing(join(dir, 'out'))).toEqual([live, 'keep.txt', 'test.parquet', 'train.parquet'])
  })
})
