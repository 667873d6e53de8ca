/**
 * The memo answers of a remote (`memo/<key hex>`, written once: the first
 * answer for a key stays) and their check as they come down: every block
 * against its CID, the record against the key it answers. Heads carry the
 * same answers, checked the same way.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from '../errors.js'
import { verifyBlock } from '../hash.js'
import { decodeNode, toEvaluationRecord } from '../records.js'
import { hex, sameBytes } from '../util.js'
import { createOnce } from './probe.js'
import type { MemoPack, RemotePlace } from './interface.js'

/** A memo answer in the form it is stored in (inside `memo/` objects and heads). */
export function encodeMemoPack (pack: MemoPack): Record<string, unknown> {
  return { key: pack.key, evaluation: pack.evaluation, record: pack.record, ...(pack.root === undefined ? {} : { root: pack.root }) }
}

/** DDS_INTEGRITY for a memo answer that is not what it claims. */
export function corruptMemo (url: string, where: string, detail: string): DdsError {
  return new DdsError(ErrorCodes.INTEGRITY, `memo answer ${where} in remote ${url} is corrupt: ${detail}`, { data: { memo: where, remote: url } })
}

/** Check a memo answer as it came down: its blocks against their CIDs, its record against its key. */
export function toMemoPack (value: unknown, url: string, where: string): MemoPack {
  const node = (value ?? {}) as { key?: unknown, evaluation?: unknown, record?: unknown, root?: unknown }
  const evaluation = CID.asCID(node.evaluation)
  if (!(node.key instanceof Uint8Array)) throw corruptMemo(url, where, 'no key')
  if (evaluation === null || !(node.record instanceof Uint8Array)) throw corruptMemo(url, where, 'no evaluation record')
  verifyBlock(evaluation, node.record, 'remote evaluation record')
  const record = toEvaluationRecord(decodeNode(node.record, 'evaluation record'))
  // The primary key is the record's signature; the other key of an evaluation that loaded paths covers their values.
  if (!sameBytes(record.signature, node.key) && record.loads.length === 0) throw corruptMemo(url, where, 'the evaluation answers another key')
  const pack: MemoPack = { key: node.key, evaluation, record: node.record }
  if (node.root !== undefined) {
    if (!(node.root instanceof Uint8Array)) throw corruptMemo(url, where, 'malformed artifact root')
    verifyBlock(record.output, node.root, 'remote artifact root')
    pack.root = node.root
  }
  return pack
}

/** Memo answers of one remote. */
export class RemoteMemo {
  readonly #at: RemotePlace

  constructor (at: RemotePlace) { this.#at = at }

  async getMemo (key: Uint8Array): Promise<MemoPack | undefined> {
    const found = await this.#at.objects.get(this.#at.layout.memo(key))
    if (found === undefined) return undefined
    let node: unknown
    try {
      node = dagCbor.decode(found.bytes)
    } catch {
      throw corruptMemo(this.#at.url, hex(key), 'not dag-cbor')
    }
    const pack = toMemoPack(node, this.#at.url, hex(key))
    if (!sameBytes(pack.key, key)) throw corruptMemo(this.#at.url, hex(key), 'it answers another key')
    return pack
  }

  async putMemo (pack: MemoPack): Promise<void> {
    await createOnce(this.#at.objects, this.#at.layout.memo(pack.key), dagCbor.encode(encodeMemoPack(pack)))
  }
}
