/**
 * Segments: the large blocks of one write (the chunks of one artifact, the
 * large blocks of one bundle import) in one blob file named `seg<random>`,
 * each block addressed inside it by its own index entry (crc32, size,
 * position, segment). A write then creates one file instead of one per
 * chunk, and a load opens it once and reads runs of adjacent chunks in a few
 * large reads. Every block keeps its index entry and crc32, so dedup, verify
 * and bundles still work block by block; gc removes a segment once no index
 * entry names it. Stores written with one file per chunk read as before.
 */
import { randomBytes } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { BLOCK_SEGMENT, parseSegmentMarker, segmentMarker } from './keys.js'
import type { BlobFiles, BlobReadHandle, BlobWriteHandle, ChunkSink, Staged } from './interface.js'

/** Segment names start so (chunk files are named by CID strings, which start with `b`). */
export const SEGMENT_PREFIX = 'seg'

/** The largest read of adjacent chunks at once. */
const RUN_BYTES = 32 << 20
/** Runs read at once: the thread pool copies (and takes the page faults of the new memory) while the main thread checks crc32s. */
const RUNS_IN_FLIGHT = 3

/**
 * crc32 of a large block, from node:zlib taken on first use: only blocks kept
 * as files have one, and a fresh process importing dds-ts does not load zlib.
 */
export function crc32 (bytes: Uint8Array): number {
  return process.getBuiltinModule('node:zlib').crc32(bytes) >>> 0
}

/** A block's place in a segment, as its index entry says. */
export interface SegmentPlace { crc: number, size: number, position: number, segment: string }

/** The segment place in an index entry, or undefined when the entry is not a segment marker; DDS_INTEGRITY when it is a broken one. */
export function segmentPlace (cid: CID, raw: Uint8Array): SegmentPlace | undefined {
  if (raw[0] !== BLOCK_SEGMENT) return undefined
  let place: SegmentPlace
  try {
    place = parseSegmentMarker(raw)
  } catch {
    throw corrupt(cid, 'its index entry is not a segment marker')
  }
  if (!/^seg[a-z0-9]{8,}$/.test(place.segment)) throw corrupt(cid, 'its index entry names no segment')
  return place
}

/** Read one block from its segment into `target` (exactly its size) and check it. */
export async function readSegmentBlock (files: BlobFiles, cid: CID, place: SegmentPlace, target: Uint8Array): Promise<void> {
  const h = await openSegment(files, cid, place.segment)
  try {
    if (h.size < place.position + place.size) throw corrupt(cid, `segment ${place.segment} is too short`)
    const n = await h.readAt(target, place.position)
    if (n !== place.size || crc32(target) !== place.crc) throw corrupt(cid, `its bytes in segment ${place.segment} do not match its crc32`)
  } finally {
    await h.close()
  }
}

/** A chunk of an artifact to read from a segment: its index in the artifact and its place. */
export interface SegmentChunk { index: number, cid: CID, place: SegmentPlace }

/**
 * Read chunks from their segments into `target` (chunk `i` at `i * chunkSize`),
 * adjacent chunks of a segment in one read of up to RUN_BYTES, a few reads in
 * flight, each chunk checked against its size and crc32. Each segment is
 * opened once.
 */
export async function readSegmentChunks (files: BlobFiles, chunks: readonly SegmentChunk[], chunkSize: number, target: Uint8Array): Promise<void> {
  type Run = { segment: string, position: number, start: number, bytes: number, chunks: SegmentChunk[] }
  const runs: Run[] = []
  let run: Run | undefined
  for (const c of chunks) {
    const start = c.index * chunkSize
    const expected = Math.min(chunkSize, target.byteLength - start)
    if (c.place.size !== expected) throw corrupt(c.cid, `it has ${c.place.size} bytes, ${expected} expected`)
    if (run !== undefined && run.segment === c.place.segment && run.position + run.bytes === c.place.position &&
      run.start + run.bytes === start && run.bytes + c.place.size <= RUN_BYTES) {
      run.bytes += c.place.size
      run.chunks.push(c)
      continue
    }
    run = { segment: c.place.segment, position: c.place.position, start, bytes: c.place.size, chunks: [c] }
    runs.push(run)
  }
  const open = new Map<string, Promise<BlobReadHandle>>()
  const handle = (r: Run): Promise<BlobReadHandle> => {
    let h = open.get(r.segment)
    if (h === undefined) {
      h = openSegment(files, (r.chunks[0] as SegmentChunk).cid, r.segment)
      h.catch(() => {})
      open.set(r.segment, h)
    }
    return h
  }
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < runs.length) {
      const r = runs[next++] as Run
      const first = r.chunks[0] as SegmentChunk
      const h = await handle(r)
      if (h.size < r.position + r.bytes) throw corrupt(first.cid, `segment ${r.segment} is too short`)
      const view = target.subarray(r.start, r.start + r.bytes)
      const n = await h.readAt(view, r.position)
      if (n !== r.bytes) throw corrupt(first.cid, `segment ${r.segment} is too short`)
      for (const c of r.chunks) {
        const at = c.index * chunkSize - r.start
        if (crc32(view.subarray(at, at + c.place.size)) !== c.place.crc) throw corrupt(c.cid, `its bytes in segment ${r.segment} do not match its crc32`)
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(RUNS_IN_FLIGHT, runs.length) }, worker))
  } finally {
    for (const h of open.values()) await h.then(async (x) => { await x.close() }, () => {})
  }
}

