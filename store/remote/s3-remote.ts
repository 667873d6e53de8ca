/**
 * Opening an `s3://bucket/prefix` remote: the URL's parts, the SDK loaded on
 * first use (DDS_DEPENDENCY_MISSING naming the package when it is not
 * installed), the bucket made sure of, and the remote's algorithms
 * (object-remote.ts) over the bucket's objects (s3.ts).
 */
import { checkLeaseTtl } from './leases.js'
import { openObjectRemote, type ObjectRemote } from './object-remote.js'
import { buildClient, loadOptional, S3ObjectStore, type Importer, type S3Sdk } from './s3.js'
import type { RemoteOptions } from './interface.js'

/** The package an s3:// remote needs. */
export const S3_PACKAGE = '@aws-sdk/client-s3'

/**
 * Split `s3://bucket/prefix` into the bucket and the key prefix (`''` or ending in `/`).
 *
 * @example
 * parseS3Url('s3://team/dds') // { bucket: 'team', prefix: 'dds/' }
 */
export function parseS3Url (url: string): { bucket: string, prefix: string } {
  if (typeof url !== 'string') throw new TypeError(`remote must be an s3:// URL, got ${typeof url}`)
  const m = /^s3:\/\/([^/]+)(\/.*)?$/.exec(url)
  if (m === null) throw new TypeError(`remote must look like s3://bucket/prefix, got ${JSON.stringify(url)}`)
  const bucket = m[1] as string
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new TypeError(`invalid bucket name ${JSON.stringify(bucket)} in ${url}`)
  const segments = (m[2] ?? '').split('/').filter((s) => s !== '')
  for (const s of segments) {
    if (s === '.' || s === '..' || !/^[A-Za-z0-9._-]+$/.test(s)) throw new TypeError(`invalid prefix segment ${JSON.stringify(s)} in ${url}`)
  }
  return { bucket, prefix: segments.length === 0 ? '' : segments.join('/') + '/' }
}

/**
 * Open the remote at `options.url` (`s3://`): make sure the bucket exists,
 * probe that the service enforces conditional writes (DDS_REMOTE_UNSAFE when
 * it does not) and check the format marker. `importer` replaces `import()`
 * for the SDK (a missing SDK is simulated with it in the tests).
 *
 * @example
 * const remote = await openS3Remote({ url: 's3://team/dds', s3: { endpoint: 'http://127.0.0.1:7480' } })
 */
export async function openS3Remote (options: RemoteOptions, internal: { importer?: Importer } = {}): Promise<ObjectRemote> {
  if (options === null || typeof options !== 'object') throw new TypeError('remote options must be an object')
  const { bucket, prefix } = parseS3Url(options.url)
  const leaseTtl = checkLeaseTtl(options.leaseTtl)
  const s3 = options.s3 ?? {}
  const sdk = await loadOptional<S3Sdk>(S3_PACKAGE, 'an s3:// remote', internal.importer)
  const client = s3.client ?? buildClient(sdk, s3)
  const objects = new S3ObjectStore(sdk, client, bucket, options.url, {
    ...(s3.concurrency === undefined ? {} : { concurrency: s3.concurrency }),
    ...(s3.retries === undefined ? {} : { retries: s3.retries }),
    ...(s3.multipartAbove === undefined ? {} : { multipartAbove: s3.multipartAbove }),
    ...(internal.importer === undefined ? {} : { importer: internal.importer }),
    owned: s3.client === undefined
  })
  try {
    await objects.ensureBucket(s3.createBucket !== false)
  } catch (err) {
    await objects.close()
    throw err
  }
  return await openObjectRemote(objects, { url: options.url, prefix, leaseTtl })
}
