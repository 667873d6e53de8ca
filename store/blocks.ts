/**
 * The blocks part: blocks by CID in the `blocks` key space, small ones
 * inline, large ones in files beside the database (one file per block, or
 * the blocks of one write together in a segment, store/segments.ts; the
 * index entry then holds their size and crc32), and their integrity: every read is
 * checked (inline blocks against their CID, files against their crc32, or
 * re-hashed with `verify: 'full'`). Knows nothing of artifacts or records.
 */
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { verifyBlock } from './hash.js'
import { BLOCK_FILE, BLOCK_INLINE, BLOCK_SEGMENT, fileMarker, inlineBlock, parseFileMarker } from './keys.js'
import { crc32, readSegmentBlock, readSegmentChunks, segmentPlace, SegmentSink, type SegmentChunk } from './segments.js'
import { NOT_SYNC, type Backend, type BlobFiles, type BlockReadOptions, type BlockReader, type BlockWriter, type ChunkSink, type Space, type Staged } from './interface.js'

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

  /**
   * A sink putting the large blocks of one write into one segment file, or
   * undefined when the store keeps no files (or cannot create segments).
   */
  chunkSink (): ChunkSink | undefined {
    const files = this.#backend.files
    if (files?.create === undefined || files.openRead === undefined) return undefined
    return new SegmentSink({
      files: files as BlobFiles & Required<Pick<BlobFiles, 'create'>>,
      threshold: this.#fileThreshold,
      intact: async (cid) => await this.hasBlock(cid) && await this.#intact(cid),
      stageBlock: async (cid, bytes, pending) => { await this.stageBlock(cid, bytes, pending) }
    })
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
   * already has is the one chance to mend a damaged or missing chunk (its own file, or a new segment):
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
      if (bytes.byteLength !== size || crc32(bytes) !== crc) throw corruptBlock(cid)
      if (options.verify === 'full') verifyBlock(cid, bytes)
      return bytes
    }
    const place = segmentPlace(cid, raw)
    if (place !== undefined) {
      const bytes = new Uint8Array(place.size)
      await readSegmentBlock(this.#files(cid), cid, place, bytes)
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
      if (n !== size || crc32(view) !== crc) throw corruptBlock(cid)
      if (options.verify === 'full') verifyBlock(cid, view)
      return size
    }
    const place = segmentPlace(cid, raw)
    if (place !== undefined) {
      if (offset + place.size > target.byteLength) throw corruptBlock(cid)
      const view = target.subarray(offset, offset + place.size)
      await readSegmentBlock(this.#files(cid), cid, place, view)
      if (options.verify === 'full') verifyBlock(cid, view)
      return place.size
    }
    throw corruptBlock(cid)
  }

  /**
   * Read the chunks of an artifact that live in segments with a few large
   * reads (see store/segments.ts); returns the indexes of the others (inline,
   * one file each, absent), for readBlockInto.
   */
  async readChunksInto (chunks: readonly CID[], chunkSize: number, target: Uint8Array): Promise<number[]> {
    this.#check()
    const files = this.#backend.files
    const rest: number[] = []
    const placed: SegmentChunk[] = []
    for (let index = 0; index < chunks.length; index++) {
      const cid = chunks[index] as CID
      const raw = files === undefined ? undefined : await this.#raw(cid)
      const place = raw === undefined ? undefined : segmentPlace(cid, raw)
      if (place === undefined) rest.push(index)
      else placed.push({ index, cid, place })
    }
    if (placed.length > 0) await readSegmentChunks(files as BlobFiles, placed, chunkSize, target)
    return rest
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

  /**
   * Delete blocks (index entries first, then their files). A segment stays
   * until no index entry names it: gc removes it then (see store/gc.ts).
   */
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

/** The segment a block's bytes are in (its index entry says), or undefined (inline, its own file, absent). */
export async function segmentOf (backend: Backend, cid: CID): Promise<string | undefined> {
  const raw = await quickGet(backend, 'blocks', cid.bytes)
  if (raw === undefined || raw[0] !== BLOCK_SEGMENT) return undefined
  try {
    return segmentPlace(cid, raw)?.segment
  } catch {
    return undefined
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
