/**
 * Worker thread of the ingest pool: hashes (and optionally stores) a batch of files and answers
 * with one result per file, in order. Errors are per file so one unreadable file does not lose
 * the work done on the rest of the batch.
 */
import {parentPort} from 'node:worker_threads'

import {loadHasher} from '../hash/blake3.js'
import {ingestFile, type FileFacts, type StoreDirs} from './ingest.js'

export interface IngestBatch {
  paths: string[]
  store?: StoreDirs
}

export type IngestResult = {ok: true; facts: FileFacts} | {ok: false; error: {message: string; code?: string; path?: string; syscall?: string; name?: string}}

const ready = loadHasher()

parentPort!.on('message', async (batch: IngestBatch) => {
  try {
    await ready
    const results: IngestResult[] = []
    for (const path of batch.paths) {
      try {
        results.push({ok: true, facts: await ingestFile(path, batch.store)})
      } catch (error) {
        const e = error as NodeJS.ErrnoException & {name: string}
        results.push({ok: false, error: {message: e.message, code: e.code, path: e.path ?? path, syscall: e.syscall, name: e.name}})
      }
    }
    parentPort!.postMessage({ok: true, value: results})
  } catch (error) {
    parentPort!.postMessage({ok: false, error: {message: (error as Error).message}})
  }
})
