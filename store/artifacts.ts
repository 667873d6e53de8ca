/**
 * The artifacts part: a value's encoding over blocks. Up to the inline limit
 * an artifact is one dag-cbor root holding its payload; larger ones are raw
 * chunks of a fixed size under a root listing them (kept together in one
 * segment file when the store has files), written and read as
 * streams (a read lands straight in the memory of the result). Roots of small
 * artifacts are decoded once per process.
 */
import { totalmem } from 'node:os'
import { constants } from 'node:buffer'
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { cidOf, RAW_CODE } from './hash.js'
import { toArtifactRoot, type ArtifactRoot } from './records.js'
import { remember } from './cache.js'
import { Codecs } from './codecs.js'
import type { Nodes } from './nodes.js'
import type { BlockReader, BlockWriter, ChunkSink, Codec, Staged } from './interface.js'

/** A stored artifact: its root CID, payload size and codec. */
export interface ArtifactInfo {
  cid: CID
  /** The codec's name. */
  enc: string
  /** The codec's version, when it has one. */
  v?: number | string
  type?: string
  size: number
  chunks: number
}

/** The codec fields of an artifact root: its name, version and subtype. */
interface Form {
  enc: string
  v?: number | string | undefined
  type?: string | undefined
}

/** Sizes of an artifact layout. */
export interface ArtifactLimits {
  /** Artifacts up to this many bytes are one block. */
  inlineLimit: number
  /** Chunk size of larger artifacts. */
  chunkSize: number
  /** Multihash code of new blocks. */
  hash: number
  /** True when large blocks become files (written before the call returns), so staged views need no copy. */
  files: boolean
  /** The codecs values are encoded with and read by (default: the built-in ones). */
  codecs?: Codecs
  /** The largest value readArtifact allocates (bytes); larger ones are refused, their bytes can still be streamed. */
  loadLimit: number
}

/**
 * The default load limit: half the machine's memory, and never more than one
 * buffer can hold. A root may list one chunk many times (legitimately: a
 * zero array), so a tiny bundle can claim any size; the limit is what keeps
 * a load from trying to allocate it.
 */
export function defaultLoadLimit (): number {
  return Math.min(Math.floor(totalmem() / 2), constants.MAX_LENGTH)
}

/** Chunk reads (or writes) in flight at once: enough to keep a disk busy. */
const IN_FLIGHT = 4

/** Artifacts over a store's blocks (with a remote, the tier in front of them). */
export class Artifacts {
  readonly #blocks: BlockReader & BlockWriter
  readonly #nodes: Nodes
  readonly #limits: ArtifactLimits
  readonly #codecs: Codecs
  /** Decoded small artifact roots by CID (immutable content, verified when first read). */
  readonly #roots = new Map<string, ArtifactRoot>()

  constructor (blocks: BlockReader & BlockWriter, nodes: Nodes, limits: ArtifactLimits) {
    this.#blocks = blocks
    this.#nodes = nodes
    this.#limits = limits
    this.#codecs = limits.codecs ?? new Codecs()
  }

  /** Forget decoded roots of deleted blocks. */
  forget (cids: CID[]): void {
    for (const cid of cids) this.#roots.delete(Buffer.from(cid.bytes).toString('latin1'))
  }

  /**
   * Encode a value with the first codec that accepts it and stage it as an
   * artifact: one block up to the inline limit, else raw chunks (written now)
   * under a dag-cbor root (staged). Throws DDS_UNSERIALIZABLE naming the
   * field that cannot be stored.
   */
  async stageArtifact (value: unknown, pending: Staged, label = 'value'): Promise<ArtifactInfo> {
    const codec = this.#codecs.encoderFor(value)
    const encoded = await codec.encode(value, label)
    const form = formOf(codec, encoded.type)
    if ('bytes' in encoded) {
      if (!(encoded.bytes instanceof Uint8Array)) throw new TypeError(`codec ${codec.name} encoded ${label} as something other than a Uint8Array`)
      return await this.stagePayload(form, encoded.bytes, pending)
    }
    return await this.stageStream(form, encoded.pieces, pending)
  }

