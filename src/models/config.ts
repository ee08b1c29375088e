/**
 * git-config style INI, as `.dv/config` uses it:
 *
 *     [core]
 *         link_type = reflink,copy
 *     [remote "origin"]
 *         url = s3://bucket/prefix
 *
 * Keys are addressed as `section.key` or `section.subsection.key` (`remote.origin.url`).
 * Hand-written because the `ini` package splits section names on dots, which breaks
 * `[remote "my.bucket"]`; this keeps sections, order and comments as the user wrote them.
 */
import {ConfigError, InvalidFileError} from '../errors.js'

interface Line {
  text: string
  /** Section this line belongs to ('' before the first header). */
  section: string
  key?: string
}

export class ConfigFile {
  private lines: Line[] = []

  static parse(text: string, file: string): ConfigFile {
    const cfg = new ConfigFile()
    let section = ''
    text.split(/\r?\n/).forEach((text, i) => {
      const t = text.trim()
      if (t === '' || t.startsWith('#') || t.startsWith(';')) {
        cfg.lines.push({text, section})
        return
      }
      const header = /^\[\s*([A-Za-z0-9_.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]$/.exec(t)
      if (header) {
        section = header[2] === undefined ? header[1].toLowerCase() : `${header[1].toLowerCase()}.${header[2].replace(/\\(.)/g, '$1')}`
        cfg.lines.push({text, section})
        return
      }
      // `s`: a value may hold a carriage return or U+2028 (which `.` does not match), as set() writes them.
      const kv = /^([A-Za-z][A-Za-z0-9_-]*)\s*(?:=\s*(.*))?$/s.exec(t)
      if (!kv || section === '') throw new InvalidFileError(file, `cannot parse ${JSON.stringify(t)}`, i + 1)
      cfg.lines.push({text, section, key: kv[1].toLowerCase()})
    })
    while (cfg.lines.length > 0 && cfg.lines.at(-1)!.text.trim() === '') cfg.lines.pop()
    return cfg
  }

  /** All values, as `section[.sub].key` → value, last one wins. */
  entries(): Map<string, string> {
    const out = new Map<string, string>()
    for (const line of this.lines) {
      if (line.key) out.set(`${line.section}.${line.key}`, valueOf(line.text))
    }
    return out
  }

  get(name: string): string | undefined {
    return this.entries().get(normalise(name))
  }

  set(name: string, value: string): void {
    const {section, key} = split(name)
    // What would not parse back, or would parse back as something else: a value or subsection
    // with a line break could write a whole section of its own (`x\n[remote "evil"]...`).
    const dot = section.indexOf('.')
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(key) || !/^[A-Za-z0-9_-]+$/.test(dot < 0 ? section : section.slice(0, dot)) || /[\r\n]/.test(section)) {
      throw new ConfigError(`bad config key ${JSON.stringify(name)}: use section.key, of letters, digits, '-' and '_'`)
    }
    if (value.includes('\n')) throw new ConfigError(`${JSON.stringify(name)}: a config value cannot hold a line break`)
    const text = `\t${key} = ${quote(value)}`
    const existing = this.lines.findLastIndex((l) => l.section === section && l.key === key)
    if (existing >= 0) {
      this.lines[existing] = {text, section, key}
      return
    }
    const lastInSection = this.lines.findLastIndex((l) => l.section === section)
    if (lastInSection >= 0) {
      this.lines.splice(lastInSection + 1, 0, {text, section, key})
      return
    }
    const header = dot < 0 ? `[${section}]` : `[${section.slice(0, dot)} "${section.slice(dot + 1).replace(/(["\\])/g, '\\$1')}"]`
    this.lines.push({text: header, section}, {text, section, key})
  }

  /** Removes a key; returns whether it was there. Empty sections go too. */
  unset(name: string): boolean {
    const {section, key} = split(name)
    const before = this.lines.length
    this.lines = this.lines.filter((l) => !(l.section === section && l.key === key))
    if (!this.lines.some((l) => l.section === section && l.key)) {
      this.lines = this.lines.filter((l) => l.section !== section)
    }
    return this.lines.length !== before
  }

  /** Removes a whole section (`remote.origin`); returns whether it was there. */
  removeSection(section: string): boolean {
    const before = this.lines.length
    this.lines = this.lines.filter((l) => l.section !== normaliseSection(section))
    return this.lines.length !== before
  }

  toString(): string {
    return this.lines.length === 0 ? '' : this.lines.map((l) => l.text).join('\n') + '\n'
  }
}

function valueOf(text: string): string {
  const eq = text.indexOf('=')
  if (eq < 0) return 'true'
  let v = text.slice(eq + 1).trim()
  // Strip a trailing comment outside quotes. Found with a fixed-length pattern: `/\s+[#;].*$/`
  // backtracks quadratically over a long run of spaces (200,000 spaces took a minute).
  const comment = v.startsWith('"') ? null : /\s[#;]/.exec(v)
  if (comment) v = v.slice(0, comment.index).trimEnd()
  if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1')
  return v
}

function quote(value: string): string {
  return /^\s|\s$|[#;"\\]/.test(value) ? `"${value.replace(/(["\\])/g, '\\$1')}"` : value
}

function normaliseSection(section: string): string {
  const dot = section.indexOf('.')
  return dot < 0 ? section.toLowerCase() : section.slice(0, dot).toLowerCase() + section.slice(dot)
}

function split(name: string): {section: string; key: string} {
  const dot = name.lastIndexOf('.')
  if (dot <= 0 || dot === name.length - 1) throw new ConfigError(`bad config key ${JSON.stringify(name)}: use section.key`)
  return {section: normaliseSection(name.slice(0, dot)), key: name.slice(dot + 1).toLowerCase()}
}

function normalise(name: string): string {
  const {section, key} = split(name)
  return `${section}.${key}`
}
