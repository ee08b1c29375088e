import {chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {dv, makeRepo, writeFiles} from '../helpers.js'

function datasetRepo() {
  const repo = makeRepo()
  const files: Record<string, string> = {}
  for (let i = 0; i < 60; i++) files[`data/part${i % 3}/f${i}.txt`] = `row ${i}\n`.repeat(i + 1)
  files['model.bin'] = 'weights v1'
  writeFiles(repo, files)
  dv(repo, 'add', 'data', 'model.bin').ok()
  return repo
}

describe('dv status', () => {
  it('prints {} with --json when everything is up to date', () => {
    const repo = datasetRepo()
    expect(dv(repo, 'status', '--json').ok().stdout.trim()).toBe('{}')
    expect(dv(repo, 'status').ok().stdout).toContain('up to date')
  })

  it('reports modified, deleted and new files, keyed by pointer file like dvc status --json', () => {
    const repo = datasetRepo()
    writeFileSync(join(repo, 'data/part0/f0.txt'), 'changed\n')
    rmSync(join(repo, 'data/part1/f1.txt'))
    writeFileSync(join(repo, 'data/part2/new.txt'), 'new\n')
    rmSync(join(repo, 'model.bin'))
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({
      'data.dv': [
        {'changed outs': {data: 'modified'}},
        {'changed files': {'data/part0/f0.txt': 'modified', 'data/part1/f1.txt': 'deleted', 'data/part2/new.txt': 'added'}},
      ],
      'model.bin.dv': [{'changed outs': {'model.bin': 'deleted'}}],
    })
    const human = dv(repo, 'status').ok().stdout
    expect(human).toMatch(/data\.dv:\n\tchanged outs:\n\t\tmodified\s+data\n\tchanged files:\n\t\tmodified\s+data\/part0\/f0\.txt/)
  })

  it('sees a same-size rewrite made right after add (same timestamp tick)', () => {
    const repo = makeRepo()
    writeFiles(repo, {'f.txt': 'aaaa'})
    dv(repo, 'add', 'f.txt').ok()
    writeFileSync(join(repo, 'f.txt'), 'bbbb')
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({'f.txt.dv': [{'changed outs': {'f.txt': 'modified'}}]})
  })

  it('narrows to targets, including paths inside a tracked directory', () => {
    const repo = datasetRepo()
    writeFileSync(join(repo, 'data/part0/f0.txt'), 'changed\n')
    rmSync(join(repo, 'model.bin'))
    expect(Object.keys(dv(repo, 'status', 'model.bin', '--json').ok().json() as object)).toEqual(['model.bin.dv'])
    expect(dv(repo, 'status', 'data/part1', '--json').ok().json()).toEqual({})
    expect(dv(repo, 'status', 'data/part0', '--json').ok().json()).toEqual({
      'data.dv': [{'changed outs': {data: 'modified'}}, {'changed files': {'data/part0/f0.txt': 'modified'}}],
    })
  })

  it('ignores temp files left by an interrupted dv write', () => {
    const repo = datasetRepo()
    writeFileSync(join(repo, 'data/part0/.f0.txt.1a2b3c4d5e6f.dv-tmp'), 'half written')
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
  })

  it('reports outputs whose content is not in the cache', () => {
    const repo = datasetRepo()
    rmSync(join(repo, '.dv/cache'), {recursive: true, force: true})
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({
      'data.dv': [{'changed outs': {data: 'not in cache'}}],
      'model.bin.dv': [{'changed outs': {'model.bin': 'not in cache'}}],
    })
  })
})

describe('dv checkout', () => {
  it('restores deleted data from the cache', () => {
    const repo = datasetRepo()
    const before = readFileSync(join(repo, 'data/part2/f59.txt'), 'utf8')
    rmSync(join(repo, 'data'), {recursive: true})
    rmSync(join(repo, 'model.bin'))
    const r = dv(repo, 'checkout').ok()
    expect(r.stdout).toContain('61 files added, 0 files modified, 0 files deleted')
    expect(readFileSync(join(repo, 'data/part2/f59.txt'), 'utf8')).toBe(before)
    expect(readFileSync(join(repo, 'model.bin'), 'utf8')).toBe('weights v1')
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
  })

  it('restores hundreds of files through the worker pool, with the state cache filled', () => {
    const repo = makeRepo()
    const files: Record<string, string> = {}
    for (let i = 0; i < 300; i++) files[`big/d${i % 11}/f${i}.txt`] = `content ${i}\n`
    writeFiles(repo, files)
    dv(repo, 'add', 'big').ok()
    rmSync(join(repo, 'big'), {recursive: true})
    expect(dv(repo, 'checkout').ok().stdout).toContain('300 files added')
    for (const [rel, content] of Object.entries(files)) expect(readFileSync(join(repo, rel), 'utf8')).toBe(content)
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
  })

  it('rewrites only the file that differs', () => {
    const repo = datasetRepo()
    dv(repo, 'commit').ok()
    // An edit that is saved in the cache (committed), then changed back by checkout.
    const inodes = new Map<string, number>()
    for (let i = 0; i < 60; i++) inodes.set(`data/part${i % 3}/f${i}.txt`, statSync(join(repo, `data/part${i % 3}/f${i}.txt`)).ino)
    const pointer = readFileSync(join(repo, 'data.dv'), 'utf8')
    writeFileSync(join(repo, 'data/part1/f4.txt'), 'edited\n')
    dv(repo, 'commit', 'data').ok()
    writeFileSync(join(repo, 'data.dv'), pointer) // back to the old version, as `git checkout data.dv` would
    const r = dv(repo, 'checkout', '--json').ok().json<{added: string[]; modified: string[]; deleted: string[]}>()
    expect(r).toEqual({added: [], modified: ['data/part1/f4.txt'], deleted: [], failed: []})
    expect(readFileSync(join(repo, 'data/part1/f4.txt'), 'utf8')).toBe('row 4\n'.repeat(5))
    for (const [rel, ino] of inodes) if (rel !== 'data/part1/f4.txt') expect(statSync(join(repo, rel)).ino, rel).toBe(ino)
  })

  it('never overwrites or deletes uncommitted changes without --force, and changes nothing', () => {
    const repo = datasetRepo()
    writeFileSync(join(repo, 'data/part0/f0.txt'), 'precious edit\n')
    writeFileSync(join(repo, 'data/part0/mine.txt'), 'precious new file\n')
    rmSync(join(repo, 'data/part1/f1.txt'))
    const r = dv(repo, 'checkout')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(/^ERROR: data\/part0\/f0\.txt \(and 1 more\) has changes not saved in the dv cache; checkout would lose them/)
    // Nothing changed: not even the deleted file came back.
    expect(readFileSync(join(repo, 'data/part0/f0.txt'), 'utf8')).toBe('precious edit\n')
    expect(existsSync(join(repo, 'data/part0/mine.txt'))).toBe(true)
    expect(existsSync(join(repo, 'data/part1/f1.txt'))).toBe(false)
    dv(repo, 'checkout', '--force').ok()
    expect(readFileSync(join(repo, 'data/part0/f0.txt'), 'utf8')).toBe('row 0\n')
    expect(existsSync(join(repo, 'data/part0/mine.txt'))).toBe(false)
    expect(existsSync(join(repo, 'data/part1/f1.txt'))).toBe(true)
  })

  it('deletes files the pointer no longer has when their content is in the cache', () => {
    const repo = datasetRepo()
    const pointer = readFileSync(join(repo, 'data.dv'), 'utf8')
    writeFileSync(join(repo, 'data/extra.txt'), 'extra\n')
    dv(repo, 'commit').ok()
    writeFileSync(join(repo, 'data.dv'), pointer)
    const r = dv(repo, 'checkout', '--json').ok().json<{deleted: string[]}>()
    expect(r.deleted).toEqual(['data/extra.txt'])
    expect(existsSync(join(repo, 'data/extra.txt'))).toBe(false)
  })

  it('checks out one file inside a tracked directory', () => {
    const repo = datasetRepo()
    rmSync(join(repo, 'data/part0/f0.txt'))
    rmSync(join(repo, 'data/part0/f3.txt'))
    const r = dv(repo, 'checkout', 'data/part0/f0.txt', '--json').ok().json<{added: string[]}>()
    expect(r.added).toEqual(['data/part0/f0.txt'])
    expect(existsSync(join(repo, 'data/part0/f3.txt'))).toBe(false)
  })

  it('replaces a directory by the tracked file and the other way round', () => {
    const repo = datasetRepo()
    rmSync(join(repo, 'model.bin'))
    mkdirSync(join(repo, 'model.bin'))
    writeFileSync(join(repo, 'model.bin/x'), 'weights v1') // same content as the cached file: safe to delete
    dv(repo, 'checkout').ok()
    expect(readFileSync(join(repo, 'model.bin'), 'utf8')).toBe('weights v1')
  })

  it('fails for an output missing from the cache and still checks out the others', () => {
    const repo = datasetRepo()
    const oid = /blake3: ([0-9a-f]{64})/.exec(readFileSync(join(repo, 'model.bin.dv'), 'utf8'))![1]
    const obj = join(repo, '.dv/cache/objects', oid.slice(0, 2), oid.slice(2))
    chmodSync(obj, 0o644)
    rmSync(obj)
    rmSync(join(repo, 'model.bin'))
    rmSync(join(repo, 'data/part0/f0.txt'))
    const r = dv(repo, 'checkout')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`ERROR: model.bin: object ${oid} is not in the cache`)
    expect(existsSync(join(repo, 'data/part0/f0.txt'))).toBe(true)
  })

  it('reports a corrupted tree object instead of trusting it', () => {
    const repo = datasetRepo()
    const oid = /blake3: ([0-9a-f]{64})/.exec(readFileSync(join(repo, 'data.dv'), 'utf8'))![1]
    const obj = join(repo, '.dv/cache/objects', oid.slice(0, 2), oid.slice(2))
    chmodSync(obj, 0o644)
    writeFileSync(obj, readFileSync(obj, 'utf8').replace('"size":', '"size": '))
    rmSync(join(repo, 'data/part0/f0.txt'))
    const r = dv(repo, 'checkout', 'data')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toMatch(new RegExp(`^ERROR: object ${oid} in .* is corrupt: its content hashes to [0-9a-f]{64}$`))
  })
})
