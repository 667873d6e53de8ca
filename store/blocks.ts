/**
 * The blocks part: blocks by CID in the `blocks` key space, small ones
 * inline, large ones as immutable chunk files beside the database (the index
 * entry then holds their size and crc32), and their integrity: every read is
 * checked (inline blocks against their CID, files against their crc32, or
 * re-hashed with `verify: 'full'`). Knows nothing of artifacts or records.
 */
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { verifyBlock } from './hash.js'
import { BLOCK_FILE, BLOCK_INLINE, fileMarker, inlineBlock, parseFileMarker } from './keys.js'
import { NOT_SYNC, type Backend, type BlobFiles, type BlockReadOptions, type BlockReader, type BlockWriter, type Space, type Staged } from './interface.js'

/**
 * crc32 of a file block, from node:zlib taken on first use: only blocks kept as
 * files have one, and a fresh process importing dds-ts does not load zlib.
 */
function crc32 (bytes: Uint8Array): number {
  return process.getBuiltinModule('node:zlib').crc32(bytes)
}

/** A read that takes the backend's synchronous path when it offers one now. */
export async function quickGet (backend: Backend, space: Space, key: Uint8Array, fresh = false): Promise<Uint8Array | undefined> {
  const getSync = backend.getSync
  if (getSync !== undefined) {
    const v = getSync(space, key)
    if (v !== NOT_SYNC) return v
  }
  return await backend.get(space, key, fresh ? { fresh } : undefined)
}

/** The local blocks of a store, over its backend. */
export class LocalBlocks implements BlockReader, BlockWriter {
  readonly #backend: Backend
  readonly #fileThreshold: number
  readonly #check: () => void
  /** Called with the CIDs of deleted blocks, so that decoded copies are dropped. */
  onDelete: ((cids: CID[]) => void) | undefined

  /** `check` throws when the store is closed. */
  constructor (backend: Backend, fileThreshold: number, check: () => void) {
    this.#backend = backend
    this.#fileThreshold = fileThreshold
    this.#check = check
  }

