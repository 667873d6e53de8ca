/**
 * The content-addressed part of a remote: blocks (`blocks/<cid>`, written
 * once) and the packs of chunked artifacts (`packs/<root>`, one object with
 * every chunk in order), read back as a few ranges at once with each chunk
 * checked against its CID before anyone sees it.
 */
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from '../errors.js'
import { matches, verifyBlock } from '../hash.js'
import type { ArtifactRoot } from '../records.js'
import { createOnce } from './probe.js'
import type { PackChunk, RemotePlace } from './interface.js'

/** Ranges of a pack read at once. */
const PACK_STREAMS = 4

/** Blocks and packs of one remote. */
export class RemoteBlocks {
  readonly #at: RemotePlace

  constructor (at: RemotePlace) { this.#at = at }

  async hasBlock (cid: CID): Promise<boolean> {
    return (await this.#at.objects.head(this.#at.layout.block(cid))) !== undefined
  }

  async getBlock (cid: CID): Promise<Uint8Array | undefined> {
    const found = await this.#at.objects.get(this.#at.layout.block(cid))
    if (found === undefined) return undefined
    verifyBlock(cid, found.bytes, 'remote block')
    return found.bytes
  }

  async putBlock (cid: CID, bytes: Uint8Array): Promise<void> {
    await createOnce(this.#at.objects, this.#at.layout.block(cid), bytes)
  }

  async putPack (root: CID, payload: () => AsyncIterable<Uint8Array>, size: number): Promise<void> {
    // Content-addressed by the root: a concurrent upload of the same pack writes the same bytes.
    await this.#at.objects.upload(this.#at.layout.pack(root), payload, size)
  }

  #missing (root: CID): DdsError {
    return new DdsError(ErrorCodes.NOT_FOUND, `the chunks of artifact ${root} are not in remote ${this.#at.url}`, { data: { cid: root.toString(), remote: this.#at.url } })
  }

  async readPack (root: CID, artifact: ArtifactRoot, onChunk: (chunk: PackChunk) => Promise<void>, options: { into?: Uint8Array } = {}): Promise<void> {
    const chunks = artifact.chunks ?? []
    const chunkSize = artifact.chunkSize ?? 0
    const into = options.into
    if (into !== undefined && into.byteLength < artifact.size) throw new RangeError(`readPack: the target holds ${into.byteLength} bytes, the artifact ${artifact.size}`)
    const key = this.#at.layout.pack(root)
    const info = await this.#at.objects.head(key)
    if (info === undefined) throw this.#missing(root)
    const corrupt = (detail: string, cid?: CID): DdsError => new DdsError(ErrorCodes.INTEGRITY,
      `the chunks of artifact ${root} in remote ${this.#at.url} are corrupt: ${detail}`,
      { data: { cid: (cid ?? root).toString(), artifact: root.toString(), remote: this.#at.url } })
    if (info.size !== artifact.size) throw corrupt(`${info.size} bytes, ${artifact.size} expected`)
    const sizeOf = (i: number): number => Math.min(chunkSize, artifact.size - i * chunkSize)
    // A few ranges at once: one stream alone does not keep a gateway busy. Ranges start at chunk boundaries.
    const streams = Math.max(1, Math.min(PACK_STREAMS, Math.floor(chunks.length / 8)))
    const per = Math.ceil(chunks.length / streams)
    const range = async (first: number, end: number): Promise<void> => {
      const start = first * chunkSize
      const stop = Math.min(artifact.size, end * chunkSize)
      const found = await this.#at.objects.stream(key, { start, end: stop })
      if (found === undefined) throw this.#missing(root)
      let index = first
      let fill = 0
      const fresh = (i: number): Uint8Array => into !== undefined ? into.subarray(i * chunkSize, i * chunkSize + sizeOf(i)) : new Uint8Array(sizeOf(i))
      let buf = fresh(index)
      try {
        for await (const piece of found.body) {
          let off = 0
          while (off < piece.byteLength) {
            if (index >= end) throw corrupt('longer than the artifact')
            const n = Math.min(piece.byteLength - off, buf.byteLength - fill)
            buf.set(piece.subarray(off, off + n), fill)
            fill += n
            off += n
            if (fill === buf.byteLength) {
              const cid = chunks[index] as CID
              if (!matches(cid, buf)) throw corrupt(`chunk ${index} does not match its CID`, cid)
              await onChunk({ index, bytes: buf })
              index++
              fill = 0
              if (index < end) buf = fresh(index)
            }
          }
        }
      } catch (err) {
        if (err instanceof DdsError) throw err
        throw new DdsError(ErrorCodes.REMOTE_UNAVAILABLE, `remote ${this.#at.url}: reading the chunks of ${root} failed: ${(err as Error).message}`,
          { cause: err, data: { remote: this.#at.url, cid: root.toString() } })
      }
      if (index !== end) throw corrupt('shorter than the artifact')
    }
    const ranges: Array<Promise<void>> = []
    for (let first = 0; first < chunks.length; first += per) ranges.push(range(first, Math.min(chunks.length, first + per)))
    const settled = await Promise.allSettled(ranges)
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }
}
