/**
 * S3 remotes against a real S3-compatible server (s3rver) that this file starts on 127.0.0.1.
 */
import {spawn} from 'node:child_process'
import {chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {BIN, dv, dvEnv, git, makeRepo, pseudoRandom, remoteContents, remoteObjectIds, tempDir, testEnv, writeFiles} from '../helpers.js'
import {startS3Server, type S3Server} from '../s3-control.js'

const STORED = '._S3rver_object' // what s3rver appends to a key's file name
let server: S3Server

beforeAll(async () => {
  server = await startS3Server()
})

afterAll(async () => {
  await server.stop()
})

function s3Repo(prefix: string, files: Record<string, string | Buffer>, options: {key?: string; endpoint?: string} = {}) {
  const repo = makeRepo()
  writeFiles(repo, files)
  dv(repo, 'add', ...new Set(Object.keys(files).map((f) => f.split('/')[0]))).ok()
  dv(repo, 'remote', 'add', '-d', 's3', `s3://dv-test/${prefix}`).ok()
  dv(repo, 'remote', 'modify', 's3', 'endpointurl', options.endpoint ?? server.endpoint).ok()
  dv(repo, 'remote', 'modify', '--local', 's3', 'access_key_id', options.key ?? 'S3RVER').ok()
  dv(repo, 'remote', 'modify', '--local', 's3', 'secret_access_key', 'S3RVER').ok()
  git(repo, 'add', '-A')
  git(repo, 'commit', '-q', '-m', 'data')
  return repo
}

/** A git clone of `repo` with the S3 credentials set (they are local to each clone, never committed). */
function cloneOf(repo: string): string {
  const clone = join(tempDir(), 'clone')
  git(tempDir(), 'clone', '-q', repo, clone)
  dv(clone, 'remote', 'modify', '--local', 's3', 'access_key_id', 'S3RVER').ok()
  dv(clone, 'remote', 'modify', '--local', 's3', 'secret_access_key', 'S3RVER').ok()
  return clone
}

/** 1,500 files of 4 KiB in 30 folders, and the remote cut into packs of ~8 files. */
function manyFiles(): Record<string, Buffer> {
  const files: Record<string, Buffer> = {}
  for (let i = 0; i < 1500; i++) files[`data/d${i % 30}/f${i}.bin`] = pseudoRandom(4096, i + 1)
  return files
}
const MANY_OBJECTS = 1500 + 31 // files, 30 folder trees and the root tree

describe('S3 remotes (s3rver on 127.0.0.1)', () => {
  it('push, then a fresh clone pulls the same bytes; nothing moves twice; a no-op push is two listings', async () => {
    const model = pseudoRandom(20 * 1024 * 1024, 7)
    const repo = s3Repo('team/datasets', {'data/a.txt': 'a\n', 'data/sub/b.txt': 'b\n', 'model.bin': model})
    expect(dv(repo, 'push', '--json').ok().json()).toEqual({remote: 's3', transferred: 5, skipped: 0})
    // model.bin went alone (multipart); the small files and the trees in two packs.
    const stored = remoteContents(join(server.dir, 'dv-test', 'team/datasets'), STORED)
    expect(stored.loose).toHaveLength(1)
    expect(stored.packs).toHaveLength(2)
    const before = await server.requests()
    expect(dv(repo, 'push', '--json').ok().json()).toEqual({remote: 's3', transferred: 0, skipped: 5})
    expect((await server.requests()) - before).toBe(2)
    expect(dv(repo, 'status', '-c', '--json').ok().json()).toEqual({})
    const clone = cloneOf(repo)
    expect(dv(clone, 'pull').ok().stdout).toContain('5 objects fetched')
    expect(readFileSync(join(clone, 'model.bin')).equals(model)).toBe(true)
    expect(readFileSync(join(clone, 'data/sub/b.txt'), 'utf8')).toBe('b\n')
    expect(dv(clone, 'status', '--json').ok().json()).toEqual({})
  })

  it('after one file changes, a pull reads only that file: a few requests, no whole packs', async () => {
    const files = manyFiles()
    const repo = s3Repo('one-file', files)
    dv(repo, 'remote', 'modify', 's3', 'pack_size', '1M').ok()
    dv(repo, 'push').ok()
    const clone = cloneOf(repo)
    dv(clone, 'pull').ok()
    writeFiles(repo, {'data/d7/f7.bin': 'changed\n'})
    dv(repo, 'commit', '-m', 'one file changed').ok()
    git(repo, 'commit', '-q', '-am', 'v2')
    dv(repo, 'push').ok()
    git(clone, 'pull', '-q')
    const before = await server.requests()
    // Fetched: the file, its folder's tree, the root tree. Already here: the 29 other folders
    // (a complete folder counts once) and the 49 other files of d7.
    expect(dv(clone, 'pull', '--json').ok().json()).toMatchObject({transferred: 3, skipped: 29 + 49})
    // Two listings, the two new pack indexes, then one ranged GET each: root tree, folder tree, file.
    expect((await server.requests()) - before).toBe(7)
    expect(readFileSync(join(clone, 'data/d7/f7.bin'), 'utf8')).toBe('changed\n')
  })

  it('a push killed with SIGKILL, then a server stopped mid-push: each run again finishes, nothing is lost', async () => {
    const dataDir = join(tempDir(), 's3data')
    mkdirSync(dataDir)
    let own = await startS3Server({dir: dataDir})
    const files = manyFiles()
    const repo = s3Repo('resume', files, {endpoint: own.endpoint})
    dv(repo, 'remote', 'modify', 's3', 'pack_size', '8K').ok() // 2 files a pack: ~750 packs, so each interruption lands mid-push even on a slow machine
    const stored = join(dataDir, 'dv-test', 'resume')
    const indexes = () => (existsSync(join(stored, 'packs')) ? readdirSync(join(stored, 'packs')).filter((n) => n.endsWith(`.idx${STORED}`)).length : 0)
    const pushUntil = async (packs: number, stop: () => Promise<void>) => {
      const child = spawn(process.execPath, [BIN, 'push', '-j', '1'], {cwd: repo, env: testEnv(join(tempDir(), 'home')), stdio: ['ignore', 'ignore', 'pipe']})
      let stderr = ''
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
      const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => child.once('exit', (code, signal) => resolve({code, signal})))
      while (indexes() < packs && child.exitCode === null) await new Promise((r) => setTimeout(r, 5))
      await stop.call(child)
      return {...(await exited), stderr: () => stderr, child}
    }
    // 1. kill -9 part-way.
    let child: ReturnType<typeof spawn> | undefined
    const killed = await pushUntil(10, async function (this: ReturnType<typeof spawn>) {
      child = this
      child.kill('SIGKILL')
    })
    expect(killed.signal).toBe('SIGKILL')
    const afterKill = remoteObjectIds(stored, STORED).size
    expect(afterKill).toBeGreaterThan(0)
    expect(afterKill).toBeLessThan(MANY_OBJECTS)
    // 2. The server dies part-way through the next run: one clear line, exit code 1. (A graceful
    // stop would let the push finish over its open keep-alive connection.)
    const dropped = await pushUntil(indexes() + 10, () => own.kill())
    expect(dropped.code).toBe(1)
    expect(dropped.stderr().trim()).toMatch(/^ERROR: s3:\/\/dv-test\/resume: cannot reach the endpoint \(E[A-Z]+\)$/)
    const afterDrop = remoteObjectIds(stored, STORED).size
    expect(afterDrop).toBeGreaterThan(afterKill)
    // 3. Back up on the same port: the push finishes, sending only what is missing.
    own = await startS3Server({dir: dataDir, port: own.port})
    try {
      expect(dv(repo, 'push', '--json').ok().json()).toEqual({remote: 's3', transferred: MANY_OBJECTS - afterDrop, skipped: afterDrop})
      const clone = cloneOf(repo)
      dv(clone, 'pull').ok()
      for (const [rel, bytes] of Object.entries(files).filter((_, i) => i % 89 === 0)) expect(readFileSync(join(clone, rel)).equals(bytes)).toBe(true)
      expect(dv(clone, 'status', '--json').ok().json()).toEqual({})
    } finally {
      await own.stop()
    }
  })

  it('a corrupted object on the remote is detected on pull, and nothing of it is kept', () => {
    const repo = s3Repo('corrupt', {'data/a.txt': 'alpha\n', 'data/b.txt': 'beta\n'})
    dv(repo, 'push').ok()
    const oid = /blake3: ([0-9a-f]{64})/.exec(readFileSync(join(repo, 'data.dv'), 'utf8'))![1]
    const stored = join(server.dir, 'dv-test', 'corrupt')
    // Flip the first byte of every packed object (trees included) in the stored tars.
    for (const pack of remoteContents(stored, STORED).packs) {
      const tar = join(stored, 'packs', `${pack.id}.tar${STORED}`)
      chmodSync(tar, 0o644)
      const fd = openSync(tar, 'r+')
      for (const e of pack.entries) writeSync(fd, Buffer.from('#'), 0, 1, e.offset)
      closeSync(fd)
    }
    const clone = cloneOf(repo)
    const r = dv(clone, 'pull')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(new RegExp(`^ERROR: object ${oid} in remote s3://dv-test/corrupt is corrupt: its content hashes to [0-9a-f]{64}$`))
    expect(existsSync(join(clone, 'data'))).toBe(false)
    expect(readdirSync(join(clone, '.dv/cache/objects')).flatMap((f) => readdirSync(join(clone, '.dv/cache/objects', f)))).toEqual([])
  })

  it('wrong credentials, a missing bucket and an unreachable endpoint each give one clear line', () => {
    const repo = s3Repo('errors', {'data/a.txt': 'a\n'}, {key: 'NOT-A-KEY'})
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
    expect(dv(repo, 'remote', 'modify', 's3', 'request_checksum_calculation', 'sometimes').stderr.trim()).toBe('ERROR: remote.s3.request_checksum_calculation: expected when_supported or when_required, got "sometimes"')
  })

  it('a secret key never shows: not in output or errors (even with DV_DEBUG), logs, or anything git tracks', () => {
    const secret = 'TopSecret-9f8e7d6c5b4a'
    // s3rver checks the key id, not the signature: a wrong key id makes the push fail.
    const repo = s3Repo('secrets', {'data/a.txt': 'a\n'}, {key: 'NOT-A-KEY'})
    dv(repo, 'remote', 'modify', '--local', 's3', 'secret_access_key', secret).ok()
    writeFiles(repo, {'dv.yaml': 'stages:\n  s:\n    cmd: echo running\n'})
    dv(repo, 'repro').ok()
    const runs = [dv(repo, 'push'), dvEnv(repo, {DV_DEBUG: '1'}, 'push'), dv(repo, 'fetch'), dv(repo, 'status', '-c'), dv(repo, 'config', '--list'), dv(repo, 'remote', 'list'), dv(repo, 'fsck', '--remote', 's3')]
    expect(runs[0].code).toBe(1)
    expect(runs[0].stderr).toMatch(/^ERROR: s3:\/\/dv-test\/secrets: access denied/)
    expect(runs[4].stdout).toContain('remote.s3.secret_access_key=***')
    for (const r of runs) expect(`${r.stdout}${r.stderr}`).not.toContain(secret)
    git(repo, 'add', '-A')
    git(repo, 'commit', '-qm', 'after')
    expect(git(repo, 'log', '-p', '--all')).not.toContain(secret)
    // Only the local config file, never committed, holds it.
    const holders: string[] = []
    const walk = (dir: string) => {
      for (const name of readdirSync(dir, {withFileTypes: true})) {
        const p = join(dir, name.name)
        if (name.isDirectory()) walk(p)
        else if (name.isFile() && readFileSync(p).includes(secret)) holders.push(p.slice(repo.length + 1))
      }
    }
    walk(repo)
    expect(holders).toEqual(['.dv/config.local'])
  })
})
