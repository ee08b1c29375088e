/**
 * Property-based fuzz tests (fast-check) of the parsers of files dv reads from users, from git
 * history and from remotes: pointer files, tree objects, dv.lock, dv.yaml, pack indexes,
 * `.dv/config` and YAML in general.
 *
 * 1. Totality: any input gives a value or a DvError whose message is one line naming the file;
 *    never a TypeError/RangeError, never a hang (each case is timed).
 * 2. Safety: no accepted path can leave the repository (relative, no `..`, no NUL, no absolute
 *    or drive path; outputs not in .git or .dv).
 * 3. Round trips: parse(serialise(v)) equals v, and serialise(parse(x)) is stable.
 * 4. Resource limits: alias bombs, deep nesting, long hostile lines, lying pack indexes.
 *
 * Runs with a fixed seed; FUZZ_SEED=<n> explores other cases, FUZZ_SCALE=<x> multiplies the
 * number of cases. The regression cases at the end of each block are shrunk counterexamples.
 */
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import fc from 'fast-check'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {stringify} from 'yaml'

import {CorruptObjectError, DvError, InvalidFileError} from '../../src/errors.js'
import {hashBytes, loadHasher} from '../../src/hash/blake3.js'
import {ConfigFile} from '../../src/models/config.js'
import {parsePointer, type Pointer, serializePointer} from '../../src/models/pointer.js'
import {decodeTree, encodeTree, isSafeName, type TreeEntry} from '../../src/models/tree.js'
import {parseYaml} from '../../src/models/yaml.js'
import {type Lock, type LockedStage, parseLock, readLock, writeLock} from '../../src/pipeline/lock.js'
import {parsePipeline} from '../../src/pipeline/schema.js'
import {parseParams} from '../../src/pipeline/params.js'
import {parseMetrics} from '../../src/metrics/values.js'
import {buildPack, parseIndex} from '../../src/remote/packs.js'

const SEED = Number(process.env.FUZZ_SEED ?? 20_250_601)
const SCALE = Number(process.env.FUZZ_SCALE ?? 1)
const runs = (n: number): fc.Parameters<unknown> => ({seed: SEED, numRuns: Math.max(1, Math.round(n * SCALE))})
/** One parse of a small input taking longer than this is a hang (generous for a slow, loaded CI machine). */
const SLOW_MS = 3000

let scratch: string
beforeAll(async () => {
  await loadHasher()
  scratch = mkdtempSync(join(tmpdir(), 'dv-fuzz-'))
})
afterAll(() => rmSync(scratch, {recursive: true, force: true}))

// ---------------------------------------------------------------------------------------------
// Checking outcomes

/** Runs one parse: its value, or the DvError it threw, checked to be one line naming `file`. Anything else fails the property. */
function attempt<T>(file: string, fn: () => T): {ok: true; value: T} | {ok: false; error: DvError} {
  const started = performance.now()
  let result: {ok: true; value: T} | {ok: false; error: DvError}
  try {
    result = {ok: true, value: fn()}
  } catch (error) {
    if (!(error instanceof DvError)) throw error // a crash: TypeError, RangeError, ReferenceError...
    checkMessage(error, file)
    result = {ok: false, error}
  }
  const ms = performance.now() - started
  if (ms > SLOW_MS) throw new Error(`parsing took ${Math.round(ms)} ms`)
  return result
}

function checkMessage(error: DvError, file: string): void {
  if (/[\r\n]/.test(error.message)) throw new Error(`message is not one line: ${JSON.stringify(error.message)}`)
  if (!error.message.includes(file)) throw new Error(`message does not name ${file}: ${JSON.stringify(error.message)}`)
}

