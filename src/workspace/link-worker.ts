/**
 * Worker thread of `linkMany`: places a batch of cache objects in the workspace and answers with
 * one result per file, in order. One Linker per worker remembers which link type works.
 */
import {parentPort} from 'node:worker_threads'

import {ObjectStore} from '../odb/store.js'
import {toWorkerError, type ItemResult} from '../hash/pool.js'
import {Linker, placeItem, type LinkBatch, type Placed} from './link.js'

let linker: Linker | undefined

parentPort!.on('message', (batch: LinkBatch) => {
  linker ??= new Linker(new ObjectStore(batch.cacheDir), batch.types)
  const results: ItemResult<Placed>[] = batch.items.map((item) => {
    try {
      return {ok: true, value: placeItem(linker!, item)}
    } catch (error) {
      return {ok: false, error: toWorkerError(error, item.dest)}
    }
  })
  parentPort!.postMessage({ok: true, value: results})
})
