import {describe, expect, it} from 'vitest'

import {ConfigFile} from '../../dist/models/config.js'
import {parsePointer, serializePointer} from '../../dist/models/pointer.js'
import {decodeTree, encodeTree} from '../../dist/models/tree.js'

const OID = 'a'.repeat(64)

describe('tree objects', () => {
  it('are canonical: entry order does not change the bytes', () => {
    const a = {name: 'a', kind: 'file' as const, oid: OID, size: 1, exec: false}
    const b = {name: 'B', kind: 'tree' as const, oid: 'b'.repeat(64), size: 2, exec: false}
    expect(encodeTree([a, b]).equals(encodeTree([b, a]))).toBe(true)
    expect(decodeTree(encodeTree([a, b]), 't').map((e) => e.name)).toEqual(['B', 'a'])
  })

  it('reject names that would escape their directory', () => {
    for (const name of ['..', '.', 'a/b', '', 'x\\y']) {
      const bytes = Buffer.from(JSON.stringify({dv: 'tree', v: 1, entries: [{name, kind: 'file', oid: OID, size: 0, exec: false}]}))
      expect(() => decodeTree(bytes, 'tree x')).toThrow(/unsafe entry name/)
    }
  })

  it('reject duplicates, bad oids and non-trees', () => {
    const e = {name: 'a', kind: 'file', oid: OID, size: 0, exec: false}
    expect(() => decodeTree(Buffer.from(JSON.stringify({dv: 'tree', v: 1, entries: [e, e]})), 't')).toThrow(/duplicate/)
    expect(() => decodeTree(Buffer.from(JSON.stringify({dv: 'tree', v: 1, entries: [{...e, oid: 'zz'}]})), 't')).toThrow(/bad oid/)
    expect(() => decodeTree(Buffer.from('hello'), 't')).toThrow(/not a dv tree/)
  })
})

describe('pointer files', () => {
  it('round-trip in the shape of a .dvc file', () => {
    const text = serializePointer({outs: [{path: 'images', oid: OID, size: 10, nfiles: 2}], extra: {}})
    expect(text).toBe(`outs:\n- blake3: ${OID}\n  size: 10\n  nfiles: 2\n  hash: blake3\n  path: images\n`)
    expect(parsePointer(text, 'images.dv').outs).toEqual([{path: 'images', oid: OID, size: 10, nfiles: 2}])
  })

  it('keep keys other tools wrote', () => {
    const p = parsePointer(`outs:\n- blake3: ${OID}\n  size: 1\n  hash: blake3\n  path: a\ndesc: my data\n`, 'a.dv')
    expect(p.extra).toEqual({desc: 'my data'})
    expect(serializePointer(p)).toContain('desc: my data')
  })

  it('name the file and line of bad input', () => {
    expect(() => parsePointer('outs:\n- blake3: nothex\n  size: 1\n  path: a\n', 'a.dv')).toThrow(/^a\.dv:2: `blake3` must be/)
    expect(() => parsePointer('outs: [unclosed\n', 'b.dv')).toThrow(/^b\.dv:\d+: invalid YAML/)
    expect(() => parsePointer('outs: []\n', 'c.dv')).toThrow(/^c\.dv:1: `outs` must be a non-empty list/)
    expect(() => parsePointer(`outs:\n- md5: ${OID}\n  size: 1\n  hash: md5\n  path: a\n`, 'd.dv')).toThrow(/unsupported hash "md5"/)
  })
})

describe('config files', () => {
  it('read git-style sections, including subsections with dots', () => {
    const c = ConfigFile.parse('[core]\n\tlink_type = hardlink,copy # fast\n[remote "my.bucket"]\n\turl = s3://b/p\n', 'config')
    expect(c.get('core.link_type')).toBe('hardlink,copy')
    expect(c.get('remote.my.bucket.url')).toBe('s3://b/p')
  })

  it('set and unset keep the rest of the file as written', () => {
    const c = ConfigFile.parse('# mine\n[core]\n\tlink_type = copy\n', 'config')
    c.set('core.link_type', 'symlink')
    c.set('remote.origin.url', '/mnt/x')
    expect(c.toString()).toBe('# mine\n[core]\n\tlink_type = symlink\n[remote "origin"]\n\turl = /mnt/x\n')
    expect(c.unset('remote.origin.url')).toBe(true)
    expect(c.toString()).toBe('# mine\n[core]\n\tlink_type = symlink\n')
  })

  it('names the line it cannot parse', () => {
    expect(() => ConfigFile.parse('[core]\n\tthis is not = valid = = \n!!\n', '.dv/config')).toThrow(/^\.dv\/config:2: cannot parse/)
  })
})
