/** A remote in a local or mounted directory (a NAS, a shared drive). */
import {copyFile, mkdir, readdir, rename, rm, stat} from 'node:fs/promises'
import {randomBytes} from 'node:crypto'
import {join} from 'node:path'

import {MissingObjectError} from '../errors.js'
import {isOid} from '../models/tree.js'
import type {RemoteBackend} from './backend.js'

export class LocalBackend implements RemoteBackend {
  constructor(readonly dir: string) {}

  get where(): string {
    return this.dir
  }

  private path(oid: string): string {
    return join(this.dir, 'objects', oid.slice(0, 2), oid.slice(2))
  }

  async list(): Promise<Set<string>> {
    const found = new Set<string>()
    let fans: string[]
    try {
      fans = await readdir(join(this.dir, 'objects'))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return found
      throw error
    }
    for (const fan of fans) {
      for (const rest of await readdir(join(this.dir, 'objects', fan))) if (isOid(fan + rest)) found.add(fan + rest)
    }
    return found
  }

  async put(oid: string, file: string): Promise<void> {
    const dest = this.path(oid)
    if (await stat(dest).then(() => true, () => false)) return // already there: never overwritten
    const tmpDir = join(this.dir, 'tmp')
    await mkdir(tmpDir, {recursive: true})
    await mkdir(join(this.dir, 'objects', oid.slice(0, 2)), {recursive: true})
    const tmp = join(tmpDir, `${oid}.${randomBytes(6).toString('hex')}`)
    try {
      await copyFile(file, tmp)
      await rename(tmp, dest)
    } catch (error) {
      await rm(tmp, {force: true})
      throw error
    }
  }

  async get(oid: string, dest: string): Promise<void> {
    try {
      await copyFile(this.path(oid), dest)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingObjectError(oid, `remote ${this.dir}`)
      throw error
    }
  }
}
