/** Writing files so that readers see the old or the new content, never a mix. */
import {randomBytes} from 'node:crypto'
import {renameSync, rmSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

/** Suffix of the temp files dv writes beside a target before renaming them over it. */
export const TEMP_SUFFIX = '.dv-tmp'

/** A fresh hidden temp name in the same directory as `path` (so a rename over it is atomic). */
export function tempPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`)
}

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = tempPathBeside(path)
  try {
    writeFileSync(tmp, data, {mode})
    renameSync(tmp, path)
  } catch (error) {
    rmSync(tmp, {force: true})
    throw error
  }
}
