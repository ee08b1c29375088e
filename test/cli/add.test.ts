import {existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {hashBytes} from '../../dist/hash/blake3.js'
import {b3sumOf} from '../b3sum-vectors.js'
import {dv, git, makeRepo, pseudoRandom, tempDir, writeFiles} from '../helpers.js'

// The plain BLAKE3 of a file's bytes; test/unit/hash.test.ts pins this to b3sum's output.
const b3sum = (path: string) => hashBytes(readFileSync(path))
const objectPath = (repo: string, oid: string) => join(repo, '.dv', 'cache', 'objects', oid.slice(0, 2), oid.slice(2))

describe('dv add', () => {
  it('tracks a file: pointer with the b3sum digest, object in the cache, .gitignore line', () => {
    const repo = makeRepo()
    writeFiles(repo, {'data/train.csv': pseudoRandom(100_000, 1)})
    const r = dv(repo, 'add', 'data/train.csv').ok()
    expect(r.stdout).toContain('git add data/train.csv.dv data/.gitignore')
    const digest = b3sumOf(100_000, 1)
    expect(readFileSync(join(repo, 'data/train.csv.dv'), 'utf8')).toBe(`outs:\n- blake3: ${digest}\n  size: 100000\n  hash: blake3\n  path: train.csv\n`)
    expect(readFileSync(join(repo, 'data/.gitignore'), 'utf8')).toBe('/train.csv\n')
    const obj = objectPath(repo, digest)
    expect(readFileSync(obj).equals(readFileSync(join(repo, 'data/train.csv')))).toBe(true)
    expect(statSync(obj).mode & 0o777).toBe(0o444)
    // git sees the pointer, not the data.
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).not.toContain('data/train.csv\n')
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toContain('data/train.csv.dv')
  })

  it('tracks a directory as nested trees, with nfiles and total size', () => {
    const repo = makeRepo()
    writeFiles(repo, {'images/a.png': 'aaaa', 'images/cats/b.png': 'bb', 'images/cats/c.png': 'c', 'images/dogs/d.png': 'dd'})
    dv(repo, 'add', 'images/').ok()
    const pointer = readFileSync(join(repo, 'images.dv'), 'utf8')
    expect(pointer).toMatch(/^outs:\n- blake3: [0-9a-f]{64}\n  size: 9\n  nfiles: 4\n  hash: blake3\n  path: images\n$/)
    const rootOid = /blake3: ([0-9a-f]{64})/.exec(pointer)![1]
    const root = JSON.parse(readFileSync(objectPath(repo, rootOid), 'utf8'))
    expect(root.entries.map((e: {name: string; kind: string}) => `${e.kind}:${e.name}`)).toEqual(['file:a.png', 'tree:cats', 'tree:dogs'])
    const cats = root.entries[1]
    expect(b3sum(objectPath(repo, cats.oid))).toBe(cats.oid)
    expect(readFileSync(join(repo, '.gitignore'), 'utf8')).toBe('/images\n')
  })

  it('hashes many files in parallel workers and large files in chunks, matching b3sum', () => {
    const repo = makeRepo()
    const files: Record<string, Buffer> = {}
    for (let i = 0; i < 120; i++) files[`many/d${i % 7}/f${i}.bin`] = pseudoRandom(1000 + i * 37, i + 1)
    files['many/big.bin'] = pseudoRandom(6 * 1024 * 1024 + 5, 4242)
    writeFiles(repo, files)
    dv(repo, 'add', 'many').ok()
    for (const rel of ['many/d3/f3.bin', 'many/big.bin']) {
      const digest = b3sum(join(repo, rel))
      expect(existsSync(objectPath(repo, digest))).toBe(true)
    }
    expect(readFileSync(join(repo, 'many.dv'), 'utf8')).toContain('nfiles: 121')
  })

  it('accepts absolute paths, paths from a subdirectory, and paths through symlinked directories', () => {
    const repo = makeRepo()
    writeFiles(repo, {'a/one.txt': '1', 'b/two.txt': '2', 'c/three.txt': '3'})
    dv(repo, 'add', join(repo, 'a/one.txt')).ok()
    dv(join(repo, 'b'), 'add', 'two.txt').ok()
    symlinkSync(join(repo, 'c'), join(repo, 'link'))
    dv(repo, 'add', 'link/three.txt').ok()
    expect(existsSync(join(repo, 'a/one.txt.dv'))).toBe(true)
    expect(existsSync(join(repo, 'b/two.txt.dv'))).toBe(true)
    expect(existsSync(join(repo, 'c/three.txt.dv'))).toBe(true)
  })

  it('leaves out what .dvignore names, at any level', () => {
    const repo = makeRepo()
    writeFiles(repo, {
      '.dvignore': '*.tmp\n',
      'd/keep.txt': 'k',
      'd/x.tmp': 'x',
      'd/sub/.dvignore': 'secret/\n!important.tmp\n',
      'd/sub/secret/s.txt': 's',
      'd/sub/important.tmp': 'i',
      'd/sub/other.txt': 'o',
    })
    dv(repo, 'add', 'd').ok()
    expect(readFileSync(join(repo, 'd.dv'), 'utf8')).toContain('nfiles: 4') // keep, sub/.dvignore, sub/important.tmp, sub/other.txt
    writeFileSync(join(repo, 'd/y.tmp'), 'new ignored file')
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
  })

  it('re-adding an unchanged path changes nothing; a changed one updates the pointer', () => {
    const repo = makeRepo()
    writeFiles(repo, {'d/a.txt': 'a', 'd/b.txt': 'b'})
    dv(repo, 'add', 'd').ok()
    const before = readFileSync(join(repo, 'd.dv'), 'utf8')
    dv(repo, 'add', 'd').ok()
    expect(readFileSync(join(repo, 'd.dv'), 'utf8')).toBe(before)
    expect(readFileSync(join(repo, '.gitignore'), 'utf8')).toBe('/d\n')
    writeFileSync(join(repo, 'd/a.txt'), 'A changed')
    dv(repo, 'add', 'd').ok()
    expect(readFileSync(join(repo, 'd.dv'), 'utf8')).not.toBe(before)
  })

  it('refuses paths outside the repository, inside .git or .dv, and missing paths', () => {
    const repo = makeRepo()
    const outside = tempDir()
    writeFileSync(join(outside, 'x'), 'x')
    const cases: Array<[string, RegExp]> = [
      [join(outside, 'x'), /is outside the repository/],
      ['.git/config', /is inside \.git/],
      ['.dv/config', /is inside \.dv/],
      ['nope.txt', /nope\.txt: no such file or directory/],
      ['../', /is outside the repository/],
    ]
    for (const [path, message] of cases) {
      const r = dv(repo, 'add', path)
      expect(r.code, path).toBe(1)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.stderr).toMatch(message)
    }
    expect(git(repo, 'status', '--porcelain')).not.toContain('.dv\n')
  })

  it('refuses paths already tracked by another pointer, by git, or produced by a stage', () => {
    const repo = makeRepo()
    writeFiles(repo, {'d/sub/a.txt': 'a', 'code.py': 'print(1)', 'out/model.bin': 'm', 'dv.yaml': 'stages:\n  train:\n    cmd: python train.py\n    outs:\n      - out\n'})
    git(repo, 'add', 'code.py')
    dv(repo, 'add', 'd').ok()
    expect(dv(repo, 'add', 'd/sub').stderr).toMatch(/^ERROR: d\/sub is already tracked by d\.dv \(inside d\)$/m)
    expect(dv(repo, 'add', 'code.py').stderr).toMatch(/code\.py is tracked by git; stop that first with 'git rm -r --cached code\.py'/)
    expect(dv(repo, 'add', 'out/model.bin').stderr).toMatch(/already tracked by stage 'train'/)
    expect(dv(repo, 'add', 'd.dv').stderr).toMatch(/is a dv pointer file/)
  })

  it('rejects a malformed pointer file in the repository with its name and line', () => {
    const repo = makeRepo()
    writeFiles(repo, {'broken.dv': 'outs:\n- blake3: 123\n  size: 1\n  path: broken\n', 'x.txt': 'x'})
    const r = dv(repo, 'add', 'x.txt')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe('ERROR: broken.dv:2: `blake3` must be a 64-digit hex digest')
  })

  it('names the line of a malformed dv.yaml instead of guessing what it produces', () => {
    const repo = makeRepo()
    writeFiles(repo, {'dv.yaml': 'stages:\n  train:\n    cmd: [unclosed\n', 'x.txt': 'x'})
    const r = dv(repo, 'add', 'x.txt')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(/^ERROR: dv\.yaml:\d+: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a \]$/)
    expect(existsSync(join(repo, 'x.txt.dv'))).toBe(false)
  })

  it('keeps the workspace copy as a separate writable file by default', () => {
    const repo = makeRepo()
    writeFiles(repo, {'f.txt': 'hello'})
    dv(repo, 'add', 'f.txt').ok()
    const digest = b3sum(join(repo, 'f.txt'))
    expect(statSync(join(repo, 'f.txt')).ino).not.toBe(statSync(objectPath(repo, digest)).ino)
    writeFileSync(join(repo, 'f.txt'), 'edited') // writable, and the cache is untouched
    expect(readFileSync(objectPath(repo, digest), 'utf8')).toBe('hello')
  })

  it('works without git (--no-scm): no .gitignore is written', () => {
    const dir = tempDir()
    dv(dir, 'init', '--no-scm').ok()
    mkdirSync(join(dir, 'data'))
    writeFileSync(join(dir, 'data/a'), 'a')
    dv(dir, 'add', 'data').ok()
    expect(existsSync(join(dir, 'data.dv'))).toBe(true)
    expect(existsSync(join(dir, '.gitignore'))).toBe(false)
    expect(dv(dir, 'status', '--json').ok().json()).toEqual({})
  })
})
