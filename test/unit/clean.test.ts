/**
 * dv clean on real files in temporary directories: every rule's counts exactly (each row counted
 * once, under the first rule that removed it), the output's rows, types and order, --fail-on,
 * schema files with errors (one line, with the line number), and bad input leaving nothing behind.
 */
import {existsSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {literal} from '../../src/data/engine.js'
import {DvError, InvalidFileError, UsageError} from '../../src/errors.js'
import {clean, RuleFailedError, type CleanOptions, type CleanReport} from '../../src/builtins/clean.js'
import {cleanRules, parseOutlierFlag, parseSchema} from '../../src/builtins/clean-rules.js'
import {query, testEngine} from '../duckdb.js'
import {tempDir, writeFiles} from '../helpers.js'

// One row per rule, and a few that break several (counted once, under the first rule).
const RAW = `id,age,country,email,income
1,34,FR,a@x.org,10
2,abc,DE,b@x.org,20
3,150,FR,c@x.org,30
4,40,IT,d@x.org,40
5,41,DE,bad-email,50
6,42,FR,f@x.org,60
6,42,FR,f@x.org,60
7,,DE,g@x.org,70
8,43,FR,h@x.org,
9,44,DE,i@x.org,90
10,45,FR,j@x.org,100000
11,x,IT,bad,abc
12,-1,IT,bad,5
`

const SCHEMA = `columns:
  age: {type: integer, required: true, min: 0, max: 120}
  country: {type: string, allowed: [FR, DE]}
  email: {type: string, regex: '^[^@]+@[^@]+$'}
  income: {type: double, nulls: fill, fill: 0, outliers: iqr}
duplicates: drop
`


const rowsOf = async (file: string, columns = '*') => (await query(`SELECT ${columns} FROM ${literal(file)}`)).map((r) => r.map((v) => (typeof v === 'number' ? v : String(v))))

/** Files in `dir`, hidden ones included. */
const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : [])

function setup(files: Record<string, string> = {}): string {
  const dir = tempDir()
  writeFiles(dir, {'raw.csv': RAW, 'schema.yaml': SCHEMA, ...files})
  return dir
}

const run = (dir: string, options: Partial<CleanOptions>) => clean({input: 'raw.csv', out: 'clean.parquet', cwd: dir, ...options})

