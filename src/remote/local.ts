/**
 * A remote in a local or mounted directory (a NAS, a shared drive). Files are written under
 * `<dir>/tmp/` and renamed into place, so a key appears only once complete. Transient errors of
 * network mounts (EIO, ESTALE, ETIMEDOUT, ...) are retried with backoff.
 */
import {copyFile, mkdir, open, readdir, rename, rm, stat, writeFile} from 'node:fs/promises'
import {randomBytes} from 'node:crypto'
import {dirname, join} from 'node:path'

import {MissingKeyError, type RemoteStore} from './backend.js'
import {withRetry} from './retry.js'
import {crashPoint} from '../util/crash.js'

const missing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT'

export class LocalStore implements RemoteStore {
  constructor(readonly dir: string) {}

  get where(): string {
    return this.dir
  }

  private path(key: string): string {
    return join(this.dir, ...key.split('/'))
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = []
    const walk = async (rel: string): Promise<void> => {
      let entries
      try {
        entries = await withRetry(() => readdir(this.path(rel), {withFileTypes: true}))
      } catch (error) {
        if (missing(error)) return
        throw error
      }
      for (const e of entries) {
        if (e.isDirectory()) await walk(`${rel}${e.name}/`)
        else if (e.isFile()) keys.push(rel + e.name)
      }
    }
    await walk(prefix)
    return keys
  }

  async put(key: string, body: {file: string} | {bytes: Buffer}): Promise<void> {
    const dest = this.path(key)
    if (await stat(dest).then(() => true, () => false)) return // already there: never overwritten
    const tmpDir = join(this.dir, 'tmp')
    const tmp = join(tmpDir, `${key.replace(/\//g, '-')}.${randomBytes(6).toString('hex')}`)
    await withRetry(async () => {
      await mkdir(tmpDir, {recursive: true})
      await mkdir(dirname(dest), {recursive: true})
      try {
        await ('file' in body ? copyFile(body.file, tmp) : writeFile(tmp, body.bytes))
        crashPoint('remote.local.temp-written')
        await rename(tmp, dest)
        crashPoint('remote.local.renamed')
      } catch (error) {
        await rm(tmp, {force: true})
        throw error
      }
    })
  }

  async getFile(key: string, dest: string): Promise<void> {
    try {
      await withRetry(() => copyFile(this.path(key), dest))
    } catch (error) {
      if (missing(error)) throw new MissingKeyError(key, this.where)
      throw error
    }
  }

  async getBytes(key: string, range?: {start: number; end: number}): Promise<Buffer> {
    try {
      return await withRetry(async () => {
        const fd = await open(this.path(key), 'r')
        try {
          const start = range?.start ?? 0
          const length = range ? range.end - range.start : (await fd.stat()).size
          const buf = Buffer.allocUnsafe(length)
          let got = 0
          while (got < length) {
            const {bytesRead} = await fd.read(buf, got, length - got, start + got)
            if (bytesRead === 0) break
            got += bytesRead
          }
          return got === length ? buf : buf.subarray(0, got)
        } finally {
          await fd.close()
        }
      })
    } catch (error) {
      if (missing(error)) throw new MissingKeyError(key, this.where)
      throw error
    }
  }
}
