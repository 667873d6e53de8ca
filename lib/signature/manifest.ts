/**
 * The code manifest of a static part on its own: what a run folds into the
 * signature of a function whose analysis needs no run-time value (no pin, no
 * explicit dependencies). Its digest is persisted with the analysis, so that
 * `dds plan` tells an unchanged function from the recorded code CID alone.
 */
import { encodeManifest } from '../../store/canonical.js'
import type { CodeManifest } from '../../store/records.js'
import { sha256 } from './canonical.js'
import type { StaticPart } from './interface.js'

/** The signature algorithm version, folded into every manifest. */
export const ALGORITHM = 'dds-sig/1'

/**
 * The entries of a map as an object, by assignment (`Object.fromEntries` on a
 * Map of thousands of declarations takes over twice as long in a fresh process).
 *
 * @example
 * recordOf(part.declarations) // { 'src/a.ts#f': Uint8Array(32) [...] }
 */
export function recordOf<V> (map: ReadonlyMap<string, V>): Record<string, V> {
  const out: Record<string, V> = {}
  for (const [k, v] of map) {
    // a key named __proto__ is a field, as fromEntries makes it, not the prototype
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
    else out[k] = v
  }
  return out
}

/**
 * The manifest of `part` with no run-time values.
 *
 * @example
 * bareManifest(part).declarations // { 'src/a.ts#f': ..., 'src/b.ts#g': ... }
 */
export function bareManifest (part: StaticPart): CodeManifest {
  return {
    algorithm: ALGORITHM,
    entry: part.entry,
    declarations: recordOf(part.declarations),
    values: {},
    packages: Object.fromEntries(part.packages),
    unavailable: [...part.unavailable].sort()
  }
}

/**
 * The digest of {@link bareManifest}, when it is the whole manifest a run
 * computes (the part needs no run-time value); else undefined.
 *
 * @example
 * bareDigest(part) // Uint8Array(32) [...]
 */
export function bareDigest (part: StaticPart): Uint8Array | undefined {
  return part.needs.length > 0 || part.scopeNames.length > 0 ? undefined : sha256(encodeManifest(bareManifest(part)))
}
