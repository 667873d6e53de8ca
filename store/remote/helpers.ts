/**
 * Small helpers of the remote's parts: waiting with jitter, hex keys, byte
 * equality.
 */

/** Resolve after `ms` milliseconds. */
export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => { setTimeout(resolve, ms) })
}

/**
 * Wait a random time between `delay` and twice `delay` and return the next
 * delay (doubled, at most `max`): writers that collided spread out.
 *
 * @example
 * let delay = 10
 * delay = await backoff(delay, 500)
 */
export async function backoff (delay: number, max: number): Promise<number> {
  await sleep(delay + Math.random() * delay)
  return Math.min(max, delay * 2)
}

/** Lower-case hex of bytes. */
export function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** True when both hold the same bytes. */
export function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}
