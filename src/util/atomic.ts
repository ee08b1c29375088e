/** Writing a whole file so that readers see the old or the new content, never a mix. */
import {randomBytes} from 'node:crypto'
import {renameSync, rmSync, writeFileSync} from 'node:fs'

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.dv-tmp`
  try {
    writeFileSync(tmp, data, {mode})
    renameSync(tmp, path)
  } catch (error) {
    rmSync(tmp, {force: true})
    throw error
  }
}
