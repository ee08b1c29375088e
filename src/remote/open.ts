/** Opening a configured remote by name (default: `core.remote`). */
import {isAbsolute, join} from 'node:path'

import {DvError} from '../errors.js'
import {parseSize, type Config} from '../repo/config.js'
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
  if (!repo.config.get(`remote.${chosen}.url`)) throw new DvError('ENOREMOTE', `no remote named ${JSON.stringify(chosen)} (see 'dv remote list')`)
  return {name: chosen, objects: remoteFromConfig(repo.config, chosen, repo.root, join(repo.dvDir, 'cache', 'remote-index'))}
}

/**
 * The remote `name` as a configuration describes it (this repository's, or another one's read
 * from git by `dv get`/`dv import`); a relative directory is taken from `root`.
 */
export function remoteFromConfig(config: Config, name: string, root: string, indexDir: string): RemoteObjects {
  const url = config.get(`remote.${name}.url`)
  if (!url) throw new DvError('ENOREMOTE', `no remote named ${JSON.stringify(name)}`)
  const opt = (k: string) => config.get(`remote.${name}.${k}`)
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
    store = new LocalStore(isAbsolute(url) ? url : join(root, url))
  }
  const packSize = opt('pack_size')
  return new RemoteObjects(store, indexDir, packSize ? parseSize(`remote.${name}.pack_size`, packSize) : DEFAULT_PACK_SIZE)
}
