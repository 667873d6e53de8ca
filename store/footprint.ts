/**
 * What things weigh on disk: the stored size of a block (inline in LevelDB
 * or a blob file beside it), and the set of blocks a group of roots reaches
 * with their sizes, so that `dds du` and gc's budget count a block shared by
 * several values once.
 */
import type { CID } from 'multiformats/cid'
import { BLOCK_FILE, BLOCK_SEGMENT, parseFileMarker, parseSegmentMarker } from './keys.js'
import { walkStore, type Link } from './dag.js'
import type { Backend } from './interface.js'
import type { Store } from './store.js'

/** The payload bytes a block occupies in this store (0 when absent). */
export async function storedSize (backend: Backend, cid: CID): Promise<number> {
  const raw = await backend.get('blocks', cid.bytes)
  if (raw === undefined) return 0
  if (raw[0] === BLOCK_FILE && raw.byteLength === 9) return parseFileMarker(raw).size
  if (raw[0] === BLOCK_SEGMENT) {
    try {
      return parseSegmentMarker(raw).size
    } catch {
      return 0
    }
  }
  return raw.byteLength - 1
}

/** Block id (CID string) -> stored size, for the blocks of one or more roots. */
export type Footprint = Map<string, number>

/**
 * The blocks `roots` reach in this store and their stored sizes (absent
 * blocks are left out). `sizes` caches sizes across calls: one read per block.
 *
 * @example
 * const fp = await footprint(store, [{ cid: head.output, role: 'artifact' }])
 * const bytes = sum(fp)
 */
export async function footprint (store: Store, roots: Link[], sizes: Map<string, number> = new Map()): Promise<Footprint> {
  const out: Footprint = new Map()
  for await (const visit of walkStore(store.local.blocks, roots, { readLeaves: false })) {
    if (!visit.present) continue
    const id = visit.link.cid.toString()
    if (out.has(id)) continue
    let size = sizes.get(id)
    if (size === undefined) {
      size = await storedSize(store.backend, visit.link.cid)
      sizes.set(id, size)
    }
    out.set(id, size)
  }
  return out
}

/** The bytes of a footprint, optionally only the blocks `except` does not hold. */
export function sum (fp: Footprint, except?: { has: (id: string) => boolean }): number {
  let n = 0
  for (const [id, size] of fp) if (except === undefined || !except.has(id)) n += size
  return n
}

/** Bytes of every block of the store: what a gc budget measures. */
export async function storeBytes (store: Store): Promise<number> {
  let n = 0
  for await (const cid of store.blockCIDs()) n += await storedSize(store.backend, cid)
  return n
}
