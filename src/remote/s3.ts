/**
 * A remote in an S3 bucket, on AWS or any S3-compatible server (MinIO, Ceph, R2: `endpointurl`).
 * Keys live under the URL's prefix; a PUT becomes visible only once complete, so no partial file
 * is ever seen. Large files go up as concurrent multipart uploads (@aws-sdk/lib-storage); ranges
 * of packs come down with ranged GETs. Credentials come from `.dv/config.local`, else the
 * standard AWS chain (environment, profile, instance role). The SDK retries throttling and
 * network errors on each request; a body that breaks off mid-download is retried here. Failures
 * become one-line errors naming the remote.
 */
import {createReadStream, createWriteStream} from 'node:fs'
import {pipeline} from 'node:stream/promises'
import type {Readable} from 'node:stream'
import type {S3Client} from '@aws-sdk/client-s3'

import {DvError} from '../errors.js'
import {MissingKeyError, type RemoteStore} from './backend.js'
import {withRetry} from './retry.js'

export interface S3Options {
  url: string
  endpointurl?: string
  region?: string
  profile?: string
  access_key_id?: string
  secret_access_key?: string
  session_token?: string
  /** `when_supported` (the SDK's default on AWS) or `when_required` (default with `endpointurl`). */
  request_checksum_calculation?: string
  response_checksum_validation?: string
}

/** Bodies up to this size go up in one PutObject; larger ones as multipart uploads. */
const SINGLE_PUT = 64 * 1024 * 1024
const PART_SIZE = 16 * 1024 * 1024

/** One clear line for the failures users meet: credentials, bucket, endpoint. */
function explain(error: unknown, where: string): Error {
  const e = error as {name?: string; message?: string; code?: string; $metadata?: {httpStatusCode?: number}}
  const name = e.name ?? e.code ?? ''
  if (name === 'NoSuchBucket') return new DvError('ENOBUCKET', `${where}: the bucket does not exist`)
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'CredentialsProviderError'].includes(name) || e.$metadata?.httpStatusCode === 403) {
    return new DvError('ECREDENTIALS', `${where}: access denied (${name || 'HTTP 403'}): check the remote's credentials`)
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE'].includes(e.code ?? name)) {
    return new DvError('EUNREACHABLE', `${where}: cannot reach the endpoint (${e.code ?? name})`)
  }
  if (error instanceof DvError) return error
  return new DvError('ES3', `${where}: ${name ? `${name}: ` : ''}${(e.message ?? String(error)).split('\n')[0]}`)
}

/** A request that failed (already retried by the SDK): not retried again around its body. */
class RequestFailed extends Error {
  constructor(readonly original: unknown) {
    super('request failed')
  }
}

/**
 * An S3 client for a remote's options (endpoint, region, credentials or profile, checksum
 * settings); the AWS SDK is imported only here, when S3 is first used.
 */
export async function s3Client(o: Partial<S3Options>): Promise<{client: S3Client; sdk: typeof import('@aws-sdk/client-s3')}> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const sdk = await import('@aws-sdk/client-s3')
  // S3-compatible servers often mishandle the SDK's default checksums (aws-chunked bodies
  // stored with the trailer appended), so with an endpoint they are sent only when required.
  const mode = (v: string | undefined) => (v ?? (o.endpointurl ? 'when_required' : 'when_supported')).toUpperCase() as 'WHEN_REQUIRED' | 'WHEN_SUPPORTED'
  const client = new sdk.S3Client({
    ...(o.endpointurl ? {endpoint: o.endpointurl, forcePathStyle: true} : {}),
    region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(o.access_key_id && o.secret_access_key
      ? {credentials: {accessKeyId: o.access_key_id, secretAccessKey: o.secret_access_key, ...(o.session_token ? {sessionToken: o.session_token} : {})}}
      : {}),
    ...(o.profile ? {profile: o.profile} : {}),
    requestChecksumCalculation: mode(o.request_checksum_calculation),
    responseChecksumValidation: mode(o.response_checksum_validation),
    maxAttempts: 5, // retries with backoff on throttling and network errors
  })
  return {client, sdk}
}

