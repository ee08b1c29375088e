import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {dv, git, makeRepo, tempDir, testEnv, writeFiles} from '../helpers.js'

/** Every file under `dir`, as relative path → content. */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of readdirSync(dir)) {
    const abs = join(dir, name)
    if (statSync(abs).isDirectory()) Object.assign(out, snapshot(abs, `${prefix}${name}/`))
    else out[prefix + name] = readFileSync(abs, 'utf8')
  }
  return out
}

/** Three versions of data/: v1; v2 edits a file, deletes one, adds one and renames one; v3 adds a folder. */
function threeVersions() {
  const repo = makeRepo()
  writeFiles(repo, {'data/a.txt': 'a v1\n', 'data/b.txt': 'b\n', 'data/sub/c.txt': 'c\n', 'data/keep.txt': 'same\n'})
  dv(repo, 'add', 'data').ok()
  dv(repo, 'commit', '-m', 'v1').ok()
  const v1 = snapshot(join(repo, 'data'))
  writeFileSync(join(repo, 'data/a.txt'), 'a v2, longer\n')
  rmSync(join(repo, 'data/b.txt'))
  writeFileSync(join(repo, 'data/new.txt'), 'new\n')
  renameSync(join(repo, 'data/sub/c.txt'), join(repo, 'data/sub/c-renamed.txt'))
  dv(repo, 'commit', '-m', 'v2').ok()
  const v2 = snapshot(join(repo, 'data'))
  mkdirSync(join(repo, 'data/extra'))
  writeFileSync(join(repo, 'data/extra/e.txt'), 'e\n')
  dv(repo, 'commit', '-m', 'v3').ok()
  git(repo, 'tag', 'v3')
  const v3 = snapshot(join(repo, 'data'))
  return {repo, v1, v2, v3}
}

describe('dv diff', () => {
  it('lists added, modified, deleted and renamed files between two revisions, with sizes', () => {
    const {repo} = threeVersions()
    const before = git(repo, 'status', '--porcelain')
    expect(dv(repo, 'diff', 'HEAD~2', 'HEAD~1', '--json').ok().json()).toEqual({
      a: 'HEAD~2',
      b: 'HEAD~1',
      added: [{path: 'data/new.txt', newSize: 4}],
      modified: [{path: 'data/a.txt', oldSize: 5, newSize: 13}],
      deleted: [{path: 'data/b.txt', oldSize: 2}],
      renamed: [{path: 'data/sub/c-renamed.txt', from: 'data/sub/c.txt', oldSize: 2, newSize: 2}],
    })
    // Reading revisions leaves the work tree and the index alone.
    expect(git(repo, 'status', '--porcelain')).toBe(before)
    const human = dv(repo, 'diff', 'HEAD~2', 'v3').ok().stdout
    expect(human).toContain('added:    data/extra/e.txt (+2 B)')
    expect(human).toContain('modified: data/a.txt (5 B → 13 B, +8 B)')
    expect(human).toContain('renamed:  data/sub/c.txt → data/sub/c-renamed.txt (2 B)')
    expect(human).toContain('2 added, 1 modified, 1 deleted, 1 renamed')
    expect(dv(repo, 'diff', 'HEAD~1', 'HEAD', '--md').ok().stdout).toBe('| change | path | size |\n| --- | --- | --- |\n| added | `data/extra/e.txt` | +2 B |\n')
  })

  it('compares HEAD with the workspace by default, and narrows to targets', () => {
    const {repo} = threeVersions()
    expect(dv(repo, 'diff').ok().stdout).toContain('No changes in tracked data between HEAD and workspace.')
    writeFileSync(join(repo, 'data/keep.txt'), 'changed\n')
    writeFileSync(join(repo, 'data/sub/d.txt'), 'd\n')
    const r = dv(repo, 'diff', '--json').ok().json<{added: unknown[]; modified: unknown[]}>()
    expect(r.modified).toEqual([{path: 'data/keep.txt', oldSize: 5, newSize: 8}])
    expect(r.added).toEqual([{path: 'data/sub/d.txt', newSize: 2}])
    const narrowed = dv(repo, 'diff', '--targets', 'data/sub', '--json').ok().json<{added: unknown[]; modified: unknown[]}>()
    expect(narrowed.modified).toEqual([])
    expect(narrowed.added).toEqual([{path: 'data/sub/d.txt', newSize: 2}])
  })

  it('names an unknown revision in a one-line error', () => {
    const {repo} = threeVersions()
    const r = dv(repo, 'diff', 'no-such-branch')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe('ERROR: unknown revision "no-such-branch"')
  })
})

