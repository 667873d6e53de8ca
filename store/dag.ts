/**
 * The DAG schema: what links to what. An evaluation record links its code
 * manifest, its output artifact, the evaluations it called, the evaluations
 * and artifacts it loaded (all required) and its inputs (optional: only small
 * arguments are stored, for display). An artifact root links its chunks, each
 * of a known size. A history entry links its evaluation and output. The same
 * rules serve export (what a bundle must carry), import (what a bundle must be
 * complete for), gc (what is reachable), verify, remote sync and lineage.
 */
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes, isDdsError } from './errors.js'
import { DAG_CBOR_CODE, RAW_CODE } from './hash.js'
import { decodeNode, isArtifactRoot, toArtifactRoot, toCodeManifest, toEvaluationRecord, type EvaluationRecord, type HistoryEntry } from './records.js'
import type { BlockReadOptions, BlockReader } from './interface.js'

/** How a block is reached, which decides what it must be and what it links. */
export type Role = 'evaluation' | 'manifest' | 'artifact' | 'chunk' | 'input'

/** A link to a block in a role; `size` is the byte size a chunk must have. */
export interface Link {
  cid: CID
  role: Role
  size?: number
}

/** Roles whose blocks must be present; `input` blocks are kept only for small arguments. */
export function required (role: Role): boolean {
  return role !== 'input'
}

export function malformed (cid: CID, role: Role, detail: string): DdsError {
  return new DdsError(ErrorCodes.INTEGRITY, `block ${cid} is not a valid ${role}: ${detail}`, { data: { cid: cid.toString(), role } })
}

/** The links of an evaluation record, by role. */
export function recordLinks (record: EvaluationRecord): Link[] {
  const out: Link[] = [{ cid: record.code, role: 'manifest' }, { cid: record.output, role: 'artifact' }]
  for (const c of record.calls) out.push({ cid: c, role: 'evaluation' })
  for (const l of record.loads) {
    if (l.evaluation !== null) out.push({ cid: l.evaluation, role: 'evaluation' })
    out.push({ cid: l.output, role: 'artifact' })
  }
  for (const c of record.inputs) out.push({ cid: c, role: 'input' })
  return out
}

/** The links of a history entry (nothing for a deletion). */
export function entryLinks (entry: HistoryEntry): Link[] {
  const out: Link[] = []
  if (entry.evaluation !== null) out.push({ cid: entry.evaluation, role: 'evaluation' })
  if (entry.output !== null) out.push({ cid: entry.output, role: 'artifact' })
  return out
}

/** Every CID inside a decoded dag-cbor value, without recursion (values may be hostile). */
function allLinks (root: unknown): CID[] {
  const out: CID[] = []
  const stack: unknown[] = [root]
  while (stack.length > 0) {
    const v = stack.pop()
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) continue
    const c = CID.asCID(v)
    if (c !== null) {
      out.push(c)
      continue
    }
    if (Array.isArray(v)) for (const x of v) stack.push(x)
    else for (const x of Object.values(v)) stack.push(x)
  }
  return out
}

/**
 * The links of a block read in a role. Throws DDS_INTEGRITY when the block is
 * not what the role requires (wrong codec, not decodable, wrong shape).
 *
 * @example
 * linksOf(cid, bytes, 'artifact') // [{ cid: chunk0, role: 'chunk', size: 1048576 }, ...]
 */
export function linksOf (cid: CID, bytes: Uint8Array, role: Role): Link[] {
  if (role === 'chunk') {
    if (cid.code !== RAW_CODE) throw malformed(cid, role, 'not a raw block')
    return []
  }
  if (role === 'input') {
    if (cid.code !== DAG_CBOR_CODE) return []
    return allLinks(decode(cid, bytes, role)).map((c) => ({ cid: c, role: 'input' as const }))
  }
  if (cid.code !== DAG_CBOR_CODE) throw malformed(cid, role, 'not a dag-cbor block')
  return nodeLinks(cid, decode(cid, bytes, role), role)
}

