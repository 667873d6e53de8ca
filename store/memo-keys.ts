/**
 * Memo keys that depend on loaded paths. The primary memo key of a call is
 * computed by the run engine; next to it, an evaluation that loaded paths is
 * also filed under its key plus the values those paths held, so that a path
 * changing back finds the earlier evaluation again. Imports write the same keys.
 */
import { createHash } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'

/**
 * The memo key of a call together with the values of the paths it loaded.
 *
 * @example
 * const key2 = loadsKey(key, [{ path: '/data/raw', output: rawCid }])
 */
export function loadsKey (key: Uint8Array, loads: Array<{ path: string, output: CID }>): Uint8Array {
  const sorted = [...loads].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return new Uint8Array(createHash('sha256').update(dagCbor.encode({ key, loads: sorted.map((l) => [l.path, l.output]) })).digest())
}