describe('dv clean: rules', () => {
  it("counts every rule's removed and fixed rows exactly, and writes the rows left, typed, in order", async () => {
    const dir = setup()
    const {report, output} = await run(dir, {schema: 'schema.yaml', report: 'reports/clean.json'})
    const expected: CleanReport = {
      rows_in: 13,
      rows_out: 4,
      // type: ids 2 and 11 (11 breaks type in two columns, and allowed and regex: counted once);
      // required: 7; range: 3 and 12; allowed: 4; regex: 5; duplicates: the second 6;
      // outliers: 10 (bounds 10 - 1.5 * 80 and 90 + 1.5 * 80 over 0, 10, 60, 90, 100000).
      removed: {type: 2, required: 1, range: 2, allowed: 1, regex: 1, duplicates: 1, outliers: 1},
      fixed: {nulls: 1},
      columns: {age: {type: 2, required: 1, range: 2}, country: {allowed: 1}, email: {regex: 1}, income: {type: 1, filled: 1, outliers: 1}},
    }
    expect(report).toEqual(expected)
    expect(JSON.parse(readFileSync(join(dir, 'reports', 'clean.json'), 'utf8'))).toEqual(expected)
    expect(output).toBe('clean.parquet')
    const out = join(dir, 'clean.parquet')
    expect(await rowsOf(out)).toEqual([
      [1, 34, 'FR', 'a@x.org', 10],
      [6, 42, 'FR', 'f@x.org', 60],
      [8, 43, 'FR', 'h@x.org', 0],
      [9, 44, 'DE', 'i@x.org', 90],
    ])
    const types = (await query(`DESCRIBE SELECT * FROM ${literal(out)}`)).map((r) => `${r[0]} ${r[1]}`)
    expect(types).toEqual(['id BIGINT', 'age BIGINT', 'country VARCHAR', 'email VARCHAR', 'income DOUBLE'])
    // Nothing else left beside the output.
    expect(listing(dir)).toEqual(['clean.parquet', 'raw.csv', 'reports', 'schema.yaml'])
  })

  it('the same input and rules give the same bytes; CSV output works too', async () => {
    const dir = setup()
    await run(dir, {schema: 'schema.yaml', out: 'a.parquet'})
    await run(dir, {schema: 'schema.yaml', out: 'b.parquet'})
    expect(readFileSync(join(dir, 'a.parquet')).equals(readFileSync(join(dir, 'b.parquet')))).toBe(true)
    await run(dir, {schema: 'schema.yaml', out: 'out/clean.csv'})
    expect(readFileSync(join(dir, 'out', 'clean.csv'), 'utf8')).toBe('id,age,country,email,income\n1,34,FR,a@x.org,10.0\n6,42,FR,f@x.org,60.0\n8,43,FR,h@x.org,0.0\n9,44,DE,i@x.org,90.0\n')
  })

  it('types: whole numbers for integer, dates, booleans; a value that does not parse is removed', async () => {
    const dir = setup({
      'typed.csv': 'n,d,b\n7,2024-01-31,true\n1.5,2024-02-30,false\n 8 ,2024-02-01,maybe\n99999999999999999999,2024-03-01,t\n-2,,\nx,2024-04-01,f\n',
      'types.yaml': 'columns:\n  n: integer\n  d: {type: date}\n  b: {type: boolean}\n',
    })
    const {report} = await clean({input: 'typed.csv', out: 'typed.parquet', schema: 'types.yaml', cwd: dir})
    // 1.5 (not whole), 2024-02-30, maybe, 99999999999999999999 (too large), x.
    expect(report).toEqual({rows_in: 6, rows_out: 2, removed: {type: 4}, fixed: {}, columns: {n: {type: 3}, d: {type: 1}, b: {type: 1}}})
    expect(await rowsOf(join(dir, 'typed.parquet'), 'n, CAST(d AS VARCHAR), b')).toEqual([
      [7, '2024-01-31', 'true'],
      [-2, 'null', 'null'],
    ])
    const types = (await query(`DESCRIBE SELECT * FROM ${literal(join(dir, 'typed.parquet'))}`)).map((r) => `${r[0]} ${r[1]}`)
    expect(types).toEqual(['n BIGINT', 'd DATE', 'b BOOLEAN'])
  })

  it('nulls: drop, fill and keep per column, a default for the others, and fail', async () => {
    const dir = setup({'n.csv': 'a,b,c\n1,,x\n2,5,\n,6,y\n4,7,z\n', 'n.yaml': 'columns:\n  a: {nulls: keep}\n  b: {nulls: fill, fill: -1}\nnulls: drop\n'})
    const {report} = await clean({input: 'n.csv', out: 'n.csv.parquet', schema: 'n.yaml', cwd: dir})
    // c's nulls dropped (the default); b's filled; a's kept.
    expect(report).toEqual({rows_in: 4, rows_out: 3, removed: {nulls: 1}, fixed: {nulls: 1}, columns: {b: {filled: 1}, c: {nulls: 1}}})
    expect(await rowsOf(join(dir, 'n.csv.parquet'))).toEqual([
      [1, -1, 'x'],
      ['null', 6, 'y'],
      [4, 7, 'z'],
    ])
    // The command line's default replaces the schema's; a column's own policy still wins.
    const fill = await clean({input: 'n.csv', out: 'f.parquet', schema: 'n.yaml', nulls: 'fill', fill: '0', cwd: dir})
    expect(fill.report.fixed).toEqual({nulls: 2})
    expect(await rowsOf(join(dir, 'f.parquet'), 'c')).toEqual([['x'], ['0'], ['y'], ['z']])
    // nulls: fail fails the stage, naming the column, the count and the first row.
    await expect(clean({input: 'n.csv', out: 'x.parquet', nulls: 'fail', cwd: dir})).rejects.toThrow("n.csv: rule 'nulls' failed on column 'a': 1 null (nulls: fail), e.g. row 3")
    expect(existsSync(join(dir, 'x.parquet'))).toBe(false)
    await expect(clean({input: 'n.csv', out: 'x.parquet', nulls: 'fill', cwd: dir})).rejects.toThrow(/--nulls: nulls: fill needs a value/)
  })

  it('duplicates: the first copy stays, the output keeps the input order', async () => {
    const dir = tempDir()
    const engine = await testEngine()
    const raw = join(dir, 'raw.parquet')
    // 3000 rows, each value of k (0..999) three times, spread through the file.
    await engine.run(`COPY (SELECT i % 1000 AS k, (i % 1000) * 2 AS v FROM range(3000) t(i)) TO ${literal(raw)} (FORMAT parquet)`)
    const {report} = await clean({input: 'raw.parquet', out: 'out.parquet', dropDuplicates: true, cwd: dir})
    expect(report).toEqual({rows_in: 3000, rows_out: 1000, removed: {duplicates: 2000}, fixed: {}, columns: {}})
    expect((await rowsOf(join(dir, 'out.parquet'), 'k')).map((r) => r[0])).toEqual(Array.from({length: 1000}, (_, i) => i))
    // Null values compare equal: two rows of nulls are duplicates.
    writeFileSync(join(dir, 'n.csv'), 'a,b\n1,\n1,\n,\n,\n')
    const nulls = await clean({input: 'n.csv', out: 'n.parquet', dropDuplicates: true, cwd: dir})
    expect(nulls.report.removed).toEqual({duplicates: 2})
  })

  it('outliers: IQR and z-score bounds over the rows the other rules kept', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'o.csv'), `id,x,y\n${[10, 20, 30, 40, 50, 60, 70, 80, 90, 1000].map((x, i) => `${i},${x},${i === 9 ? 99 : 1}`).join('\n')}\n`)
    // IQR: quartiles 32.5 and 77.5, bounds -35 and 145: 1000 is out.
    const iqr = await clean({input: 'o.csv', out: 'i.parquet', outliers: ['iqr:x'], cwd: dir})
    expect(iqr.report).toEqual({rows_in: 10, rows_out: 9, removed: {outliers: 1}, fixed: {}, columns: {x: {outliers: 1}}})
    // A tighter factor (bounds 14.5 and 95.5) takes 10 too; z-score 2 on y (mean 10.8, standard
    // deviation 29.4) takes the 99, in the row x = 1000 already took: counted once.
    const two = await clean({input: 'o.csv', out: 't.parquet', outliers: ['iqr:x:0.4,zscore:y:2'], cwd: dir})
    expect(two.report).toEqual({rows_in: 10, rows_out: 8, removed: {outliers: 2}, fixed: {}, columns: {x: {outliers: 2}, y: {outliers: 1}}})
    expect((await rowsOf(join(dir, 't.parquet'), 'id')).map((r) => r[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    // Text is not a number.
    writeFileSync(join(dir, 's.csv'), 'id,name\n1,a\n')
    await expect(clean({input: 's.csv', out: 's.parquet', outliers: ['zscore:name'], cwd: dir})).rejects.toThrow("--outliers: column 'name' holds VARCHAR: outliers are found in numbers only")
  })
})