  /** Stage payload bytes that are already encoded. */
  async stagePayload (form: Form, bytes: Uint8Array, pending: Staged): Promise<ArtifactInfo> {
    const size = bytes.byteLength
    const { inlineLimit, chunkSize } = this.#limits
    if (size <= inlineLimit) {
      // Copy: the caller may mutate the value it returned once we hand it back.
      const data = this.#limits.files ? bytes : bytes.slice()
      const cid = await this.#nodes.stageNode({ ...form, size, data }, pending)
      return info(cid, form, size, 0)
    }
    const writer = new ChunkWriter(this.#blocks, pending, this.#limits.hash)
    await writer.run(async () => {
      for (let off = 0; off < size; off += chunkSize) {
        const view = bytes.subarray(off, Math.min(size, off + chunkSize))
        await writer.add(this.#limits.files ? view : view.slice())
      }
    })
    const cid = await this.#nodes.stageNode({ ...form, size, chunkSize, chunks: writer.chunks }, pending)
    return info(cid, form, size, writer.chunks.length)
  }

  /**
   * Stage an artifact from a stream of payload bytes (any chunking), holding
   * at most IN_FLIGHT + 1 chunks in memory beyond what the stream yields (the
   * one filling, the ones being written).
   */
  async stageStream (form: Form, source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, pending: Staged): Promise<ArtifactInfo> {
    const { inlineLimit, chunkSize } = this.#limits
    const writer = new ChunkWriter(this.#blocks, pending, this.#limits.hash)
    let buf = new Uint8Array(chunkSize)
    let fill = 0
    let size = 0
    const flush = async (): Promise<void> => {
      const chunk = buf.subarray(0, fill)
      // The chunk is written while the next one fills (and staged inline blocks keep a reference): a fresh buffer.
      buf = new Uint8Array(chunkSize)
      fill = 0
      await writer.add(chunk)
    }
    let small: Uint8Array | undefined
    await writer.run(async () => {
      for await (const piece of source) {
        let off = 0
        while (off < piece.byteLength) {
          if (fill === chunkSize) await flush()
          const n = Math.min(piece.byteLength - off, chunkSize - fill)
          buf.set(piece.subarray(off, off + n), fill)
          fill += n
          off += n
          size += n
        }
      }
      if (writer.chunks.length === 0 && size <= inlineLimit) small = buf.subarray(0, fill)
      else if (fill > 0) await flush()
    })
    if (small !== undefined) return await this.stagePayload(form, small, pending)
    const cid = await this.#nodes.stageNode({ ...form, size, chunkSize, chunks: writer.chunks }, pending)
    return info(cid, form, size, writer.chunks.length)
  }

  /** Size, encoding and chunk count of an artifact, without reading its payload. */
  async artifactInfo (cid: CID): Promise<ArtifactInfo> {
    const root = await this.getArtifactRoot(cid)
    return info(cid, root, root.size, root.chunks?.length ?? 0)
  }

  async getArtifactRoot (cid: CID): Promise<ArtifactRoot> {
    return toArtifactRoot(await this.#nodes.getNode(cid, 'artifact'))
  }

  /** An artifact root, decoded once per process when it is small. */
  async #root (cid: CID): Promise<ArtifactRoot> {
    const k = Buffer.from(cid.bytes).toString('latin1')
    const known = this.#roots.get(k)
    if (known !== undefined) return known
    const root = await this.getArtifactRoot(cid)
    if ((root.data?.byteLength ?? 0) <= 4096 && (root.chunks?.length ?? 0) <= 64) remember(this.#roots, k, root)
    return root
  }

  /**
   * Read an artifact back as the value it was. Chunked binary artifacts are
   * read straight into the memory of the result.
   */
  async readArtifact (cid: CID): Promise<unknown> {
    const root = await this.#root(cid)
    // Before reading chunks: a missing codec fails without reading the payload.
    const codec = this.#codecs.decoderFor(root.enc, root.v, cid.toString())
    if (root.data !== undefined) return await codec.decode(root.data.slice(), root)
    checkLayout(cid, root, this.#limits.loadLimit)
    // A fresh ArrayBuffer is aligned for every typed array type.
    const target = new Uint8Array(new ArrayBuffer(root.size))
    await this.#readChunksInto(cid, root, target)
    return await codec.decode(target, root)
  }

  async #readChunksInto (rootCid: CID, root: ArtifactRoot, target: Uint8Array): Promise<void> {
    if (await this.#blocks.fillArtifact?.(rootCid, root, target) === true) return
    const chunks = root.chunks ?? []
    const chunkSize = root.chunkSize ?? 0
    // Chunks kept together in segments come in a few large reads; the others one by one.
    const rest = await this.#blocks.readChunksInto?.(chunks, chunkSize, target) ?? chunks.map((_, i) => i)
    // A few reads in flight keep the disk busy without holding more memory: reads land in `target`.
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < rest.length) {
        const i = rest[next++] as number
        const cid = chunks[i] as CID
        const offset = i * chunkSize
        const expected = Math.min(chunkSize, root.size - offset)
        const n = await this.#blocks.readBlockInto(cid, target, offset)
        if (n === -1) throw missingChunk(cid, rootCid)
        if (n !== expected) throw new DdsError(ErrorCodes.INTEGRITY, `chunk ${cid} of artifact ${rootCid} has the wrong size`, { data: { cid: cid.toString(), artifact: rootCid.toString() } })
      }
    }
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, rest.length) }, worker))
  }

  /** The payload bytes of an artifact as a stream of verified chunks. */
  async * artifactBytes (cid: CID): AsyncIterable<Uint8Array> {
    const root = await this.getArtifactRoot(cid)
    if (root.data !== undefined) {
      yield root.data
      return
    }
    await this.#blocks.fillArtifact?.(cid, root)
    for (const chunk of root.chunks ?? []) {
      const bytes = await this.#blocks.getBlock(chunk)
      if (bytes === undefined) throw missingChunk(chunk, cid)
      yield bytes
    }
  }
}

