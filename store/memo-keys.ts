/**
 * Memo keys that depend on loaded paths and read files. The primary memo key
 * of a call is computed by the run engine; next to it, an evaluation that
 * loaded paths or read files is also filed under its key plus the values those
 * paths held and the digests of those files, so that a path or file changing
 * back finds the earlier evaluation again. Imports write the same keys.
 */
import { createHash } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'

const byPath = <T extends { path: string }>(a: T, b: T): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)

/**
 * The memo key of a call together with the values of the paths it loaded.
 *
 * @example
 * const key2 = loadsKey(key, [{ path: '/data/raw', output: rawCid }])
 */
export function loadsKey (key: Uint8Array, loads: Array<{ path: string, output: CID }>): Uint8Array {
  const sorted = [...loads].sort(byPath)
  return new Uint8Array(createHash('sha256').update(dagCbor.encode({ key, loads: sorted.map((l) => [l.path, l.output]) })).digest())
}

/**
 * The secondary memo key of a call: its key with the values of the paths it
 * loaded and the digests of the files it read. Without files it is
 * {@link loadsKey} (the key stores made before files were recorded use);
 * undefined when there is neither.
 *
 * @example
 * const key2 = dependenciesKey(key, [], [{ path: 'data/a.csv', kind: 'file', digest }])
 */
export function dependenciesKey (key: Uint8Array, loads: Array<{ path: string, output: CID }>, files: Array<{ path: string, kind: string, digest: Uint8Array }> | undefined): Uint8Array | undefined {
  if (files === undefined || files.length === 0) return loads.length === 0 ? undefined : loadsKey(key, loads)
  const sortedLoads = [...loads].sort(byPath)
  const sortedFiles = [...files].sort((a, b) => byPath(a, b) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0))
  return new Uint8Array(createHash('sha256').update(dagCbor.encode({
    key, loads: sortedLoads.map((l) => [l.path, l.output]), files: sortedFiles.map((f) => [f.path, f.kind, f.digest])
  })).digest())
}
