import {chmodSync, existsSync, lstatSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {hashBytes} from '../../dist/hash/blake3.js'
import {dv, git, makeRepo, writeFiles} from '../helpers.js'

const oidOf = (repo: string, pointer: string) => /blake3: ([0-9a-f]{64})/.exec(readFileSync(join(repo, pointer), 'utf8'))![1]
const objectPath = (repo: string, oid: string) => join(repo, '.dv', 'cache', 'objects', oid.slice(0, 2), oid.slice(2))

describe('dv commit', () => {
  it('records changed content and updates the pointer', () => {
    const repo = makeRepo()
    writeFiles(repo, {'d/a.txt': 'a'})
    dv(repo, 'add', 'd').ok()
    const before = oidOf(repo, 'd.dv')
    writeFiles(repo, {'d/b.txt': 'b'})
    const r = dv(repo, 'commit').ok()
    expect(r.stdout).toContain('updated d.dv: d (2 files')
    expect(oidOf(repo, 'd.dv')).not.toBe(before)
    expect(existsSync(objectPath(repo, oidOf(repo, 'd.dv')))).toBe(true)
    expect(dv(repo, 'commit').ok().stdout).toContain('Nothing changed')
  })

  it('with -m makes a git commit of exactly the pointers, .gitignore and dv.lock, running hooks', () => {
    const repo = makeRepo()
    writeFiles(repo, {'d/a.txt': 'a', 'dv.lock': 'schema: "2.0"\n', 'unrelated.txt': 'staged but not mine'})
    git(repo, 'add', 'unrelated.txt')
    writeFiles(repo, {'.git/hooks/pre-commit': '#!/bin/sh\necho hook-ran >> "$(git rev-parse --git-dir)/hook.log"\n'})
    chmodSync(join(repo, '.git/hooks/pre-commit'), 0o755)
    dv(repo, 'add', 'd').ok()
    const r = dv(repo, 'commit', '-m', 'Add dataset d').ok()
    expect(r.stdout).toMatch(/git commit [0-9a-f]{8}: Add dataset d/)
    expect(git(repo, 'log', '-1', '--format=%s|%an').trim()).toBe('Add dataset d|Test User')
    expect(git(repo, 'show', '--name-only', '--format=', 'HEAD').trim().split('\n').sort()).toEqual(['.gitignore', 'd.dv', 'dv.lock'])
    expect(readFileSync(join(repo, '.git/hook.log'), 'utf8')).toBe('hook-ran\n')
    // The user's other staged change is still staged, not committed.
    expect(git(repo, 'diff', '--cached', '--name-only').trim().split('\n')).toEqual(['.dv/.gitignore', '.dv/config', '.dvignore', 'unrelated.txt'])
    expect(dv(repo, 'commit', '-m', 'again').ok().stdout).toContain('Nothing new to commit to git.')
  })

  it('a failing pre-commit hook stops the git commit with a one-line error', () => {
    const repo = makeRepo()
    writeFiles(repo, {'d/a.txt': 'a', '.git/hooks/pre-commit': '#!/bin/sh\necho "policy says no" >&2\nexit 1\n'})
    chmodSync(join(repo, '.git/hooks/pre-commit'), 0o755)
    dv(repo, 'add', 'd').ok()
    const r = dv(repo, 'commit', '-m', 'nope')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: git commit: /)
    expect(git(repo, 'log', '--format=%s').trim()).toBe('initial')
  })

  it('refuses to commit a tracked path that was deleted', () => {
    const repo = makeRepo()
    writeFiles(repo, {'f.txt': 'x'})
    dv(repo, 'add', 'f.txt').ok()
    rmSync(join(repo, 'f.txt'))
    const r = dv(repo, 'commit')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("f.txt (tracked by f.txt.dv; restore it with 'dv checkout' or stop tracking it with 'dv remove')")
  })
})

describe('dv remove', () => {
  it('stops tracking: pointer and .gitignore line go, data stays', () => {
    const repo = makeRepo()
    writeFiles(repo, {'d/a.txt': 'a', 'e.txt': 'e', '.gitignore': 'node_modules\n'})
    dv(repo, 'add', 'd', 'e.txt').ok()
    expect(readFileSync(join(repo, '.gitignore'), 'utf8')).toBe('node_modules\n/d\n/e.txt\n')
    dv(repo, 'remove', 'd.dv').ok()
    expect(existsSync(join(repo, 'd.dv'))).toBe(false)
    expect(readFileSync(join(repo, 'd/a.txt'), 'utf8')).toBe('a')
    expect(readFileSync(join(repo, '.gitignore'), 'utf8')).toBe('node_modules\n/e.txt\n')
    dv(repo, 'remove', 'e.txt').ok()
    expect(readFileSync(join(repo, '.gitignore'), 'utf8')).toBe('node_modules\n')
    expect(dv(repo, 'remove', 'e.txt').stderr).toMatch(/^ERROR: e\.txt is not tracked by dv/)
  })
})

describe('link types and dv unprotect', () => {
  it('hardlink: workspace files share the cache inode and are read-only; unprotect makes a writable copy', () => {
    const repo = makeRepo()
    dv(repo, 'config', 'core.link_type', 'hardlink,copy').ok()
    writeFiles(repo, {'d/a.txt': 'aaa', 'd/b.txt': 'bbb'})
    dv(repo, 'add', 'd').ok()
    const a = join(repo, 'd/a.txt')
    const obj = objectPath(repo, hashBytes(Buffer.from('aaa')))
    expect(statSync(a).ino).toBe(statSync(obj).ino)
    expect(statSync(a).mode & 0o222).toBe(0)
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
    dv(repo, 'unprotect', 'd/a.txt').ok()
    expect(statSync(a).ino).not.toBe(statSync(obj).ino)
    writeFileSync(a, 'edited')
    expect(readFileSync(obj, 'utf8')).toBe('aaa')
    expect(Object.keys(dv(repo, 'status', '--json').ok().json() as object)).toEqual(['d.dv'])
    dv(repo, 'commit').ok()
    // After commit the edited file is linked again.
    expect(statSync(a).nlink).toBeGreaterThan(1)
  })

  it('symlink: workspace files point into the cache; checkout recreates links', () => {
    const repo = makeRepo()
    dv(repo, 'config', 'core.link_type', 'symlink').ok()
    writeFiles(repo, {'m.bin': 'model'})
    dv(repo, 'add', 'm.bin').ok()
    expect(lstatSync(join(repo, 'm.bin')).isSymbolicLink()).toBe(true)
    expect(readlinkSync(join(repo, 'm.bin'))).toBe(objectPath(repo, oidOf(repo, 'm.bin.dv')))
    rmSync(join(repo, 'm.bin'))
    dv(repo, 'checkout').ok()
    expect(readFileSync(join(repo, 'm.bin'), 'utf8')).toBe('model')
    dv(repo, 'unprotect', 'm.bin').ok()
    expect(lstatSync(join(repo, 'm.bin')).isSymbolicLink()).toBe(false)
  })

  it('rejects an unknown link type with a clear error', () => {
    const repo = makeRepo()
    const r = dv(repo, 'config', 'core.link_type', 'teleport')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe('ERROR: core.link_type: unknown link type "teleport" (choose from reflink, hardlink, symlink, copy)')
  })
})
