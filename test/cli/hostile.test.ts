/**
 * Symbolic links that lead out of the repository: dv reads nothing through them (add, commit,
 * status) and writes nothing through them (checkout, pull), whether the link is the tracked
 * path, a directory above it, or a file inside a tracked directory. Links into the repository,
 * and files checked out as symlinks into the cache, still work.
 */
import {existsSync, readdirSync, readFileSync, rmSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {dv, git, makeRepo, tempDir, writeFiles} from '../helpers.js'

/** A directory outside the repository with a file that must stay as it is. */
function outsideDir(): string {
  const dir = tempDir()
  writeFiles(dir, {'passwd': 'root:x:0:0\n'})
  return dir
}

describe('symbolic links out of the repository', () => {
  it('add refuses a tracked path that is such a link, or a tree holding one, and reads nothing', () => {
    const repo = makeRepo()
    const outside = outsideDir()
    symlinkSync(outside, join(repo, 'ext'))
    const direct = dv(repo, 'add', 'ext')
    expect(direct.code).toBe(1)
    expect(direct.stderr).toBe(`ERROR: ext: a symbolic link to ${outside}, outside the repository; dv neither reads nor writes through it (remove the link, or copy the data in)\n`)
    writeFiles(repo, {'data/a.txt': 'a\n'})
    symlinkSync(join(outside, 'passwd'), join(repo, 'data/link'))
    const inside = dv(repo, 'add', 'data')
    expect(inside.code).toBe(1)
    expect(inside.stderr).toMatch(/^ERROR: data\/link: a symbolic link to .*\/passwd, outside the repository/)
    expect(existsSync(join(repo, 'data.dv'))).toBe(false)
    // Nothing from outside reached the cache.
    const objects = join(repo, '.dv/cache/objects')
    const stored = readdirSync(objects).flatMap((fan) => readdirSync(join(objects, fan)).map((rest) => readFileSync(join(objects, fan, rest), 'utf8')))
    expect(stored).not.toContain('root:x:0:0\n')
    // A link to a file inside the repository is followed as before.
    rmSync(join(repo, 'data/link'))
    writeFiles(repo, {'shared.txt': 'shared\n'})
    symlinkSync(join(repo, 'shared.txt'), join(repo, 'data/shared'))
    dv(repo, 'add', 'data').ok()
    expect(readFileSync(join(repo, 'data.dv'), 'utf8')).toContain('nfiles: 2')
  })

  it('checkout (which pull runs) writes nothing through a tracked directory replaced by such a link', () => {
    const repo = makeRepo()
    writeFiles(repo, {'data/a.txt': 'a\n', 'data/passwd': 'tracked\n'})
    dv(repo, 'add', 'data').ok()
    git(repo, 'add', '-A')
    git(repo, 'commit', '-qm', 'data')
    const outside = outsideDir()
    rmSync(join(repo, 'data'), {recursive: true})
    symlinkSync(outside, join(repo, 'data'))
    for (const args of [['checkout'], ['checkout', '--force'], ['status']]) {
      const r = dv(repo, ...args)
      expect(r.code).toBe(1)
      expect(r.stderr).toBe(`ERROR: data: a symbolic link to ${outside}, outside the repository; dv neither reads nor writes through it (remove the link, or copy the data in)\n`)
    }
    expect(readdirSync(outside)).toEqual(['passwd'])
    expect(readFileSync(join(outside, 'passwd'), 'utf8')).toBe('root:x:0:0\n')
    // Removing the link lets checkout bring the data back.
    rmSync(join(repo, 'data'))
    dv(repo, 'checkout').ok()
    expect(readFileSync(join(repo, 'data/passwd'), 'utf8')).toBe('tracked\n')
  })

  it('files checked out as symlinks into the cache are not mistaken for escapes', () => {
    const repo = makeRepo()
    writeFiles(repo, {'data/a.txt': 'a\n'})
    dv(repo, 'config', 'core.link_type', 'symlink').ok()
    dv(repo, 'add', 'data').ok()
    rmSync(join(repo, 'data'), {recursive: true})
    dv(repo, 'checkout').ok()
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
    writeFiles(repo, {'data/b.txt': 'b\n'})
    dv(repo, 'commit', 'data').ok()
  })

  it('a record file far larger than any real one is refused by its size, not read', () => {
    const repo = makeRepo()
    const huge = Buffer.alloc(65 * 1024 * 1024, 'a')
    writeFiles(repo, {'big.dv': huge})
    const r = dv(repo, 'status')
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('ERROR: big.dv: 68157440 bytes is too large for this kind of file (at most 67108864); is it the right file?\n')
    rmSync(join(repo, 'big.dv'))
    writeFiles(repo, {'dv.yaml': huge})
    expect(dv(repo, 'repro').stderr).toBe('ERROR: dv.yaml: 68157440 bytes is too large for this kind of file (at most 67108864); is it the right file?\n')
  })
})
