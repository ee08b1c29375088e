/**
 * A remote in an S3 bucket, on AWS or any S3-compatible server (MinIO, Ceph, R2: `endpointurl`).
 * Objects are stored at `<prefix>/objects/<2 hex>/<62 hex>`; a PUT becomes visible only once
 * complete, so no partial object is ever seen. Large files go up as concurrent multipart uploads
 * (@aws-sdk/lib-storage). Credentials come from `.dv/config.local`, else the standard AWS chain
 * (environment, profile, instance role). Failures become one-line errors naming the remote.
 */
import {createReadStream, createWriteStream} from 'node:fs'
import {pipeline} from 'node:stream/promises'
import type {Readable} from 'node:stream'
import type {S3Client} from '@aws-sdk/client-s3'

import {DvError, MissingObjectError} from '../errors.js'
import {isOid} from '../models/tree.js'
import type {RemoteBackend} from './backend.js'

export interface S3Options {
  url: string
  endpointurl?: string
  region?: string
  profile?: string
  access_key_id?: string
  secret_access_key?: string
  session_token?: string
}

/** One clear line for the failures users meet: credentials, bucket, endpoint. */
function explain(error: unknown, where: string): Error {
  const e = error as {name?: string; message?: string; code?: string; $metadata?: {httpStatusCode?: number}}
  const name = e.name ?? e.code ?? ''
  if (name === 'NoSuchBucket') return new DvError('ENOBUCKET', `${where}: the bucket does not exist`)
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'CredentialsProviderError'].includes(name) || e.$metadata?.httpStatusCode === 403) {
    return new DvError('ECREDENTIALS', `${where}: access denied (${name || 'HTTP 403'}): check the remote's credentials`)
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET'].includes(e.code ?? name)) {
    return new DvError('EUNREACHABLE', `${where}: cannot reach the endpoint (${e.code ?? name})`)
  }
  if (error instanceof DvError) return error
  return new DvError('ES3', `${where}: ${name ? `${name}: ` : ''}${(e.message ?? String(error)).split('\n')[0]}`)
}

export class S3Backend implements RemoteBackend {
  private client?: S3Client
  private readonly bucket: string
  private readonly prefix: string

  constructor(private readonly options: S3Options) {
    const rest = options.url.slice('s3://'.length)
    const slash = rest.indexOf('/')
    this.bucket = slash < 0 ? rest : rest.slice(0, slash)
    this.prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '')
  }

  get where(): string {
    return this.options.url
  }

  private key(oid: string): string {
    return `${this.prefix ? this.prefix + '/' : ''}objects/${oid.slice(0, 2)}/${oid.slice(2)}`
  }

  /** The AWS SDK is loaded only when an S3 remote is used (it costs ~0.3 s to import). */
  private async s3(): Promise<{client: S3Client; sdk: typeof import('@aws-sdk/client-s3')}> {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    const sdk = await import('@aws-sdk/client-s3')
    if (!this.client) {
      const o = this.options
      this.client = new sdk.S3Client({
        ...(o.endpointurl ? {endpoint: o.endpointurl, forcePathStyle: true} : {}),
        region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        ...(o.access_key_id && o.secret_access_key
          ? {credentials: {accessKeyId: o.access_key_id, secretAccessKey: o.secret_access_key, ...(o.session_token ? {sessionToken: o.session_token} : {})}}
          : {}),
        ...(o.profile ? {profile: o.profile} : {}),
        maxAttempts: 5, // retries with backoff on throttling and network errors
      })
    }
    return {client: this.client, sdk}
  }

  async list(): Promise<Set<string>> {
    const {client, sdk} = await this.s3()
    const found = new Set<string>()
    const base = `${this.prefix ? this.prefix + '/' : ''}objects/`
    let token: string | undefined
    try {
      do {
        const page = await client.send(new sdk.ListObjectsV2Command({Bucket: this.bucket, Prefix: base, ContinuationToken: token}))
        for (const obj of page.Contents ?? []) {
          const oid = (obj.Key ?? '').slice(base.length).replace('/', '')
          if (isOid(oid)) found.add(oid)
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
    } catch (error) {
      throw explain(error, this.where)
    }
    return found
  }

  async put(oid: string, file: string): Promise<void> {
    const {client} = await this.s3()
    const {Upload} = await import('@aws-sdk/lib-storage')
    try {
      await new Upload({client, params: {Bucket: this.bucket, Key: this.key(oid), Body: createReadStream(file)}, queueSize: 4, partSize: 16 * 1024 * 1024}).done()
    } catch (error) {
      throw explain(error, this.where)
    }
  }

  async get(oid: string, dest: string): Promise<void> {
    const {client, sdk} = await this.s3()
    try {
      const r = await client.send(new sdk.GetObjectCommand({Bucket: this.bucket, Key: this.key(oid)}))
      await pipeline(r.Body as Readable, createWriteStream(dest))
    } catch (error) {
      const name = (error as {name?: string}).name
      if (name === 'NoSuchKey') throw new MissingObjectError(oid, `remote ${this.where}`)
      throw explain(error, this.where)
    }
  }
}
