/** Opening a configured remote by name (default: `core.remote`). */
import {isAbsolute, join} from 'node:path'

import {DvError} from '../errors.js'
import type {Repo} from '../repo/repo.js'
import type {RemoteBackend} from './backend.js'
import {LocalBackend} from './local.js'
import {S3Backend} from './s3.js'

export interface OpenRemote {
  name: string
  backend: RemoteBackend
}

export function openRemote(repo: Repo, name?: string): OpenRemote {
  const chosen = name ?? repo.config.get('core.remote')
  if (!chosen) throw new DvError('ENOREMOTE', "no remote given and no default remote (set one with 'dv remote add -d <name> <url>')")
  const url = repo.config.get(`remote.${chosen}.url`)
  if (!url) throw new DvError('ENOREMOTE', `no remote named ${JSON.stringify(chosen)} (see 'dv remote list')`)
  if (url.startsWith('s3://')) {
    const opt = (k: string) => repo.config.get(`remote.${chosen}.${k}`)
    return {
      name: chosen,
      backend: new S3Backend({
        url,
        endpointurl: opt('endpointurl'),
        region: opt('region'),
        profile: opt('profile'),
        access_key_id: opt('access_key_id'),
        secret_access_key: opt('secret_access_key'),
        session_token: opt('session_token'),
      }),
    }
  }
  return {name: chosen, backend: new LocalBackend(isAbsolute(url) ? url : join(repo.root, url))}
}
