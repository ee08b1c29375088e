/**
 * S3 remotes against a real S3-compatible server (s3rver) that this file starts on 127.0.0.1.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {dv, git, makeRepo, PROJECT, tempDir, writeFiles} from '../helpers.js'

let server: ChildProcess
let endpoint: string

beforeAll(async () => {
  server = spawn(process.execPath, [join(PROJECT, 'test', 's3-server.mjs')], {stdio: ['pipe', 'pipe', 'inherit']})
  const port = await new Promise<string>((resolve, reject) => {
    server.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()))
    server.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)))
  })
  endpoint = `http://127.0.0.1:${port}`
})

afterAll(async () => {
  server.stdin!.end()
  await new Promise((r) => server.once('exit', r))
})

function s3Repo(prefix: string, key = 'S3RVER') {
  const repo = makeRepo()
  writeFiles(repo, {'data/a.txt': 'a\n', 'data/sub/b.txt': 'b\n', 'model.bin': Buffer.alloc(20 * 1024 * 1024, 7)})
  dv(repo, 'add', 'data', 'model.bin').ok()
  dv(repo, 'remote', 'add', '-d', 's3', `s3://dv-test/${prefix}`).ok()
  dv(repo, 'remote', 'modify', 's3', 'endpointurl', endpoint).ok()
  dv(repo, 'remote', 'modify', '--local', 's3', 'access_key_id', key).ok()
  dv(repo, 'remote', 'modify', '--local', 's3', 'secret_access_key', 'S3RVER').ok()
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'data')
  return repo
}

describe('S3 remotes (s3rver on 127.0.0.1)', () => {
  it('push, then a fresh clone pulls the same bytes; nothing moves twice', () => {
    const repo = s3Repo('team/datasets')
    expect(dv(repo, 'push', '--json').ok().json()).toEqual({remote: 's3', transferred: 5, skipped: 0})
    expect(dv(repo, 'push', '--json').ok().json()).toEqual({remote: 's3', transferred: 0, skipped: 5})
    expect(dv(repo, 'status', '-c', '--json').ok().json()).toEqual({})
    const clone = join(tempDir(), 'clone')
    git(tempDir(), 'clone', '-q', repo, clone)
    // Credentials are local to each clone, never committed.
    dv(clone, 'remote', 'modify', '--local', 's3', 'access_key_id', 'S3RVER').ok()
    dv(clone, 'remote', 'modify', '--local', 's3', 'secret_access_key', 'S3RVER').ok()
    expect(dv(clone, 'pull').ok().stdout).toContain('5 objects fetched')
    expect(readFileSync(join(clone, 'model.bin')).equals(Buffer.alloc(20 * 1024 * 1024, 7))).toBe(true)
    expect(readFileSync(join(clone, 'data/sub/b.txt'), 'utf8')).toBe('b\n')
    expect(dv(clone, 'status', '--json').ok().json()).toEqual({})
  })

  it('wrong credentials, a missing bucket and an unreachable endpoint each give one clear line', () => {
    const repo = s3Repo('errors', 'NOT-A-KEY')
    const creds = dv(repo, 'push')
    expect(creds.code).toBe(1)
    expect(creds.stderr.trim()).toMatch(/^ERROR: s3:\/\/dv-test\/errors: access denied \(.+\): check the remote's credentials$/)
    dv(repo, 'remote', 'modify', '--local', 's3', 'access_key_id', 'S3RVER').ok()
    dv(repo, 'remote', 'modify', 's3', 'url', 's3://no-such-bucket/x').ok()
    expect(dv(repo, 'push').stderr.trim()).toBe('ERROR: s3://no-such-bucket/x: the bucket does not exist')
    dv(repo, 'remote', 'modify', 's3', 'url', 's3://dv-test/errors').ok()
    dv(repo, 'remote', 'modify', 's3', 'endpointurl', 'http://127.0.0.1:9').ok()
    const down = dv(repo, 'push')
    expect(down.code).toBe(1)
    expect(down.stderr.trim()).toBe('ERROR: s3://dv-test/errors: cannot reach the endpoint (ECONNREFUSED)')
  })
})
