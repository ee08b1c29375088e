import {spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync, closeSync} from 'node:fs'
import {join} from 'node:path'
import {list} from 'tar'
import {describe, expect, it} from 'vitest'

import {BIN, dv, git, makeRepo, pseudoRandom, remoteContents, remoteObjectIds, tempDir, testEnv, writeFiles} from '../helpers.js'

const countObjects = (objects: string) =>
  existsSync(objects) ? readdirSync(objects).reduce((n, fan) => n + readdirSync(join(objects, fan)).length, 0) : 0
const countRemote = (remote: string) => remoteObjectIds(remote).size

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
    // Small objects travel in packs: one for the files, then one for the trees that name them.
    const {loose, packs} = remoteContents(remote)
    expect(loose).toEqual([])
    expect(packs.map((p) => p.entries.length).sort()).toEqual([2, 4])
    expect(countRemote(remote)).toBe(6)
    // A pack is a plain tar whose entries unpack into a cache's objects/ layout.
    const names: string[] = []
    for (const p of packs) list({file: join(remote, 'packs', `${p.id}.tar`), sync: true, onReadEntry: (e) => names.push(e.path)})
    expect(names.sort()).toEqual([...remoteObjectIds(remote)].map((o) => `${o.slice(0, 2)}/${o.slice(2)}`).sort())
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
    expect(countRemote(remote)).toBe(6) // the workspace's version only
    dv(repo, 'push', '--all-commits').ok()
    expect(countRemote(remote)).toBe(8) // + v1's root tree and a.txt
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

  it('only objects complete on the remote are used, and corrupted ones are refused and discarded', () => {
    const {repo, remote} = pushed()
    writeFiles(repo, {'big.bin': pseudoRandom(3 * 1024 * 1024, 11)}) // large: travels alone
    dv(repo, 'add', 'big.bin').ok()
    git(repo, 'add', '-A')
    git(repo, 'commit', '-q', '-m', 'big')
    dv(repo, 'push').ok()
    // Leftovers of a killed push are not objects: a half-written upload, a pack without its index.
    mkdirSync(join(remote, 'tmp'), {recursive: true})
    writeFileSync(join(remote, 'tmp', 'partial'), 'half')
    writeFileSync(join(remote, 'packs', `${'e'.repeat(64)}.tar`), 'no index: not a pack yet')
    const oidOf = (pointer: string) => /blake3: ([0-9a-f]{64})/.exec(readFileSync(join(repo, pointer), 'utf8'))![1]
    // Tamper with model.bin inside its pack, and with big.bin on its own.
    const small = oidOf('model.bin.dv')
    const pack = remoteContents(remote).packs.find((p) => p.entries.some((e) => e.oid === small))!
    const entry = pack.entries.find((e) => e.oid === small)!
    const tarPath = join(remote, 'packs', `${pack.id}.tar`)
    chmodSync(tarPath, 0o644)
    const fd = openSync(tarPath, 'r+')
    writeSync(fd, Buffer.from('W'), 0, 1, entry.offset)
    closeSync(fd)
    const big = oidOf('big.bin.dv')
    const obj = join(remote, 'objects', big.slice(0, 2), big.slice(2))
    chmodSync(obj, 0o644)
    writeFileSync(obj, pseudoRandom(3 * 1024 * 1024, 12))

    const clone = join(tempDir(), 'clone')
    git(tempDir(), 'clone', '-q', repo, clone)
    for (const [target, oid] of [['model.bin', small], ['big.bin', big]]) {
      const r = dv(clone, 'fetch', target)
      expect(r.code).toBe(1)
      expect(r.stderr.trim()).toMatch(new RegExp(`^ERROR: object ${oid} in remote .* is corrupt: its content hashes to [0-9a-f]{64}$`))
      expect(countObjects(join(clone, '.dv/cache/objects'))).toBe(0)
    }
    dv(clone, 'fetch', 'data').ok()
    expect(countObjects(join(clone, '.dv/cache/objects'))).toBe(5)
  })

  it('a push or pull killed with SIGKILL leaves only complete objects, and running it again finishes the job', async () => {
    const repo = makeRepo()
    const remote = join(tempDir(), 'remote')
    const files: Record<string, Buffer> = {}
    for (let i = 0; i < 1500; i++) files[`data/d${i % 30}/f${i}.bin`] = pseudoRandom(4096, i + 1)
    writeFiles(repo, files)
    dv(repo, 'add', 'data').ok()
    dv(repo, 'remote', 'add', '-d', 'store', remote).ok()
    dv(repo, 'remote', 'modify', 'store', 'pack_size', '16K').ok() // ~3 files a pack: ~500 packs, so the kill lands mid-push
    git(repo, 'add', '-A')
    git(repo, 'commit', '-q', '-m', 'data')
    const child = spawn(process.execPath, [BIN, 'push', '-j', '1'], {cwd: repo, env: testEnv(join(tempDir(), 'home')), stdio: 'ignore'})
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
    const indexes = () => (existsSync(join(remote, 'packs')) ? readdirSync(join(remote, 'packs')).filter((n) => n.endsWith('.idx')).length : 0)
    while (indexes() < 20 && child.exitCode === null) await new Promise((r) => setTimeout(r, 5))
    child.kill('SIGKILL')
    expect(await exited).toBe('SIGKILL')
    // Whatever is visible is complete: every index has its tar, and every object in it is whole.
    const before = remoteContents(remote)
    expect(before.packs.length).toBeGreaterThanOrEqual(20)
    for (const p of before.packs) expect(existsSync(join(remote, 'packs', `${p.id}.tar`))).toBe(true)
    const done = remoteObjectIds(remote).size
    expect(done).toBeLessThan(1500 + 31)
    const again = dv(repo, 'push', '--json').ok().json<{transferred: number; skipped: number}>()
    expect(again).toEqual({remote: 'store', transferred: 1500 + 31 - done, skipped: done})
    // A pull killed part-way leaves only whole objects in the cache, and no tree without its
    // files; run again, it fetches only the rest.
    const clone = join(tempDir(), 'clone')
    git(tempDir(), 'clone', '-q', repo, clone)
    const objects = join(clone, '.dv/cache/objects')
    const puller = spawn(process.execPath, [BIN, 'pull', '-j', '1'], {cwd: clone, env: testEnv(join(tempDir(), 'home')), stdio: 'ignore'})
    const pulled = new Promise<NodeJS.Signals | null>((resolve) => puller.once('exit', (_code, signal) => resolve(signal)))
    while (countObjects(objects) < 300 && puller.exitCode === null) await new Promise((r) => setTimeout(r, 5))
    puller.kill('SIGKILL')
    expect(await pulled).toBe('SIGKILL')
    const have = countObjects(objects)
    expect(have).toBeLessThan(1500 + 31)
    expect(dv(clone, 'status', '-c', '--json').ok().json()).toEqual({'data.dv': [{path: 'data', state: 'not fetched'}]})
    expect(dv(clone, 'pull', '--json').ok().json()).toMatchObject({transferred: 1500 + 31 - have})
    for (const [rel, bytes] of Object.entries(files).filter((_, i) => i % 97 === 0)) expect(readFileSync(join(clone, rel)).equals(bytes)).toBe(true)
    expect(dv(clone, 'status', '--json').ok().json()).toEqual({})
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
