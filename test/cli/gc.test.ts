import {readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {dv, git, makeRepo, writeFiles} from '../helpers.js'

const countObjects = (repo: string) =>
  readdirSync(join(repo, '.dv/cache/objects')).reduce((n, fan) => n + readdirSync(join(repo, '.dv/cache/objects', fan)).length, 0)

/**
 * main: v1 (tagged v1) then v2; branch exp from v1 with v3; the workspace is main (v2).
 * Each version of data/ is a tree, a blob of its own (a) and a shared blob (b):
 * v1 = {T1, a1, b}, v2 = {T2, a2, b}, v3 = {T3, a3, b}: 7 objects in all.
 */
function branches() {
  const repo = makeRepo()
  writeFiles(repo, {'data/a': 'a1', 'data/b': 'b'})
  dv(repo, 'add', 'data').ok()
  dv(repo, 'commit', '-m', 'v1').ok()
  git(repo, 'tag', 'v1')
  git(repo, 'checkout', '-q', '-b', 'exp')
  writeFileSync(join(repo, 'data/a'), 'a3')
  dv(repo, 'commit', '-m', 'v3').ok()
  git(repo, 'checkout', '-q', 'main')
  dv(repo, 'checkout', '--force').ok()
  writeFileSync(join(repo, 'data/a'), 'a2')
  dv(repo, 'commit', '-m', 'v2').ok()
  expect(countObjects(repo)).toBe(7)
  return repo
}

describe('dv gc', () => {
  it('--dry lists what would go and the bytes freed, and removes nothing', () => {
    const repo = branches()
    const r = dv(repo, 'gc', '--dry', '--json').ok().json<{removed: Array<{oid: string}>; kept: number; bytes: number}>()
    expect(r.removed).toHaveLength(4) // T1, a1, T3, a3
    expect(r.kept).toBe(3)
    expect(r.bytes).toBeGreaterThan(4)
    expect(countObjects(repo)).toBe(7)
  })

  it('keeps exactly what each keep-flag names', () => {
    const cases: Array<[string[], number]> = [
      [['--rev', 'exp'], 5], // workspace (v2) + exp (v3)
      [['--all-tags'], 5], // + v1
      [['--all-branches'], 5], // main (v2) + exp (v3)
      [['--all-branches', '--all-tags'], 7],
      [['--all-commits'], 7],
      [[], 3],
    ]
    for (const [flags, left] of cases) {
      const repo = branches()
      dv(repo, 'gc', '-f', ...flags).ok()
      expect(countObjects(repo), flags.join(' ')).toBe(left)
      expect(dv(repo, 'status', '--json').ok().json(), flags.join(' ')).toEqual({})
    }
  })

  it('always keeps data whose pointer is not committed yet, and checkout still works after gc', () => {
    const repo = branches()
    writeFiles(repo, {'model.bin': 'weights'})
    dv(repo, 'add', 'model.bin').ok() // pointer written, not committed
    dv(repo, 'gc', '-f').ok()
    expect(countObjects(repo)).toBe(4)
    rmSync(join(repo, 'data'), {recursive: true})
    rmSync(join(repo, 'model.bin'))
    dv(repo, 'checkout').ok()
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
  })

  it('refuses without -f when it cannot ask, and removes nothing', () => {
    const repo = branches()
    const r = dv(repo, 'gc')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(/^ERROR: gc would remove 4 objects \(\d+ B\); not on a terminal to ask, so nothing was removed \(use -f\)$/)
    expect(countObjects(repo)).toBe(7)
  })
})

describe('dv gc and dv.lock', () => {
  it('keeps what dv.lock names, and names the line of a malformed dv.lock', () => {
    const repo = branches()
    const oid = /blake3: ([0-9a-f]{64})/.exec(git(repo, 'show', 'v1:data.dv'))![1]
    writeFiles(repo, {'dv.lock': `schema: '2.0'\nstages:\n  prepare:\n    outs:\n    - path: data\n      hash: blake3\n      blake3: ${oid}\n      nfiles: 2\n`})
    dv(repo, 'gc', '-f').ok()
    expect(countObjects(repo)).toBe(5) // workspace (v2) + the v1 tree and its own blob
    writeFiles(repo, {'dv.lock': 'stages: [unclosed\n'})
    const r = dv(repo, 'gc', '-f')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(/^ERROR: dv\.lock:\d+: invalid YAML: /)
    expect(countObjects(repo)).toBe(5)
  })
})
