import {readFileSync, statSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {RACY_MS, StateCache} from '../../dist/workspace/state.js'
import {tempDir} from '../helpers.js'

const facts = (path: string, oid: string) => {
  const st = statSync(path)
  return {oid, size: st.size, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, mode: st.mode}
}

describe('state cache', () => {
  it('remembers an old file across instances, and forgets it once it changes', () => {
    const dir = tempDir()
    const file = join(dir, 'f')
    writeFileSync(file, 'one')
    const old = (Date.now() - 60_000) / 1000
    utimesSync(file, old, old)
    const s1 = new StateCache(join(dir, 'state'))
    s1.set('f', facts(file, 'a'.repeat(64)))
    s1.save()
    const s2 = new StateCache(join(dir, 'state'))
    expect(s2.get('f', statSync(file))).toBe('a'.repeat(64))
    writeFileSync(file, 'two') // same size, new content
    expect(s2.get('f', statSync(file))).toBeUndefined()
  })

  it('does not trust a file changed within the timestamp granularity (racy clean)', () => {
    const dir = tempDir()
    const file = join(dir, 'f')
    writeFileSync(file, 'one')
    const s = new StateCache(join(dir, 'state'))
    // Just written: a same-size rewrite in the same tick could keep every stat field equal.
    s.set('f', facts(file, 'a'.repeat(64)))
    expect(s.get('f', statSync(file))).toBeUndefined()
    expect(RACY_MS).toBeGreaterThanOrEqual(1000)
    // Files dv wrote itself from the cache are trusted.
    s.set('f', facts(file, 'b'.repeat(64)), true)
    expect(s.get('f', statSync(file))).toBe('b'.repeat(64))
  })

  it('keeps unchanged entries through later saves, forgets pruned ones, and survives a truncated file', () => {
    const dir = tempDir()
    const old = (Date.now() - 60_000) / 1000
    const files = ['a', 'b', 'c'].map((n) => {
      const f = join(dir, n)
      writeFileSync(f, n.repeat(10))
      utimesSync(f, old, old)
      return f
    })
    const s1 = new StateCache(join(dir, 'state'))
    s1.set('d/a', facts(files[0], '1'.repeat(64)))
    s1.set('d/b', facts(files[1], '2'.repeat(64)))
    s1.save()
    const s2 = new StateCache(join(dir, 'state'))
    s2.set('e/c', facts(files[2], '3'.repeat(64)))
    s2.prune('d', new Set(['d/a']))
    s2.save()
    const s3 = new StateCache(join(dir, 'state'))
    expect(s3.get('d/a', statSync(files[0]))).toBe('1'.repeat(64))
    expect(s3.get('d/b', statSync(files[1]))).toBeUndefined()
    expect(s3.get('e/c', statSync(files[2]))).toBe('3'.repeat(64))
    // A crash mid-write cannot happen (temp + rename), but a damaged tail only loses its entries.
    const bytes = readFileSync(join(dir, 'state'))
    writeFileSync(join(dir, 'state'), bytes.subarray(0, bytes.length - 10))
    const s4 = new StateCache(join(dir, 'state'))
    expect(s4.get('d/a', statSync(files[0]))).toBe('1'.repeat(64))
    expect(s4.get('e/c', statSync(files[2]))).toBeUndefined()
  })

  it('treats a damaged state file as empty', () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'state'), 'garbage\0\0')
    expect(new StateCache(join(dir, 'state')).get('f', {ino: 1, size: 1, mtimeMs: 1, ctimeMs: 1})).toBeUndefined()
  })
})
