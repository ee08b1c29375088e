/**
 * dv's configuration, in layers like git's: global (`$XDG_CONFIG_HOME/dv/config`, else
 * `~/.config/dv/config`), the repository's committed `.dv/config`, and the uncommitted
 * `.dv/config.local` (credentials, machine-local settings). Later layers win.
 */
import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'

import {ConfigError} from '../errors.js'
import {ConfigFile} from '../models/config.js'
import {writeFileAtomic} from '../util/atomic.js'
import {parseLinkTypes} from '../workspace/link.js'
import {readRecordFile} from '../util/read.js'

export type ConfigLevel = 'global' | 'repo' | 'local'

const BOOL = (key: string, v: string) => {
  if (!/^(true|false|yes|no|on|off|1|0)$/i.test(v)) throw new ConfigError(`${key}: expected true or false, got ${JSON.stringify(v)}`)
}

/** Options of a `[remote "name"]` section. */
export const REMOTE_OPTIONS = ['url', 'endpointurl', 'region', 'profile', 'access_key_id', 'secret_access_key', 'session_token', 'request_checksum_calculation', 'response_checksum_validation', 'pack_size'] as const
/** Remote options that are secrets: never in the committed config, never printed. */
export const SECRET_OPTIONS = new Set(['access_key_id', 'secret_access_key', 'session_token'])

const CHECKSUM_MODE = (key: string, v: string) => {
  if (!/^(when_supported|when_required)$/i.test(v)) throw new ConfigError(`${key}: expected when_supported or when_required, got ${JSON.stringify(v)}`)
}

/** A size in bytes, with an optional K, M or G suffix (powers of 1024): `32M`. */
export function parseSize(key: string, v: string): number {
  const m = /^([1-9][0-9]*)([kmg]?)(i?b)?$/i.exec(v.trim())
  if (!m) throw new ConfigError(`${key}: expected a size such as 32M, got ${JSON.stringify(v)}`)
  return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase())
}

/** Checks of remote option values, where a value has a shape. */
const REMOTE_CHECKS: Partial<Record<(typeof REMOTE_OPTIONS)[number], (key: string, value: string) => void>> = {
  request_checksum_calculation: CHECKSUM_MODE,
  response_checksum_validation: CHECKSUM_MODE,
  pack_size: (k, v) => void parseSize(k, v),
}

/** Known keys and their checks; `remote.<name>.<option>` keys are checked against REMOTE_OPTIONS. */
const KNOWN: Record<string, (key: string, value: string) => void> = {
  'core.link_type': (_k, v) => void parseLinkTypes(v),
  'core.remote': () => {},
  'core.no_scm': BOOL,
  'core.jobs': (k, v) => {
    if (!/^[1-9][0-9]*$/.test(v)) throw new ConfigError(`${k}: expected a positive integer, got ${JSON.stringify(v)}`)
  },
}

export function checkKey(key: string, value?: string): void {
  const lower = key.toLowerCase()
  if (lower.startsWith('remote.') && key.split('.').length >= 3) {
    const option = lower.slice(lower.lastIndexOf('.') + 1)
    if (!(REMOTE_OPTIONS as readonly string[]).includes(option)) {
      throw new ConfigError(`unknown remote option ${JSON.stringify(option)} in ${JSON.stringify(key)} (known: ${REMOTE_OPTIONS.join(', ')})`)
    }
    if (value !== undefined) REMOTE_CHECKS[option as (typeof REMOTE_OPTIONS)[number]]?.(key, value)
    return
  }
  const check = KNOWN[lower]
  if (!check) throw new ConfigError(`unknown config key ${JSON.stringify(key)} (known: ${Object.keys(KNOWN).join(', ')}, remote.<name>.<option>)`)
  if (value !== undefined) check(lower, value)
}

export function globalConfigPath(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config')
  return join(base, 'dv', 'config')
}

export class Config {
  private files = new Map<ConfigLevel, ConfigFile>()

  constructor(private readonly dvDir: string | undefined) {}

  path(level: ConfigLevel): string {
    if (level === 'global') return globalConfigPath()
    if (!this.dvDir) throw new ConfigError('not in a dv repository: use --global')
    return join(this.dvDir, level === 'repo' ? 'config' : 'config.local')
  }

  file(level: ConfigLevel): ConfigFile {
    let f = this.files.get(level)
    if (f) return f
    const path = this.path(level)
    f = existsSync(path) ? ConfigFile.parse(readRecordFile(path), path) : new ConfigFile()
    this.files.set(level, f)
    return f
  }

  private levels(): ConfigLevel[] {
    return this.dvDir ? ['global', 'repo', 'local'] : ['global']
  }

  /** Every value, merged across levels, later levels winning. */
  all(): Map<string, string> {
    const out = new Map<string, string>()
    for (const level of this.levels()) for (const [k, v] of this.file(level).entries()) out.set(k, v)
    return out
  }

  get(key: string): string | undefined {
    let value: string | undefined
    for (const level of this.levels()) value = this.file(level).get(key) ?? value
    return value
  }

  set(level: ConfigLevel, key: string, value: string): void {
    checkKey(key, value)
    const option = key.slice(key.lastIndexOf('.') + 1).toLowerCase()
    if (level === 'repo' && key.toLowerCase().startsWith('remote.') && SECRET_OPTIONS.has(option)) {
      throw new ConfigError(`${key} is a secret: it goes in .dv/config.local (use --local) or the environment, never in the committed .dv/config`)
    }
    this.file(level).set(key, value)
    this.save(level)
  }

  unset(level: ConfigLevel, key: string): boolean {
    const removed = this.file(level).unset(key)
    if (removed) this.save(level)
    return removed
  }

  save(level: ConfigLevel): void {
    const path = this.path(level)
    mkdirSync(dirname(path), {recursive: true})
    writeFileAtomic(path, this.file(level).toString(), level === 'repo' ? 0o644 : 0o600)
  }
}
