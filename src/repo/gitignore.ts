/**
 * The `.gitignore` lines dv manages: a tracked path `dir/name` is ignored by `/name` in
 * `dir/.gitignore`, so git keeps the pointer and never the data. Returns the `.gitignore`
 * touched (relative to the root), so `dv commit -m` can stage it.
 */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {writeFileAtomic} from '../util/atomic.js'

function split(rel: string): {file: string; line: string} {
  const dir = dirname(rel) === '.' ? '' : dirname(rel)
  const name = rel.slice(dir ? dir.length + 1 : 0)
  // Escape characters gitignore treats as patterns, so the line matches exactly this name.
  const escaped = name.replace(/([\\*?[\]!# ])/g, '\\$1')
  return {file: dir ? `${dir}/.gitignore` : '.gitignore', line: `/${escaped}`}
}

export function addIgnoreLine(root: string, rel: string): string | undefined {
  const {file, line} = split(rel)
  const abs = join(root, file)
  const text = existsSync(abs) ? readFileSync(abs, 'utf8') : ''
  const lines = text.split(/\r?\n/)
  if (lines.includes(line)) return undefined
  const sep = text === '' || text.endsWith('\n') ? '' : '\n'
  writeFileAtomic(abs, `${text}${sep}${line}\n`)
  return file
}

export function removeIgnoreLine(root: string, rel: string): string | undefined {
  const {file, line} = split(rel)
  const abs = join(root, file)
  if (!existsSync(abs)) return undefined
  const text = readFileSync(abs, 'utf8')
  const lines = text.split(/\r?\n/)
  if (!lines.includes(line)) return undefined
  writeFileAtomic(abs, lines.filter((l) => l !== line).join('\n'))
  return file
}

export function ignoreFileFor(rel: string): string {
  return split(rel).file
}
