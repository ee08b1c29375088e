/**
 * Putting cache objects into the work tree, by the first link type that works in
 * `core.link_type` order (default `reflink,copy`). reflink and copy give the workspace its own
 * writable file; hardlink and symlink share the cache's read-only object (`dv unprotect` turns
 * them into copies before editing). Every write goes to a temp name beside the target and is
 * renamed over it, so a reader never sees half a file.
 */
import {chmodSync, constants, copyFileSync, linkSync, mkdirSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {ConfigError} from '../errors.js'
import {defaultPoolSize, outcomes, runBatches} from '../hash/pool.js'
import type {ObjectStore} from '../odb/store.js'
import {tempFor, tempPathBeside} from '../util/atomic.js'
import {crashPoint} from '../util/crash.js'

export const LINK_TYPES = ['reflink', 'hardlink', 'symlink', 'copy'] as const
export type LinkType = (typeof LINK_TYPES)[number]
export const DEFAULT_LINK_TYPES: LinkType[] = ['reflink', 'copy']

export function parseLinkTypes(value: string | undefined): LinkType[] {
  if (!value) return DEFAULT_LINK_TYPES
  const types = value.split(',').map((t) => t.trim()).filter(Boolean)
  for (const t of types) {
    if (!(LINK_TYPES as readonly string[]).includes(t)) {
      throw new ConfigError(`core.link_type: unknown link type ${JSON.stringify(t)} (choose from ${LINK_TYPES.join(', ')})`)
    }
  }
  if (types.length === 0) throw new ConfigError('core.link_type is empty')
  return types as LinkType[]
}

/** Errors that mean "this link type is not possible here", as opposed to a real failure. */
const UNSUPPORTED = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EPERM', 'EINVAL', 'ENOSYS', 'EMLINK'])

export class Linker {
  private types: LinkType[]
  /** Directories known to exist, so placing many files costs no mkdir each. */
  private readonly dirs = new Set<string>()

  constructor(private readonly odb: ObjectStore, types: LinkType[]) {
    this.types = [...types]
  }

  /** The link type the next file will get, unless it turns out not to work. */
  get current(): LinkType {
    return this.types[0]
  }

  /**
   * Finds the first link type that works from the cache into `dir` by trying it on a temp
   * file there, so the workspace is not touched to learn it.
   */
  probe(oid: string, dir: string): LinkType {
    const tmp = tempPathBeside(join(dir, 'probe'))
    // A copy always works and would cost a full copy to find that out: stop before it.
    if (this.current !== 'copy') this.place(oid, tmp, false, false)
    rmSync(tmp, {force: true})
    return this.current
  }

  /** Places object `oid` at `dest`, replacing what is there. Returns the link type used. */
  link(oid: string, dest: string, exec: boolean): LinkType {
    const dir = dirname(dest)
    if (!this.dirs.has(dir)) {
      mkdirSync(dir, {recursive: true})
      this.dirs.add(dir)
    }
    const tmp = tempFor(dest)
    const type = this.place(oid, tmp, exec)
    crashPoint('link.temp-placed')
    try {
      renameSync(tmp, dest)
    } catch (error) {
      rmSync(tmp, {force: true})
      throw error
    }
    crashPoint('link.renamed')
    return type
  }

  /**
   * Puts the object at `tmp` by the first type that works, dropping types that do not. With
   * `orCopy` false it stops (without placing anything) when only `copy` is left.
   */
  private place(oid: string, tmp: string, exec: boolean, orCopy = true): LinkType {
    const src = this.odb.path(oid)
    let cleared = false
    for (;;) {
      const type = this.types[0]
      if (type === 'copy' && !orCopy) return type
      try {
        place(type, src, tmp, exec)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? ''
        rmSync(tmp, {force: true})
        // A killed dv's temp under the same fixed name (util/atomic.ts) was in the way: gone now.
        if ((code === 'EEXIST' || code === 'EACCES') && !cleared) {
          cleared = true
          continue
        }
        if (UNSUPPORTED.has(code) && this.types.length > 1) {
          this.types.shift() // not possible on this file system: fall through to the next type
          continue
        }
        throw error
      }
      return type
    }
  }
}

function place(type: LinkType, src: string, tmp: string, exec: boolean): void {
  switch (type) {
    case 'reflink':
      copyFileSync(src, tmp, constants.COPYFILE_FICLONE_FORCE)
      chmodSync(tmp, exec ? 0o755 : 0o644)
      return
    case 'hardlink':
      linkSync(src, tmp)
      return
    case 'symlink':
      symlinkSync(src, tmp)
      return
    case 'copy':
      copyFileSync(src, tmp)
      chmodSync(tmp, exec ? 0o755 : 0o644)
      return
  }
}

/** Replaces a linked file by a writable copy of its content (`dv unprotect`). */
export function unprotectFile(path: string): void {
  const tmp = tempPathBeside(path)
  copyFileSync(path, tmp)
  chmodSync(tmp, 0o644)
  crashPoint('unprotect.temp-copied')
  try {
    renameSync(tmp, path)
  } catch (error) {
    unlinkSync(tmp)
    throw error
  }
}

export interface LinkItem {
  oid: string
  /** Absolute path to place the object at. */
  dest: string
  exec: boolean
}

/** The stat of a placed file, for the state cache. */
export interface Placed {
  ino: number
  size: number
  mtimeMs: number
  ctimeMs: number
  mode: number
}

/** Below this many files the work stays in this thread: starting workers costs more. */
const POOL_THRESHOLD = 64
const BATCH = 256

/** Places one item and returns its stat. */
export function placeItem(linker: Linker, item: LinkItem): Placed {
  linker.link(item.oid, item.dest, item.exec)
  const st = statSync(item.dest)
  return {ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, mode: st.mode}
}

/**
 * Places many objects, on all cores when there are many: each file costs a handful of system
 * calls, so running them in parallel is what makes checking out many small files fast.
 * Returns one result per item, in order: its stat, or the error for that file.
 */
export async function linkMany(
  odb: ObjectStore,
  types: LinkType[],
  items: readonly LinkItem[],
  options: {jobs?: number; onProgress?: (files: number, bytes: number) => void} = {},
): Promise<Array<Placed | Error>> {
  const {results, done} = outcomes<Placed>(items.length, options.onProgress)
  if (items.length < POOL_THRESHOLD) {
    const linker = new Linker(odb, types)
    items.forEach((item, i) => {
      try {
        done(i, placeItem(linker, item))
      } catch (error) {
        done(i, error as Error)
      }
    })
    return results
  }
  const batches: number[][] = []
  for (let i = 0; i < items.length; i += BATCH) batches.push(Array.from({length: Math.min(BATCH, items.length - i)}, (_, k) => i + k))
  const script = new URL('../workspace/link-worker.js', import.meta.url)
  await runBatches<Placed>(script, options.jobs ?? defaultPoolSize(), batches, (batch): LinkBatch => ({cacheDir: odb.dir, types, items: batch.map((i) => items[i])}), done)
  return results
}

export interface LinkBatch {
  cacheDir: string
  types: LinkType[]
  items: LinkItem[]
}
