import {readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {dv, git, makeRepo} from '../helpers.js'

describe('dv remote (configuration)', () => {
  it('adds, lists, modifies, defaults and removes remotes in git-style config', () => {
    const repo = makeRepo()
    expect(dv(repo, 'remote', 'add', '-d', 'storage', 's3://my-bucket/datasets').ok().stdout).toBe('added remote storage → s3://my-bucket/datasets (default)\n')
    dv(repo, 'remote', 'add', 'nas', '/mnt/nas/dv').ok()
    dv(repo, 'remote', 'modify', 'storage', 'endpointurl', 'http://127.0.0.1:9000').ok()
    dv(repo, 'remote', 'modify', 'storage', 'region', 'eu-west-1').ok()
    expect(readFileSync(join(repo, '.dv/config'), 'utf8')).toBe(
      '[remote "storage"]\n\turl = s3://my-bucket/datasets\n\tendpointurl = http://127.0.0.1:9000\n\tregion = eu-west-1\n[core]\n\tremote = storage\n[remote "nas"]\n\turl = /mnt/nas/dv\n',
    )
    expect(dv(repo, 'remote', 'list').ok().stdout).toBe('nas\t/mnt/nas/dv\nstorage\ts3://my-bucket/datasets\t(default)\tendpointurl=http://127.0.0.1:9000 region=eu-west-1\n')
    expect(dv(repo, 'remote', 'default').ok().stdout).toBe('storage\n')
    dv(repo, 'remote', 'default', 'nas').ok()
    expect(dv(repo, 'remote', 'default').ok().stdout).toBe('nas\n')
    dv(repo, 'remote', 'modify', 'storage', 'region', '--unset').ok()
    dv(repo, 'remote', 'remove', 'nas').ok()
    expect(dv(repo, 'remote', 'list', '--json').ok().json()).toEqual([{name: 'storage', url: 's3://my-bucket/datasets', isDefault: false, options: {endpointurl: 'http://127.0.0.1:9000'}}])
    const noDefault = dv(repo, 'remote', 'default')
    expect(noDefault.code).toBe(1)
    expect(noDefault.stdout).toBe('')
  })

  it('keeps credentials out of the committed config and out of output', () => {
    const repo = makeRepo()
    dv(repo, 'remote', 'add', 'storage', 's3://bucket-one').ok()
    const r = dv(repo, 'remote', 'modify', 'storage', 'secret_access_key', 'TOPSECRET')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe('ERROR: remote.storage.secret_access_key is a secret: it goes in .dv/config.local (use --local) or the environment, never in the committed .dv/config')
    dv(repo, 'remote', 'modify', '--local', 'storage', 'access_key_id', 'AKIAEXAMPLE').ok()
    dv(repo, 'remote', 'modify', '--local', 'storage', 'secret_access_key', 'TOPSECRET').ok()
    expect(readFileSync(join(repo, '.dv/config'), 'utf8')).not.toContain('TOPSECRET')
    expect(statSync(join(repo, '.dv/config.local')).mode & 0o077).toBe(0)
    expect(git(repo, 'check-ignore', '.dv/config.local').trim()).toBe('.dv/config.local')
    for (const args of [['remote', 'list'], ['remote', 'list', '--json'], ['config', '--list']]) {
      const out = dv(repo, ...args).ok().stdout
      expect(out, args.join(' ')).not.toContain('TOPSECRET')
      expect(out, args.join(' ')).not.toContain('AKIAEXAMPLE')
    }
  })

  it('rejects bad names, URLs, options, duplicates and unknown remotes with one line each', () => {
    const repo = makeRepo()
    dv(repo, 'remote', 'add', 'storage', '/tmp/x').ok()
    const cases: Array<[string[], string]> = [
      [['remote', 'add', 'storage', '/tmp/y'], 'ERROR: remote "storage" already exists (use --force to replace it, or \'dv remote modify\')'],
      [['remote', 'add', 'bad name', '/tmp/y'], 'ERROR: "bad name" is not a valid remote name (letters, digits, . _ -)'],
      [['remote', 'add', 'web', 'https://example.com/data'], 'ERROR: https://example.com/data: unsupported remote URL (use a directory path or s3://bucket/prefix)'],
      [['remote', 'add', 's3', 's3://Bad_Bucket/x'], 'ERROR: s3://Bad_Bucket/x: "Bad_Bucket" is not a valid S3 bucket name'],
      [['remote', 'modify', 'storage', 'colour', 'blue'], 'ERROR: unknown remote option "colour" (known: url, endpointurl, region, profile, access_key_id, secret_access_key, session_token, request_checksum_calculation, response_checksum_validation, pack_size)'],
      [['remote', 'modify', 'nope', 'region', 'x'], 'ERROR: no remote named "nope" (see \'dv remote list\')'],
      [['remote', 'remove', 'nope'], 'ERROR: no remote named "nope" (see \'dv remote list\')'],
      [['remote', 'default', 'nope'], 'ERROR: no remote named "nope" (see \'dv remote list\')'],
    ]
    for (const [args, message] of cases) {
      const r = dv(repo, ...args)
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr.trim(), args.join(' ')).toBe(message)
    }
    expect(dv(repo, 'remote', 'add', '--force', 'storage', 's3://ok-bucket').ok().stdout).toContain('s3://ok-bucket')
  })
})
