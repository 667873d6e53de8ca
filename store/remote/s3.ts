/**
 * The object store on S3-compatible storage, over `@aws-sdk/client-s3`
 * (an optional dependency, loaded on first use): get, stream, head, put
 * (plain, create-only with `If-None-Match: *`, or compare-and-swap with
 * `If-Match`), upload (multipart through `@aws-sdk/lib-storage` above a
 * size), delete and list. Every request is bounded in time and retried a few
 * times by the SDK on network failures, timeouts and 5xx answers; what still
 * fails is DDS_REMOTE_UNAVAILABLE. A failed precondition is an answer, not
 * an error.
 *
 * Retrying a conditional write is safe here because every caller reads what
 * is there after a failed precondition: a write whose first answer was lost
 * finds its own bytes (or its own lease holder, or a head already advanced).
 */
import http from 'node:http'
import https from 'node:https'
import { Readable } from 'node:stream'
import type { S3Client } from '@aws-sdk/client-s3'
import { DdsError, ErrorCodes } from '../errors.js'
import { loadOptional, sleep, type Importer } from '../util.js'
import type { Condition, ObjectBytes, ObjectInfo, ObjectStore, PutResult, S3Options } from './interface.js'

/** The SDK module (`@aws-sdk/client-s3`). */
export type S3Sdk = typeof import('@aws-sdk/client-s3')
type StorageSdk = typeof import('@aws-sdk/lib-storage')

export { loadOptional, type Importer } from '../util.js'

const DEFAULT_TIMEOUT = 30_000
const DEFAULT_RETRIES = 4
const DEFAULT_CONCURRENCY = 16
/** Objects larger than this go up in parts (S3 takes at most 5 GiB in one request). */
export const DEFAULT_MULTIPART_ABOVE = 4 * 1024 * 1024 * 1024

function env (name: string): string | undefined {
  const v = process.env[name]
  return v === undefined || v === '' ? undefined : v
}

/** Build an S3 client from options and the usual AWS variables. */
export function buildClient (sdk: S3Sdk, options: S3Options): S3Client {
  const endpoint = options.endpoint ?? env('AWS_ENDPOINT_URL_S3') ?? env('AWS_ENDPOINT_URL')
  const region = options.region ?? env('AWS_REGION') ?? env('AWS_DEFAULT_REGION') ?? 'us-east-1'
  const timeout = options.timeout ?? DEFAULT_TIMEOUT
  const retries = options.retries ?? DEFAULT_RETRIES
  // The version is pinned, so the SDK's notice about future releases and Node
  // versions concerns no user of this library; a library does not print.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const agent = { keepAlive: true, maxSockets: 64 }
  const quiet = (): void => {}
  return new sdk.S3Client({
    // The SDK's own warnings go nowhere: failures surface as coded errors.
    logger: { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet },
    region,
    ...(endpoint === undefined ? {} : { endpoint }),
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    // Checksums on every request make streamed uploads fail on some gateways (411) and cost CPU; blocks are verified by CID.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: retries + 1,
    requestHandler: {
      connectionTimeout: Math.min(timeout, 10_000),
      requestTimeout: timeout,
      throwOnRequestTimeout: true,
      httpAgent: new http.Agent(agent),
      httpsAgent: new https.Agent(agent)
    }
  })
}

interface SdkError {
  name?: string
  code?: string
  $metadata?: { httpStatusCode?: number }
  $response?: { statusCode?: number }
}

