import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {dv, git, makeRepo, tempDir} from '../helpers.js'

describe('dv init', () => {
  it('creates .dv with config, cache and the gitignore lines, and stages its files', () => {
    const repo = makeRepo({init: false})
    const r = dv(repo, 'init').ok()
    expect(r.stdout).toContain(`Initialized dv repository in ${repo}/.dv`)
    expect(existsSync(join(repo, '.dv', 'config'))).toBe(true)
    expect(existsSync(join(repo, '.dv', 'cache', 'objects', 'ff'))).toBe(true)
    expect(readFileSync(join(repo, '.dv', '.gitignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['/config.local', '/cache', '/state', '/tmp']))
    expect(git(repo, 'diff', '--cached', '--name-only').split('\n')).toEqual(expect.arrayContaining(['.dv/.gitignore', '.dv/config', '.dvignore']))
    // git does not see the cache.
    expect(git(repo, 'check-ignore', '.dv/cache/objects').trim()).toBe('.dv/cache/objects')
  })

  it('is idempotent', () => {
    const repo = makeRepo()
    const config = readFileSync(join(repo, '.dv', 'config'), 'utf8')
    expect(dv(repo, 'init').ok().stdout).toContain('already initialized')
    expect(readFileSync(join(repo, '.dv', 'config'), 'utf8')).toBe(config)
  })

  it('works from a subdirectory, at the top of the work tree', () => {
    const repo = makeRepo({init: false})
    const sub = join(repo, 'a', 'b')
    mkdirSync(sub, {recursive: true})
    dv(sub, 'init').ok()
    expect(existsSync(join(repo, '.dv', 'config'))).toBe(true)
  })

  it('fails outside git with a clear one-line error, unless --no-scm', () => {
    const dir = tempDir()
    const r = dv(dir, 'init')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(/^ERROR: .* is not inside a git work tree \(run 'git init' first, or 'dv init --no-scm'\)$/)
    expect(existsSync(join(dir, '.dv'))).toBe(false)
    dv(dir, 'init', '--no-scm').ok()
    expect(readFileSync(join(dir, '.dv', 'config'), 'utf8')).toContain('no_scm = true')
  })

  it('other commands outside a dv repository say so', () => {
    const dir = tempDir()
    const r = dv(dir, 'status')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: not a dv repository/)
  })
})
