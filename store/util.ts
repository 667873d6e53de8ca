/**
 * Small helpers every part of the store (and lib/) uses: CID and byte
 * equality, hex, a pause, the label of a map key in messages. One copy each.
 */
import type { CID } from 'multiformats/cid'

/** True when two optional CIDs are both absent or equal. */
export function sameCid (a: CID | null | undefined, b: CID | null | undefined): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null)
  return a.equals(b)
}

/** True when two optional byte arrays are both absent or hold the same bytes. */
export function sameBytes (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/** Lower-case hex of some bytes (a view's own bytes, not its whole buffer). */
export function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
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
