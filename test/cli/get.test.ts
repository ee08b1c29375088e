import {chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {dv, git, makeRepo, tempDir, writeFiles} from '../helpers.js'

function source() {
  const repo = makeRepo()
  writeFiles(repo, {'data/x.txt': 'x v1\n', 'data/sub/y.txt': 'y\n', 'model.bin': 'model v1'})
  dv(repo, 'add', 'data', 'model.bin').ok()
  dv(repo, 'commit', '-m', 'v1').ok()
  git(repo, 'tag', 'v1')
  writeFileSync(join(repo, 'data/x.txt'), 'x v2\n')
  writeFileSync(join(repo, 'model.bin'), 'model v2')
  dv(repo, 'commit', '-m', 'v2').ok()
  return repo
}

/** The source with a directory remote in its committed config, pushed; then its cache is gone. */
function pushedSource() {
  const src = source()
  const store = join(tempDir(), 'store')
  dv(src, 'remote', 'add', '-d', 'store', store).ok()
  git(src, 'add', '-A')
  git(src, 'commit', '-q', '-m', 'remote')
  dv(src, 'push', '--all-commits').ok()
  rmSync(join(src, '.dv/cache'), {recursive: true, force: true})
  return {src, store}
}

describe('dv get', () => {
  it('copies a dataset out of another repository at HEAD or any revision, outside any dv repo', () => {
    const src = source()
    const here = tempDir()
    expect(dv(here, 'get', src, 'data').ok().stdout).toBe(`${here}/data: 2 files, 7 B (data at HEAD)\n`)
    expect(readFileSync(join(here, 'data/x.txt'), 'utf8')).toBe('x v2\n')
    expect(readFileSync(join(here, 'data/sub/y.txt'), 'utf8')).toBe('y\n')
    dv(here, 'get', src, 'model.bin.dv', '--rev', 'v1', '-o', 'model-v1.bin').ok()
    expect(readFileSync(join(here, 'model-v1.bin'), 'utf8')).toBe('model v1')
    // Nothing was tracked here.
    expect(existsSync(join(here, '.dv'))).toBe(false)
    expect(readdirSync(here).sort()).toEqual(['data', 'model-v1.bin'])
  })

  it('does not overwrite without --force, and names what is missing', () => {
    const src = source()
    const here = tempDir()
    dv(here, 'get', src, 'data').ok()
    writeFileSync(join(here, 'data/x.txt'), 'mine\n')
    expect(dv(here, 'get', src, 'data').stderr.trim()).toBe(`ERROR: ${here}/data already exists (use --force to overwrite it)`)
    expect(readFileSync(join(here, 'data/x.txt'), 'utf8')).toBe('mine\n')
    dv(here, 'get', src, 'data', '--force').ok()
    expect(readFileSync(join(here, 'data/x.txt'), 'utf8')).toBe('x v2\n')
    expect(dv(here, 'get', src, 'nope').stderr.trim()).toBe(`ERROR: nope is not tracked by dv in ${src} at HEAD`)
    expect(dv(here, 'get', here, 'data', '-o', 'z').stderr.trim()).toBe(`ERROR: ${here} is not a dv repository (no .dv directory)`)
    expect(dv(here, 'get', src, 'data', '--rev', 'no-such-rev', '-o', 'z').stderr.trim()).toBe('ERROR: unknown revision "no-such-rev"')
  })

  it('from a git URL, or a source whose cache is elsewhere, the data comes from the source\'s remote', () => {
    const {src} = pushedSource()
    const here = tempDir()
    expect(dv(here, 'get', `file://${src}`, 'data').ok().stdout).toBe(`${here}/data: 2 files, 7 B (data at HEAD)\n`)
    expect(readFileSync(join(here, 'data/sub/y.txt'), 'utf8')).toBe('y\n')
    dv(here, 'get', src, 'model.bin', '--rev', 'v1', '-o', 'm1').ok()
    expect(readFileSync(join(here, 'm1'), 'utf8')).toBe('model v1')
    // Imports too, recording the URL as given; update fetches the newer version the same way.
    const repo = makeRepo()
    const r = dv(repo, 'import', `file://${src}`, 'model.bin', '--rev', 'v1').ok()
    expect(r.stdout).toContain('model.bin')
    expect(readFileSync(join(repo, 'model.bin.dv'), 'utf8')).toContain(`url: file://${src}\n    rev: v1\n`)
    expect(readFileSync(join(repo, 'model.bin'), 'utf8')).toBe('model v1')
    dv(repo, 'update', 'model.bin', '--rev', 'main').ok()
    expect(readFileSync(join(repo, 'model.bin'), 'utf8')).toBe('model v2')
  })

  it('a source with neither its cache here nor a remote is named as such', () => {
    const src = source()
    rmSync(join(src, '.dv/cache'), {recursive: true, force: true})
    git(src, 'add', '-A')
    git(src, 'commit', '-q', '-m', 'config')
    expect(dv(tempDir(), 'get', `file://${src}`, 'data').stderr.trim()).toBe(`ERROR: file://${src}: its data is not in a cache here, and it has no default remote to fetch it from`)
    expect(dv(tempDir(), 'get', 'file:///no/such/repo', 'data').stderr.trim()).toMatch(/^ERROR: cannot clone file:\/\/\/no\/such\/repo: .+$/)
  })

  it('refuses a corrupted object in the source cache and writes nothing', () => {
    const src = source()
    const here = tempDir()
    const oid = /blake3: ([0-9a-f]{64})/.exec(readFileSync(join(src, 'model.bin.dv'), 'utf8'))![1]
    const obj = join(src, '.dv/cache/objects', oid.slice(0, 2), oid.slice(2))
    chmodSync(obj, 0o644)
    writeFileSync(obj, 'tampered')
    const r = dv(here, 'get', src, 'model.bin')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`^ERROR: object ${oid} in .* is corrupt`))
    expect(existsSync(join(here, 'model.bin'))).toBe(false)
  })
})