describe('dv clean: --fail-on', () => {
  const cases: Array<[string, string]> = [
    ['type', "raw.csv: rule 'type' failed on column 'age': 2 values that are not an integer, e.g. 'abc' (row 2)"],
    ['nulls', "raw.csv: rule 'nulls' failed on column 'income': 1 null (nulls: fill), e.g. row 9"],
    ['required', "raw.csv: rule 'required' failed on column 'age': 1 null in a required column, e.g. row 8"],
    ['range', "raw.csv: rule 'range' failed on column 'age': 2 values outside [0, 120], e.g. 150 (row 3)"],
    ['allowed', "raw.csv: rule 'allowed' failed on column 'country': 1 value not in [FR, DE], e.g. 'IT' (row 4)"],
    ['regex', "raw.csv: rule 'regex' failed on column 'email': 1 value that does not match '^[^@]+@[^@]+$', e.g. 'bad-email' (row 5)"],
    ['duplicates', "raw.csv: rule 'duplicates' failed: 1 duplicate row, e.g. row 7 repeats row 6"],
    ['outliers', "raw.csv: rule 'outliers' failed on column 'income': 1 value outside [-110, 210] (iqr), e.g. 100000 (row 11)"],
    ['any', "raw.csv: rule 'type' failed on column 'age'"],
    ['regex,range', "raw.csv: rule 'range' failed"],
  ]
  for (const [failOn, message] of cases) {
    it(`--fail-on ${failOn}: one line naming the rule, column, count and first example; nothing written`, async () => {
      const dir = setup()
      const attempt = run(dir, {schema: 'schema.yaml', failOn: [failOn], report: 'clean.json'})
      await expect(attempt).rejects.toThrow(RuleFailedError)
      await expect(attempt).rejects.toThrow(message)
      expect(listing(dir)).toEqual(['raw.csv', 'schema.yaml'])
    })
  }

  it('a rule that finds nothing does not fail', async () => {
    const dir = setup({'ok.yaml': 'columns:\n  id: {min: -10}\n'})
    const {report} = await run(dir, {schema: 'ok.yaml', failOn: ['range'], input: 'raw.csv'})
    expect(report.removed).toEqual({range: 0})
    await expect(run(dir, {failOn: ['ranges']})).rejects.toThrow(UsageError)
  })
})

