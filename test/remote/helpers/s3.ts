/**
 * The S3 endpoints the remote tests run against (two gateways of one Ceph
 * cluster, started by scripts/ceph-up.sh), a fresh bucket per test file and
 * a fresh prefix per test. Without endpoints the tests skip with a message,
 * except under CI=true, where they fail: CI must run them.
 */
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { S3Client, GetObjectCommand, PutObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import type { RemoteOptions } from '../../../store/remote/interface.js'
import type { RemoteEnv } from './env.js'

/** `DDS_TEST_S3_ENDPOINTS=http://127.0.0.1:7480,http://127.0.0.1:7481` */
export const endpoints = (process.env.DDS_TEST_S3_ENDPOINTS ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')

const MISSING = 'no S3 endpoints: start Ceph with `bash scripts/ceph-up.sh` and `source /tmp/dds-ceph/env` (sets DDS_TEST_S3_ENDPOINTS and the AWS credentials)'

/** One test file's bucket on the gateways. */
export class S3Env implements RemoteEnv {
  readonly name = 's3'
  readonly bucket = `dds-test-${randomBytes(5).toString('hex')}`
  readonly endpoints: string[]
  #n = 0

  constructor (list: string[]) {
    this.endpoints = list
  }

  /** A prefix no other test uses. */
  prefix (name = 't'): string {
    return `${name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${++this.#n}-${randomBytes(3).toString('hex')}`
  }

  /** `s3://bucket/prefix` */
  url (prefix: string): string {
    return `s3://${this.bucket}/${prefix}`
  }

  /** Remote options for "machine" `machine` (0 or 1: which gateway it talks to). */
  endpoint (machine = 0): string {
    return this.endpoints[machine % this.endpoints.length] as string
  }

  remote (prefix: string, machine = 0, extra: Partial<RemoteOptions> = {}): RemoteOptions {
    return { url: this.url(prefix), ...extra, s3: { endpoint: this.endpoint(machine), ...extra.s3 } }
  }

  cliEnv (prefix: string, machine = 0): Record<string, string> {
    return { DDS_REMOTE: this.url(prefix), AWS_ENDPOINT_URL: this.endpoint(machine) }
  }

  /** A plain client, to look at or damage objects behind the library's back. */
  client (machine = 0): S3Client {
    return new S3Client({
      endpoint: this.endpoint(machine),
      region: process.env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED'
    })
  }

  /** Keys under `sub`, relative to the prefix. */
  async keys (prefix: string, sub = ''): Promise<string[]> {
    const c = this.client()
    try {
      const out: string[] = []
      let token: string | undefined
      do {
        const page = await c.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${prefix}/${sub}`, ...(token === undefined ? {} : { ContinuationToken: token }) }))
        for (const o of page.Contents ?? []) if (o.Key !== undefined) out.push(o.Key.slice(prefix.length + 1))
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined
      } while (token !== undefined)
      return out.sort()
    } finally {
      c.destroy()
    }
  }

  async read (prefix: string, key: string): Promise<Uint8Array> {
    const c = this.client()
    try {
      const out = await c.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${prefix}/${key}` }))
      return await (out.Body as { transformToByteArray: () => Promise<Uint8Array> }).transformToByteArray()
    } finally {
      c.destroy()
    }
  }

  async overwrite (prefix: string, key: string, bytes: Uint8Array): Promise<void> {
    const c = this.client()
    try {
      await c.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${prefix}/${key}`, Body: bytes }))
    } finally {
      c.destroy()
    }
  }
}

/**
 * The S3 environment, or undefined after registering a skip (developer
 * machine) or a failure (CI=true) on `t`.
 */
export function s3 (t: Test): S3Env | undefined {
  if (endpoints.length >= 2) {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
    return new S3Env(endpoints)
  }
  if (process.env.CI === 'true') {
    t.fail(`the remote tests must run under CI=true: ${MISSING}`)
    return undefined
  }
  t.test('remote store against S3', { skip: MISSING }, () => {})
  return undefined
}
