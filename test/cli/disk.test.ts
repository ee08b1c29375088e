/**
 * A full disk and a read-only cache, for real: the cache is a tiny tmpfs mounted over .dv/cache
 * (needs the right to mount, as root in a container has; reported as skipped where it is not).
 * Each gives one clear line and a non-zero exit, and nothing is half-written or lost.
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, readdirSync, readFileSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {hashBytes} from '../../src/hash/blake3.js'
import {dv, makeRepo, pseudoRandom, tempDir, writeFiles} from '../helpers.js'

function canMount(): boolean {
  const dir = tempDir()
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]).status === 0
  if (ok) spawnSync('umount', [dir])
  return ok
}

const mounted: string[] = []
afterEach(() => {
  for (const dir of mounted.splice(0)) spawnSync('umount', ['-l', dir])
})

function mount(dir: string, options: string): void {
  mkdirSync(dir, {recursive: true})
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`mount failed: ${r.stderr}`)
  mounted.push(dir)
}

/** Objects in the cache whose bytes do not hash to their name, and leftover temp files. */
function damage(repo: string): {corrupt: string[]; temps: string[]} {
  const objects = join(repo, '.dv/cache/objects')
  const corrupt: string[] = []
  for (const fan of existsSync(objects) ? readdirSync(objects) : []) {
    for (const rest of readdirSync(join(objects, fan))) if (hashBytes(readFileSync(join(objects, fan, rest))) !== fan + rest) corrupt.push(fan + rest)
  }
  const tmp = join(repo, '.dv/cache/tmp')
  return {corrupt, temps: existsSync(tmp) ? readdirSync(tmp) : []}
}

describe.skipIf(!canMount())('a full disk and a read-only cache', () => {
  it('dv add into a full cache: one line, exit 1, no pointer, no partial object, the data intact; with room it finishes', () => {
    const repo = makeRepo()
    const big = pseudoRandom(5 * 1024 * 1024, 1)
    writeFiles(repo, {'data/big.bin': big, 'data/small.txt': 'small\n'})
    mount(join(repo, '.dv/cache'), 'size=2m')
    const r = dv(repo, 'add', 'data')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: (.+: )?no space left on device\n$/)
    expect(existsSync(join(repo, 'data.dv'))).toBe(false)
    expect(readFileSync(join(repo, 'data/big.bin')).equals(big)).toBe(true)
    expect(damage(repo)).toEqual({corrupt: [], temps: []})
    spawnSync('mount', ['-o', 'remount,size=16m', join(repo, '.dv/cache')])
    dv(repo, 'add', 'data').ok()
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
  })

  it('a read-only cache: one line naming it, exit 1, nothing changed', () => {
    const repo = makeRepo()
    writeFiles(repo, {'data/a.txt': 'a\n'})
    mount(join(repo, '.dv/cache'), 'size=4m')
    mkdirSync(join(repo, '.dv/cache/tmp'))
    mkdirSync(join(repo, '.dv/cache/objects'))
    spawnSync('mount', ['-o', 'remount,ro', join(repo, '.dv/cache')])
    const r = dv(repo, 'add', 'data')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^ERROR: \S+\/\.dv\/cache\/\S+: read-only file system \(\w+\)\n$/)
    expect(existsSync(join(repo, 'data.dv'))).toBe(false)
    expect(readFileSync(join(repo, 'data/a.txt'), 'utf8')).toBe('a\n')
  })
})