describe('dv clean: schema files and bad input', () => {
  const schemaError = async (text: string, message: string) => {
    const dir = setup({'bad.yaml': text})
    const attempt = run(dir, {schema: 'bad.yaml'})
    await expect(attempt).rejects.toThrow(InvalidFileError)
    await expect(attempt).rejects.toThrow(message)
    const error = await attempt.catch((e: Error) => e)
    expect((error as Error).message.split('\n')).toHaveLength(1)
    expect(listing(dir)).toEqual(['bad.yaml', 'raw.csv', 'schema.yaml'])
  }

  it('names the schema file and the line of the bad entry', async () => {
    await schemaError('columns:\n  age: {type: integer\n  x: 1\n', 'bad.yaml:3: invalid YAML')
    await schemaError('columns:\n  age: {type: integr}\n', "bad.yaml:2: column 'age': type must be one of integer, int, double")
    await schemaError('columns:\n  age:\n    type: integer\n    maximum: 3\n', "bad.yaml:4: column 'age': unknown rule 'maximum'")
    await schemaError('colums:\n  age: integer\n', "bad.yaml:1: unknown key 'colums'")
    await schemaError('columns:\n  age: {max: 120}\n', "bad.yaml:2: column 'age': max is a number but the column holds VARCHAR; declare its type")
    await schemaError('columns:\n  age: {type: integer, min: x}\n', "bad.yaml:2: column 'age': min: 'x' is not a valid BIGINT")
    await schemaError("columns:\n  email:\n    regex: '(['\n", "bad.yaml:3: column 'email': regex '([' is not a valid regular expression")
    await schemaError('columns:\n  income: {type: double, nulls: fill}\n', "bad.yaml:2: column 'income': nulls: fill needs a value")
    await schemaError('columns:\n  income: {type: double, nulls: fill, fill: none}\n', "bad.yaml:2: column 'income': fill: 'none' is not a valid DOUBLE")
    await schemaError('columns:\n  age: {allowed: 3}\n', "bad.yaml:2: column 'age': allowed must be a list")
    await schemaError('duplicates: maybe\n', "bad.yaml:1: 'duplicates' must be drop or keep, not 'maybe'")
    await schemaError('- age\n', 'bad.yaml:1: a schema is a mapping')
  })

  it('a column the schema declares but the input lacks names both files', async () => {
    const dir = setup({'s.yaml': 'columns:\n  id: integer\n  salary: {type: double}\n'})
    await expect(run(dir, {schema: 's.yaml'})).rejects.toThrow("raw.csv: no column 'salary' (the schema s.yaml:3 declares it); its columns: id, age, country, email, income")
    await expect(run(dir, {outliers: ['iqr:Income']})).rejects.toThrow("raw.csv: no column 'Income' (--outliers names it) (did you mean 'income'?)")
    expect(listing(dir)).toEqual(['raw.csv', 's.yaml', 'schema.yaml'])
  })

  it('an empty input, a missing input or schema, an output that is not a table', async () => {
    const dir = setup({'empty.csv': 'id,age\n'})
    await expect(run(dir, {input: 'empty.csv'})).rejects.toThrow('empty.csv: no rows (the input is empty)')
    await expect(run(dir, {input: 'nope.csv'})).rejects.toThrow(DvError)
    await expect(run(dir, {schema: 'nope.yaml'})).rejects.toThrow('nope.yaml: no such file or directory')
    await expect(run(dir, {out: 'clean.txt'})).rejects.toThrow(UsageError)
    await expect(run(dir, {input: 'empty.csv', out: 'deep/er/out.parquet'})).rejects.toThrow(InvalidFileError)
    expect(listing(dir)).toEqual(['empty.csv', 'raw.csv', 'schema.yaml'])
  })

  it('parses rules from the command line', () => {
    expect(parseOutlierFlag('iqr:income')).toEqual({column: 'income', outliers: {method: 'iqr', k: 1.5}})
    expect(parseOutlierFlag('zscore:a:b:2.5')).toEqual({column: 'a:b', outliers: {method: 'zscore', k: 2.5}})
    expect(() => parseOutlierFlag('mad:x')).toThrow(UsageError)
    expect(() => parseOutlierFlag('iqr:x:-1')).toThrow(/must be above 0/)
    const rules = cleanRules(parseSchema(SCHEMA, 's.yaml'), {dropDuplicates: true, nulls: 'drop', outliers: ['zscore:age:2']})
    expect(rules.nulls).toBe('drop')
    expect(rules.columns.find((c) => c.name === 'age')?.outliers).toEqual({method: 'zscore', k: 2})
    expect(() => cleanRules(undefined, {nulls: 'zap'})).toThrow(UsageError)
  })
})