/**
 * Chunks hashed and staged in order, the next one hashed (and filled) while
 * up to IN_FLIGHT earlier ones are being written. A chunk must not change
 * until `run` returns.
 */
class ChunkWriter {
  /** The CIDs of the chunks added, in order. */
  readonly chunks: CID[] = []
  readonly #inFlight: Array<Promise<void>> = []
  readonly #blocks: BlockWriter
  readonly #pending: Staged
  readonly #hash: number
  /** The artifact's segment, when the store keeps them: one file for all its chunks. */
  readonly #sink: ChunkSink | undefined

  constructor (blocks: BlockWriter, pending: Staged, hash: number) {
    this.#blocks = blocks
    this.#pending = pending
    this.#hash = hash
    this.#sink = blocks.chunkSink?.()
  }

  /** Hash and start writing a chunk; waits while IN_FLIGHT writes are under way. */
  async add (chunk: Uint8Array): Promise<void> {
    const cid = cidOf(chunk, RAW_CODE, this.#hash)
    this.chunks.push(cid)
    const p = this.#sink === undefined ? this.#blocks.stageBlock(cid, chunk, this.#pending) : this.#sink.stage(cid, chunk, this.#pending)
    // Handled in run; without this a failure seen while awaiting an earlier write counts as unhandled.
    p.catch(() => {})
    this.#inFlight.push(p)
    if (this.#inFlight.length >= IN_FLIGHT) await this.#inFlight.shift()
  }

  /** Run `fill` (which adds the chunks), then wait for every write; on failure, for every write to settle first. */
  async run (fill: () => Promise<void>): Promise<void> {
    try {
      await fill()
      await Promise.all(this.#inFlight)
      // Content first: the segment is flushed and closed before its index entries can be written.
      await this.#sink?.close()
    } catch (err) {
      await Promise.allSettled(this.#inFlight)
      await this.#sink?.close().catch(() => {})
      throw err
    }
  }
}

/** The root fields naming a codec; absent ones stay out of the root (the built-in codecs' roots are as they always were). */
function formOf (codec: Codec, type: string | undefined): Form {
  const form: Form = { enc: codec.name }
  if (codec.version !== undefined) form.v = codec.version
  if (type !== undefined) form.type = type
  return form
}

function info (cid: CID, form: Form, size: number, chunks: number): ArtifactInfo {
  const out: ArtifactInfo = { cid, enc: form.enc, size, chunks }
  if (form.v !== undefined) out.v = form.v
  if (form.type !== undefined) out.type = form.type
  return out
}

/** Refuse, before allocating, a chunked value over the limit or whose chunks cannot make up its size. */
function checkLayout (cid: CID, root: ArtifactRoot, limit: number): void {
  if (root.size > limit) {
    throw new DdsError(ErrorCodes.LOAD_TOO_LARGE, `artifact ${cid} holds ${root.size} bytes, more than the load limit of ${limit} (stream it with dds cat, or raise loadLimit)`, { data: { cid: cid.toString(), size: root.size, limit } })
  }
  const chunkSize = root.chunkSize ?? 0
  const count = root.chunks?.length ?? 0
  if (chunkSize <= 0 || count !== Math.ceil(root.size / chunkSize)) {
    throw new DdsError(ErrorCodes.INTEGRITY, `artifact ${cid} lists ${count} chunks of ${chunkSize} bytes for ${root.size} bytes`, { data: { cid: cid.toString() } })
  }
}

function missingChunk (chunk: CID, artifact: CID): DdsError {
  return new DdsError(ErrorCodes.NOT_FOUND, `chunk ${chunk} of artifact ${artifact} is missing`, { data: { cid: chunk.toString(), artifact: artifact.toString() } })
}
