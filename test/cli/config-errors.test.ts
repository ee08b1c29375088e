import {existsSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {dv, dvEnv, git, makeRepo, tempDir, writeFiles} from '../helpers.js'

describe('dv config', () => {
  it('sets, gets, lists and unsets values git-style, in .dv/config by default', () => {
    const repo = makeRepo()
    dv(repo, 'config', 'core.link_type', 'hardlink,copy').ok()
    expect(readFileSync(join(repo, '.dv/config'), 'utf8')).toBe('[core]\n\tlink_type = hardlink,copy\n')
    expect(dv(repo, 'config', 'core.link_type').ok().stdout).toBe('hardlink,copy\n')
    dv(repo, 'config', 'remote.my.bucket.url', 's3://b/p').ok()
    expect(readFileSync(join(repo, '.dv/config'), 'utf8')).toContain('[remote "my.bucket"]\n\turl = s3://b/p\n')
    expect(dv(repo, 'config', '--list').ok().stdout).toContain('core.link_type=hardlink,copy\nremote.my.bucket.url=s3://b/p\n')
    dv(repo, 'config', '--unset', 'core.link_type').ok()
    const r = dv(repo, 'config', 'core.link_type')
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
  })

  it('--local writes .dv/config.local, which git ignores, readable only by the user; --list hides secrets', () => {
    const repo = makeRepo()
    dv(repo, 'config', '--local', 'remote.origin.secret_access_key', 'SUPERSECRET').ok()
    expect(readFileSync(join(repo, '.dv/config.local'), 'utf8')).toContain('secret_access_key = SUPERSECRET')
    expect(statSync(join(repo, '.dv/config.local')).mode & 0o077).toBe(0)
    expect(git(repo, 'check-ignore', '.dv/config.local').trim()).toBe('.dv/config.local')
    expect(git(repo, 'status', '--porcelain')).not.toContain('config.local')
    const list = dv(repo, 'config', '--list').ok().stdout
    expect(list).toContain('remote.origin.secret_access_key=***')
    expect(list).not.toContain('SUPERSECRET')
  })

  it('--global writes the user config, and the repository config wins over it', () => {
    const repo = makeRepo()
    const home = tempDir()
    const env = {XDG_CONFIG_HOME: join(home, 'cfg')}
    dvEnv(repo, env, 'config', '--global', 'core.link_type', 'symlink').ok()
    expect(existsSync(join(home, 'cfg/dv/config'))).toBe(true)
    expect(dvEnv(repo, env, 'config', 'core.link_type').ok().stdout).toBe('symlink\n')
    dvEnv(repo, env, 'config', 'core.link_type', 'copy').ok()
    expect(dvEnv(repo, env, 'config', 'core.link_type').ok().stdout).toBe('copy\n')
  })

  it('rejects unknown keys and bad values; a malformed config file is named with its line', () => {
    const repo = makeRepo()
    expect(dv(repo, 'config', 'core.nonsense', 'x').stderr).toMatch(/^ERROR: unknown config key "core\.nonsense"/)
    expect(dv(repo, 'config', 'core.no_scm', 'maybe').stderr).toMatch(/^ERROR: core\.no_scm: expected true or false/)
    writeFileSync(join(repo, '.dv/config'), '[core]\n\tlink_type = copy\ngarbage line here!\n')
    const r = dv(repo, 'status')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(`ERROR: ${repo}/.dv/config:3: cannot parse "garbage line here!"`)
  })
})

describe('errors and exit codes', () => {
  it('usage errors exit 2 with one line', () => {
    const repo = makeRepo()
    const unknownFlag = dv(repo, 'status', '--frobnicate')
    expect(unknownFlag.code).toBe(2)
    expect(unknownFlag.stderr.trim().split('\n')[0]).toMatch(/^ERROR: Nonexistent flag: --frobnicate/)
    const missingArg = dv(repo, 'add')
    expect(missingArg.code).toBe(2)
    expect(missingArg.stderr).toMatch(/^ERROR: Missing 1 required arg/)
    const noKey = dv(repo, 'config')
    expect(noKey.code).toBe(2)
  })

  it('failures exit 1 with one line and no stack; DV_DEBUG=1 shows the stack', () => {
    const repo = makeRepo()
    const r = dv(repo, 'add', 'missing.txt')
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('ERROR: missing.txt: no such file or directory\n')
    const debug = dvEnv(repo, {DV_DEBUG: '1'}, 'add', 'missing.txt')
    expect(debug.code).toBe(1)
    expect(debug.stderr).toMatch(/^ERROR: missing\.txt: no such file or directory\n.*PathNotFoundError/s)
    expect(debug.stderr).toMatch(/\n\s+at /)
  })

  it('-q prints nothing but errors', () => {
    const repo = makeRepo()
    writeFiles(repo, {'f.txt': 'x'})
    const r = dv(repo, 'add', '-q', 'f.txt').ok()
    expect(r.stdout).toBe('')
    expect(dv(repo, 'status', '-q').ok().stdout).toBe('')
  })

  it('a path that escapes the repository inside a pointer file is refused, not followed', () => {
    const repo = makeRepo()
    writeFiles(repo, {'evil.dv': `outs:\n- blake3: ${'a'.repeat(64)}\n  size: 1\n  hash: blake3\n  path: ../../etc/passwd\n`})
    const r = dv(repo, 'checkout', '--force')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe('ERROR: evil.dv: path "../../etc/passwd" escapes the repository or names a reserved directory')
  })
})
