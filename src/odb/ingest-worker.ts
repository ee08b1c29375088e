/**
 * Worker thread of the ingest pool: hashes (and optionally stores) a batch of files and answers
 * with one result per file, in order. Errors are per file so one unreadable file does not lose
 * the work done on the rest of the batch.
 */
import {parentPort} from 'node:worker_threads'

import {loadHasher} from '../hash/blake3.js'
import {toWorkerError, type ItemResult} from '../hash/pool.js'
import {ingestFile, type FileFacts, type StoreDirs} from './ingest.js'

export interface IngestBatch {
  paths: string[]
  store?: StoreDirs
}


const ready = loadHasher()

parentPort!.on('message', async (batch: IngestBatch) => {
  try {
    await ready
    const results: ItemResult<FileFacts>[] = []
    for (const path of batch.paths) {
      try {
        results.push({ok: true, value: await ingestFile(path, batch.store)})
      } catch (error) {
        results.push({ok: false, error: toWorkerError(error, path)})
      }
    }
    parentPort!.postMessage({ok: true, value: results})
  } catch (error) {
    parentPort!.postMessage({ok: false, error: {message: (error as Error).message}})
  }
})
