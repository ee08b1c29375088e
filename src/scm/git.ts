/**
 * The git side of dv, behind one interface. Reads that must be fast (finding the work tree,
 * listing files) call the git CLI directly: one process each, a few milliseconds. Changes to the
 * repository (staging, committing) go through simple-git, loaded only when needed, so they run
 * the user's hooks and use the user's identity exactly as `git commit` would.
 */
import {execFileSync} from 'node:child_process'

import {GitError} from '../errors.js'

function git(cwd: string, args: string[], input?: string): string {
  try {
    return execFileSync('git', args, {cwd, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input, maxBuffer: 1 << 30})
  } catch (error) {
    const e = error as {stderr?: string; code?: string; message: string}
    if (e.code === 'ENOENT') throw new GitError('git is not installed or not on PATH')
    const msg = (e.stderr ?? e.message).trim().split('\n').at(-1) ?? e.message
    throw new GitError(`git ${args[0]}: ${msg.replace(/^(fatal|error): /, '')}`)
  }
}

/** The top of the git work tree containing `cwd`, or undefined outside git. */
export function findWorkTree(cwd: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], {cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim() || undefined
  } catch {
    return undefined
  }
}

export class Git {
  constructor(readonly root: string) {}

  /**
   * Files matching the pathspecs: tracked ones and, with `untracked`, the ones git does not
   * ignore. Paths are relative to the root.
   */
  listFiles(pathspecs: string[], untracked = true): string[] {
    const args = ['ls-files', '-z', '--cached']
    if (untracked) args.push('--others', '--exclude-standard')
    args.push('--', ...pathspecs)
    const out = git(this.root, args)
    return [...new Set(out.split('\0').filter(Boolean))]
  }

  /** Which of these paths (relative to the root) git tracks, or holds files under. */
  tracked(paths: string[]): string[] {
    if (paths.length === 0) return []
    const files = git(this.root, ['ls-files', '-z', '--cached', '--', ...paths.map((p) => `:(literal)${p}`)])
      .split('\0')
      .filter(Boolean)
    return paths.filter((p) => files.some((f) => f === p || f.startsWith(p + '/')))
  }

  /** Stages these paths (additions, changes and deletions). */
  async add(paths: string[]): Promise<void> {
    if (paths.length === 0) return
    const {simpleGit} = await import('simple-git')
    try {
      await simpleGit(this.root).raw(['add', '-A', '--', ...paths.map((p) => `:(literal)${p}`)])
    } catch (error) {
      throw new GitError(`git add: ${(error as Error).message.trim().split('\n').at(-1)}`)
    }
  }

  /**
   * Commits exactly these paths (other staged changes stay staged), running the user's hooks.
   * Returns the new commit's hash, or undefined when there was nothing to commit.
   */
  async commit(message: string, paths: string[]): Promise<string | undefined> {
    const {simpleGit} = await import('simple-git')
    const sg = simpleGit(this.root)
    await this.add(paths)
    const staged = git(this.root, ['diff', '--cached', '--name-only', '-z', '--', ...paths.map((p) => `:(literal)${p}`)])
      .split('\0')
      .filter(Boolean)
    if (staged.length === 0) return undefined
    try {
      await sg.raw(['commit', '-q', '-m', message, '--', ...staged.map((p) => `:(literal)${p}`)])
    } catch (error) {
      throw new GitError(`git commit: ${(error as Error).message.trim().split('\n').at(-1)}`)
    }
    return git(this.root, ['rev-parse', 'HEAD']).trim()
  }
}
