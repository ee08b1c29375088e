/**
 * A dv repository: its root, `.dv/` directory, object store, state cache, config and git.
 * Every operation under src/repo/ starts from `Repo.open()`; this class owns path checks
 * (nothing escapes the root) and finding the pointer files.
 */
import {existsSync, readdirSync, readFileSync, realpathSync, statSync} from 'node:fs'
import {basename, dirname, isAbsolute, join, relative, resolve, sep} from 'node:path'

import {InvalidFileError, NotADvRepoError, PathOutsideRepoError, ReservedPathError} from '../errors.js'
import {parsePointer, POINTER_SUFFIX, serializePointer, type Pointer, type PointerOut} from '../models/pointer.js'
import {ObjectStore} from '../odb/store.js'
import {Git} from '../scm/git.js'
import {writeFileAtomic} from '../util/atomic.js'
import {DvIgnore} from '../workspace/ignore.js'
import {Linker, parseLinkTypes, type LinkType} from '../workspace/link.js'
import type {ScanContext} from '../workspace/scan.js'
import {StateCache} from '../workspace/state.js'
import {Config} from './config.js'
import {readRecordFile} from '../util/read.js'

export const DV_DIR = '.dv'

/** One tracked output: which pointer file records it, and its path from the repository root. */
export interface TrackedOut {
  /** The pointer file, relative to the root. */
  pointer: string
  out: PointerOut
  /** The output's path relative to the root. */
  path: string
}

export class Repo {
  readonly root: string
  readonly dvDir: string
  readonly odb: ObjectStore
  readonly state: StateCache
  readonly ignore: DvIgnore
  readonly config: Config
  private gitHandle?: Git | null

  constructor(root: string) {
    this.root = root
    this.dvDir = join(root, DV_DIR)
    this.odb = new ObjectStore(join(this.dvDir, 'cache'))
    this.state = new StateCache(join(this.dvDir, 'state'))
    this.ignore = new DvIgnore(root)
    this.config = new Config(this.dvDir)
  }

  /** The root of the repository containing `cwd`: the nearest parent with a `.dv` directory. */
  static findRoot(cwd = process.cwd()): string | undefined {
    let dir = realpathSync(cwd)
    for (;;) {
      if (existsSync(join(dir, DV_DIR, 'config')) || isDir(join(dir, DV_DIR, 'cache'))) return dir
      const parent = dirname(dir)
      if (parent === dir) return undefined
      dir = parent
    }
  }

  /** The repository containing `cwd`. */
  static open(cwd = process.cwd()): Repo {
    const root = Repo.findRoot(cwd)
    if (root === undefined) throw new NotADvRepoError(cwd)
    const repo = new Repo(root)
    // A fresh clone has the committed .dv/config but no cache yet.
    if (!isDir(repo.odb.dirs.tmp)) repo.odb.init()
    return repo
  }

  /** git, unless the repository was made with `--no-scm`. */
  get git(): Git | undefined {
    if (this.gitHandle === undefined) {
      const noScm = /^(true|yes|on|1)$/i.test(this.config.get('core.no_scm') ?? '')
      this.gitHandle = noScm || !existsSync(join(this.root, '.git')) ? null : new Git(this.root)
    }
    return this.gitHandle ?? undefined
  }

  scanContext(onProgress?: (files: number, bytes: number) => void): ScanContext {
    return {root: this.root, odb: this.odb, state: this.state, ignore: this.ignore, jobs: this.jobs(), onProgress}
  }

  /** Worker threads for many files: DV_JOBS, else core.jobs, else the number of cores. */
  jobs(): number | undefined {
    return process.env.DV_JOBS ? undefined : Number(this.config.get('core.jobs')) || undefined
  }

  linkTypes(): LinkType[] {
    return parseLinkTypes(this.config.get('core.link_type'))
  }

  linker(): Linker {
    return new Linker(this.odb, this.linkTypes())
  }

  /**
   * A user's path (relative to `cwd` or absolute, symlinked directories resolved, trailing slashes dropped)
   * as a path relative to the root with forward slashes. Refuses paths outside the root or
   * inside `.git` / `.dv`.
   */
  resolvePath(userPath: string, cwd = process.cwd()): string {
    let abs = resolve(cwd, userPath)
    // Resolve symlinks in the parent directories; the last component is kept as named, so a
    // workspace file that is itself a link into the cache still names the workspace path.
    try {
      abs = abs === this.root ? abs : join(realpathSync(dirname(abs)), basename(abs))
    } catch {
      // The parent does not exist: keep the path as written; callers report it missing.
    }
    const rel = relative(this.root, abs)
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      if (rel === '') return ''
      throw new PathOutsideRepoError(userPath, this.root)
    }
    const posix = rel.split(sep).join('/')
    const first = posix.split('/')[0]
    if (first === '.git' || first === DV_DIR) throw new ReservedPathError(userPath, first)
    return posix
  }

  /** Checks a path read from a file (pointer, tree, lock) before it is used. */
  checkStoredPath(rel: string, where: string): string {
    const norm = rel.replace(/\\/g, '/')
    const parts = norm.split('/')
    if (isAbsolute(norm) || parts.some((p) => p === '..' || p === '') || parts[0] === '.git' || parts[0] === DV_DIR) {
      throw new InvalidFileError(where, `path ${JSON.stringify(rel)} escapes the repository or names a reserved directory`)
    }
    return parts.filter((p) => p !== '.').join('/')
  }

  abs(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel)
  }

  /** Every pointer file in the repository, relative to the root, sorted. */
  listPointers(): string[] {
    const git = this.git
    if (git) {
      return git
        .listFiles([`*${POINTER_SUFFIX}`])
        .filter((p) => p.endsWith(POINTER_SUFFIX) && existsSync(this.abs(p)) && statSync(this.abs(p)).isFile())
        .sort()
    }
    const found: string[] = []
    const walk = (rel: string) => {
      const names = new Set(readdirSync(this.abs(rel)))
      for (const name of names) {
        const childRel = rel ? `${rel}/${name}` : name
        if (rel === '' && (name === '.git' || name === DV_DIR)) continue
        const st = statSync(this.abs(childRel), {throwIfNoEntry: false})
        if (!st) continue
        if (st.isDirectory()) {
          if (!names.has(name + POINTER_SUFFIX) && name !== 'node_modules') walk(childRel) // a tracked directory holds no pointers
        } else if (name.endsWith(POINTER_SUFFIX) && name.length > POINTER_SUFFIX.length) {
          found.push(childRel)
        }
      }
    }
    walk('')
    return found.sort()
  }

  readPointer(rel: string): Pointer {
    const pointer = parsePointer(readRecordFile(this.abs(rel), rel), rel)
    for (const out of pointer.outs) this.outPath(rel, out)
    return pointer
  }

  writePointer(rel: string, pointer: Pointer): void {
    writeFileAtomic(this.abs(rel), serializePointer(pointer))
  }

  /** The repository-relative path of an output recorded in `pointer` (checked not to escape). */
  outPath(pointer: string, out: PointerOut): string {
    const dir = dirname(pointer) === '.' ? '' : dirname(pointer)
    return this.checkStoredPath(dir ? `${dir}/${out.path}` : out.path, pointer)
  }

  /** Every tracked output of every pointer file. */
  trackedOuts(pointers = this.listPointers()): TrackedOut[] {
    return pointers.flatMap((pointer) => this.readPointer(pointer).outs.map((out) => ({pointer, out, path: this.outPath(pointer, out)})))
  }
}

function isDir(path: string): boolean {
  return statSync(path, {throwIfNoEntry: false})?.isDirectory() ?? false
}
