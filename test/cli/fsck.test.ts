/**
 * dv fsck on a real repository and a real directory remote: corrupt and missing objects in the
 * cache found and named by the paths that need them, repaired from the remote; corrupt objects,
 * packed and loose, and a damaged pack index found on the remote.
 */
import {chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {dv, git, makeRepo, pseudoRandom, remoteContents, tempDir, writeFiles} from '../helpers.js'

function objectPath(repo: string, oid: string): string {
  return join(repo, '.dv/cache/objects', oid.slice(0, 2), oid.slice(2))
}

/** Overwrites a read-only file's bytes in place. */
function damage(file: string, at = 0): void {
  chmodSync(file, 0o644)
  const bytes = readFileSync(file)
  bytes[at] ^= 0xff
  writeFileSync(file, bytes)
}

/** A repository with a directory of small files and one large file, pushed to a directory remote. */
function pushed(): {repo: string; remote: string; small: string; large: string} {
  const repo = makeRepo()
  const remote = join(tempDir(), 'remote')
  writeFiles(repo, {'data/a.csv': 'a,b\n1,2\n', 'data/sub/b.csv': 'b\n', 'model.bin': pseudoRandom(2 * 1024 * 1024, 3)})
  dv(repo, 'add', 'data', 'model.bin').ok()
  git(repo, 'add', '-A')
  git(repo, 'commit', '-qm', 'data')
  dv(repo, 'remote', 'add', '-d', 'store', remote).ok()
  dv(repo, 'push').ok()
  const oidOf = (pointer: string) => /blake3: ([0-9a-f]{64})/.exec(readFileSync(join(repo, pointer), 'utf8'))![1]
  const small = readdirSync(join(repo, '.dv/cache/objects')).flatMap((fan) => readdirSync(join(repo, '.dv/cache/objects', fan)).map((r) => fan + r)).find((oid) => readFileSync(objectPath(repo, oid), 'utf8') === 'b\n')!
  return {repo, remote, small, large: oidOf('model.bin.dv')}
}

describe('dv fsck', () => {
  it('finds corrupt and missing objects in the cache, naming the paths, and --repair fetches good copies', () => {
    const {repo, small, large} = pushed()
    const clean = dv(repo, 'fsck').ok()
    expect(clean.stdout).toMatch(/^Checked 5 objects \(2\.\d+ MiB\) in the cache\.\nNo problems found\.\n$/)

    damage(objectPath(repo, large), 100)
    chmodSync(objectPath(repo, small), 0o644)
    writeFileSync(objectPath(repo, small), '') // truncated, as a crash of another tool might leave it
    const broken = dv(repo, 'fsck')
    expect(broken.code).toBe(1)
    expect(broken.stdout.split('\n').slice(1)).toEqual([`corrupt  ${small}  data/sub/b.csv`, `corrupt  ${large}  model.bin`, '2 problems. Run dv fsck --repair to fetch good copies from the remote.', ''])
    const json = dv(repo, 'fsck', '--json').json<{problems: unknown[]}>()
    expect(json.problems).toEqual([
      {oid: small, problem: 'corrupt', paths: ['data/sub/b.csv']},
      {oid: large, problem: 'corrupt', paths: ['model.bin']},
    ])

    const repaired = dv(repo, 'fsck', '--repair')
    expect(repaired.code).toBe(0)
    expect(repaired.stdout).toContain(`Repaired 2 objects from the remote; corrupt ones were moved to ${join(repo, '.dv/cache/corrupt')}.`)
    expect(readdirSync(join(repo, '.dv/cache/corrupt')).sort()).toEqual([small, large].sort())
    expect(dv(repo, 'fsck').ok().stdout).toMatch(/No problems found/)

    // A missing object (deleted by hand) is reported with its path and fetched back too.
    chmodSync(objectPath(repo, small), 0o644)
    writeFileSync(objectPath(repo, small), 'b\n')
    rmSync(objectPath(repo, small))
    expect(dv(repo, 'fsck').stdout).toContain(`missing  ${small}  data/sub/b.csv`)
    dv(repo, 'fsck', '--repair').ok()
    rmSync(join(repo, 'data'), {recursive: true})
    dv(repo, 'checkout').ok()
    expect(readFileSync(join(repo, 'data/sub/b.csv'), 'utf8')).toBe('b\n')
  })

  it('checks every object on a remote: corrupt loose and packed objects, a damaged pack index', () => {
    const {repo, remote, small, large} = pushed()
    expect(dv(repo, 'fsck', '--remote', 'store').ok().stdout).toMatch(/^Checked 5 objects \(2\.\d+ MiB\) in the remote store\.\nNo problems found\.\n$/)
    const {loose, packs} = remoteContents(remote)
    expect(loose).toEqual([large])
    // Files and trees travel in separate packs: take the one holding the small file.
    const pack = packs.find((p) => p.entries.some((e) => e.oid === small))!
    const entry = pack.entries.find((e) => e.oid === small)!
    damage(join(remote, 'objects', large.slice(0, 2), large.slice(2)), 7)
    damage(join(remote, 'packs', `${pack.id}.tar`), entry.offset)
    const bad = dv(repo, 'fsck', '--remote', 'store')
    expect(bad.code).toBe(1)
    expect(bad.stdout.split('\n').slice(1)).toEqual([`corrupt  ${small}  data/sub/b.csv`, `corrupt  ${large}  model.bin`, '2 problems.', ''])
    // The local cache is untouched by a remote check.
    expect(dv(repo, 'fsck').ok().stdout).toMatch(/No problems found/)

    // An index that does not match its name: the pack counts as absent, and says so.
    damage(join(remote, 'packs', `${pack.id}.idx`), 20)
    const rmIndexCache = join(repo, '.dv/cache/remote-index')
    if (existsSync(rmIndexCache)) for (const f of readdirSync(rmIndexCache)) rmSync(join(rmIndexCache, f))
    const damaged = dv(repo, 'fsck', '--remote', 'store', '--json')
    expect(damaged.code).toBe(1)
    const r = damaged.json<{damagedPacks: string[]; problems: Array<{problem: string; paths: string[]}>}>()
    expect(r.damagedPacks).toEqual([pack.id])
    const lost = pack.entries.map((e) => e.oid)
    expect(r.problems.filter((p) => p.problem === 'missing').map((p) => (p as unknown as {oid: string}).oid).sort()).toEqual(lost.sort())
    expect(r.problems.filter((p) => p.problem === 'missing').flatMap((p) => p.paths).sort()).toEqual(['data/a.csv', 'data/sub/b.csv'])
    expect(r.problems.filter((p) => p.problem === 'corrupt').flatMap((p) => p.paths)).toEqual(['model.bin'])
  })

  it('--repair without a remote says so and changes nothing', () => {
    const repo = makeRepo()
    writeFiles(repo, {'x.txt': 'x\n'})
    dv(repo, 'add', 'x.txt').ok()
    const oid = /blake3: ([0-9a-f]{64})/.exec(readFileSync(join(repo, 'x.txt.dv'), 'utf8'))![1]
    damage(objectPath(repo, oid))
    const r = dv(repo, 'fsck', '--repair')
    expect(r.code).toBe(1)
    expect(r.stderr).toBe("ERROR: no remote given and no default remote (set one with 'dv remote add -d <name> <url>')\n")
    expect(existsSync(objectPath(repo, oid))).toBe(true)
  })
})