export class S3Store implements RemoteStore {
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

  private key(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key
  }

  /** The AWS SDK is loaded only when an S3 remote is used (it costs ~0.3 s to import). */
  private async s3(): Promise<{client: S3Client; sdk: typeof import('@aws-sdk/client-s3')}> {
    if (!this.client) this.client = (await s3Client(this.options)).client
    return {client: this.client, sdk: await import('@aws-sdk/client-s3')}
  }

  async list(prefix: string): Promise<string[]> {
    const {client, sdk} = await this.s3()
    const keys: string[] = []
    const base = this.key(prefix)
    const strip = this.prefix ? this.prefix.length + 1 : 0
    let token: string | undefined
    try {
      do {
        const page = await client.send(new sdk.ListObjectsV2Command({Bucket: this.bucket, Prefix: base, ContinuationToken: token}))
        for (const obj of page.Contents ?? []) if (obj.Key) keys.push(obj.Key.slice(strip))
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
    } catch (error) {
      throw explain(error, this.where)
    }
    return keys
  }

  async put(key: string, body: {file: string} | {bytes: Buffer}): Promise<void> {
    const {client, sdk} = await this.s3()
    try {
      if ('bytes' in body && body.bytes.length <= SINGLE_PUT) {
        await client.send(new sdk.PutObjectCommand({Bucket: this.bucket, Key: this.key(key), Body: body.bytes}))
        return
      }
      const {Upload} = await import('@aws-sdk/lib-storage')
      const data = 'bytes' in body ? body.bytes : createReadStream(body.file)
      await new Upload({client, params: {Bucket: this.bucket, Key: this.key(key), Body: data}, queueSize: 4, partSize: PART_SIZE}).done()
    } catch (error) {
      throw explain(error, this.where)
    }
  }

  /** Sends a GetObject and reads its body; a body broken off mid-way is asked for again. */
  private async get<T>(key: string, range: {start: number; end: number} | undefined, read: (body: Readable, length?: number) => Promise<T>): Promise<T> {
    const {client, sdk} = await this.s3()
    try {
      return await withRetry(async () => {
        let body: Readable
        let length: number | undefined
        try {
          const r = await client.send(new sdk.GetObjectCommand({Bucket: this.bucket, Key: this.key(key), ...(range ? {Range: `bytes=${range.start}-${range.end - 1}`} : {})}))
          body = r.Body as Readable
          length = r.ContentLength
        } catch (error) {
          throw new RequestFailed(error)
        }
        return await read(body, length)
      })
    } catch (error) {
      const original = error instanceof RequestFailed ? error.original : error
      if ((original as {name?: string}).name === 'NoSuchKey') throw new MissingKeyError(key, this.where)
      throw explain(original, this.where)
    }
  }

  async getFile(key: string, dest: string): Promise<void> {
    await this.get(key, undefined, (body) => pipeline(body, createWriteStream(dest)))
  }

  async getBytes(key: string, range?: {start: number; end: number}): Promise<Buffer> {
    return this.get(key, range, async (body, length) => {
      // Into one buffer of the announced size: no second copy of a range held in memory.
      if (length === undefined) {
        const chunks: Buffer[] = []
        for await (const chunk of body) chunks.push(chunk as Buffer)
        return Buffer.concat(chunks)
      }
      const out = Buffer.allocUnsafe(length)
      let at = 0
      for await (const chunk of body) {
        const c = chunk as Buffer
        if (at + c.length > length) throw new DvError('ES3', `${this.where}: ${key}: the server sent more than the ${length} bytes it announced`)
        c.copy(out, at)
        at += c.length
      }
      if (at !== length) throw Object.assign(new Error(`body ended after ${at} of ${length} bytes`), {code: 'ECONNRESET'})
      return out
    })
  }
}
