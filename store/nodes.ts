/**
 * dag-cbor nodes over blocks: encode and stage a node, read and decode one
 * (evaluation records, code manifests, artifact roots), refusing a CID that
 * is not dag-cbor or a block that is absent with DDS_NOT_FOUND.
 */
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { cidOf, DAG_CBOR_CODE } from './hash.js'
import { encodeCanonical } from './canonical.js'
import { decodeNode, toCodeManifest, toEvaluationRecord, type CodeManifest, type EvaluationRecord } from './records.js'
import type { BlockReader, BlockWriter, Staged } from './interface.js'

/** Nodes of a store: `hash` is the multihash code of new blocks. */
export class Nodes {
  readonly #blocks: BlockReader & BlockWriter
  readonly #hash: number

  constructor (blocks: BlockReader & BlockWriter, hash: number) {
    this.#blocks = blocks
    this.#hash = hash
  }

  /** Encode a dag-cbor node, stage it, and return its CID. */
  async stageNode (value: unknown, pending: Staged): Promise<CID> {
    const bytes = encodeCanonical(value)
    const cid = cidOf(bytes, DAG_CBOR_CODE, this.#hash)
    await this.#blocks.stageBlock(cid, bytes, pending)
    return cid
  }

  /** Decode a dag-cbor block; DDS_NOT_FOUND when absent. */
  async getNode (cid: CID, what = 'node'): Promise<unknown> {
    if (cid.code !== DAG_CBOR_CODE) throw new DdsError(ErrorCodes.NOT_FOUND, `${cid} is not a ${what} (not dag-cbor)`, { data: { cid: cid.toString() } })
    const bytes = await this.#blocks.getBlock(cid)
    if (bytes === undefined) throw new DdsError(ErrorCodes.NOT_FOUND, `${what} ${cid} is not in the store`, { data: { cid: cid.toString() } })
    return decodeNode(bytes, what)
  }

  async getEvaluation (cid: CID): Promise<EvaluationRecord> {
    return toEvaluationRecord(await this.getNode(cid, 'evaluation record'))
  }

  async getManifest (cid: CID): Promise<CodeManifest> {
    return toCodeManifest(await this.getNode(cid, 'code manifest'))
  }
}
