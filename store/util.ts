/**
 * Small helpers every part of the store (and lib/) uses: CID and byte
 * equality, hex, a pause, the label of a map key in messages, the defined
 * part of a key range. One copy each.
 */
import type { CID } from 'multiformats/cid'
import type { RangeOptions } from './interface.js'

/** True when two optional CIDs are both absent or equal. */
export function sameCid (a: CID | null | undefined, b: CID | null | undefined): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null)
  return a.equals(b)
}

/** True when two optional byte arrays are both absent or hold the same bytes. */
export function sameBytes (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  if (a.byteLength !== b.byteLength) return false
  // Digests (32 bytes, compared by the thousand in a plan) in a loop: no view made, no call out.
  if (a.byteLength <= 64) {
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
    return true
  }
  return Buffer.compare(a, b) === 0
}

/** Lower-case hex of some bytes (a view's own bytes, not its whole buffer). */
export function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** The bytes of lowercase hex the caller has checked (faster than Buffer.from and a copy, for thousands of digests). */
export function fromHex (h: string): Uint8Array {
  const out = new Uint8Array(h.length >> 1)
  for (let i = 0; i < out.length; i++) {
    const a = h.charCodeAt(2 * i)
    const b = h.charCodeAt(2 * i + 1)
    out[i] = ((a < 97 ? a - 48 : a - 87) << 4) | (b < 97 ? b - 48 : b - 87)
  }
  return out
}

/** Resolve after `ms` milliseconds. */
export async function sleep (ms: number): Promise<void> {
  await new Promise<void>((resolve) => { setTimeout(resolve, ms) })
}

/** How a map key reads in a message: strings quoted, numbers as they are, others elided. */
export function keyLabel (k: unknown): string {
  if (typeof k === 'string') return JSON.stringify(k)
  if (typeof k === 'number' || typeof k === 'boolean' || typeof k === 'bigint') return String(k)
  return '…'
}

/**
 * The part of a range that is set: its bounds, `reverse` when true and, with
 * `withLimit`, its limit. What a database iterator or the wire is given (an
 * explicit `undefined` bound is not "no bound" to every reader).
 */
export function definedRange (r: RangeOptions, withLimit = false): RangeOptions {
  const out: RangeOptions = {}
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (r[k] !== undefined) out[k] = r[k]
  if (r.reverse === true) out.reverse = true
  if (withLimit && r.limit !== undefined) out.limit = r.limit
  return out
}