/** What a segment sink needs of the blocks part. */
export interface SinkParts {
  files: BlobFiles & Required<Pick<BlobFiles, 'create'>>
  /** Blocks below this size are not put in a segment. */
  threshold: number
  /** True when the store holds the block whole (the write may skip it). */
  intact: (cid: CID) => Promise<boolean>
  /** How a block outside the segment is staged (small ones, inline). */
  stageBlock: (cid: CID, bytes: Uint8Array, pending: Staged) => Promise<void>
}

/**
 * The blocks of one write, appended to one new segment file as they come
 * (writes at their positions may overlap in time). A block's index entry is
 * staged once its bytes are written; `close` flushes the file, and must end
 * before the batch of those entries is written (content first).
 */
export class SegmentSink implements ChunkSink {
  readonly #parts: SinkParts
  readonly #name = SEGMENT_PREFIX + randomBytes(16).toString('hex')
  #handle: Promise<BlobWriteHandle> | undefined
  #end = 0
  /** Blocks placed in this segment (or found whole in the store), by CID string: a zero array repeats one chunk. */
  readonly #placed = new Map<string, Promise<Uint8Array | undefined>>()
  #closed = false

  constructor (parts: SinkParts) {
    this.#parts = parts
  }

  async stage (cid: CID, bytes: Uint8Array, pending: Staged): Promise<void> {
    if (this.#closed) throw new Error('segment sink used after close')
    if (bytes.byteLength < this.#parts.threshold) {
      await this.#parts.stageBlock(cid, bytes, pending)
      return
    }
    const id = cid.toString()
    let placed = this.#placed.get(id)
    if (placed === undefined) {
      placed = this.#place(cid, bytes)
      this.#placed.set(id, placed)
    }
    const marker = await placed
    if (marker !== undefined) pending.add({ type: 'put', space: 'blocks', key: cid.bytes, value: marker }, id)
  }

  /** Write a block at the end of the segment; its index entry, or undefined when the store holds it already. */
  async #place (cid: CID, bytes: Uint8Array): Promise<Uint8Array | undefined> {
    if (await this.#parts.intact(cid)) return undefined
    const position = this.#end
    this.#end += bytes.byteLength
    if (this.#handle === undefined) {
      this.#handle = this.#parts.files.create(this.#name)
      this.#handle.catch(() => {})
    }
    const h = await this.#handle
    await h.writeAt(bytes, position)
    return segmentMarker(crc32(bytes), bytes.byteLength, position, this.#name)
  }

  /** Flush and close the segment file (nothing when no block went in). */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#handle === undefined) return
    await Promise.allSettled(this.#placed.values())
    let h: BlobWriteHandle
    try {
      h = await this.#handle
    } catch {
      return
    }
    await h.close()
  }
}

async function openSegment (files: BlobFiles, cid: CID, segment: string): Promise<BlobReadHandle> {
  if (files.openRead === undefined) throw corrupt(cid, 'its store cannot read segments')
  const h = await files.openRead(segment)
  if (h === undefined) throw new DdsError(ErrorCodes.INTEGRITY, `the segment ${segment} of block ${cid} is missing`, { data: { cid: cid.toString(), segment, problem: 'missing-segment' } })
  return h
}

function corrupt (cid: CID, why: string): DdsError {
  return new DdsError(ErrorCodes.INTEGRITY, `block ${cid} is corrupt: ${why}`, { data: { cid: cid.toString() } })
}
