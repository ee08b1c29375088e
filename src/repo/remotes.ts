/**
 * Remote definitions in the config: `[remote "name"]` sections with `url` (a directory path, or
 * `s3://bucket/prefix`) and S3 options, and `core.remote` naming the default. Credentials only
 * ever go in `.dv/config.local` or the environment.
 */
import {ConfigError, DvError} from '../errors.js'
import {REMOTE_OPTIONS, SECRET_OPTIONS, type ConfigLevel} from './config.js'
import {Repo} from './repo.js'

export interface RemoteInfo {
  name: string
  url: string
  isDefault: boolean
  /** Options other than url; secrets shown as '***'. */
  options: Record<string, string>
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

export function checkRemoteUrl(url: string): void {
  if (url.startsWith('s3://')) {
    const bucket = url.slice(5).split('/')[0]
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigError(`${url}: ${JSON.stringify(bucket)} is not a valid S3 bucket name`)
    return
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new ConfigError(`${url}: unsupported remote URL (use a directory path or s3://bucket/prefix)`)
  if (url.trim() === '') throw new ConfigError('the remote URL is empty')
}

export function listRemotes(repo: Repo): RemoteInfo[] {
  const all = repo.config.all()
  const byName = new Map<string, RemoteInfo>()
  const defaultName = all.get('core.remote')
  for (const [key, value] of all) {
    if (!key.startsWith('remote.')) continue
    const dot = key.lastIndexOf('.')
    const name = key.slice('remote.'.length, dot)
    const option = key.slice(dot + 1)
    const info = byName.get(name) ?? {name, url: '', isDefault: name === defaultName, options: {}}
    if (option === 'url') info.url = value
    else info.options[option] = SECRET_OPTIONS.has(option) ? '***' : value
    byName.set(name, info)
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1))
}

function exists(repo: Repo, name: string): boolean {
  return listRemotes(repo).some((r) => r.name === name)
}

export function addRemote(name: string, url: string, options: {cwd?: string; makeDefault?: boolean; local?: boolean; force?: boolean} = {}): RemoteInfo {
  const repo = Repo.open(options.cwd)
  if (!NAME_RE.test(name)) throw new ConfigError(`${JSON.stringify(name)} is not a valid remote name (letters, digits, . _ -)`)
  checkRemoteUrl(url)
  if (exists(repo, name) && !options.force) throw new DvError('EEXIST', `remote ${JSON.stringify(name)} already exists (use --force to replace it, or 'dv remote modify')`)
  const level: ConfigLevel = options.local ? 'local' : 'repo'
  // A relative directory path is kept as written: it is relative to the repository root.
  repo.config.set(level, `remote.${name}.url`, url)
  if (options.makeDefault) repo.config.set(level, 'core.remote', name)
  return listRemotes(repo).find((r) => r.name === name)!
}

export function modifyRemote(name: string, option: string, value: string | undefined, options: {cwd?: string; local?: boolean} = {}): void {
  const repo = Repo.open(options.cwd)
  if (!exists(repo, name)) throw new DvError('ENOREMOTE', `no remote named ${JSON.stringify(name)} (see 'dv remote list')`)
  const lower = option.toLowerCase()
  if (!(REMOTE_OPTIONS as readonly string[]).includes(lower)) throw new ConfigError(`unknown remote option ${JSON.stringify(option)} (known: ${REMOTE_OPTIONS.join(', ')})`)
  const level: ConfigLevel = options.local ? 'local' : 'repo'
  if (value === undefined) {
    if (!repo.config.unset(level, `remote.${name}.${lower}`)) throw new ConfigError(`remote.${name}.${lower} is not set in the ${level} config`)
    return
  }
  if (lower === 'url') checkRemoteUrl(value)
  repo.config.set(level, `remote.${name}.${lower}`, value)
}

export function removeRemote(name: string, options: {cwd?: string} = {}): void {
  const repo = Repo.open(options.cwd)
  if (!exists(repo, name)) throw new DvError('ENOREMOTE', `no remote named ${JSON.stringify(name)} (see 'dv remote list')`)
  for (const level of ['repo', 'local'] as const) {
    if (repo.config.file(level).removeSection(`remote.${name}`)) repo.config.save(level)
    if (repo.config.file(level).get('core.remote') === name) repo.config.unset(level, 'core.remote')
  }
}

export function defaultRemote(name: string | undefined, options: {cwd?: string; unset?: boolean; local?: boolean} = {}): string | undefined {
  const repo = Repo.open(options.cwd)
  const level: ConfigLevel = options.local ? 'local' : 'repo'
  if (options.unset) {
    repo.config.unset(level, 'core.remote')
    return undefined
  }
  if (name === undefined) return repo.config.get('core.remote')
  if (!exists(repo, name)) throw new DvError('ENOREMOTE', `no remote named ${JSON.stringify(name)} (see 'dv remote list')`)
  repo.config.set(level, 'core.remote', name)
  return name
}