export function decode (cid: CID, bytes: Uint8Array, role: Role): unknown {
  try {
    return decodeNode(bytes, role)
  } catch (err) {
    // Hostile nesting can exhaust the decoder's stack; that is a malformed block too.
    throw malformed(cid, role, err instanceof Error ? err.message : 'not dag-cbor')
  }
}

export function nodeLinks (cid: CID, node: unknown, role: Role): Link[] {
  try {
    switch (role) {
      case 'evaluation':
        return recordLinks(toEvaluationRecord(node))
      case 'manifest':
        toCodeManifest(node)
        return []
      case 'artifact': {
        const root = toArtifactRoot(node)
        const chunks = root.chunks ?? []
        const chunkSize = root.chunkSize ?? 0
        return chunks.map((c, i) => ({ cid: c, role: 'chunk' as const, size: i < chunks.length - 1 ? chunkSize : root.size - chunkSize * (chunks.length - 1) }))
      }
      default:
        return allLinks(node).map((c) => ({ cid: c, role: 'input' as const }))
    }
  } catch (err) {
    if (isDdsError(err)) throw malformed(cid, role, err.message)
    throw err
  }
}

/**
 * The role a block travels in: a kept value passed as an argument is an
 * input by the CID of its artifact root, and moves (with its chunks) as an
 * artifact.
 */
export function travelRole (link: Link, bytes: Uint8Array): Role {
  return link.role === 'input' && isArtifactRoot(link.cid, bytes) ? 'artifact' : link.role
}

/** A block reached by `walkStore`, with its bytes when they were read. */
export interface Visit {
  link: Link
  /** The block's bytes; undefined when absent, or for leaves with `readLeaves: false`. */
  bytes?: Uint8Array
  present: boolean
  /** Set when the block is present but not what its role requires. */
  error?: DdsError
}

/**
 * Walk the blocks `roots` reach in a store, depth first, each block once (by
 * role), parents before children. Absent and malformed blocks are reported as
 * visits, not thrown; a block that does not match its CID throws DDS_INTEGRITY.
 *
 * @example
 * for await (const v of walkStore(store, [{ cid: evaluation, role: 'evaluation' }])) console.log(v.link.cid.toString())
 */
export async function * walkStore (store: BlockReader, roots: Link[], options: { seen?: Set<string>, readLeaves?: boolean, verify?: BlockReadOptions['verify'] } = {}): AsyncIterable<Visit> {
  const seen = options.seen ?? new Set<string>()
  const readLeaves = options.readLeaves !== false
  const stack = [...roots].reverse()
  while (stack.length > 0) {
    const link = stack.pop() as Link
    const key = `${link.role}:${link.cid.toString()}`
    if (seen.has(key)) continue
    seen.add(key)
    const leaf = link.role === 'chunk' || (link.role === 'input' && link.cid.code !== DAG_CBOR_CODE)
    if (leaf && !readLeaves) {
      yield { link, present: await store.hasBlock(link.cid) }
      continue
    }
    const bytes = await store.getBlock(link.cid, options.verify === undefined ? {} : { verify: options.verify })
    if (bytes === undefined) {
      yield { link, present: false }
      continue
    }
    if (link.size !== undefined && bytes.byteLength !== link.size) {
      yield { link, bytes, present: true, error: new DdsError(ErrorCodes.INTEGRITY, `chunk ${link.cid.toString()} has ${bytes.byteLength} bytes, ${link.size} expected`, { data: { cid: link.cid.toString() } }) }
      continue
    }
    let children: Link[]
    try {
      children = linksOf(link.cid, bytes, link.role)
    } catch (err) {
      if (!isDdsError(err)) throw err
      yield { link, bytes, present: true, error: err }
      continue
    }
    yield { link, bytes, present: true }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as Link)
  }
}
