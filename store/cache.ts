/**
 * The bounded caches of decoded immutable or versioned entries (artifact
 * roots, memo entries, heads): a map that drops its oldest entry when full.
 */

/** Entries each cache keeps at most. */
export const CACHE_LIMIT = 4096

/** Keep at most CACHE_LIMIT decoded entries, dropping the oldest. */
export function remember<V> (cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string)
  cache.set(key, value)
}
