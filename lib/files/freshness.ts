/**
 * Freshness rules for results no check can see go stale (a function that
 * reads the network): `ttl` (a result older than this is computed again) and
 * `volatile` (computed on every run).
 */
import type { FunctionAnnotations } from '../interface.js'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * A time to live in milliseconds: a number of ms, or a string such as
 * `'90s'`, `'15m'`, `'6h'`, `'2d'`. Throws RangeError otherwise.
 *
 * @example
 * ttlMs('6h') // 21600000
 */
export function ttlMs (ttl: string | number): number {
  if (typeof ttl === 'number') {
    if (!Number.isFinite(ttl) || ttl < 0) throw new RangeError(`ttl must be a non-negative number of milliseconds, got ${ttl}`)
    return ttl
  }
  const m = typeof ttl === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(ttl.trim()) : null
  if (m === null) throw new RangeError(`ttl must be a number of ms or a duration such as '90s', '15m', '6h', '2d', got ${JSON.stringify(ttl)}`)
  return Number(m[1]) * (UNITS[m[2] as string] as number)
}

/** True when a result computed at `started` (ms since the epoch) is still fresh under the function's rules. */
export function fresh (ann: FunctionAnnotations | undefined, started: number, now = Date.now()): boolean {
  if (ann === undefined) return true
  if (ann.volatile === true) return false
  if (ann.ttl !== undefined) return now - started < ttlMs(ann.ttl)
  return true
}

/** True when the function has a freshness rule (its effects need no warning). */
export function hasFreshnessRule (ann: FunctionAnnotations | undefined): boolean {
  return ann?.volatile === true || ann?.ttl !== undefined
}