function refused(file: string, fn: () => unknown): DvError {
  const r = attempt(file, fn)
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(r.value, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))?.slice(0, 300)}`)
  return r.error
}

const RESERVED = new Set(['.git', '.dv'])

/**
 * A path an accepted file may name: relative, no `..` segment, no NUL, not absolute (posix,
 * `\\`-rooted or a drive), and, for something dv writes, not inside .git or .dv.
 * `separators`: the characters the parser treats as separators.
 */
function expectSafePath(p: unknown, what: string, options: {output: boolean; separators: RegExp; allowDot?: boolean}): void {
  const fail = (why: string) => {
    throw new Error(`${what} ${JSON.stringify(p)} accepted: ${why}`)
  }
  if (typeof p !== 'string') return fail('not a string')
  if (p === '') fail('empty')
  if (p.includes('\0')) fail('NUL byte')
  if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(p)) fail('absolute')
  const parts = p.split(options.separators)
  if (parts.includes('..')) fail('`..` segment')
  if (p === '.' && !options.allowDot) fail('the root itself')
  if (options.output && RESERVED.has(parts[0].toLowerCase())) fail('inside .git or .dv')
}

// ---------------------------------------------------------------------------------------------
// Generators

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/)
const size = fc.oneof(fc.nat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER))
/** One safe path segment (never `.`, `..`, a separator or NUL), unicode included. */
const segment = fc
  .oneof(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,11}$/), fc.string({unit: 'grapheme', minLength: 1, maxLength: 8}))
  .filter((s) => s.trim() === s && s !== '.' && s !== '..' && !/[/\\\0]/.test(s) && !RESERVED.has(s.toLowerCase()) && !/^[A-Za-z]:$/.test(s))
const safePath = fc.array(segment, {minLength: 1, maxLength: 4}).map((parts) => parts.join('/'))
const tail = fc.stringMatching(/^[a-z0-9_.-]{0,10}$/)

/** Paths that leave the repository however they are read: `..` past the root, absolute, drive, UNC, NUL. */
const escaping = fc.oneof(
  fc.tuple(fc.integer({min: 1, max: 4}), tail).map(([k, s]) => '../'.repeat(k) + s),
  fc.tuple(fc.integer({min: 1, max: 3}), fc.integer({min: 1, max: 3}), tail).map(([a, b, s]) => 'd/'.repeat(a) + '../'.repeat(a + b) + s),
  tail.map((s) => `/${s}`),
  tail.map((s) => `/etc/${s}`),
  tail.map((s) => `C:/${s}`),
  tail.map((s) => `c:\\${s}`),
  tail.map((s) => `\\\\server\\share\\${s}`),
  tail.map((s) => `\\${s}`),
  fc.tuple(tail, tail).map(([a, b]) => `${a}\0${b}`),
  fc.constantFrom('..', '../', '/', '/etc/passwd', 'a/../../b', './../x', '//x', `../${'x'.repeat(5000)}`, `${'a/'.repeat(2000)}${'../'.repeat(2001)}x`),
)
/** Paths inside .git or .dv: refused for anything dv writes. */
const reserved = fc.tuple(fc.constantFrom('.git', '.dv', '.GIT', '.Dv'), fc.constantFrom('', 'hooks/pre-commit', 'config', 'cache/x', 'hooks')).map(([d, s]) => (s ? `${d}/${s}` : d))

/** Values a mutation puts in place of a valid one. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null, true, false, 0, -1, 1.5, -0, 2 ** 53, 2 ** 64, Number.NaN, Number.POSITIVE_INFINITY, '', '..', '/', '\0', '${x}', '${', '${item}', '*a', '&a', '<<',
    '~', '__proto__', 'constructor', 'toString', 'yes', 'null', '0x10', '1e400', ' ', '\n', 'a\nb', 'a\r\nb', '\u2028', '\ud800', '- x', '[', '{', '"', "'", 'blake3', 'md5',
    [], {}, [[]], {a: {b: {}}},
  ),
  escaping,
  reserved,
  fc.string({unit: 'binary', maxLength: 16}),
  fc.integer(),
  fc.double(),
  fc.bigInt({min: -(2n ** 70n), max: 2n ** 70n}),
  fc.jsonValue({maxDepth: 2}),
)

type Mutation =
  | {op: 'replace'; steps: number[]; value: unknown}
  | {op: 'delete'; steps: number[]}
  | {op: 'nest'; steps: number[]; depth: number; key: string}
  | {op: 'list'; steps: number[]}
  | {op: 'retype'; steps: number[]}
  | {op: 'add'; steps: number[]; key: string; value: unknown}

const steps = fc.array(fc.nat(), {maxLength: 6})
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({op: fc.constant('replace' as const), steps, value: weird}),
  fc.record({op: fc.constant('delete' as const), steps}),
  fc.record({op: fc.constant('nest' as const), steps, depth: fc.integer({min: 1, max: 40}), key: fc.constantFrom('path', 'a', '', 'outs', 'stages', 'cmd')}),
  fc.record({op: fc.constant('list' as const), steps}),
  fc.record({op: fc.constant('retype' as const), steps}),
  fc.record({op: fc.constant('add' as const), steps, key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'nfiles', 'hash', 'foreach', 'do', 'matrix', 'vars', 'wdir', 'x'), fc.string({maxLength: 6})), value: weird}),
)

const DELETE = Symbol('delete')

function own(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, {value: v, enumerable: true, writable: true, configurable: true})
}

/** Applies `f` to the node that `path` leads to (each step picks a child, modulo the count). */
function edit(v: unknown, path: readonly number[], f: (node: unknown) => unknown): unknown {
  if (path.length === 0 || v === null || typeof v !== 'object') return f(v)
  const [s, ...rest] = path
  if (Array.isArray(v)) {
    if (v.length === 0) return f(v)
    const i = s % v.length
    const out = [...v]
    const r = edit(v[i], rest, f)
    if (r === DELETE) out.splice(i, 1)
    else out[i] = r
    return out
  }
  const keys = Object.keys(v)
  if (keys.length === 0) return f(v)
  const chosen = keys[s % keys.length]
  const out: Record<string, unknown> = {}
  for (const k of keys) {
    const x = (v as Record<string, unknown>)[k]
    const r = k === chosen ? edit(x, rest, f) : x
    if (r !== DELETE) own(out, k, r)
  }
  return out
}

function mutate(doc: unknown, m: Mutation): unknown {
  const result = edit(doc, m.steps, (node) => {
    switch (m.op) {
      case 'replace':
        return m.value
      case 'delete':
        return DELETE
      case 'nest': {
        let v = node
        for (let i = 0; i < m.depth; i++) v = i % 2 === 0 ? {[m.key]: v} : [v]
        return v
      }
      case 'list':
        return [node]
      case 'retype':
        if (typeof node === 'string') return Number.isNaN(Number(node)) ? {[node]: null} : Number(node)
        if (typeof node === 'number' || typeof node === 'boolean') return String(node)
        if (Array.isArray(node)) return Object.fromEntries(node.map((x, i) => [String(i), x]))
        if (node && typeof node === 'object') return Object.values(node)
        return 'null'
      case 'add': {
        if (!node || typeof node !== 'object' || Array.isArray(node)) return node
        const out = {...(node as Record<string, unknown>)}
        own(out, m.key, m.value)
        return out
      }
    }
  })
  return result === DELETE ? null : result // the whole document deleted
}

/** Character-level damage to a text: deletions and insertions of YAML-significant characters. */
const textEdits = fc.array(
  fc.record({at: fc.nat(), remove: fc.nat({max: 4}), insert: fc.oneof(fc.constantFrom('', ':', '- ', '\n', '  ', '[', ']', '{', '}', '"', "'", '&a ', '*a', '!!binary ', '#', '\t', '? ', '---\n', '\0', '\\'), fc.string({maxLength: 4}))}),
  {maxLength: 4},
)

function damage(text: string, edits: ReadonlyArray<{at: number; remove: number; insert: string}>): string {
  for (const e of edits) {
    const at = text.length === 0 ? 0 : e.at % (text.length + 1)
    text = text.slice(0, at) + e.insert + text.slice(at + e.remove)
  }
  return text
}

/** YAML text of a value, in block or flow style. */
function toYaml(value: unknown, flow: boolean): string {
  return stringify(value === undefined ? null : value, {lineWidth: 0, ...(flow ? {collectionStyle: 'flow' as const} : {})})
}

/** A valid document, mutated structurally, then perhaps damaged as text. */
function mutatedText<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<string> {
  return fc
    .tuple(valid, fc.array(mutation, {maxLength: 3}), fc.boolean(), textEdits)
    .map(([doc, muts, flow, edits]) => damage(toYaml(muts.reduce<unknown>((d, m) => mutate(d, m), doc), flow), edits))
}

/** Random text: garbage, YAML-ish token soup, and anything unicode. */
const anyText = fc.oneof(
  fc.string({unit: 'binary', maxLength: 200}),
  fc.array(fc.constantFrom('outs:', 'stages:', '- ', 'path: ', 'blake3: ', '&a ', '*a', '<<: ', '[', ']', '{', '}', '\n', '  ', ': ', 'x', '"', '!!str ', '? ', '---\n', '...\n', '%YAML 1.2\n', '|\n', '>-\n', '#c'), {maxLength: 60}).map((a) => a.join('')),
  fc.uint8Array({maxLength: 200}).map((b) => Buffer.from(b).toString('latin1')),
)

/** A YAML alias bomb ("billion laughs"): `levels` levels of `width` aliases each, placed under `key`. */
function aliasBomb(key: string, levels = 9, width = 9): string {
  const lines = [`${key}:`, `  l0: &l0 [${Array(width).fill('"lol"').join(', ')}]`]
  for (let i = 1; i < levels; i++) lines.push(`  l${i}: &l${i} [${Array(width).fill(`*l${i - 1}`).join(', ')}]`)
  return lines.join('\n') + '\n'
}

/** `depth` levels of nesting in four YAML styles. */
const deepDocs = (depth: number): Record<string, string> => ({
  flowSeqOpen: '['.repeat(depth),
  flowSeq: '['.repeat(depth) + ']'.repeat(depth),
  flowMap: '{a: '.repeat(depth) + '1' + '}'.repeat(depth),
  blockSeq: '- '.repeat(depth) + 'x',
  // Indented one more space a level: 1,000 levels (half a megabyte) is plenty past the limit.
  blockMap: Array.from({length: Math.min(depth, 1000)}, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1',
})

// ---------------------------------------------------------------------------------------------
// Pointer files

const pointerOut = fc.record(
  {blake3: hex64, size, nfiles: size, hash: fc.constant('blake3'), path: safePath},
  {requiredKeys: ['blake3', 'size', 'hash', 'path']},
)
const extraKey = fc.string({maxLength: 8}).filter((k) => k !== 'outs')
const validPointerDoc = fc.record({outs: fc.array(pointerOut, {minLength: 1, maxLength: 3}), desc: fc.option(fc.string(), {nil: undefined})}, {requiredKeys: ['outs']})
const pointerValue: fc.Arbitrary<Pointer> = fc.record({
  outs: fc.array(
    fc.record({path: safePath, oid: hex64, size, nfiles: size}, {requiredKeys: ['path', 'oid', 'size']}),
    {minLength: 1, maxLength: 4},
  ),
  extra: fc.dictionary(extraKey, fc.jsonValue({maxDepth: 2, stringUnit: 'grapheme'}), {maxKeys: 4}),
})

function checkPointer(p: Pointer): void {
  expect(p.outs.length).toBeGreaterThan(0)
  for (const o of p.outs) {
    expectSafePath(o.path, 'pointer path', {output: true, separators: /\//})
    expect(o.path.split('/')).not.toContain('')
    expect(o.oid).toMatch(/^[0-9a-f]{64}$/)
    expect(Number.isSafeInteger(o.size) && o.size >= 0).toBe(true)
    if (o.nfiles !== undefined) expect(Number.isSafeInteger(o.nfiles) && o.nfiles >= 0).toBe(true)
  }
}

describe('pointer files (parsePointer, serializePointer)', () => {
  const FILE = 'sub/data.csv.dv'

  it('1. totality: random text gives a pointer or a one-line DvError naming the file [400 cases]', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const r = attempt(FILE, () => parsePointer(text, FILE))
        if (r.ok) checkPointer(r.value)
      }),
      runs(400),
    )
  })

  it('1. totality + 2. safety: mutated valid pointers [400 cases]', () => {
    fc.assert(
      fc.property(mutatedText(validPointerDoc), (text) => {
        const r = attempt(FILE, () => parsePointer(text, FILE))
        if (r.ok) checkPointer(r.value)
      }),
      runs(400),
    )
  })

  it('2. safety: hostile paths are refused [300 cases]', () => {
    fc.assert(
      fc.property(fc.oneof(escaping, reserved, fc.constantFrom('.', './', './.', '.\\')), hex64, fc.boolean(), (path, oid, asDir) => {
        const text = stringify({outs: [{blake3: oid, size: 1, ...(asDir ? {nfiles: 1} : {}), hash: 'blake3', path}]})
        refused(FILE, () => parsePointer(text, FILE))
      }),
      runs(300),
    )
  })

  it('3. round trip: parse(serialize(v)) equals v [250 cases]', () => {
    fc.assert(
      fc.property(pointerValue, (v) => {
        const text = serializePointer(v)
        expect(parsePointer(text, FILE)).toEqual(v)
        expect(serializePointer(parsePointer(text, FILE))).toBe(text)
      }),
      runs(250),
    )
  })

  it('3. round trip: serialize(parse(x)) is stable for any accepted text [400 cases]', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedText(validPointerDoc), anyText), (text) => {
        const r = attempt(FILE, () => parsePointer(text, FILE))
        if (!r.ok) return
        const once = serializePointer(r.value)
        const again = parsePointer(once, FILE)
        expect(again).toEqual(r.value)
        expect(serializePointer(again)).toBe(once)
      }),
      runs(400),
    )
  })

  it('4. an alias bomb is refused at once, not expanded', () => {
    const oid = 'a'.repeat(64)
    for (const text of [
      `outs:\n- blake3: ${oid}\n  size: 1\n  path: a\n${aliasBomb('meta')}`,
      `${aliasBomb('meta')}outs:\n- blake3: ${oid}\n  size: 1\n  path: a\n  x: *l8\n`,
    ]) {
      const e = refused(FILE, () => parsePointer(text, FILE))
      expect(e.message).toMatch(/alias/)
    }
  })

  it('4. deep nesting is a one-line DvError, twice in a row (no stack overflow, no V8 abort)', () => {
    const out = `outs:\n- blake3: ${'a'.repeat(64)}\n  size: 1\n  path: a\n`
    for (let round = 0; round < 2; round++) {
      const docs = {...deepDocs(10_000), inExtra: `${out}meta: ${deepDocs(10_000).flowMap}\n`, inOut: `${out}  meta: ${deepDocs(10_000).flowSeq}\n`}
      for (const [style, text] of Object.entries(docs)) {
        expect(refused(FILE, () => parsePointer(text, FILE)).message, style).toMatch(/nested more than \d+ levels/)
      }
    }
  })

  // Regressions: shrunk counterexamples.
  it('regression: a path escaping the pointer directory is refused by the parser', () => {
    expect(() => parsePointer(`outs:\n- blake3: ${'a'.repeat(64)}\n  size: 1\n  hash: blake3\n  path: ../../etc/passwd\n`, 'evil.dv')).toThrow(
      'evil.dv: path "../../etc/passwd" escapes the repository or names a reserved directory',
    )
    for (const path of ['"/"', '"a\\0b"', '.git/hooks/pre-commit', '.GIT/config', 'C:/x', 'C:/', '"\\\\\\\\srv\\\\x"', 'a//b']) {
      expect(() => parsePointer(`outs:\n- blake3: ${'a'.repeat(64)}\n  size: 1\n  path: ${path}\n`, 'p.dv')).toThrow(InvalidFileError)
    }
  })

  it('regression: "." (the pointer\'s own directory; the repository root for a pointer there) is refused', () => {
    expect(() => parsePointer(`outs:\n- blake3: ${'a'.repeat(64)}\n  size: 1\n  nfiles: 1\n  path: .\n`, 'x.dv')).toThrow('x.dv:2: path "." is the pointer\'s own directory')
  })

  it('regression: aliases in extra keys keep their values through a rewrite', () => {
    const p = parsePointer(`outs:\n- blake3: ${'a'.repeat(64)}\n  size: 1\n  path: a\nx: &a [1, 2]\ny: *a\n`, 'p.dv')
    expect(p.extra).toEqual({x: [1, 2], y: [1, 2]})
  })

  it('regression: a long run of slashes in a path is not quadratic', () => {
    const text = `outs:\n- blake3: ${'a'.repeat(64)}\n  size: 1\n  path: "a${'/'.repeat(200_000)}x"\n`
    const started = performance.now()
    expect(() => parsePointer(text, 'p.dv')).toThrow(/escapes the repository/)
    expect(performance.now() - started).toBeLessThan(1000)
  })
})

// ---------------------------------------------------------------------------------------------
// Tree objects

const entryName = fc.oneof(segment, fc.string({unit: 'binary', minLength: 1, maxLength: 10}).filter((s) => isSafeName(s)))
const treeEntries: fc.Arbitrary<TreeEntry[]> = fc.uniqueArray(
  fc.record({name: entryName, kind: fc.constantFrom('file' as const, 'tree' as const), oid: hex64, size, exec: fc.boolean()}),
  {selector: (e) => e.name, maxLength: 8},
)
const hostileName = fc.oneof(
  fc.constantFrom('', '.', '..', '/', '\\', '\0', '../x', 'a/b', 'a\\b', '/etc/passwd', '.git/hooks/x', 'x\0y', 'C:\\x', '\ud800', 'a\udfffb'),
  fc.tuple(tail, tail).map(([a, b]) => `${a}/${b}`),
  fc.tuple(tail, tail).map(([a, b]) => `${a}\\${b}`),
  fc.tuple(tail, tail).map(([a, b]) => `${a}\0${b}`),
)

function checkEntries(entries: TreeEntry[]): void {
  const names = new Set<string>()
  for (const e of entries) {
    expect(typeof e.name).toBe('string')
    expect(e.name === '' || e.name === '.' || e.name === '..' || /[/\\\0]/.test(e.name)).toBe(false)
    if (e.kind === 'tree') expect(RESERVED.has(e.name.toLowerCase())).toBe(false)
    expect(names.has(e.name)).toBe(false)
    names.add(e.name)
    expect(['file', 'tree']).toContain(e.kind)
    expect(e.oid).toMatch(/^[0-9a-f]{64}$/)
    expect(Number.isSafeInteger(e.size) && e.size >= 0).toBe(true)
    expect(typeof e.exec).toBe('boolean')
  }
}

describe('tree objects (decodeTree, encodeTree, isSafeName)', () => {
  const WHERE = 'tree object 0123abcd'

  it('1. totality: random bytes [600 cases]', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({maxLength: 300}), anyText.map((t) => Buffer.from(t))), (bytes) => {
        const r = attempt(WHERE, () => decodeTree(bytes, WHERE))
        if (r.ok) checkEntries(r.value)
      }),
      runs(600),
    )
  })

  it('1. totality + 2. safety: mutated valid trees, as JSON [600 cases]', () => {
    const doc = treeEntries.map((entries) => JSON.parse(encodeTree(entries).toString()) as unknown)
    fc.assert(
      fc.property(doc, fc.array(mutation, {maxLength: 3}), textEdits, (d, muts, edits) => {
        const text = damage(JSON.stringify(muts.reduce<unknown>((x, m) => mutate(x, m), d), (_, v) => (typeof v === 'bigint' ? Number(v) : v)) ?? 'null', edits)
        const r = attempt(WHERE, () => decodeTree(Buffer.from(text), WHERE))
        if (r.ok) checkEntries(r.value)
      }),
      runs(600),
    )
  })

  it('2. safety: hostile names are refused, and isSafeName agrees [300 cases]', () => {
    fc.assert(
      fc.property(hostileName, hex64, fc.constantFrom('file', 'tree'), (name, oid, kind) => {
        expect(isSafeName(name)).toBe(false)
        refused(WHERE, () => decodeTree(Buffer.from(JSON.stringify({dv: 'tree', v: 1, entries: [{name, kind, oid, size: 0, exec: false}]})), WHERE))
      }),
      runs(300),
    )
  })

  it('3. round trip: decode(encode(entries)) is the sorted entries; encoding ignores order [300 cases]', () => {
    fc.assert(
      fc.property(treeEntries, fc.nat(), (entries, rot) => {
        const bytes = encodeTree(entries)
        const decoded = decodeTree(bytes, WHERE)
        expect(new Set(decoded.map((e) => e.name))).toEqual(new Set(entries.map((e) => e.name)))
        expect(decoded).toEqual(expect.arrayContaining(entries))
        expect(encodeTree(decoded).equals(bytes)).toBe(true)
        const rotated = entries.length === 0 ? entries : [...entries.slice(rot % entries.length), ...entries.slice(0, rot % entries.length)]
        expect(encodeTree([...rotated].reverse()).equals(bytes)).toBe(true)
      }),
      runs(300),
    )
  })

  it('4. deep nesting is a one-line DvError', () => {
    const deep = Buffer.from('['.repeat(200_000) + ']'.repeat(200_000))
    refused(WHERE, () => decodeTree(deep, WHERE))
    refused(WHERE, () => decodeTree(Buffer.from(`{"dv":"tree","v":1,"entries":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`), WHERE))
  })

  it('regression: a null entry is a DvError, not a TypeError', () => {
    expect(() => decodeTree(Buffer.from('{"dv":"tree","v":1,"entries":[null]}'), 't')).toThrow(InvalidFileError)
  })

  it('regression: an entry name with a newline does not break the message onto two lines', () => {
    const e = refused('t', () => decodeTree(Buffer.from(JSON.stringify({dv: 'tree', v: 1, entries: [{name: 'a\nb', kind: 'x'}]})), 't'))
    expect(e.message).toBe('t: entry "a\\nb": bad kind')
  })

  it('regression: names with lone surrogates are refused (they made encodeTree depend on entry order)', () => {
    const e = (name: string) => ({name, kind: 'file' as const, oid: 'a'.repeat(64), size: 1, exec: false})
    expect(isSafeName('\ud800')).toBe(false)
    expect(isSafeName('\ud83d\ude00')).toBe(true) // a pair is fine
    expect(() => decodeTree(encodeTree([e('\ud800'), e('\ud801')]), 't')).toThrow(/unsafe entry name/)
  })

  it('regression: a subtree named .git or .dv is refused', () => {
    for (const name of ['.git', '.dv', '.GIT']) {
      const bytes = Buffer.from(JSON.stringify({dv: 'tree', v: 1, entries: [{name, kind: 'tree', oid: 'a'.repeat(64), size: 0, exec: false}]}))
      expect(() => decodeTree(bytes, 't')).toThrow(InvalidFileError)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// dv.lock

const lockedPath = (path: fc.Arbitrary<string>) =>
  fc.record({path, hash: fc.constant('blake3'), blake3: hex64, size, nfiles: size}, {requiredKeys: ['path', 'hash', 'blake3', 'size']})
const stageName = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_@-]{0,10}$/), fc.string({minLength: 1, maxLength: 8}))
const paramsValues = fc.dictionary(
  fc.constantFrom('params.yaml', 'conf/train.json'),
  fc.dictionary(fc.string({minLength: 1, maxLength: 6}), fc.jsonValue({maxDepth: 1}), {maxKeys: 3}),
  {maxKeys: 2},
)
const validLockDoc = fc.record({
  schema: fc.constant('2.0'),
  stages: fc.dictionary(
    stageName,
    fc.record(
      {cmd: fc.oneof(fc.string(), fc.array(fc.string(), {maxLength: 3})), deps: fc.array(lockedPath(fc.oneof(safePath, fc.constant('.'))), {maxLength: 3}), params: paramsValues, outs: fc.array(lockedPath(safePath), {maxLength: 3})},
      {requiredKeys: ['cmd']},
    ),
    {maxKeys: 3},
  ),
})
const lockValue: fc.Arbitrary<Lock> = fc
  .array(
    fc.tuple(
      stageName,
      fc.record({
        cmd: fc.array(fc.string({unit: 'grapheme'}), {maxLength: 3}),
        deps: fc.array(fc.record({path: fc.oneof(safePath, fc.constant('.')), oid: hex64, size, nfiles: size}, {requiredKeys: ['path', 'oid', 'size']}), {maxLength: 3}),
        params: paramsValues as fc.Arbitrary<Record<string, Record<string, unknown>>>,
        outs: fc.array(fc.record({path: safePath, oid: hex64, size, nfiles: size}, {requiredKeys: ['path', 'oid', 'size']}), {maxLength: 3}),
      }),
    ),
    {maxLength: 4},
  )
  .map((stages) => new Map<string, LockedStage>(stages))

function checkLock(lock: Lock): void {
  expect(lock).toBeInstanceOf(Map)
  for (const [name, s] of lock) {
    expect(typeof name).toBe('string')
    expect(Array.isArray(s.cmd) && s.cmd.every((c) => typeof c === 'string')).toBe(true)
    for (const [list, output] of [[s.deps, false], [s.outs, true]] as const) {
      for (const p of list) {
        expectSafePath(p.path, `stage ${name} path`, {output, separators: /\//, allowDot: !output})
        expect(p.oid).toMatch(/^[0-9a-f]{64}$/)
        expect(Number.isSafeInteger(p.size) && p.size >= 0).toBe(true)
        if (p.nfiles !== undefined) expect(Number.isSafeInteger(p.nfiles) && p.nfiles >= 0).toBe(true)
      }
    }
    expect(s.params !== null && typeof s.params === 'object').toBe(true)
  }
}

describe('dv.lock (parseLock, writeLock)', () => {
  const WHERE = 'dv.lock (at 1234abcd)'

  it('1. totality: random text [400 cases]', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const r = attempt(WHERE, () => parseLock(text, WHERE))
        if (r.ok) checkLock(r.value)
      }),
      runs(400),
    )
  })

  it('1. totality + 2. safety: mutated valid locks [300 cases]', () => {
    fc.assert(
      fc.property(mutatedText(validLockDoc), (text) => {
        const r = attempt(WHERE, () => parseLock(text, WHERE))
        if (r.ok) checkLock(r.value)
      }),
      runs(300),
    )
  })

  it('2. safety: hostile paths are refused (outs also inside .git/.dv) [300 cases]', () => {
    fc.assert(
      fc.property(fc.oneof(escaping.map((p) => [p, 'deps'] as const), escaping.map((p) => [p, 'outs'] as const), reserved.map((p) => [p, 'outs'] as const)), hex64, ([path, field], oid) => {
        const text = stringify({schema: '2.0', stages: {s: {cmd: 'x', [field]: [{path, hash: 'blake3', blake3: oid, size: 1}]}}})
        refused(WHERE, () => parseLock(text, WHERE))
      }),
      runs(300),
    )
  })

  it('3. round trip: readLock(writeLock(v)) equals v [100 cases]', () => {
    let n = 0
    fc.assert(
      fc.property(lockValue, (lock) => {
        const dir = join(scratch, `lock${n++}`)
        mkdirSync(dir)
        const order = [...lock.keys()] // the pipeline's order, as repro gives it
        writeLock(dir, lock, order)
        const text = readFileSync(join(dir, 'dv.lock'), 'utf8')
        const back = readLock(dir)
        expect(new Set(back.keys())).toEqual(new Set(order))
        expect(back).toEqual(lock)
        writeLock(dir, back, order)
        expect(readFileSync(join(dir, 'dv.lock'), 'utf8')).toBe(text)
        rmSync(dir, {recursive: true})
      }),
      runs(100),
    )
  })

  it('4. an alias bomb is refused at once; deep nesting is a one-line DvError, twice in a row', () => {
    expect(refused(WHERE, () => parseLock(`schema: '2.0'\n${aliasBomb('stages')}`, WHERE)).message).toMatch(/alias/)
    for (let round = 0; round < 2; round++) {
      for (const [style, text] of Object.entries(deepDocs(10_000))) {
        expect(refused(WHERE, () => parseLock(text, WHERE)).message, style).toMatch(/nested more than \d+ levels/)
      }
    }
  })

  it('regression: errors name the file given, not always "dv.lock"', () => {
    expect(() => parseLock('stages: 5\n', WHERE)).toThrow(`${WHERE}: stages: expected a mapping`)
    expect(() => parseLock('stages:\n  s:\n    outs: 3\n', WHERE)).toThrow(`${WHERE}: stage s: outs: expected a list`)
  })

  it('regression: sizes and nfiles must be non-negative integers', () => {
    for (const bad of ['size: -1', 'size: 1.5', 'size: .nan', 'size: .inf', 'size: 1\n      nfiles: -2', 'size: 1\n      nfiles: "3"']) {
      expect(() => parseLock(`stages:\n  s:\n    cmd: x\n    outs:\n    - path: a\n      blake3: ${'a'.repeat(64)}\n      ${bad}\n`, WHERE)).toThrow(InvalidFileError)
    }
  })

  it('regression: a lock whose top level or stages are not mappings is refused, not read as empty', () => {
    for (const text of ['hello\n', '[1, 2]\n', 'stages: [a, b]\n', 'stages:\n  s: 5\n']) expect(() => parseLock(text, WHERE)).toThrow(InvalidFileError)
  })

  it('regression: a `..` path is refused, in deps too', () => {
    expect(() => parseLock(`stages:\n  s:\n    cmd: x\n    deps:\n    - path: ..\n      blake3: ${'a'.repeat(64)}\n      size: 1\n`, WHERE)).toThrow(
      `${WHERE}: stage s: deps: path ".." escapes the repository or names a reserved directory`,
    )
  })

  it('regression: writeLock keeps the pipeline order for integer-like stage names', () => {
    const dir = join(scratch, 'order')
    mkdirSync(dir)
    const stage = {cmd: ['x'], deps: [], params: {}, outs: []}
    writeLock(dir, new Map([['a', stage], ['0', stage]]), ['a', '0'])
    expect(readFileSync(join(dir, 'dv.lock'), 'utf8')).toMatch(/ {2}a:[^]* {2}"?'?0'?"?:/)
  })

  it('regression: a stage named __proto__ survives writeLock', () => {
    const dir = join(scratch, 'proto')
    mkdirSync(dir)
    const lock: Lock = new Map([['__proto__', {cmd: ['x'], deps: [], params: {}, outs: []}]])
    writeLock(dir, lock, ['__proto__'])
    expect(readLock(dir)).toEqual(lock)
  })
})

// ---------------------------------------------------------------------------------------------
// dv.yaml

const pathOrInterp = fc.oneof(safePath, fc.constantFrom('${model.name}.pkl', 'data/${item}', '${item}/out', 'x${layers[0]}'))
const outEntry = fc.oneof(pathOrInterp, fc.tuple(safePath, fc.record({cache: fc.boolean(), persist: fc.boolean()}, {requiredKeys: []})).map(([p, o]) => ({[p]: o})))
const stageDef = fc.record(
  {
    cmd: fc.oneof(fc.constantFrom('python train.py --lr ${lr}', 'echo ${item}', 'make'), fc.array(fc.constantFrom('a', 'b ${lr}'), {minLength: 1, maxLength: 2})),
    wdir: fc.constantFrom('.', 'sub', 'sub/deeper'),
    deps: fc.array(pathOrInterp, {maxLength: 3}),
    outs: fc.array(outEntry, {maxLength: 3}),
    metrics: fc.array(safePath.map((p) => `${p}.json`), {maxLength: 1}),
    plots: fc.array(safePath.map((p) => `${p}.csv`), {maxLength: 1}),
    params: fc.array(fc.oneof(fc.constantFrom('lr', 'model.name'), fc.constant({'params.yaml': ['lr']})), {maxLength: 2}),
    frozen: fc.boolean(),
    desc: fc.string(),
    gpus: fc.nat({max: 4}),
  },
  {requiredKeys: ['cmd']},
)
const stageGroup = fc.oneof(
  stageDef,
  fc.record({foreach: fc.oneof(fc.array(fc.constantFrom('a', 'b', 'c'), {minLength: 1, maxLength: 3}), fc.constant('${layers}')), do: stageDef}),
  fc.record({matrix: fc.record({item: fc.array(fc.constantFrom('x', 'y'), {minLength: 1, maxLength: 2})}), cmd: fc.constant('echo ${item.item}')}),
)
const validPipelineDoc = fc.record(
  {
    vars: fc.array(fc.oneof(fc.constant('params.yaml'), fc.record({extra: fc.nat()})), {maxLength: 1}),
    stages: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/), stageGroup, {minKeys: 1, maxKeys: 3}),
    metrics: fc.array(safePath, {maxLength: 2}),
    plots: fc.array(fc.oneof(safePath, fc.constant({'plots/acc.csv': {x: 'step', y: 'acc'}})), {maxLength: 2}),
    params: fc.array(safePath.map((p) => `${p}.yaml`), {maxLength: 1}),
  },
  {requiredKeys: ['stages']},
)

describe('dv.yaml (parsePipeline)', () => {
  const FILE = 'dv.yaml'
  let root: string
  beforeAll(() => {
    root = mkdtempSync(join(scratch, 'pipeline-'))
    writeFileSync(join(root, 'params.yaml'), 'lr: 0.1\nlayers: [1, 2]\nmodel:\n  name: net\n')
  })

  function checkPipeline(p: ReturnType<typeof parsePipeline>): void {
    const opts = {separators: /\//}
    for (const s of p.stages) {
      expectSafePath(s.wdir, 'wdir', {...opts, output: false, allowDot: true})
      for (const d of s.deps) expectSafePath(d, 'dep', {...opts, output: false, allowDot: true})
      for (const o of s.outs) expectSafePath(o.path, 'out', {...opts, output: true})
      for (const r of s.params) expectSafePath(r.file, 'params file', {...opts, output: false})
      expect(s.cmd.length).toBeGreaterThan(0)
    }
    for (const m of [...p.metrics, ...p.plots, ...p.params]) expectSafePath(m, 'top-level path', {...opts, output: false})
  }

  it('1. totality: random text [300 cases]', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const r = attempt(FILE, () => parsePipeline(root, FILE, text))
        if (r.ok) checkPipeline(r.value)
      }),
      runs(300),
    )
  })

  it('1. totality + 2. safety: mutated valid pipelines [300 cases]', () => {
    fc.assert(
      fc.property(mutatedText(validPipelineDoc), (text) => {
        const r = attempt(FILE, () => parsePipeline(root, FILE, text))
        if (r.ok) checkPipeline(r.value)
      }),
      runs(300),
    )
  })

  it('2. safety: hostile paths are refused in every path field [300 cases]', () => {
    const field = fc.constantFrom('deps', 'outs', 'metrics', 'plots', 'wdir', 'params', 'vars', 'top-metrics', 'top-plots')
    fc.assert(
      fc.property(fc.oneof(escaping.map((p) => [p, false] as const), reserved.map((p) => [p, true] as const)), field, ([path, isReserved], f) => {
        // Reading from .git or .dv is harmless; writing there is not: reserved paths are only hostile as outputs.
        if (isReserved && !['outs', 'metrics', 'plots'].includes(f)) return
        const stage: Record<string, unknown> = {cmd: 'x'}
        const doc: Record<string, unknown> = {stages: {s: stage}}
        if (f === 'wdir') stage.wdir = path
        // A params file needs a .yaml name: `${path}/p.yaml` keeps the path hostile (`...yaml` would not be).
        else if (f === 'params') stage.params = [{[`${path}/p.yaml`]: ['a']}]
        else if (f === 'vars') stage.vars = [`${path}/p.yaml`]
        else if (f === 'top-metrics') doc.metrics = [path]
        else if (f === 'top-plots') doc.plots = [path]
        else stage[f] = [path]
        refused(FILE, () => parsePipeline(root, FILE, stringify(doc)))
      }),
      runs(300),
    )
  })

  it('4. an alias bomb is refused at once, as a DvError', () => {
    const e = refused(FILE, () => parsePipeline(root, FILE, `${aliasBomb('vars')}stages: {}\n`))
    expect(e.message).toMatch(/alias/)
    refused(FILE, () => parsePipeline(root, FILE, `x: &a [1, 2]\nstages:\n  s:\n    cmd: [*a, *a, *a]\n${aliasBomb('y')}`))
  })

  it('4. deep nesting is a one-line DvError, twice in a row', () => {
    for (let round = 0; round < 2; round++) {
      for (const [style, text] of Object.entries(deepDocs(10_000))) {
        expect(refused(FILE, () => parsePipeline(root, FILE, text)).message, style).toMatch(/nested more than \d+ levels/)
      }
    }
  })

  it('4. nesting a little under the limit still parses', () => {
    const v = parseYaml(deepDocs(200).flowSeq, 'x.yaml')
    expect(Array.isArray(v)).toBe(true)
    expect(parsePipeline(root, FILE, `stages:\n  s:\n    cmd: x\n    meta: ${'['.repeat(200)}${']'.repeat(200)}\n`).stages).toHaveLength(1)
  })

  it('regression: an alias bomb is a DvError, not a raw ReferenceError', () => {
    expect(() => parsePipeline(root, FILE, `${aliasBomb('vars')}stages: {}\n`)).toThrow(InvalidFileError)
  })

  it('regression: an alias to a missing anchor ("*a") is a DvError, not a raw ReferenceError', () => {
    expect(() => parsePipeline(root, FILE, '*a')).toThrow(InvalidFileError)
  })

  it('regression: a key with a newline keeps the message on one line', () => {
    const e = refused(FILE, () => parsePipeline(root, FILE, 'stages:\n  "a\\nb": 1\n'))
    expect(e.message).toBe('dv.yaml:2: stage "a\\nb": the definition must be a mapping, got a number')
  })

  it('regression: outputs inside .git or .dv, and paths with NUL, are refused', () => {
    expect(() => parsePipeline(root, FILE, 'stages:\n  s:\n    cmd: x\n    outs: [.git/hooks]\n')).toThrow(/inside \.git/)
    expect(() => parsePipeline(root, FILE, 'stages:\n  s:\n    cmd: x\n    outs: [.dv/cache/x]\n')).toThrow(/inside \.dv/)
    expect(() => parsePipeline(root, FILE, 'stages:\n  s:\n    cmd: x\n    plots: [.git]\n')).toThrow(/inside \.git/)
    expect(() => parsePipeline(root, FILE, 'stages:\n  s:\n    cmd: x\n    deps: ["a\\0b"]\n')).toThrow(/NUL/)
    // Reading from there stays allowed.
    expect(parsePipeline(root, FILE, 'stages:\n  s:\n    cmd: x\n    deps: [.git/HEAD]\n').stages[0].deps).toEqual(['.git/HEAD'])
  })

  it('regression: many unclosed ${ in one string are not quadratic', () => {
    const started = performance.now()
    expect(parsePipeline(root, FILE, `stages:\n  s:\n    cmd: "${'${'.repeat(100_000)}"\n`).stages[0].cmd[0]).toBe('${'.repeat(100_000))
    expect(performance.now() - started).toBeLessThan(2000)
  })
})

// ---------------------------------------------------------------------------------------------
// Pack indexes

const packObjects = fc.uniqueArray(fc.record({oid: hex64, bytes: fc.uint8Array({maxLength: 1500})}), {selector: (o) => o.oid, minLength: 1, maxLength: 6})
type IndexEdit =
  | {op: 'set'; line: number; field: 0 | 1 | 2; value: string}
  | {op: 'swap'; a: number; b: number}
  | {op: 'dup'; line: number}
  | {op: 'drop'; line: number}
  | {op: 'text'; at: number; insert: string; remove: number}
const numberText = fc.oneof(
  fc.nat().map(String),
  fc.integer({min: -5000, max: -1}).map(String),
  fc.double({noNaN: true}).map(String),
  fc.constantFrom('0', '512', '511', '1024', '-0', '1e3', '0x200', '9'.repeat(25), String(2 ** 53), '', ' 512', '512 ', '+512', '00512'),
)
const indexEdit: fc.Arbitrary<IndexEdit> = fc.oneof(
  fc.record({op: fc.constant('set' as const), line: fc.nat(), field: fc.constantFrom(0 as const, 1 as const, 2 as const), value: fc.oneof(numberText, hex64, fc.string({maxLength: 6}))}),
  fc.record({op: fc.constant('swap' as const), a: fc.nat(), b: fc.nat()}),
  fc.record({op: fc.constant('dup' as const), line: fc.nat()}),
  fc.record({op: fc.constant('drop' as const), line: fc.nat()}),
  fc.record({op: fc.constant('text' as const), at: fc.nat(), insert: fc.constantFrom('', ' ', '\n', '\r', '\0', '-', '.', 'x', '\ufeff'), remove: fc.nat({max: 3})}),
)

function editIndex(index: Buffer, edits: readonly IndexEdit[]): Buffer {
  const text = index.toString('utf8')
  const lines = text.split('\n').filter((l, i, all) => !(i === all.length - 1 && l === ''))
  const body = lines.slice(1)
  let out: string[] = body
  let raw: string | undefined
  for (const e of edits) {
    const pick = (n: number) => (out.length === 0 ? -1 : n % out.length)
    if (e.op === 'set' && pick(e.line) >= 0) {
      const parts = out[pick(e.line)].split(' ')
      parts[e.field] = e.value
      out = out.map((l, i) => (i === pick(e.line) ? parts.join(' ') : l))
    } else if (e.op === 'swap' && out.length > 1) {
      const [a, b] = [pick(e.a), pick(e.b)]
      out = out.map((l, i) => (i === a ? out[b] : i === b ? out[a] : l))
    } else if (e.op === 'dup' && pick(e.line) >= 0) {
      out = [...out.slice(0, pick(e.line) + 1), out[pick(e.line)], ...out.slice(pick(e.line) + 1)]
    } else if (e.op === 'drop' && pick(e.line) >= 0) {
      out = out.filter((_, i) => i !== pick(e.line))
    } else if (e.op === 'text') {
      raw = damage(raw ?? [lines[0], ...out, ''].join('\n'), [e])
    }
  }
  return Buffer.from(raw ?? [lines[0], ...out, ''].join('\n'))
}

/** What every accepted index must satisfy: entries in order, on block boundaries after their header, not overlapping, inside the pack. */
function checkIndex(entries: ReturnType<typeof parseIndex>, packSize: number | undefined): void {
  let end = 0
  for (const e of entries) {
    expect(e.oid).toMatch(/^[0-9a-f]{64}$/)
    expect(Number.isSafeInteger(e.offset) && Number.isSafeInteger(e.size)).toBe(true)
    expect(e.offset % 512).toBe(0)
    expect(e.offset - 512).toBeGreaterThanOrEqual(end)
    end = e.offset + Math.ceil(e.size / 512) * 512
    if (packSize !== undefined) expect(e.offset + e.size).toBeLessThanOrEqual(packSize - 1024)
  }
}

describe('pack indexes (parseIndex)', () => {
  const WHERE = 'remote origin'

  it('1. totality: random bytes named by their own hash [400 cases]', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({maxLength: 300}).map((b) => Buffer.from(b)), fc.string({unit: 'binary', maxLength: 300}).map((s) => Buffer.from(`dv-pack-index 1\n${s}`))), (bytes) => {
        const r = attempt(WHERE, () => parseIndex(bytes, hashBytes(bytes), WHERE))
        if (r.ok) checkIndex(r.value, undefined)
        else expect(r.error).toBeInstanceOf(CorruptObjectError)
      }),
      runs(400),
    )
  })

  it('1. totality + 4. limits: mutated valid indexes (re-hashed, so only the content can refuse them) [500 cases]', () => {
    fc.assert(
      fc.property(packObjects, fc.array(indexEdit, {minLength: 1, maxLength: 3}), fc.boolean(), (objects, edits, withSize) => {
        const pack = buildPack(objects)
        const index = editIndex(pack.index, edits)
        const packSize = withSize ? pack.tar.length : undefined
        const r = attempt(WHERE, () => parseIndex(index, hashBytes(index), WHERE, packSize))
        if (r.ok) checkIndex(r.value, packSize)
        else expect(r.error).toBeInstanceOf(CorruptObjectError)
      }),
      runs(500),
    )
  })

  it('3. round trip: a built pack\'s index parses to its entries, each reading back its bytes [200 cases]', () => {
    fc.assert(
      fc.property(packObjects, (objects) => {
        const pack = buildPack(objects)
        const entries = parseIndex(pack.index, pack.id, WHERE, pack.tar.length)
        expect(entries).toEqual(pack.entries)
        entries.forEach((e, i) => expect(pack.tar.subarray(e.offset, e.offset + e.size).equals(objects[i].bytes)).toBe(true))
      }),
      runs(200),
    )
  })

  it('4. an index that lies about offsets or sizes is refused [300 cases]', () => {
    const lie = fc.oneof(
      fc.record({kind: fc.constant('overlap' as const), i: fc.nat(), delta: fc.integer({min: 1, max: 1024})}),
      fc.record({kind: fc.constant('grow' as const), i: fc.nat(), extra: fc.integer({min: 1, max: 2 ** 40})}),
      fc.record({kind: fc.constant('misalign' as const), i: fc.nat(), delta: fc.integer({min: 1, max: 511})}),
      fc.record({kind: fc.constant('huge' as const), i: fc.nat(), value: fc.constantFrom(String(2 ** 53), '9'.repeat(30), '1e400')}),
      fc.record({kind: fc.constant('beyond' as const), i: fc.nat(), extra: fc.integer({min: 1, max: 100_000})}),
    )
    fc.assert(
      fc.property(packObjects.filter((o) => o.length >= 2), lie, (objects, l) => {
        const pack = buildPack(objects)
        const entries = pack.entries.map((e) => ({...e, offset: String(e.offset), size: String(e.size)}))
        const i = l.i % entries.length
        const e = entries[i]
        const last = i === entries.length - 1
        switch (l.kind) {
          case 'overlap': // into the previous entry's bytes, or the next's
            if (i > 0) e.offset = String(Number(e.offset) - 512 * Math.ceil(l.delta / 512))
            else e.size = String(Number(entries[1].offset) - Number(e.offset) + l.delta)
            break
          case 'grow': // past the next entry, or past the end of the pack
            e.size = String(Number(e.size) + (last ? l.extra + 2048 : Number(entries[i + 1].offset)))
            break
          case 'misalign':
            e.offset = String(Number(e.offset) + l.delta)
            break
          case 'huge':
            e.offset = l.value
            break
          case 'beyond':
            e.offset = String(pack.tar.length + 512 * Math.ceil(l.extra / 512))
            break
        }
        const index = Buffer.from(['dv-pack-index 1', ...entries.map((x) => `${x.oid} ${x.offset} ${x.size}`), ''].join('\n'))
        refused(WHERE, () => parseIndex(index, hashBytes(index), WHERE, pack.tar.length))
      }),
      runs(300),
    )
  })

  it('regression: overlapping, out-of-order and unsafe entries are refused', () => {
    const a = 'a'.repeat(64)
    const b = 'b'.repeat(64)
    for (const body of [`${a} 512 0\n${a} 512 0\n`, `${a} 512 600\n${b} 1024 1\n`, `${a} 1024 1\n${b} 512 1\n`, `${a} 513 1\n`, `${a} 0 1\n`, `${a} ${'9'.repeat(25)} 1\n`, `${a} 512 ${2 ** 53}\n`]) {
      const index = Buffer.from(`dv-pack-index 1\n${body}`)
      expect(() => parseIndex(index, hashBytes(index), WHERE), body).toThrow(CorruptObjectError)
    }
    // 600 bytes take two blocks (512 to 1536), then the second entry's header block: its bytes start at 2048.
    const ok = Buffer.from(`dv-pack-index 1\n${a} 512 600\n${b} 2048 1\n`)
    expect(parseIndex(ok, hashBytes(ok), WHERE, 2048 + 512 + 1024)).toHaveLength(2)
    expect(() => parseIndex(ok, hashBytes(ok), WHERE, 3072)).toThrow(CorruptObjectError) // ends past the end-of-archive blocks
  })
})

// ---------------------------------------------------------------------------------------------
// .dv/config

const configKey = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,8}$/)
const configLine = fc.oneof(
  fc.tuple(configKey, fc.string({maxLength: 12})).map(([k, v]) => `\t${k} = ${v}`),
  fc.tuple(configKey, fc.string({maxLength: 12})).map(([k, v]) => `${k}=${JSON.stringify(v)}`),
  configKey,
  fc.constantFrom('# comment', '; comment', '', '   ', '[core]', '[remote "my.bucket"]', '[remote "a\\"b"]', '[Core]', 'x = "unterminated', 'x = a ; c', 'x = a #c'),
  fc.string({maxLength: 12}).map((s) => `[remote "${s}"]`),
  fc.string({unit: 'binary', maxLength: 20}),
)
const configText = fc.tuple(fc.array(configLine, {maxLength: 12}), fc.constantFrom('\n', '\r\n')).map(([lines, nl]) => ['[core]', ...lines].join(nl))

describe('.dv/config (ConfigFile.parse, set, toString)', () => {
  const FILE = '/repo/.dv/config'

  it('1. totality: any text parses or is a one-line DvError naming the file; reading values never throws [500 cases]', () => {
    fc.assert(
      fc.property(fc.oneof(configText, anyText), (text) => {
        const r = attempt(FILE, () => ConfigFile.parse(text, FILE))
        if (!r.ok) return
        const started = performance.now()
        r.value.entries()
        expect(performance.now() - started).toBeLessThan(SLOW_MS)
      }),
      runs(500),
    )
  })

  it('3. round trip: parse(toString(parse(x))) has the same entries and text [400 cases]', () => {
    fc.assert(
      fc.property(configText, (text) => {
        const r = attempt(FILE, () => ConfigFile.parse(text, FILE))
        if (!r.ok) return
        const once = r.value.toString()
        const again = ConfigFile.parse(once, FILE)
        expect(again.entries()).toEqual(r.value.entries())
        expect(again.toString()).toBe(once)
      }),
      runs(400),
    )
  })

  it('3. round trip: a value set is the value read back, after writing and reading the file [500 cases]', () => {
    const name = fc.oneof(
      fc.tuple(configKey, configKey).map(([s, k]) => `${s}.${k}`),
      fc.tuple(configKey, fc.string({unit: 'binary', maxLength: 8}), configKey).map(([s, sub, k]) => `${s}.${sub}.${k}`),
      fc.string({unit: 'binary', maxLength: 12}),
    )
    fc.assert(
      fc.property(configText, name, fc.string({unit: 'binary', maxLength: 16}), (text, key, value) => {
        const r = attempt(FILE, () => ConfigFile.parse(text, FILE))
        if (!r.ok) return
        const cfg = r.value
        try {
          cfg.set(key, value)
        } catch (error) {
          if (!(error instanceof DvError)) throw error
          expect(error.message).not.toMatch(/[\r\n]/)
          return // a name or value dv cannot write: refused, file unchanged
        }
        expect(cfg.get(key)).toBe(value)
        const back = ConfigFile.parse(cfg.toString(), FILE)
        expect(back.get(key)).toBe(value)
        expect(back.entries()).toEqual(cfg.entries())
      }),
      runs(500),
    )
  })

  it('regression: a value with a newline cannot inject a section into the file', () => {
    const cfg = ConfigFile.parse('[core]\n\tremote = origin\n', FILE)
    expect(() => cfg.set('core.remote', 'x\n[remote "evil"]\n\turl = /tmp/evil')).toThrow(DvError)
    expect(cfg.toString()).toBe('[core]\n\tremote = origin\n')
  })

  it('regression: keys and section names that would not parse back are refused by set', () => {
    const cfg = ConfigFile.parse('', FILE)
    for (const key of ['core.bad key', 'core.1x', 'a b.k', 'remote.a\nb.url', 'a.\n.a']) expect(() => cfg.set(key, 'v'), key).toThrow(DvError)
    expect(cfg.toString()).toBe('')
  })

  it('regression: a carriage return inside a value round-trips', () => {
    const cfg = ConfigFile.parse('', FILE)
    cfg.set('core.k', 'a\rb')
    expect(ConfigFile.parse(cfg.toString(), FILE).get('core.k')).toBe('a\rb')
  })

  it('regression: a long run of spaces inside a value is not quadratic', () => {
    const cfg = ConfigFile.parse(`[core]\n\tk = a${' '.repeat(200_000)}b ; comment\n`, FILE)
    const started = performance.now()
    expect(cfg.get('core.k')).toBe(`a${' '.repeat(200_000)}b`)
    expect(performance.now() - started).toBeLessThan(1000)
  })
})

// ---------------------------------------------------------------------------------------------
// parseYaml

describe('parseYaml', () => {
  const FILE = 'params.yaml'

  it('1. totality: random and mutated text [300 cases]', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, mutatedText(validPipelineDoc), mutatedText(validLockDoc)), (text) => {
        attempt(FILE, () => parseYaml(text, FILE))
      }),
      runs(300),
    )
  })

  it('4. alias bombs and deep nesting are one-line DvErrors, twice in a row', () => {
    expect(refused(FILE, () => parseYaml(aliasBomb('a'), FILE)).message).toMatch(/alias/)
    for (let round = 0; round < 2; round++) {
      for (const [style, text] of Object.entries(deepDocs(10_000))) {
        expect(refused(FILE, () => parseYaml(text, FILE)).message, style).toMatch(/nested more than \d+ levels/)
      }
    }
  })
})

describe('deep nesting in params, metrics and plot files', () => {
  it('is refused in one line naming the file, never a stack overflow', () => {
    const deep = `a: ${'['.repeat(10_000)}`
    for (const [file, parse] of [
      ['params.yaml', () => parseParams(deep, 'params.yaml')],
      ['params.json', () => parseParams(`{"a": ${'['.repeat(10_000)}}`, 'params.json')],
      ['metrics.yaml', () => parseMetrics(Buffer.from(deep), 'metrics.yaml')],
    ] as const) {
      let caught: unknown
      try {
        parse()
      } catch (error) {
        caught = error
      }
      expect(caught, file).toBeInstanceOf(InvalidFileError)
      expect((caught as Error).message, file).toMatch(new RegExp(`^${file.replace('.', '\\.')}.*nested more than \\d+ levels`))
      expect((caught as Error).message).not.toContain('\n')
    }
  })
})
