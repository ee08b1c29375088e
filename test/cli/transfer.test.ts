import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {dv, git, makeRepo, tempDir, writeFiles} from '../helpers.js'

const countObjects = (objects: string) =>
  existsSync(objects) ? readdirSync(objects).reduce((n, fan) => n + readdirSync(join(objects, fan)).length, 0) : 0

/** A repository with data/ (3 files in 2 folders) and model.bin, pushed to a directory remote. */
function pushed() {
  const repo = makeRepo()
  const remote = join(tempDir(), 'remote')
  writeFiles(repo, {'data/a.txt': 'a\n', 'data/sub/b.txt': 'b\n', 'data/sub/c.txt': 'c\n', 'model.bin': 'weights'})
  dv(repo, 'add', 'data', 'model.bin').ok()
  dv(repo, 'remote', 'add', '-d', 'store', remote).ok()
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'data and remote')
  return {repo, remote}
}

describe('dv push, fetch, pull (directory remote)', () => {
  it('a fresh clone pulls byte-identical data; nothing is sent twice', () => {
    const {repo, remote} = pushed()
    expect(dv(repo, 'status', '-c', '--json').ok().json()).toEqual({'data.dv': [{path: 'data', state: 'not pushed'}], 'model.bin.dv': [{path: 'model.bin', state: 'not pushed'}]})
    // data: root tree, sub tree, 3 files; model.bin: 1 file.
    expect(dv(repo, 'push', '--json').ok().json()).toEqual({remote: 'store', transferred: 6, skipped: 0})
    expect(countObjects(join(remote, 'objects'))).toBe(6)
    expect(dv(repo, 'push', '--json').ok().json()).toEqual({remote: 'store', transferred: 0, skipped: 6})
    expect(dv(repo, 'status', '-c').ok().stdout).toBe('Cache and remote store are in sync.\n')

    const clone = join(tempDir(), 'clone')
    git(tempDir(), 'clone', '-q', repo, clone)
    expect(dv(clone, 'status', '-c', '--json').ok().json()).toEqual({'data.dv': [{path: 'data', state: 'not fetched'}], 'model.bin.dv': [{path: 'model.bin', state: 'not fetched'}]})
    const r = dv(clone, 'pull').ok().stdout
    expect(r).toContain('6 objects fetched (0 already there) — remote store')
    expect(readFileSync(join(clone, 'data/sub/c.txt'), 'utf8')).toBe('c\n')
    expect(readFileSync(join(clone, 'model.bin'), 'utf8')).toBe('weights')
    expect(dv(clone, 'status', '--json').ok().json()).toEqual({})
    expect(dv(clone, 'fetch', '--json').ok().json()).toEqual({remote: 'store', transferred: 0, skipped: 2})
  })

  it('--all-commits moves the data of every commit, so any old version can be pulled', () => {
    const {repo, remote} = pushed()
    writeFileSync(join(repo, 'data/a.txt'), 'a v2\n')
    dv(repo, 'commit', '-m', 'v2').ok()
    dv(repo, 'push').ok()
    expect(countObjects(join(remote, 'objects'))).toBe(6) // the workspace's version only
    dv(repo, 'push', '--all-commits').ok()
    expect(countObjects(join(remote, 'objects'))).toBe(8) // + v1's root tree and a.txt
    const clone = join(tempDir(), 'clone')
    git(tempDir(), 'clone', '-q', repo, clone)
    git(clone, 'checkout', '-q', 'HEAD~1')
    dv(clone, 'pull').ok()
    expect(readFileSync(join(clone, 'data/a.txt'), 'utf8')).toBe('a\n')
    git(clone, 'checkout', '-q', '-')
    dv(clone, 'fetch', '--rev', 'HEAD~1').ok()
    dv(clone, 'pull').ok()
    expect(readFileSync(join(clone, 'data/a.txt'), 'utf8')).toBe('a v2\n')
  })

  it('dv clone is git clone plus dv pull', () => {
    const {repo} = pushed()
    dv(repo, 'push').ok()
    const parent = tempDir()
    const r = dv(parent, 'clone', repo, 'copy').ok()
    expect(r.stdout).toBe(`cloned into ${join(parent, 'copy')}: 6 objects fetched, 4 files checked out\n`)
    expect(readFileSync(join(parent, 'copy/data/a.txt'), 'utf8')).toBe('a\n')
    expect(dv(join(parent, 'copy'), 'status', '--json').ok().json()).toEqual({})
    expect(dv(parent, 'clone', join(parent, 'nope'), 'x').stderr).toMatch(/^ERROR: git clone: repository '.*nope' does not exist$/m)
  })

  it('only objects complete on the remote are used, and a corrupted one is refused and discarded', () => {
    const {repo, remote} = pushed()
    dv(repo, 'push').ok()
    // A half-written upload left behind by a killed push is not an object.
    mkdirSync(join(remote, 'tmp'), {recursive: true})
    writeFileSync(join(remote, 'tmp', 'partial'), 'half')
    const oid = /blake3: ([0-9a-f]{64})/.exec(readFileSync(join(repo, 'model.bin.dv'), 'utf8'))![1]
    const obj = join(remote, 'objects', oid.slice(0, 2), oid.slice(2))
    chmodSync(obj, 0o644)
    writeFileSync(obj, 'tampered')
    const clone = join(tempDir(), 'clone')
    git(tempDir(), 'clone', '-q', repo, clone)
    const r = dv(clone, 'fetch', 'model.bin')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(new RegExp(`^ERROR: object ${oid} in remote .* is corrupt: its content hashes to [0-9a-f]{64}$`))
    expect(countObjects(join(clone, '.dv/cache/objects'))).toBe(0)
    dv(clone, 'fetch', 'data').ok()
    expect(countObjects(join(clone, '.dv/cache/objects'))).toBe(5)
  })

  it('names the problem when there is no remote, an unknown one, or missing data', () => {
    const repo = makeRepo()
    writeFiles(repo, {'f.txt': 'f'})
    dv(repo, 'add', 'f.txt').ok()
    expect(dv(repo, 'push').stderr.trim()).toBe("ERROR: no remote given and no default remote (set one with 'dv remote add -d <name> <url>')")
    expect(dv(repo, 'push', '-r', 'nope').stderr.trim()).toBe('ERROR: no remote named "nope" (see \'dv remote list\')')
    dv(repo, 'remote', 'add', '-d', 'store', join(tempDir(), 'empty')).ok()
    const r = dv(repo, 'fetch')
    expect(r.code).toBe(0) // f.txt is in the cache already
  })
})
