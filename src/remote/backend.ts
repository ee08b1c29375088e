/**
 * One interface for remote storage: a flat key-value store of immutable files. Backends
 * (local.ts: a directory; s3.ts: a bucket) know nothing about objects or packs; the layout on
 * top of them lives in objects.ts. Keys are relative to the remote's root and use `/`.
 * A key becomes visible only once its bytes are complete, and nothing is overwritten in place.
 */
import {DvError} from '../errors.js'

export interface RemoteStore {
  /** Where the remote is, for messages (never includes credentials). */
  readonly where: string
  /** Every key under `prefix` (which ends in `/`), from listings: never one request per key. */
  list(prefix: string): Promise<string[]>
  /** Stores a local file or bytes held in memory at `key`. */
  put(key: string, body: {file: string} | {bytes: Buffer}): Promise<void>
  /** Downloads `key` into the local file `dest`. */
  getFile(key: string, dest: string): Promise<void>
  /** Bytes [start, end) of `key`, or all of it. */
  getBytes(key: string, range?: {start: number; end: number}): Promise<Buffer>
}

/** A key the remote does not have. */
export class MissingKeyError extends DvError {
  constructor(key: string, where: string) {
    super('ENOKEY', `${where}: ${key} does not exist`)
  }
}
