/**
 * The one path rule. Every path that reaches dv from outside the process (pointer files, trees,
 * dv.lock, dv.yaml/dvc.yaml, run records, pack indexes, stage names used in file names,
 * import/get targets, remote listings) is normalised and checked here before anything is read or
 * written under it. No other module decides whether a stored path is safe.
 *
 * A safe path is relative to a base directory inside the repository and, once normalised (`\` to
 * `/`, `.` and empty segments dropped, `a/../b` folded), stays under it, and none of its
 * components is a name that git or dv keep for themselves (`.git`, `.dv`) at any depth, in any
 * of the spellings a case-insensitive, Windows (NTFS) or macOS (HFS+) file system folds onto
 * them. Checking a path out under `.git` (hooks, config) or a nested `.git` would let a cloned
 * repository run commands the user did not ask for; git itself refuses such tree entries.
 */
import {InvalidFileError} from '../errors.js'

/** The directory names no stored path may pass through, at any depth. */
export const RESERVED_NAMES = ['.git', '.dv'] as const

// Code points that HFS+ ignores when it compares names (git's is_hfs_dotgit list): `.g\u200cit`
// opens `.git` on macOS.
const HFS_IGNORABLE = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/gu

/**
 * The name a file system may open for `name`, for comparison with the reserved names: case
 * folded, HFS+ ignorables removed, compatibility forms folded (NFKC: fullwidth `．ｇｉｔ`), and what
 * NTFS strips or reads past (trailing dots and spaces, an alternate data stream `::$DATA`).
 */
function folded(name: string): string {
  let n = name.replace(HFS_IGNORABLE, '').normalize('NFKC').toLowerCase()
  const colon = n.indexOf(':')
  if (colon >= 0) n = n.slice(0, colon)
  return n.replace(/[. ]+$/u, '')
}

/**
 * True when `name` (one path component) is, or opens on some file system as, a directory that
 * git or dv keep for themselves: `.git`, `.dv`, `.GIT`, `.git.`, `.git ` , `.git::$INDEX_ALLOCATION`,
 * `git~1` / `dv~1` (NTFS short names), `.g\u200cit` (HFS+).
 */
export function isReservedName(name: string): boolean {
  const f = folded(name)
  if (f === '.git' || f === '.dv') return true
  return /^(git|dv)~\d+$/u.test(f)
}

/**
 * Why `name` cannot be one component of a stored path, or undefined when it can: not empty,
 * not `.`/`..`, no `/`, `\` or NUL, well-formed UTF-16 (a lone surrogate is written to disk as
 * U+FFFD, so two different names would be one file), no newline (it would split a `.gitignore`
 * line), and not a reserved name.
 */
export function componentProblem(name: string): string | undefined {
  if (name === '') return 'it is empty'
  if (name === '.' || name === '..') return `it is ${JSON.stringify(name)}`
  if (name.includes('/') || name.includes('\\')) return 'it holds a path separator'
  if (name.includes('\0')) return 'it holds a NUL byte'
  if (/[\r\n]/u.test(name)) return 'it holds a line break'
  if (/\p{Cs}/u.test(name)) return 'it is not valid UTF-16 (a lone surrogate)'
  if (isReservedName(name)) return `it names ${folded(name).includes('dv') ? '.dv' : '.git'}, which dv and git keep for themselves`
  return undefined
}

/** True when `name` may be one component of a stored path (a tree entry's name, a stage name in a file name). */
export function isSafeComponent(name: unknown): name is string {
  return typeof name === 'string' && componentProblem(name) === undefined
}

export interface RepoPathOptions {
  /** The directory (repository-relative, already checked) that a relative path starts from. */
  base?: string
  /** Accept the base directory itself (`.`) as a result; outputs never may. */
  allowRoot?: boolean
}

/**
 * Why `p` is not a safe repository path, or its normal form: `{path}` or `{problem}`. The normal
 * form uses `/`, has no `.`, `..` or empty segments and no trailing `/`, and is relative to the
 * repository root (`base` joined in front); `''` is the root itself.
 */
export type PathProblem = 'empty' | 'absolute' | 'url' | 'outside' | 'root' | 'name'

export type NormalizedPath = {path: string; problem?: undefined; kind?: undefined} | {path?: undefined; problem: string; kind: PathProblem}

export function normalizeRepoPath(p: string, opts: RepoPathOptions = {}): NormalizedPath {
  if (typeof p !== 'string') return {problem: 'it is not a string', kind: 'name'}
  if (p === '') return {problem: 'it is empty', kind: 'empty'}
  if (p.includes('\0')) return {problem: 'it holds a NUL byte', kind: 'name'}
  const s = p.replace(/\\/gu, '/')
  if (/^[a-zA-Z][a-zA-Z0-9+.-]+:\/\//u.test(s)) return {problem: 'it is a URL', kind: 'url'}
  if (s.startsWith('/') || /^[a-zA-Z]:/u.test(s)) return {problem: 'it is absolute', kind: 'absolute'}
  const out: string[] = []
  const base = opts.base ? opts.base.split('/').filter((c) => c !== '' && c !== '.') : []
  for (const c of [...base, ...s.split('/')]) {
    if (c === '' || c === '.') continue
    if (c === '..') {
      if (out.length === 0) return {problem: 'it leads outside the repository', kind: 'outside'}
      out.pop()
      continue
    }
    const why = componentProblem(c)
    if (why) return {problem: why, kind: 'name'}
    out.push(c)
  }
  if (out.length === 0 && !opts.allowRoot) return {problem: 'it is the folder it is relative to, not a path inside it', kind: 'root'}
  return {path: out.join('/')}
}

/**
 * The normal form of `p` (see normalizeRepoPath), or an InvalidFileError naming `where` (the file,
 * and the entry in it) with the path and why it is refused.
 */
export function checkRepoPath(p: string, where: string, opts: RepoPathOptions = {}): string {
  const r = normalizeRepoPath(p, opts)
  if (r.problem !== undefined) throw new InvalidFileError(where, `path ${JSON.stringify(p)} is refused: ${r.problem}`)
  return r.path
}
