/**
 * dv data stats and dv data diff over three commits of a tracked directory (`dv add data`: a
 * CSV, a JSON lines file and a text file), read at each revision from the cache through that
 * revision's pointer. HEAD~2 → HEAD~1 changes the schema; HEAD~1 → HEAD changes rows.
 */
import {mkdtempSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {dv, git, writeFiles, type Result} from '../helpers.js'

const V1 = 'id,name,score,tag\n1,alice,1,x\n2,bob,2,y\n3,carol,3,z\n'
// Schema change: tag dropped, weight added, score retyped BIGINT -> DOUBLE (only row 2's value changes).
const V2 = 'id,name,score,weight\n1,alice,1.0,0.5\n2,bob,2.5,1\n3,carol,3.0,1.5\n'
// Rows: 3 removed; 4 and 5 added; 2 modified (name, and weight to null); 1 unchanged.
const V3 = 'id,name,score,weight\n1,alice,1.0,0.5\n2,bobby,2.5,\n4,dave,4.5,2\n5,erin,,1\n'
const TAGS = '{"id":1,"label":"cat"}\n{"id":2,"label":"dog"}\n'
// A repeated id: not usable as a key.
const TAGS3 = TAGS + '{"id":2,"label":"bird"}\n{"id":3,"label":"cat"}\n'

/**
 * Initial commit (no data), then v1, v2, v3: HEAD~3 has no data/ at all. Built once for the
 * file (makeRepo's directory would go after the first test): every command here only reads.
 */
function history(): string {
  const repo = realpathSync(mkdtempSync(join(tmpdir(), 'dv-test-data-')))
  git(repo, 'init', '-q', '-b', 'main')
  writeFileSync(join(repo, 'README'), 'test repo\n')
  git(repo, 'add', 'README')
  git(repo, 'commit', '-q', '-m', 'initial')
  dv(repo, 'init').ok()
  const version = (rows: string, tags: string, message: string) => {
    writeFiles(repo, {'data/rows.csv': rows, 'data/tags.jsonl': tags, 'data/notes.txt': 'not a table\n'})
    dv(repo, 'add', 'data').ok()
    git(repo, 'add', '-A')
    git(repo, 'commit', '-q', '-m', message)
  }
  version(V1, TAGS, 'v1')
  version(V2, TAGS, 'v2')
  version(V3, TAGS3, 'v3')
  return repo
}

/** Floating-point numbers to 10 digits, so JSON compares exactly up to the last bits of DuckDB's arithmetic. */
function rounded(v: unknown): unknown {
  if (typeof v === 'number') return Number(v.toFixed(10))
  if (Array.isArray(v)) return v.map(rounded)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rounded(x)]))
  return v
}

function expectError(r: Result, message: string): void {
  expect(r.code).toBe(1)
  expect(r.stdout).toBe('')
  expect(r.stderr).toBe(`ERROR: ${message}\n`)
}

/** A numeric change as dv metrics diff gives it. */
const ch = (old: number, now: number) => ({old, new: now, diff: now - old, ...(old === 0 ? {} : {relative: (now - old) / Math.abs(old)})})

