/**
 * The object store: blobs (a file's bytes) and trees (one directory) addressed by BLAKE3 at
 * `<cache>/objects/<2 hex>/<62 hex>`. Objects are written to `<cache>/tmp` and renamed into
 * place once complete, are read-only, and are never modified. A tree is written only after
 * everything it names is present, so a tree in the store means its whole subtree is there.
 */
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {CorruptObjectError, MissingObjectError} from '../errors.js'
import {hashBytes, loadHasher} from '../hash/blake3.js'
import {defaultPoolSize, outcomes, runBatches} from '../hash/pool.js'
import {decodeTree, encodeTree, TREE_MARK, type TreeEntry} from '../models/tree.js'
import {ingestFile, objectPath, SMALL_FILE, writeObjectSync, type FileFacts, type StoreDirs} from './ingest.js'
import type {IngestBatch} from './ingest-worker.js'

export type {FileFacts} from './ingest.js'

/** Below this many files the work is done in this thread: starting workers costs more. */
const POOL_THRESHOLD = 48
const BATCH_FILES = 64
const BATCH_BYTES = 8 * 1024 * 1024

export interface IngestOptions {
  /** Copy the bytes into the store (add/commit) or only hash them (status). */
  store: boolean
  /** Worker threads for many files (default: DV_JOBS, else the number of cores). */
  jobs?: number
  onProgress?: (files: number, bytes: number) => void
}

export class ObjectStore {
  readonly dir: string
  readonly dirs: StoreDirs
  private readonly trees = new Map<string, TreeEntry[]>()

  constructor(cacheDir: string) {
    this.dir = cacheDir
    this.dirs = {objects: join(cacheDir, 'objects'), tmp: join(cacheDir, 'tmp')}
  }

  /** Creates the fan-out directories once, so writers never race to create them. */
  init(): void {
    mkdirSync(this.dirs.tmp, {recursive: true})
    for (let i = 0; i < 256; i++) mkdirSync(join(this.dirs.objects, i.toString(16).padStart(2, '0')), {recursive: true})
  }

  path(oid: string): string {
    return objectPath(this.dirs.objects, oid)
  }

  has(oid: string): boolean {
    return existsSync(this.path(oid))
  }

  size(oid: string): number {
    return statSync(this.path(oid)).size
  }

  /** Stores bytes held in memory (tree objects); returns their id. */
  putBytes(bytes: Uint8Array): string {
    const oid = hashBytes(bytes)
    writeObjectSync(this.dirs, oid, bytes)
    return oid
  }

  /** Reads an object and checks it against its id. */
  readBytes(oid: string): Buffer {
    let bytes: Buffer
    try {
      bytes = readFileSync(this.path(oid))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingObjectError(oid)
      throw error
    }
    const actual = hashBytes(bytes)
    if (actual !== oid) throw new CorruptObjectError(oid, actual, this.dir)
    return bytes
  }

  putTree(entries: readonly TreeEntry[]): string {
    return this.putBytes(encodeTree(entries))
  }

  getTree(oid: string): TreeEntry[] {
    const cached = this.trees.get(oid)
    if (cached) return cached
    const entries = decodeTree(this.readBytes(oid), `tree object ${oid}`)
    this.trees.set(oid, entries)
    return entries
  }

  /** Whether a stored object is a tree (read from its first bytes, not the whole object). */
  isTree(oid: string): boolean {
    let fd: number
    try {
      fd = openSync(this.path(oid), 'r')
    } catch {
      return false
    }
    try {
      const head = Buffer.alloc(TREE_MARK.length)
      return readSync(fd, head, 0, head.length, 0) === head.length && head.toString('latin1') === TREE_MARK
    } finally {
      closeSync(fd)
    }
  }

  /**
   * Hashes many files (storing them when asked), on all cores when there are enough of them.
   * Returns one result per path, in order: the facts, or the error for that file.
   */
  async ingestMany(paths: readonly string[], sizes: readonly number[], options: IngestOptions): Promise<Array<FileFacts | Error>> {
    await loadHasher()
    const store = options.store ? this.dirs : undefined
    const {results, done} = outcomes<FileFacts>(paths.length, options.onProgress)
    if (paths.length < POOL_THRESHOLD) {
      for (let i = 0; i < paths.length; i++) {
        try {
          done(i, await ingestFile(paths[i], store))
        } catch (error) {
          done(i, error as Error)
        }
      }
      return results
    }
    const batches: number[][] = []
    let current: number[] = []
    let currentBytes = 0
    for (let i = 0; i < paths.length; i++) {
      current.push(i)
      currentBytes += sizes[i] ?? SMALL_FILE
      if (current.length >= BATCH_FILES || currentBytes >= BATCH_BYTES) {
        batches.push(current)
        current = []
        currentBytes = 0
      }
    }
    if (current.length > 0) batches.push(current)
    const script = new URL('../odb/ingest-worker.js', import.meta.url)
    await runBatches<FileFacts>(script, options.jobs ?? defaultPoolSize(), batches, (batch): IngestBatch => ({paths: batch.map((i) => paths[i]), store}), done)
    return results
  }
}

