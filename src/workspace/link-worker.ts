/**
 * Worker thread of `linkMany`: places a batch of cache objects in the workspace and answers with
 * one result per file, in order. One Linker per worker remembers which link type works.
 */
import {parentPort} from 'node:worker_threads'

import {ObjectStore} from '../odb/store.js'
import {Linker, placeItem, type LinkBatch, type LinkResult} from './link.js'

let linker: Linker | undefined

parentPort!.on('message', (batch: LinkBatch) => {
  linker ??= new Linker(new ObjectStore(batch.cacheDir), batch.types)
  const results: LinkResult[] = batch.items.map((item) => {
    try {
      return {ok: true, placed: placeItem(linker!, item)}
    } catch (error) {
      const e = error as NodeJS.ErrnoException
      return {ok: false, error: {message: e.message, code: e.code, path: e.path ?? item.dest, syscall: e.syscall}}
    }
  })
  parentPort!.postMessage({ok: true, value: results})
})
