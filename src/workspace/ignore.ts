/**
 * `.dvignore` files, in gitignore syntax (through the `ignore` package), at any level of the
 * repository. A deeper file's rules win over a shallower one's, as in git. `.git` and `.dv`
 * directories and dv's own temp files are always ignored inside tracked directories.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import ignore, {type Ignore} from 'ignore'

import {TEMP_SUFFIX} from '../util/atomic.js'

export const DVIGNORE = '.dvignore'

/** `.git` and `.dv` directories, and dv's own temp files (a write cut short by kill -9). */
export function isAlwaysIgnored(name: string, isDir: boolean): boolean {
  return isDir ? name === '.git' || name === '.dv' : name.endsWith(TEMP_SUFFIX)
}

export class DvIgnore {
  private readonly byDir = new Map<string, Ignore | null>()

  constructor(private readonly root: string) {}

  /** The matcher of the `.dvignore` in a directory (relative to the root, '' for the root). */
  private matcher(dir: string): Ignore | null {
    let m = this.byDir.get(dir)
    if (m !== undefined) return m
    try {
      const text = readFileSync(join(this.root, dir, DVIGNORE), 'utf8')
      // A file of comments and blank lines has no opinion: skip it on every lookup.
      m = /^\s*[^#\s]/m.test(text) ? ignore().add(text) : null
    } catch {
      m = null
    }
    this.byDir.set(dir, m)
    return m
  }

  /** Whether the `.dvignore` in this directory (relative to the root) has rules. */
  hasRules(dir: string): boolean {
    return this.matcher(dir) !== null
  }

  /** Whether any `.dvignore` in the directories above `rel` has rules. */
  hasRulesAbove(rel: string): boolean {
    const parts = rel.split('/')
    for (let depth = 0; depth < parts.length; depth++) if (this.hasRules(parts.slice(0, depth).join('/'))) return true
    return false
  }

  /** `rel` is relative to the repository root, with forward slashes. */
  ignores(rel: string, isDir: boolean): boolean {
    const name = rel.slice(rel.lastIndexOf('/') + 1)
    if (isAlwaysIgnored(name, isDir)) return true
    const parts = rel.split('/')
    // Deepest .dvignore first: the first one with an opinion decides.
    for (let depth = parts.length - 1; depth >= 0; depth--) {
      const dir = parts.slice(0, depth).join('/')
      const m = this.matcher(dir)
      if (!m) continue
      const sub = parts.slice(depth).join('/') + (isDir ? '/' : '')
      const verdict = m.test(sub)
      if (verdict.ignored) return true
      if (verdict.unignored) return false
    }
    return false
  }
}
