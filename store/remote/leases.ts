/**
 * Leases of a remote (`lease/<name>`): an identical call started on two
 * machines runs once. A lease is created conditionally, renewed by its
 * holder (compare-and-swap on the version it last wrote) and free for the
 * taking once the storage server's clock is past its last renewal plus its
 * time to live, so a crashed holder blocks nobody for long.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import * as dagCbor from '@ipld/dag-cbor'
import type { Lock } from '../interface.js'
import { backoff } from './helpers.js'
import type { Layout } from './layout.js'
import type { ObjectStore } from './interface.js'

/** The default time to live of a lease, and the least accepted. */
export const DEFAULT_LEASE_TTL = 30_000
export const MIN_LEASE_TTL = 2_000
/** Rounding of the server's clock (S3 dates are to the second). */
const CLOCK_SLACK = 1000

interface LeaseBody {
  holder: string
  host: string
  pid: number
  ttl: number
}

function decodeLease (bytes: Uint8Array): LeaseBody | undefined {
  try {
    const v = dagCbor.decode(bytes) as Partial<LeaseBody>
    if (typeof v.holder !== 'string' || typeof v.ttl !== 'number') return undefined
    return { holder: v.holder, host: String(v.host), pid: Number(v.pid), ttl: v.ttl }
  } catch {
    return undefined
  }
}

/** Check a lease time to live (RangeError when it is too short to renew reliably). */
export function checkLeaseTtl (ttl: number | undefined): number {
  const v = ttl ?? DEFAULT_LEASE_TTL
  if (!Number.isSafeInteger(v) || v < MIN_LEASE_TTL) throw new RangeError(`leaseTtl must be an integer of at least ${MIN_LEASE_TTL} ms`)
  return v
}

/** Take the lease `name`, waiting while another holder renews it; renewed until released. */
export async function takeLease (o: ObjectStore, layout: Layout, name: string, ttl: number): Promise<Lock> {
  const key = layout.lease(name)
  const id = randomBytes(8).toString('hex')
  const body = dagCbor.encode({ holder: id, host: hostname(), pid: process.pid, ttl } satisfies LeaseBody)
  let etag: string | undefined
  let delay = 25
  while (etag === undefined) {
    const r = await o.put(key, body, { ifNoneMatch: true })
    if (r.ok) {
      etag = r.etag
      break
    }
    if (!r.conflict) {
      const cur = await o.get(key)
      if (cur === undefined) continue
      const held = decodeLease(cur.bytes)
      if (held?.holder === id) {
        etag = cur.etag
        break
      }
      // Expiry by the server's clock: last renewal plus the holder's time to live, plus slack for rounding.
      if (held === undefined || await o.serverNow() > cur.lastModified + held.ttl + CLOCK_SLACK) {
        const take = await o.put(key, body, { ifMatch: cur.etag })
        if (take.ok) {
          etag = take.etag
          break
        }
        continue
      }
    }
    delay = await backoff(delay, 1000)
  }
  let current = etag
  let renewed = Date.now()
  let lost = false
  let renewing: Promise<void> | undefined
  const timer = setInterval(() => {
    if (renewing !== undefined || lost) return
    renewing = (async () => {
      try {
        const r = await o.put(key, body, { ifMatch: current })
        if (r.ok) {
          current = r.etag
          renewed = Date.now()
        } else if (!r.conflict) {
          lost = true
        }
      } catch {
        // The network: the next beat tries again, and the lease outlives a few missed beats.
      } finally {
        renewing = undefined
      }
    })()
  }, Math.floor(ttl / 3))
  timer.unref()
  let released = false
  return {
    release: async () => {
      if (released) return
      released = true
      clearInterval(timer)
      await renewing
      if (lost) return
      if (Date.now() - renewed < ttl / 2) {
        // Nobody can have taken it over yet: it expires no sooner than a full ttl after the last renewal.
        await o.delete(key)
      } else {
        await o.put(key, dagCbor.encode({ holder: id, host: hostname(), pid: process.pid, ttl: 0 } satisfies LeaseBody), { ifMatch: current }).catch(() => {})
      }
    }
  }
}
