/**
 * Every failure dv reports to a user is one of these typed errors. Each has a stable `code`
 * (for scripts and tests) and an exit code: 1 for failures, 2 for usage errors. The CLI prints
 * `ERROR: <message>` on one line; `DV_DEBUG=1` adds the stack.
 */
export class DvError extends Error {
  readonly code: string
  readonly exitCode: number

  constructor(code: string, message: string, exitCode = 1) {
    super(message)
    this.name = new.target.name
    this.code = code
    this.exitCode = exitCode
  }
}

/** Wrong flags or arguments: exit code 2. */
export class UsageError extends DvError {
  constructor(message: string) {
    super('EUSAGE', message, 2)
  }
}

export class NotADvRepoError extends DvError {
  constructor(cwd: string) {
    super('ENOTREPO', `not a dv repository (or any parent up to /): ${cwd} (run 'dv init' first)`)
  }
}

export class NotAGitRepoError extends DvError {
  constructor(cwd: string) {
    super('ENOTGIT', `${cwd} is not inside a git work tree (run 'git init' first, or 'dv init --no-scm')`)
  }
}

export class PathNotFoundError extends DvError {
  constructor(path: string) {
    super('ENOENT', `${path}: no such file or directory`)
  }
}

export class PathOutsideRepoError extends DvError {
  constructor(path: string, root: string) {
    super('EOUTSIDE', `${path} is outside the repository ${root}`)
  }
}

export class ReservedPathError extends DvError {
  constructor(path: string, dir: string) {
    super('ERESERVED', `${path} is inside ${dir}, which dv and git keep for themselves`)
  }
}

export class AlreadyTrackedError extends DvError {
  constructor(path: string, by: string) {
    super('ETRACKED', `${path} is already tracked by ${by}`)
  }
}

export class NotTrackedError extends DvError {
  constructor(path: string) {
    super('ENOTTRACKED', `${path} is not tracked by dv (no pointer file for it)`)
  }
}

export class InvalidFileError extends DvError {
  /** `file` and optionally `line` name where the bad input is. */
  constructor(file: string, message: string, line?: number) {
    super('EINVALIDFILE', `${file}${line === undefined ? '' : `:${line}`}: ${message}`)
  }
}

export class ConfigError extends DvError {
  constructor(message: string) {
    super('ECONFIG', message)
  }
}

export class MissingObjectError extends DvError {
  constructor(oid: string, path?: string) {
    super('EMISSING', `${path ? `${path}: ` : ''}object ${oid} is not in the cache`)
  }
}

export class CorruptObjectError extends DvError {
  constructor(oid: string, actual: string, where: string) {
    super('ECORRUPT', `object ${oid} in ${where} is corrupt: its content hashes to ${actual}`)
  }
}

export class UncommittedChangesError extends DvError {
  readonly paths: string[]

  constructor(paths: string[], action: string) {
    const more = paths.length > 1 ? ` (and ${paths.length - 1} more)` : ''
    super(
      'EUNCOMMITTED',
      `${paths[0]}${more} has changes not saved in the dv cache; ${action} would lose them (use --force to ${action} anyway, or 'dv commit' first)`,
    )
    this.paths = paths
  }
}

export class FileChangedError extends DvError {
  constructor(path: string) {
    super('ECHANGED', `${path} changed while dv was reading it; run the command again`)
  }
}

export class GitError extends DvError {
  constructor(message: string) {
    super('EGIT', message)
  }
}

/** Turns a Node system error into a one-line DvError naming the path. */
export function fromSystemError(error: unknown): DvError | undefined {
  if (error instanceof DvError) return error
  const e = error as NodeJS.ErrnoException
  if (!e || typeof e.code !== 'string' || !e.syscall) return undefined
  const where = e.path ? `${e.path}: ` : ''
  switch (e.code) {
    case 'ENOENT':
      return new DvError('ENOENT', `${where}no such file or directory`)
    case 'EACCES':
    case 'EPERM':
      return new DvError(e.code, `${where}permission denied (${e.syscall})`)
    case 'ENOSPC':
      return new DvError('ENOSPC', `${where}no space left on device`)
    case 'EROFS':
      return new DvError('EROFS', `${where}read-only file system (${e.syscall})`)
    case 'EDQUOT':
      return new DvError('EDQUOT', `${where}disk quota exceeded`)
    case 'ENOTDIR':
      return new DvError('ENOTDIR', `${where}not a directory`)
    case 'EISDIR':
      return new DvError('EISDIR', `${where}is a directory`)
    default:
      return new DvError(e.code, `${where}${e.message.replace(/^[A-Z]+: /, '')}`)
  }
}
