/** Opening a configured remote by name (default: `core.remote`). */
import {isAbsolute, join} from 'node:path'

import {DvError} from '../errors.js'
import {parseSize} from '../repo/config.js'
import type {Repo} from '../repo/repo.js'
import type {RemoteStore} from './backend.js'
import {LocalStore} from './local.js'
import {DEFAULT_PACK_SIZE, RemoteObjects} from './objects.js'
import {S3Store} from './s3.js'

export interface OpenRemote {
  name: string
  objects: RemoteObjects
}

export function openRemote(repo: Repo, name?: string): OpenRemote {
  const chosen = name ?? repo.config.get('core.remote')
  if (!chosen) throw new DvError('ENOREMOTE', "no remote given and no default remote (set one with 'dv remote add -d <name> <url>')")
  const url = repo.config.get(`remote.${chosen}.url`)
  if (!url) throw new DvError('ENOREMOTE', `no remote named ${JSON.stringify(chosen)} (see 'dv remote list')`)
  const opt = (k: string) => repo.config.get(`remote.${chosen}.${k}`)
  let store: RemoteStore
  if (url.startsWith('s3://')) {
    store = new S3Store({
      url,
      endpointurl: opt('endpointurl'),
      region: opt('region'),
      profile: opt('profile'),
      access_key_id: opt('access_key_id'),
      secret_access_key: opt('secret_access_key'),
      session_token: opt('session_token'),
      request_checksum_calculation: opt('request_checksum_calculation'),
      response_checksum_validation: opt('response_checksum_validation'),
    })
  } else {
    store = new LocalStore(isAbsolute(url) ? url : join(repo.root, url))
  }
  const packSize = opt('pack_size')
  const objects = new RemoteObjects(store, join(repo.dvDir, 'cache', 'remote-index'), packSize ? parseSize(`remote.${chosen}.pack_size`, packSize) : DEFAULT_PACK_SIZE)
  return {name: chosen, objects}
}
