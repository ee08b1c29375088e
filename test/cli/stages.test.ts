/**
 * dv clean and dv split run as a pipeline stage runs them: the real binary in a plain directory
 * (no dv repository needed), clean then split on a CSV, reports checked exactly; and bad input
 * failing with exit code 1, one ERROR line, and nothing written.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {dv, tempDir, writeFiles} from '../helpers.js'

/** 200 clean rows (150 of class a, 50 of b), then a row with a bad age, one with none, and a copy of row 5. */
function rawCsv(): string {
  const lines = ['id,label,age,income']
  for (let i = 0; i < 200; i++) lines.push(`${i},${i % 4 === 0 ? 'b' : 'a'},${20 + (i % 50)},${1000 + i * 10}`)
  lines.push('200,a,abc,100', '201,b,,500', '5,a,25,1050')
  return lines.join('\n') + '\n'
}

const SCHEMA = 'columns:\n  age: {type: integer, required: true, min: 0, max: 120}\n  label: {allowed: [a, b]}\nduplicates: drop\n'

describe('dv clean and dv split (CLI)', () => {
  it('clean then split a CSV, with reports as metrics files', () => {
    const dir = tempDir()
    writeFiles(dir, {'data/raw.csv': rawCsv(), 'schema.yaml': SCHEMA})

    const c = dv(dir, 'clean', 'data/raw.csv', '-o', 'data/clean.parquet', '--schema', 'schema.yaml', '--report', 'reports/clean.json').ok()
    expect(c.stdout).toBe('203 rows in, 200 out: data/clean.parquet\nremoved: type 1, required 1, range 0, allowed 0, duplicates 1\n')
    expect(JSON.parse(readFileSync(join(dir, 'reports', 'clean.json'), 'utf8'))).toEqual({
      rows_in: 203,
      rows_out: 200,
      removed: {type: 1, required: 1, range: 0, allowed: 0, duplicates: 1},
      fixed: {},
      columns: {label: {allowed: 0}, age: {type: 1, required: 1, range: 0}},
    })

    const s = dv(dir, 'split', 'data/clean.parquet', '--out-dir', 'data/split', '--ratios', '0.8,0.1,0.1', '--stratify', 'label', '--seed', '7', '--report', 'reports/split.json').ok()
    expect(s.stdout).toBe(
      'train  160 rows   80.0%  data/split/train.parquet\n' + 'val     20 rows   10.0%  data/split/val.parquet\n' + 'test    20 rows   10.0%  data/split/test.parquet\n',
    )
    const report = readFileSync(join(dir, 'reports', 'split.json'), 'utf8')
    expect(JSON.parse(report)).toEqual({
      method: 'stratified',
      seed: 7,
      rows: 200,
      splits: {
        train: {rows: 160, ratio: 0.8, classes: {a: {rows: 120, share: 0.75}, b: {rows: 40, share: 0.25}}},
        val: {rows: 20, ratio: 0.1, classes: {a: {rows: 15, share: 0.75}, b: {rows: 5, share: 0.25}}},
        test: {rows: 20, ratio: 0.1, classes: {a: {rows: 15, share: 0.75}, b: {rows: 5, share: 0.25}}},
      },
      leakage: {duplicate_rows: 0},
    })
    expect(readdirSync(join(dir, 'data', 'split')).sort()).toEqual(['test.parquet', 'train.parquet', 'val.parquet'])

    // Run again: the same bytes, the same report.
    const first = ['train', 'val', 'test'].map((n) => readFileSync(join(dir, 'data', 'split', `${n}.parquet`)))
    const again = dv(dir, 'split', 'data/clean.parquet', '--out-dir', 'data/split', '--stratify', 'label', '--seed', '7', '--report', 'reports/split.json', '--json').ok()
    expect(JSON.parse(again.stdout)).toEqual(JSON.parse(report))
    expect(readFileSync(join(dir, 'reports', 'split.json'), 'utf8')).toBe(report)
    ;['train', 'val', 'test'].forEach((n, i) => expect(readFileSync(join(dir, 'data', 'split', `${n}.parquet`)).equals(first[i]), n).toBe(true))
  })

  it('a missing column: exit 1, one ERROR line naming the file and the column, nothing written', () => {
    const dir = tempDir()
    writeFiles(dir, {'data/raw.csv': rawCsv()})
    const r = dv(dir, 'split', 'data/raw.csv', '--out-dir', 'data/split', '--stratify', 'class', '--report', 'split.json')
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe("ERROR: data/raw.csv: no column 'class' (--stratify); its columns: id, label, age, income\n")
    expect(readdirSync(join(dir, 'data'))).toEqual(['raw.csv'])
    expect(existsSync(join(dir, 'split.json'))).toBe(false)
  })

  it('a rule in --fail-on that finds something, and an empty input: exit 1, one ERROR line, nothing written', () => {
    const dir = tempDir()
    writeFiles(dir, {'raw.csv': rawCsv(), 'schema.yaml': SCHEMA, 'empty.csv': 'id,label\n'})
    const r = dv(dir, 'clean', 'raw.csv', '-o', 'out/clean.parquet', '--schema', 'schema.yaml', '--fail-on', 'type', '--report', 'clean.json')
    expect(r.code).toBe(1)
    expect(r.stderr).toBe("ERROR: raw.csv: rule 'type' failed on column 'age': 1 value that is not an integer, e.g. 'abc' (row 201)\n")
    const e = dv(dir, 'clean', 'empty.csv', '-o', 'out/clean.parquet', '--drop-duplicates')
    expect(e.code).toBe(1)
    expect(e.stderr).toBe('ERROR: empty.csv: no rows (the input is empty)\n')
    expect(readdirSync(dir).sort()).toEqual(['empty.csv', 'raw.csv', 'schema.yaml'])
  })
})