function statusOf (err: unknown): number | undefined {
  const e = err as SdkError
  return e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH'])

/** Worth another attempt: the network, a timeout, throttling or a server error. */
function transient (err: unknown): boolean {
  const e = err as SdkError
  const status = statusOf(err)
  if (status !== undefined) return status >= 500 || status === 429 || status === 408
  if (e?.code !== undefined && NETWORK_CODES.has(e.code)) return true
  return e?.name === 'TimeoutError' || e?.name === 'RequestTimeout'
}

function notFound (err: unknown): boolean {
  const name = (err as SdkError)?.name
  return statusOf(err) === 404 || name === 'NoSuchKey' || name === 'NotFound'
}

function preconditionFailed (err: unknown): 'failed' | 'conflict' | undefined {
  const status = statusOf(err)
  if (status === 412 || (err as SdkError)?.name === 'PreconditionFailed') return 'failed'
  // AWS answers 409 when another conditional write to the key is in progress.
  if (status === 409) return 'conflict'
  return undefined
}

/** Bounds the requests in flight. */
class Gate {
  #free: number
  readonly #waiting: Array<() => void> = []
  constructor (n: number) { this.#free = n }
  async run<T> (fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--
    else await new Promise<void>((resolve) => { this.#waiting.push(resolve) })
    try {
      return await fn()
    } finally {
      const next = this.#waiting.shift()
      if (next !== undefined) next()
      else this.#free++
    }
  }
}

/** The objects of one bucket. Build it with `openS3Objects`. */
export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client
  readonly bucket: string
  /** What the remote is called in errors. */
  readonly label: string
  /** Send If-Match ETags with their quotes (AWS) or without (RGW 16.2); decided by the probe. */
  quoteIfMatch = true
  readonly #gate: Gate
  readonly #owned: boolean
  /** Server clock minus local clock, from the Date header of answers (second resolution). */
  #skew = 0

  readonly #retries: number
  readonly #multipartAbove: number
  readonly #sdk: S3Sdk
  readonly #importer: Importer | undefined

  constructor (sdk: S3Sdk, client: S3Client, bucket: string, label: string, options: { concurrency?: number, owned?: boolean, retries?: number, multipartAbove?: number, importer?: Importer } = {}) {
    this.#sdk = sdk
    this.#importer = options.importer
    this.client = client
    this.bucket = bucket
    this.label = label
    this.#retries = options.retries ?? DEFAULT_RETRIES
    this.#multipartAbove = options.multipartAbove ?? DEFAULT_MULTIPART_ABOVE
    this.#gate = new Gate(options.concurrency ?? DEFAULT_CONCURRENCY)
    this.#owned = options.owned === true
    client.middlewareStack.add((next) => async (args) => {
      const out = await next(args)
      const date = (out.response as { headers?: Record<string, string> } | undefined)?.headers?.date
      if (date !== undefined) {
        const server = Date.parse(date)
        // The header is truncated to the second: its middle is half a second later.
        if (Number.isFinite(server)) this.#skew = server + 500 - Date.now()
      }
      return out
    }, { step: 'deserialize', name: 'ddsServerClock', override: true })
  }

  /** The server's clock now, as well as the Date headers tell (about a second). */
  async serverNow (): Promise<number> {
    return Date.now() + this.#skew
  }

  /**
   * Learn whether If-Match wants the ETag quoted (AWS) or bare (RGW 16.2),
   * on a scratch object next to the probe's.
   */
  async calibrate (scratch: string): Promise<void> {
    const key = `${scratch}.calibrate`
    const first = await this.put(key, new Uint8Array([1]), { ifNoneMatch: true })
    if (!first.ok) return
    try {
      this.quoteIfMatch = true
      const swap = await this.put(key, new Uint8Array([2]), { ifMatch: first.etag })
      if (!swap.ok && !swap.conflict) this.quoteIfMatch = false
    } finally {
      await this.delete(key).catch(() => {})
    }
  }

  /** Run one request (the SDK retries it); DDS_REMOTE_UNAVAILABLE when it fails for good. */
  async #call<T> (operation: string, key: string, fn: () => Promise<T>, handle: (err: unknown) => { value: T } | undefined = () => undefined): Promise<T> {
    try {
      return await this.#gate.run(fn)
    } catch (err) {
      const handled = handle(err)
      if (handled !== undefined) return handled.value
      throw unavailable(this.label, operation, key, err)
    }
  }

  /** Make sure the bucket exists (create it when allowed). */
  async ensureBucket (create: boolean): Promise<void> {
    const exists = await this.#call('HeadBucket', this.bucket, async () => {
      await this.client.send(new this.#sdk.HeadBucketCommand({ Bucket: this.bucket }))
      return true
    }, (err) => notFound(err) ? { value: false } : undefined)
    if (exists) return
    if (!create) throw new DdsError(ErrorCodes.REMOTE_UNAVAILABLE, `remote ${this.label}: bucket ${this.bucket} does not exist`, { data: { remote: this.label, bucket: this.bucket } })
    await this.#call('CreateBucket', this.bucket, async () => {
      await this.client.send(new this.#sdk.CreateBucketCommand({ Bucket: this.bucket }))
    }, (err) => {
      const name = (err as SdkError)?.name
      return name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists' ? { value: undefined } : undefined
    })
  }

  /** An object's bytes and version, or undefined. */
  async get (key: string): Promise<ObjectBytes | undefined> {
    return await this.#call('GET', key, async () => {
      const out = await this.client.send(new this.#sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }))
      const bytes = out.Body === undefined ? new Uint8Array(0) : await out.Body.transformToByteArray()
      return { bytes, etag: out.ETag ?? '', lastModified: out.LastModified?.getTime() ?? 0, size: bytes.byteLength }
    }, (err) => notFound(err) ? { value: undefined } : undefined)
  }

  /**
   * An object's bytes (or the bytes from `start` up to `end`) as a stream,
   * or undefined when it does not exist.
   * Only the start of the request is retried; a failure later surfaces while reading.
   */
  async stream (key: string, range?: { start: number, end: number }): Promise<{ info: ObjectInfo, body: AsyncIterable<Uint8Array> } | undefined> {
    return await this.#call('GET', key, async () => {
      const out = await this.client.send(new this.#sdk.GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end - 1}` }) }))
      const body = (out.Body ?? Readable.from([])) as unknown as AsyncIterable<Uint8Array>
      return { info: { lastModified: out.LastModified?.getTime() ?? 0, size: out.ContentLength ?? 0 }, body }
    }, (err) => notFound(err) ? { value: undefined } : undefined)
  }

  /** An object's version and size, or undefined. */
  async head (key: string): Promise<ObjectInfo | undefined> {
    return await this.#call('HEAD', key, async () => {
      const out = await this.client.send(new this.#sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }))
      return { lastModified: out.LastModified?.getTime() ?? 0, size: out.ContentLength ?? 0 }
    }, (err) => notFound(err) ? { value: undefined } : undefined)
  }

  /** The form of an ETag this server accepts in If-Match. */
  ifMatchTag (etag: string): string {
    const bare = etag.replace(/^"(.*)"$/, '$1')
    return this.quoteIfMatch ? `"${bare}"` : bare
  }

  /** Write an object, optionally under a condition. */
  async put (key: string, body: Uint8Array, condition?: Condition): Promise<PutResult> {
    return await this.#call<PutResult>('PUT', key, async () => {
      const out = await this.client.send(new this.#sdk.PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentLength: body.byteLength,
        ...(condition === undefined ? {} : 'ifNoneMatch' in condition ? { IfNoneMatch: '*' } : { IfMatch: this.ifMatchTag(condition.ifMatch) })
      }))
      return { ok: true, etag: out.ETag ?? '' }
    }, (err) => {
      if (condition === undefined) return undefined
      const failed = preconditionFailed(err)
      // RGW answers 412 to If-Match on a missing key, AWS 404: both mean the version is not there.
      if (failed === undefined && 'ifMatch' in condition && notFound(err)) return { value: { ok: false, conflict: false } }
      return failed === undefined ? undefined : { value: { ok: false, conflict: failed === 'conflict' } }
    })
  }

  /**
   * Upload `size` bytes from a stream as one object, with memory bounded
   * whatever the size: streamed in one request up to the multipart limit
   * (sent again from a fresh stream after a failure), in parts above it (each
   * part buffered, so the SDK can send a failed one again). The object
   * appears only when complete; a failed multipart upload is aborted.
   */
  async upload (key: string, source: () => AsyncIterable<Uint8Array>, size: number): Promise<void> {
    if (size > this.#multipartAbove) {
      // S3 takes at most 10,000 parts.
      const partSize = Math.max(8 * 1024 * 1024, Math.ceil(size / 9000))
      try {
        const { Upload } = await loadOptional<StorageSdk>('@aws-sdk/lib-storage', 'uploading large artifacts to an s3:// remote', this.#importer)
        await new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key: key, Body: Readable.from(source(), { objectMode: false }) },
          partSize,
          queueSize: 4,
          leavePartsOnError: false
        }).done()
      } catch (err) {
        if (err instanceof DdsError) throw err
        throw unavailable(this.label, 'multipart upload', key, err)
      }
      return
    }
    let delay = 200
    for (let attempt = 0; ; attempt++) {
      try {
        // A stream body: no hashing of the payload for the signature, and the SDK does not retry it.
        await this.#gate.run(async () => await this.client.send(new this.#sdk.PutObjectCommand({
          Bucket: this.bucket, Key: key, Body: Readable.from(source(), { objectMode: false }), ContentLength: size
        })))
        return
      } catch (err) {
        if (err instanceof DdsError) throw err
        if (!transient(err) || attempt >= this.#retries) throw unavailable(this.label, 'PUT', key, err)
        await sleep(delay + Math.random() * delay)
        delay = Math.min(5000, delay * 2)
      }
    }
  }

  async delete (key: string): Promise<void> {
    await this.#call('DELETE', key, async () => {
      await this.client.send(new this.#sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key }))
    }, (err) => notFound(err) ? { value: undefined } : undefined)
  }

  /** Every key under `prefix`, in order (pages of up to 1000). */
  async * list (prefix: string): AsyncIterable<string> {
    let token: string | undefined
    do {
      const page = await this.#call('LIST', prefix, async () => await this.client.send(new this.#sdk.ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: prefix,
        ...(token === undefined ? {} : { ContinuationToken: token })
      })))
      for (const o of page.Contents ?? []) if (o.Key !== undefined) yield o.Key
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined
    } while (token !== undefined)
  }

  async close (): Promise<void> {
    if (this.#owned) this.client.destroy()
  }
}

function describe (err: unknown): string {
  const e = err as SdkError & { message?: string }
  const status = statusOf(err)
  const parts = [e?.name, e?.code, status === undefined ? undefined : `HTTP ${status}`, e?.message].filter((x) => x !== undefined && x !== '' && x !== 'Error')
  return [...new Set(parts)].join(': ') || String(err)
}

function unavailable (label: string, operation: string, key: string, err: unknown): DdsError {
  const attempts = (err as { $metadata?: { attempts?: number } })?.$metadata?.attempts
  return new DdsError(ErrorCodes.REMOTE_UNAVAILABLE,
    `remote ${label}: ${operation} ${key} failed${attempts !== undefined && attempts > 1 ? ` after ${attempts} attempts` : ''}: ${describe(err)}`,
    { cause: err, data: { remote: label, operation, key, status: statusOf(err) ?? null, ...(attempts === undefined ? {} : { attempts }) } })
}