  /**
   * Prepare a block for writing: large blocks are written to their file now,
   * and the index entry (or the inline block) is added to `pending`.
   */
  async stageBlock (cid: CID, bytes: Uint8Array, pending: Staged): Promise<void> {
    this.#check()
    const key = cid.bytes
    const dedup = cid.toString()
    const files = this.#backend.files
    if (files !== undefined && bytes.byteLength >= this.#fileThreshold) {
      if (await this.hasBlock(cid) && await this.#intact(cid)) return
      await files.write(dedup, bytes)
      pending.add({ type: 'put', space: 'blocks', key, value: fileMarker(crc32(bytes), bytes.byteLength) }, dedup)
      return
    }
    pending.add({ type: 'put', space: 'blocks', key, value: inlineBlock(bytes) }, dedup)
  }

  /** Write a staged batch atomically. */
  async write (pending: Staged, options: { sync?: boolean } = {}): Promise<void> {
    this.#check()
    await this.#backend.batch(pending.ops, options)
  }

  /** True when the store holds the block (asked of the database itself: this decides what a write may skip). */
  async hasBlock (cid: CID): Promise<boolean> {
    this.#check()
    return (await quickGet(this.#backend, 'blocks', cid.bytes, true)) !== undefined
  }

  /**
   * True when a stored block reads back whole. Storing content the store
   * already has is the one chance to mend a damaged or missing chunk file:
   * skipping it would leave the path computed again on every keep.
   */
  async #intact (cid: CID): Promise<boolean> {
    try {
      await this.getBlock(cid)
      return true
    } catch (err) {
      if (err instanceof DdsError && err.code === ErrorCodes.INTEGRITY) return false
      throw err
    }
  }

  /** The stored form of a block (inline or file marker), without reading a file. */
  async #raw (cid: CID): Promise<Uint8Array | undefined> {
    return await quickGet(this.#backend, 'blocks', cid.bytes)
  }

  /**
   * A block's bytes, or undefined when absent. Inline blocks are checked
   * against their CID, file blocks against the crc32 recorded with them
   * (`verify: 'full'` re-hashes files too). A mismatch throws DDS_INTEGRITY.
   */
  async getBlock (cid: CID, options: BlockReadOptions = {}): Promise<Uint8Array | undefined> {
    this.#check()
    const raw = await this.#raw(cid)
    if (raw === undefined) return undefined
    if (raw[0] === BLOCK_INLINE) {
      const bytes = raw.subarray(1)
      verifyBlock(cid, bytes)
      return bytes
    }
    if (raw[0] === BLOCK_FILE && raw.byteLength === 9) {
      const { crc, size } = parseFileMarker(raw)
      const bytes = await this.#files(cid).read(cid.toString(), size)
      if (bytes === undefined) throw missingFile(cid)
      if (bytes.byteLength !== size || (crc32(bytes) >>> 0) !== crc) throw corruptBlock(cid)
      if (options.verify === 'full') verifyBlock(cid, bytes)
      return bytes
    }
    throw corruptBlock(cid)
  }

  /** Read a block into `target` at `offset` (no copy for file blocks); returns its size, or -1 when absent. */
  async readBlockInto (cid: CID, target: Uint8Array, offset: number, options: BlockReadOptions = {}): Promise<number> {
    this.#check()
    const raw = await this.#raw(cid)
    if (raw === undefined) return -1
    if (raw[0] === BLOCK_INLINE) {
      const bytes = raw.subarray(1)
      verifyBlock(cid, bytes)
      return copyInto(cid, bytes, target, offset)
    }
    if (raw[0] === BLOCK_FILE && raw.byteLength === 9) {
      const { crc, size } = parseFileMarker(raw)
      if (offset + size > target.byteLength) throw corruptBlock(cid)
      const view = target.subarray(offset, offset + size)
      const n = await this.#files(cid).readInto(cid.toString(), view, 0)
      if (n === -1) throw missingFile(cid)
      if (n !== size || (crc32(view) >>> 0) !== crc) throw corruptBlock(cid)
      if (options.verify === 'full') verifyBlock(cid, view)
      return size
    }
    throw corruptBlock(cid)
  }

  #files (cid: CID): BlobFiles {
    const files = this.#backend.files
    if (files === undefined) throw corruptBlock(cid)
    return files
  }

  /** Every block CID in the store (streamed, in key order). */
  async * blockCIDs (): AsyncIterable<CID> {
    this.#check()
    for await (const key of this.#backend.keys('blocks')) {
      try {
        yield CID.decode(key)
      } catch {
        throw new DdsError(ErrorCodes.INTEGRITY, 'the block index holds a key that is not a CID')
      }
    }
  }

  /** Delete blocks (index entries first, then their files). */
  async deleteBlocks (cids: CID[]): Promise<void> {
    this.#check()
    const files: CID[] = []
    for (const cid of cids) {
      const raw = await this.#raw(cid)
      if (raw !== undefined && raw[0] === BLOCK_FILE) files.push(cid)
    }
    this.onDelete?.(cids)
    await this.#backend.batch(cids.map((cid) => ({ type: 'del' as const, space: 'blocks' as const, key: cid.bytes })))
    for (const cid of files) await this.#backend.files?.remove(cid.toString())
  }
}

/** Copy a fetched or inline block into `target` at `offset`; returns its size. */
export function copyInto (cid: CID, bytes: Uint8Array, target: Uint8Array, offset: number): number {
  if (offset + bytes.byteLength > target.byteLength) throw corruptBlock(cid)
  target.set(bytes, offset)
  return bytes.byteLength
}

function missingFile (cid: CID): DdsError {
  return new DdsError(ErrorCodes.INTEGRITY, `the file of block ${cid} is missing`, { data: { cid: cid.toString() } })
}

function corruptBlock (cid: CID): DdsError {
  return new DdsError(ErrorCodes.INTEGRITY, `block ${cid} is corrupt`, { data: { cid: cid.toString() } })
}