describe('dv checkout at other revisions', () => {
  it('--rev puts each revision\'s data in the workspace byte for byte, leaving git alone', () => {
    const {repo, v1, v2, v3} = threeVersions()
    const head = git(repo, 'rev-parse', 'HEAD')
    const gitStatus = git(repo, 'status', '--porcelain')
    for (const [rev, expected] of [['HEAD~2', v1], ['HEAD~1', v2], ['v3', v3]] as const) {
      dv(repo, 'checkout', '--rev', rev).ok()
      expect(snapshot(join(repo, 'data')), rev).toEqual(expected)
    }
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head)
    expect(git(repo, 'status', '--porcelain')).toBe(gitStatus)
  })

  it('after git checkout of an old commit, dv checkout brings the data in line', () => {
    const {repo, v1, v3} = threeVersions()
    git(repo, 'checkout', '-q', 'HEAD~2')
    dv(repo, 'checkout').ok()
    expect(snapshot(join(repo, 'data'))).toEqual(v1)
    git(repo, 'checkout', '-q', 'main')
    dv(repo, 'checkout').ok()
    expect(snapshot(join(repo, 'data'))).toEqual(v3)
  })

  it('--rev keeps the never-lose rule: uncommitted edits stop it unless --force', () => {
    const {repo} = threeVersions()
    writeFileSync(join(repo, 'data/a.txt'), 'precious\n')
    const r = dv(repo, 'checkout', '--rev', 'HEAD~2')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: data\/a\.txt has changes not saved in the dv cache/)
    expect(readFileSync(join(repo, 'data/a.txt'), 'utf8')).toBe('precious\n')
    dv(repo, 'checkout', '--rev', 'HEAD~2', '--force').ok()
    expect(readFileSync(join(repo, 'data/a.txt'), 'utf8')).toBe('a v1\n')
  })
})

describe('dv log', () => {
  it('lists each version of a dataset with its digest, size, file count and changes', () => {
    const {repo} = threeVersions()
    const r = dv(repo, 'log', 'data', '--json').ok().json<{path: string; entries: Array<Record<string, unknown>>}>()
    expect(r.path).toBe('data')
    expect(r.entries.map((e) => e.message)).toEqual(['v3', 'v2', 'v1'])
    expect(r.entries.map((e) => e.nfiles)).toEqual([5, 4, 4])
    expect(r.entries.map((e) => e.size)).toEqual([26, 24, 14])
    expect(r.entries.map((e) => e.changes)).toEqual([
      {added: 1, modified: 0, deleted: 0},
      {added: 2, modified: 1, deleted: 2}, // the rename is a delete and an add here
      undefined,
    ])
    expect(r.entries[0].author).toBe('Test User')
    expect(r.entries[0].commit).toBe(git(repo, 'rev-parse', 'HEAD').trim())
    const human = dv(repo, 'log', 'data.dv', '-n', '1').ok().stdout
    expect(human).toMatch(/^[0-9a-f]{8}  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  Test User  v3\n {10}[0-9a-f]{12}  26 B, 5 files  \+1 ~0 -0\n$/)
  })

  it('asks which target when several are tracked, and refuses untracked ones', () => {
    const {repo} = threeVersions()
    writeFiles(repo, {'model.bin': 'm'})
    dv(repo, 'add', 'model.bin').ok()
    const r = dv(repo, 'log')
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe('ERROR: name the dataset or model to show (data, model.bin)')
    expect(dv(repo, 'log', 'README').stderr).toMatch(/^ERROR: README is not tracked by dv/)
  })
})

describe('dv install-hooks', () => {
  it('makes a branch switch update the data, keeps an existing hook running, and uninstalls cleanly', () => {
    const {repo, v1, v3} = threeVersions()
    const userHook = '#!/bin/sh\necho "user hook $3" >> "$(git rev-parse --git-dir)/user-hook.log"\n'
    writeFiles(repo, {'.git/hooks/post-checkout': userHook})
    chmodSync(join(repo, '.git/hooks/post-checkout'), 0o755)
    expect(dv(repo, 'install-hooks').ok().stdout).toBe('post-checkout: installed, chained after the existing hook\npost-merge: installed\npre-push: installed\n')
    git(repo, 'checkout', '-q', '-b', 'old', 'HEAD~2')
    expect(snapshot(join(repo, 'data'))).toEqual(v1)
    git(repo, 'checkout', '-q', 'main')
    expect(snapshot(join(repo, 'data'))).toEqual(v3)
    expect(readFileSync(join(repo, '.git/user-hook.log'), 'utf8')).toBe('user hook 1\nuser hook 1\n')
    dv(repo, 'install-hooks', '--uninstall').ok()
    expect(readFileSync(join(repo, '.git/hooks/post-checkout'), 'utf8')).toBe(userHook)
    expect(existsSync(join(repo, '.git/hooks/post-merge'))).toBe(false)
    expect(existsSync(join(repo, '.git/hooks/pre-push'))).toBe(false)
  })

  it('git push also pushes the data to the default remote, and says so when there is none', () => {
    const {repo} = threeVersions()
    const bare = join(tempDir(), 'origin.git')
    git(tempDir(), 'init', '-q', '--bare', bare)
    git(repo, 'remote', 'add', 'origin', bare)
    dv(repo, 'install-hooks').ok()
    const noRemote = spawnSync('git', ['push', '-q', 'origin', 'main'], {cwd: repo, encoding: 'utf8', env: testEnv(repo)})
    expect(noRemote.status).toBe(0)
    expect(noRemote.stderr).toContain('dv: no default remote: data not pushed')
    const store = join(tempDir(), 'store')
    dv(repo, 'remote', 'add', '-d', 'store', store).ok()
    git(repo, 'add', '-A')
    git(repo, 'commit', '-q', '-m', 'remote')
    git(repo, 'push', '-q', 'origin', 'main')
    expect(dv(repo, 'status', '-c').ok().stdout).toBe('Cache and remote store are in sync.\n')
    const clone = join(tempDir(), 'clone')
    git(tempDir(), 'clone', '-q', '-b', 'main', bare, clone)
    dv(clone, 'pull').ok()
    expect(snapshot(join(clone, 'data'))).toEqual(snapshot(join(repo, 'data')))
  })
})
