/**
 * CARv1 files written and read by hand in tests, so that CIDs, lengths and
 * roots can lie: the hostile bundles of the bundle tests.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CarBlockIterator } from '@ipld/car/iterator'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'

/** The unsigned varint of CARv1 lengths. */
export function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}

/** A CARv1 of these blocks, in this order, whatever they are. */
export function carBytes (roots: CID[], blocks: Array<{ cid: CID, bytes: Uint8Array }>, header: unknown = { version: 1, roots }): Uint8Array {
  const parts: Uint8Array[] = []
  const h = dagCbor.encode(header)
  parts.push(varint(h.byteLength), h)
  for (const b of blocks) parts.push(varint(b.cid.bytes.byteLength + b.bytes.byteLength), b.cid.bytes, b.bytes)
  return Buffer.concat(parts)
}

/** The blocks of a CARv1, in file order. */
export async function blocksOf (bytes: Uint8Array): Promise<Array<{ cid: CID, bytes: Uint8Array }>> {
  const out = []
  for await (const b of await CarBlockIterator.fromBytes(bytes)) out.push({ cid: CID.asCID(b.cid) as CID, bytes: b.bytes })
  return out
}

/**
 * The same bundle with its (unsigned) manifest changed by `edit`: the new
 * manifest under its own CID as the root, the other blocks as they were.
 */
export async function withManifest (bundle: Uint8Array, edit: (manifest: { paths: Record<string, Array<Record<string, unknown>>> } & Record<string, unknown>) => unknown): Promise<Uint8Array> {
  const blocks = await blocksOf(bundle)
  const first = blocks[0] as { cid: CID, bytes: Uint8Array }
  const bytes = dagCbor.encode(edit(dagCbor.decode(first.bytes) as { paths: Record<string, Array<Record<string, unknown>>> } & Record<string, unknown>))
  const cid = CID.createV1(0x71, await sha256.digest(bytes))
  return carBytes([cid], [{ cid, bytes }, ...blocks.slice(1)])
}