describe('dv import and dv update', () => {
  it('tracks data from another repository with its origin, and update moves it to the newest commit', () => {
    const src = source()
    const repo = makeRepo()
    const r = dv(repo, 'import', src, 'data', '--rev', 'main', '-o', 'imported').ok()
    expect(r.stdout).toMatch(/^imported data from .* at [0-9a-f]{8} → imported \(imported\.dv\)\n$/)
    expect(readFileSync(join(repo, 'imported/x.txt'), 'utf8')).toBe('x v2\n')
    const pointer = readFileSync(join(repo, 'imported.dv'), 'utf8')
    const head = git(src, 'rev-parse', 'HEAD').trim()
    expect(pointer).toContain(`deps:\n- path: data\n  repo:\n    url: ${join('..', src.split('/').at(-1)!)}\n    rev: main\n    rev_lock: ${head}\n`)
    expect(readFileSync(join(repo, '.gitignore'), 'utf8')).toContain('/imported\n')
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
    expect(dv(repo, 'update', 'imported.dv').ok().stdout).toBe(`imported is up to date (${head.slice(0, 8)})\n`)
    // A new version in the source.
    writeFileSync(join(src, 'data/x.txt'), 'x v3\n')
    dv(src, 'commit', '-m', 'v3').ok()
    const head3 = git(src, 'rev-parse', 'HEAD').trim()
    expect(dv(repo, 'update', 'imported').ok().stdout).toBe(`updated imported to ${join('..', src.split('/').at(-1)!)} at ${head3.slice(0, 8)}\n`)
    expect(readFileSync(join(repo, 'imported/x.txt'), 'utf8')).toBe('x v3\n')
    expect(readFileSync(join(repo, 'imported.dv'), 'utf8')).toContain(`rev_lock: ${head3}`)
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
  })

  it('update keeps the pointer as it was when workspace edits would be lost', () => {
    const src = source()
    const repo = makeRepo()
    dv(repo, 'import', src, 'model.bin').ok()
    const before = readFileSync(join(repo, 'model.bin.dv'), 'utf8')
    writeFileSync(join(repo, 'model.bin'), 'my local edit')
    writeFileSync(join(src, 'model.bin'), 'model v3')
    dv(src, 'commit', '-m', 'v3').ok()
    const r = dv(repo, 'update', 'model.bin.dv')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: model\.bin has changes not saved in the dv cache/)
    expect(readFileSync(join(repo, 'model.bin.dv'), 'utf8')).toBe(before)
    expect(readFileSync(join(repo, 'model.bin'), 'utf8')).toBe('my local edit')
    expect(dv(repo, 'update', 'README').stderr).toMatch(/README is not tracked by dv/)
  })

  it('refuses to update a pointer that is not an import', () => {
    const repo = makeRepo()
    writeFiles(repo, {'f.txt': 'f'})
    dv(repo, 'add', 'f.txt').ok()
    expect(dv(repo, 'update', 'f.txt').stderr.trim()).toBe('ERROR: f.txt.dv is not an import (no deps: [{path, repo: {url, rev_lock}}])')
  })
})
