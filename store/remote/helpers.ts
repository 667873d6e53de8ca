/**
 * Waiting after a collision, for the remote's retry loops: writers that
 * collided spread out.
 */
import { sleep } from '../util.js'

/**
 * Wait a random time between `delay` and twice `delay` and return the next
 * delay (doubled, at most `max`).
 *
 * @example
 * let delay = 10
 * delay = await backoff(delay, 500)
 */
export async function backoff (delay: number, max: number): Promise<number> {
  await sleep(delay + Math.random() * delay)
  return Math.min(max, delay * 2)
}
