/**
 * What a remote checks at open, and the one write rule of its immutable
 * objects: the probe that refuses an object store ignoring conditional
 * writes (concurrent writers would lose data), the format marker, and
 * create-once.
 */
import { randomBytes } from 'node:crypto'
import { DdsError, ErrorCodes } from '../errors.js'
import { backoff } from './helpers.js'
import { REMOTE_FORMAT, type Layout } from './layout.js'
import type { ObjectStore } from './interface.js'

const utf8 = new TextEncoder()
const utf8d = new TextDecoder()

function unsafe (url: string, detail: string): DdsError {
  return new DdsError(ErrorCodes.REMOTE_UNSAFE,
    `remote ${url} does not enforce conditional writes (${detail}); concurrent writers would lose data, so it is refused`,
    { data: { remote: url, detail } })
}

/**
 * Check that create-only and compare-and-swap writes are enforced, on one
 * scratch object (DDS_REMOTE_UNSAFE when they are not).
 */
export async function probe (o: ObjectStore, layout: Layout, url: string): Promise<void> {
  const key = layout.probe(randomBytes(12).toString('hex'))
  await o.calibrate?.(key)
  const first = await o.put(key, utf8.encode('a'), { ifNoneMatch: true })
  if (!first.ok) throw unsafe(url, 'a create-only write of a new object was refused')
  try {
    const again = await o.put(key, utf8.encode('b'), { ifNoneMatch: true })
    if (again.ok) throw unsafe(url, 'If-None-Match: * is ignored: an existing object was replaced')
    const wrong = await o.put(key, utf8.encode('c'), { ifMatch: '"0123456789abcdef0123456789abcdef"' })
    if (wrong.ok) throw unsafe(url, 'If-Match is ignored: a write naming another version succeeded')
    const swap = await o.put(key, utf8.encode('d'), { ifMatch: first.etag })
    if (!swap.ok) throw unsafe(url, 'If-Match never matches the current version')
    const stale = await o.put(key, utf8.encode('e'), { ifMatch: first.etag })
    if (stale.ok) throw unsafe(url, 'If-Match matches a replaced version')
  } finally {
    await o.delete(key).catch(() => {})
  }
}

/** Create the format marker, or check the one there (DDS_FORMAT_VERSION when it is another). */
export async function checkFormat (o: ObjectStore, layout: Layout, url: string): Promise<void> {
  const key = layout.marker()
  let found = await o.get(key)
  if (found === undefined) {
    await o.put(key, utf8.encode(JSON.stringify({ format: REMOTE_FORMAT })), { ifNoneMatch: true })
    found = await o.get(key)
  }
  let format: unknown
  try {
    format = (JSON.parse(utf8d.decode(found?.bytes ?? new Uint8Array())) as { format?: unknown }).format
  } catch {
    format = undefined
  }
  if (format !== REMOTE_FORMAT) {
    throw new DdsError(ErrorCodes.FORMAT_VERSION, `remote ${url} holds format ${JSON.stringify(format)}; this version of dds-ts reads ${REMOTE_FORMAT}`,
      { data: { remote: url, found: format ?? null, expected: REMOTE_FORMAT } })
  }
}

/** Create an immutable object once; an object already there (the same content, by its name) is success. */
export async function createOnce (o: ObjectStore, key: string, bytes: Uint8Array): Promise<void> {
  let delay = 20
  for (let i = 0; ; i++) {
    const r = await o.put(key, bytes, { ifNoneMatch: true })
    if (r.ok || !r.conflict) return
    // Another create of the same key is in progress: look again shortly.
    if (i >= 8 && await o.head(key) !== undefined) return
    delay = await backoff(delay, 1000)
  }
}