describe('dv data', () => {
  let repo = ''
  beforeAll(() => {
    repo = history()
  })
  afterAll(() => rmSync(repo, {recursive: true, force: true}))

  it('stats: one revision, the workspace, and the change between two revisions in text, Markdown and JSON', () => {
    expect(dv(repo, 'data', 'stats', 'data').ok().stdout).toBe(
      'data/rows.csv: 4 rows, 4 columns\n' +
        'Column  Type     Nulls  Distinct  Min    Max   Mean     Std      Median  Top\n' +
        'id      BIGINT   0      4         1      5     3        1.82574  3       -\n' +
        'name    VARCHAR  0      4         alice  erin  -        -        -       alice (1)\n' +
        'score   DOUBLE   1      3         1      4.5   2.66667  1.75594  2.5     -\n' +
        'weight  DOUBLE   1      3         0.5    2     1.16667  0.76376  1       -\n' +
        '\n' +
        'data/tags.jsonl: 4 rows, 2 columns\n' +
        'Column  Type     Nulls  Distinct  Min   Max  Mean  Std     Median  Top\n' +
        'id      BIGINT   0      3         1     3    2     0.8165  2       -\n' +
        'label   VARCHAR  0      3         bird  dog  -     -       -       cat (2)\n',
    )
    expect(dv(repo, 'data', 'stats', 'data/tags.jsonl', '-r', 'HEAD~2', '--md', '--precision', '2').ok().stdout).toBe(
      '**data/tags.jsonl (at HEAD~2): 2 rows, 2 columns**\n\n' +
        '| Column | Type | Nulls | Distinct | Min | Max | Mean | Std | Median | Top |\n' +
        '|---|---|---|---|---|---|---|---|---|---|\n' +
        '| id | BIGINT | 0 | 2 | 1 | 2 | 1.5 | 0.71 | 1.5 | - |\n' +
        '| label | VARCHAR | 0 | 2 | cat | dog | - | - | - | cat (1) |\n',
    )
    expect(dv(repo, 'data', 'stats', 'data', '-r', 'HEAD~1', '-r', 'HEAD').ok().stdout).toBe(
      'data/rows.csv: 3 -> 4 rows (+1)\n' +
        'Column  Stat      HEAD~1   HEAD     Change\n' +
        'id      distinct  3        4        +1 (+33.3%)\n' +
        'id      max       3        5        +2 (+66.7%)\n' +
        'id      mean      2        3        +1 (+50.0%)\n' +
        'id      std       1        1.82574  +0.82574 (+82.6%)\n' +
        'id      q25       1.5      1.75     +0.25 (+16.7%)\n' +
        'id      q50       2        3        +1 (+50.0%)\n' +
        'id      q75       2.5      4.25     +1.75 (+70.0%)\n' +
        'name    distinct  3        4        +1 (+33.3%)\n' +
        'name    max       carol    erin     -\n' +
        'score   nulls     0        1        +1\n' +
        'score   max       3        4.5      +1.5 (+50.0%)\n' +
        'score   mean      2.16667  2.66667  +0.5 (+23.1%)\n' +
        'score   std       1.04083  1.75594  +0.71511 (+68.7%)\n' +
        'score   q75       2.75     3.5      +0.75 (+27.3%)\n' +
        'weight  nulls     0        1        +1\n' +
        'weight  max       1.5      2        +0.5 (+33.3%)\n' +
        'weight  mean      1        1.16667  +0.16667 (+16.7%)\n' +
        'weight  std       0.5      0.76376  +0.26376 (+52.8%)\n' +
        'weight  q75       1.25     1.5      +0.25 (+20.0%)\n' +
        '\n' +
        'data/tags.jsonl: 2 -> 4 rows (+2)\n' +
        'Column  Stat       HEAD~1   HEAD    Change\n' +
        'id      distinct   2        3       +1 (+50.0%)\n' +
        'id      max        2        3       +1 (+50.0%)\n' +
        'id      mean       1.5      2       +0.5 (+33.3%)\n' +
        'id      std        0.70711  0.8165  +0.10939 (+15.5%)\n' +
        'id      q25        1.25     1.75    +0.5 (+40.0%)\n' +
        'id      q50        1.5      2       +0.5 (+33.3%)\n' +
        'id      q75        1.75     2.25    +0.5 (+28.6%)\n' +
        'label   distinct   2        3       +1 (+50.0%)\n' +
        'label   min        cat      bird    -\n' +
        'label   top_count  1        2       +1 (+100.0%)\n',
    )
    const json = dv(repo, 'data', 'stats', 'data', '-r', 'HEAD~1', '-r', 'HEAD', '--json').ok().json()
    const none = {added: [], dropped: [], retyped: []}
    expect(rounded(json)).toEqual(
      rounded({
        a: 'HEAD~1',
        b: 'HEAD',
        files: {
          'data/rows.csv': {
            status: 'modified',
            rows: ch(3, 4),
            schema: none,
            columns: [
              {column: 'id', distinct: ch(3, 4), max: ch(3, 5), mean: ch(2, 3), std: ch(1, Math.sqrt(10 / 3)), q25: ch(1.5, 1.75), q50: ch(2, 3), q75: ch(2.5, 4.25)},
              {column: 'name', distinct: ch(3, 4), max: {old: 'carol', new: 'erin'}},
              {column: 'score', nulls: ch(0, 1), max: ch(3, 4.5), mean: ch(6.5 / 3, 8 / 3), std: ch(Math.sqrt(13 / 12), Math.sqrt(37 / 12)), q75: ch(2.75, 3.5)},
              {column: 'weight', nulls: ch(0, 1), max: ch(1.5, 2), mean: ch(1, 3.5 / 3), std: ch(0.5, Math.sqrt(7 / 12)), q75: ch(1.25, 1.5)},
            ],
          },
          'data/tags.jsonl': {
            status: 'modified',
            rows: ch(2, 4),
            schema: none,
            columns: [
              {column: 'id', distinct: ch(2, 3), max: ch(2, 3), mean: ch(1.5, 2), std: ch(Math.SQRT1_2, Math.sqrt(2 / 3)), q25: ch(1.25, 1.75), q50: ch(1.5, 2), q75: ch(1.75, 2.25)},
              {column: 'label', distinct: ch(2, 3), min: {old: 'cat', new: 'bird'}, top_count: ch(1, 2)},
            ],
          },
        },
      }),
    )
    // One revision in JSON: every statistic of every column.
    expect(rounded(dv(repo, 'data', 'stats', 'data/tags.jsonl', '-r', 'HEAD~1', '--json').ok().json())).toEqual(
      rounded({
        revision: 'HEAD~1',
        files: {
          'data/tags.jsonl': {
            rows: 2,
            columns: [
              {column: 'id', type: 'BIGINT', nulls: 0, distinct: 2, min: 1, max: 2, mean: 1.5, std: Math.SQRT1_2, q25: 1.25, q50: 1.5, q75: 1.75},
              {column: 'label', type: 'VARCHAR', nulls: 0, distinct: 2, min: 'cat', max: 'dog', top: 'cat', top_count: 1},
            ],
          },
        },
      }),
    )
  })

  it('stats: calls out added, dropped and retyped columns, and files without changes', () => {
    expect(dv(repo, 'data', 'stats', 'data', '-r', 'HEAD~2', '-r', 'HEAD~1').ok().stdout).toBe(
      'data/rows.csv: 3 rows\n' +
        '  added column: weight (DOUBLE)\n' +
        '  dropped column: tag (VARCHAR)\n' +
        '  retyped column: score (BIGINT -> DOUBLE)\n' +
        'Column  Stat      HEAD~2  HEAD~1   Change\n' +
        'score   type      BIGINT  DOUBLE   -\n' +
        'score   mean      2       2.16667  +0.16667 (+8.3%)\n' +
        'score   std       1       1.04083  +0.04083 (+4.1%)\n' +
        'score   q25       1.5     1.75     +0.25 (+16.7%)\n' +
        'score   q50       2       2.5      +0.5 (+25.0%)\n' +
        'score   q75       2.5     2.75     +0.25 (+10.0%)\n' +
        'weight  type      -       DOUBLE   new\n' +
        'weight  nulls     -       0        new\n' +
        'weight  distinct  -       3        new\n' +
        'weight  min       -       0.5      new\n' +
        'weight  max       -       1.5      new\n' +
        'weight  mean      -       1        new\n' +
        'weight  std       -       0.5      new\n' +
        'weight  q25       -       0.75     new\n' +
        'weight  q50       -       1        new\n' +
        'weight  q75       -       1.25     new\n' +
        '\n' +
        'data/tags.jsonl: 2 rows, no change\n',
    )
    const json = dv(repo, 'data', 'stats', 'data/rows.csv', '-r', 'HEAD~2', '-r', 'HEAD~1', '--json').ok().json<{files: Record<string, {status: string; schema: unknown}>}>()
    expect(json.files['data/rows.csv'].status).toBe('modified')
    expect(json.files['data/rows.csv'].schema).toEqual({added: [{column: 'weight', type: 'DOUBLE'}], dropped: [{column: 'tag', type: 'VARCHAR'}], retyped: [{column: 'score', old: 'BIGINT', new: 'DOUBLE'}]})
    // Before the first version, data/ did not exist: every file is new.
    expect(dv(repo, 'data', 'stats', 'data/tags.jsonl', '-r', 'HEAD~3', '-r', 'HEAD~2').ok().stdout).toBe(
      'data/tags.jsonl: new in HEAD~2, 2 rows\n' +
        'Column  Stat       HEAD~3  HEAD~2   Change\n' +
        'id      type       -       BIGINT   new\n' +
        'id      nulls      -       0        new\n' +
        'id      distinct   -       2        new\n' +
        'id      min        -       1        new\n' +
        'id      max        -       2        new\n' +
        'id      mean       -       1.5      new\n' +
        'id      std        -       0.70711  new\n' +
        'id      q25        -       1.25     new\n' +
        'id      q50        -       1.5      new\n' +
        'id      q75        -       1.75     new\n' +
        'label   type       -       VARCHAR  new\n' +
        'label   nulls      -       0        new\n' +
        'label   distinct   -       2        new\n' +
        'label   min        -       cat      new\n' +
        'label   max        -       dog      new\n' +
        'label   top        -       cat      new\n' +
        'label   top_count  -       1        new\n',
    )
  })

  it('diff by key: schema, then added, removed and modified rows with the changed columns, in text, Markdown and JSON', () => {
    expect(dv(repo, 'data', 'diff', 'data/rows.csv', 'HEAD~1', 'HEAD', '--key', 'id').ok().stdout).toBe(
      'data/rows.csv: HEAD~1 -> HEAD, rows matched by key id\n' +
        '  rows: 3 -> 4: 2 added, 1 removed, 1 modified, 1 unchanged\n' +
        '\n' +
        'Added (2 rows):\n' +
        'id  name  score  weight\n' +
        '4   dave  4.5    2\n' +
        '5   erin  null   1\n' +
        '\n' +
        'Removed (1 row):\n' +
        'id  name   score  weight\n' +
        '3   carol  3      1.5\n' +
        '\n' +
        'Modified (1 row; changed columns: name (1), weight (1)):\n' +
        'id  Column  HEAD~1  HEAD\n' +
        '2   name    bob     bobby\n' +
        '2   weight  1       null\n',
    )
    expect(dv(repo, 'data', 'diff', 'data/rows.csv', 'HEAD~1', 'HEAD', '--key', 'id', '--json').ok().json()).toEqual({
      path: 'data/rows.csv',
      a: 'HEAD~1',
      b: 'HEAD',
      key: ['id'],
      schema: {added: [], dropped: [], retyped: []},
      compared: ['id', 'name', 'score', 'weight'],
      rows: {old: 3, new: 4},
      added: {
        count: 2,
        rows: [
          {id: 4, name: 'dave', score: 4.5, weight: 2},
          {id: 5, name: 'erin', score: null, weight: 1},
        ],
      },
      removed: {count: 1, rows: [{id: 3, name: 'carol', score: 3, weight: 1.5}]},
      modified: {count: 1, columns: {name: 1, weight: 1}, rows: [{key: {id: 2}, changes: {name: {old: 'bob', new: 'bobby'}, weight: {old: 1, new: null}}}]},
      unchanged: 1,
    })
    expect(dv(repo, 'data', 'diff', 'data/rows.csv', 'HEAD~1', 'HEAD', '-k', 'id', '--md', '--limit', '1').ok().stdout).toBe(
      '**data/rows.csv: HEAD~1 -> HEAD, rows matched by key id**\n' +
        '\n' +
        '- rows: 3 -> 4: 2 added, 1 removed, 1 modified, 1 unchanged\n' +
        '\n' +
        '**Added (2 rows, first 1 shown):**\n' +
        '\n' +
        '| id | name | score | weight |\n' +
        '|---|---|---|---|\n' +
        '| 4 | dave | 4.5 | 2 |\n' +
        '\n' +
        '**Removed (1 row):**\n' +
        '\n' +
        '| id | name | score | weight |\n' +
        '|---|---|---|---|\n' +
        '| 3 | carol | 3 | 1.5 |\n' +
        '\n' +
        '**Modified (1 row; changed columns: name (1), weight (1)):**\n' +
        '\n' +
        '| id | Column | HEAD~1 | HEAD |\n' +
        '|---|---|---|---|\n' +
        '| 2 | name | bob | bobby |\n' +
        '| 2 | weight | 1 | null |\n',
    )
    // Default: HEAD against the workspace, which has not changed.
    expect(dv(repo, 'data', 'diff', 'data/rows.csv', '--key', 'id').ok().stdout).toBe('data/rows.csv: HEAD -> workspace, rows matched by key id\n  rows: 4 -> 4: 0 added, 0 removed, 0 modified, 4 unchanged\n')
  })

  it('diff: a schema change is called out first, and rows are compared on the shared columns', () => {
    expect(dv(repo, 'data', 'diff', 'data/rows.csv', 'HEAD~2', 'HEAD~1', '--key', 'id').ok().stdout).toBe(
      'data/rows.csv: HEAD~2 -> HEAD~1, rows matched by key id\n' +
        '  added column: weight (DOUBLE)\n' +
        '  dropped column: tag (VARCHAR)\n' +
        '  retyped column: score (BIGINT -> DOUBLE)\n' +
        '  compared on the shared columns: id, name, score\n' +
        '  rows: 3 -> 3: 0 added, 0 removed, 1 modified, 2 unchanged\n' +
        '\n' +
        'Modified (1 row; changed columns: score (1)):\n' +
        'id  Column  HEAD~2  HEAD~1\n' +
        '2   score   2       2.5\n',
    )
    const json = dv(repo, 'data', 'diff', 'data/rows.csv', 'HEAD~2', 'HEAD~1', '--key', 'id', '--json').ok().json<Record<string, unknown>>()
    expect([json.schema, json.compared]).toEqual([{added: [{column: 'weight', type: 'DOUBLE'}], dropped: [{column: 'tag', type: 'VARCHAR'}], retyped: [{column: 'score', old: 'BIGINT', new: 'DOUBLE'}]}, ['id', 'name', 'score']])
  })

  it('diff without a key: whole rows as a set difference (added and removed only)', () => {
    expect(dv(repo, 'data', 'diff', 'data/rows.csv', 'HEAD~1', 'HEAD').ok().stdout).toBe(
      'data/rows.csv: HEAD~1 -> HEAD, whole rows compared (no key)\n' +
        '  rows: 3 -> 4: 3 added, 2 removed, 1 unchanged\n' +
        '\n' +
        'Added (3 rows):\n' +
        'id  name   score  weight\n' +
        '2   bobby  2.5    null\n' +
        '4   dave   4.5    2\n' +
        '5   erin   null   1\n' +
        '\n' +
        'Removed (2 rows):\n' +
        'id  name   score  weight\n' +
        '2   bob    2.5    1\n' +
        '3   carol  3      1.5\n',
    )
    // The repeated id 2 counts once more on the new side, not as an unchanged row.
    expect(dv(repo, 'data', 'diff', 'data/tags.jsonl', 'HEAD~1', 'HEAD', '--json').ok().json()).toEqual({
      path: 'data/tags.jsonl',
      a: 'HEAD~1',
      b: 'HEAD',
      schema: {added: [], dropped: [], retyped: []},
      compared: ['id', 'label'],
      rows: {old: 2, new: 4},
      added: {count: 2, rows: [{id: 2, label: 'bird'}, {id: 3, label: 'cat'}]},
      removed: {count: 0, rows: []},
      unchanged: 2,
    })
  })

  it('diff: a file missing on one side has every row added (or removed), and says so', () => {
    expect(dv(repo, 'data', 'diff', 'data/rows.csv', 'HEAD~3', 'HEAD~2', '--key', 'id').ok().stdout).toBe(
      'data/rows.csv: HEAD~3 -> HEAD~2, rows matched by key id\n' +
        '  not in HEAD~3: every row is added\n' +
        '  rows: 0 -> 3: 3 added, 0 removed, 0 modified, 0 unchanged\n' +
        '\n' +
        'Added (3 rows):\n' +
        'id  name   score  tag\n' +
        '1   alice  1      x\n' +
        '2   bob    2      y\n' +
        '3   carol  3      z\n',
    )
    const json = dv(repo, 'data', 'diff', 'data/tags.jsonl', 'HEAD~1', 'HEAD~3', '--json').ok().json<Record<string, unknown>>()
    expect([json.missing, json.rows, json.removed, json.added]).toEqual(['HEAD~3', {old: 2, new: 0}, {count: 2, rows: [{id: 1, label: 'cat'}, {id: 2, label: 'dog'}]}, {count: 0, rows: []}])
  })

  it('errors: one line, exit code 1', () => {
    expectError(dv(repo, 'data', 'diff', 'data/notes.txt', 'HEAD~1', 'HEAD'), 'data/notes.txt: not a tabular file (dv data reads .csv, .tsv, .jsonl, .ndjson, .parquet files)')
    expectError(dv(repo, 'data', 'stats', 'data/notes.txt'), 'data/notes.txt: not a tabular file (dv data reads .csv, .tsv, .jsonl, .ndjson, .parquet files)')
    expectError(dv(repo, 'data', 'diff', 'data/rows.csv', 'HEAD~1', 'HEAD', '--key', 'nope'), 'data/rows.csv (at HEAD~1): no column "nope" for the key (columns: id, name, score, weight)')
    // A key only the old version has.
    expectError(dv(repo, 'data', 'diff', 'data/rows.csv', 'HEAD~2', 'HEAD~1', '--key', 'id,tag'), 'data/rows.csv (at HEAD~1): no column "tag" for the key (columns: id, name, score, weight)')
    expectError(dv(repo, 'data', 'diff', 'data/tags.jsonl', 'HEAD~1', 'HEAD', '--key', 'id'), 'data/tags.jsonl (at HEAD): key id is not unique: 2 rows have id=2')
    expectError(dv(repo, 'data', 'stats', 'data', '-r', 'HEAD~3'), 'data (at HEAD~3): no such file or directory')
    expectError(dv(repo, 'data', 'diff', 'data/rows.csv', 'HEAD~3', 'HEAD~3'), 'data/rows.csv (at HEAD~3 and at HEAD~3): no such file or directory')
    expectError(dv(repo, 'data', 'diff', 'data', 'HEAD~1', 'HEAD'), 'data (at HEAD~1): a directory, not a file; dv data diff compares one tabular file (dv data stats takes directories)')
    expectError(dv(repo, 'data', 'stats', 'data', '-r', 'nope'), 'unknown revision "nope"')
  })
})
