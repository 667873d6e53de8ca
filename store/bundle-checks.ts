/**
 * What a bundle must satisfy before anything of it is written: a root that
 * is a manifest (or a signed envelope of one), valid paths with entries in
 * time order and no time far in the future (such a time would pin a path:
 * every later local value is "older"), a complete graph, entries whose
 * output is their evaluation's, the block count the manifest states, and no
 * block the manifest does not reach.
 */
import { decodeInterned } from './canonical.js'
import type { CID } from 'multiformats/cid'
import { DAG_CBOR_CODE } from './hash.js'
import { isMoment, MAX_CLOCK_SKEW, toBundleManifest, type BundleManifest, type HistoryEntry } from './records.js'
import { validatePath } from './paths.js'
import { entryLinks, type Link } from './dag.js'
import { invalid, type BundleProblem } from './bundle-car.js'
import { asEnvelope, type SignedEnvelope } from './bundle-sign.js'
import { readBundleTags } from './bundle-tags.js'
import type { BlockIndex } from './block-index.js'

export { MAX_CLOCK_SKEW }

/** A bundle's root block: a manifest, or the envelope that signs one. */
export type BundleRoot = { kind: 'manifest', manifest: BundleManifest, count: number | undefined } | { kind: 'envelope', envelope: SignedEnvelope }

function decodeRoot (root: CID, bytes: Uint8Array): unknown {
  if (root.code !== DAG_CBOR_CODE) throw invalid('manifest', 'the root is not a bundle manifest', { cid: root.toString() })
  try {
    // 100,000 paths name a few CIDs many times: each is decoded once
    return decodeInterned(bytes)
  } catch (err) {
    throw invalid('manifest', 'the root is not a bundle manifest', { cid: root.toString() }, err)
  }
}

/** Read the root block: the envelope of a signed bundle, else the manifest (checked by readManifest). */
export function readRoot (root: CID, bytes: Uint8Array, now: number): BundleRoot {
  const node = decodeRoot(root, bytes)
  const envelope = asEnvelope(node)
  if (envelope !== undefined) return { kind: 'envelope', envelope }
  return { kind: 'manifest', ...readManifest(root, node, now) }
}

/** Check a decoded manifest: paths, entry order, times, the block count. */
export function readManifest (cid: CID, node: unknown, now: number): { manifest: BundleManifest, count: number | undefined } {
  let m: BundleManifest
  let count: unknown
  try {
    m = toBundleManifest(node)
    count = (node as { blocks?: unknown }).blocks
  } catch (err) {
    throw invalid('manifest', 'the root is not a bundle manifest', { cid: cid.toString() }, err)
  }
  if (count !== undefined && (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1)) throw invalid('manifest', 'the block count of the manifest is not a count', { cid: cid.toString() })
  const latest = now + MAX_CLOCK_SKEW
  let paths = 0
  for (const path of Object.keys(m.paths)) {
    const entries = m.paths[path] as HistoryEntry[]
    paths++
    try {
      validatePath(path)
    } catch (err) {
      throw invalid('path', `the bundle names an invalid path ${JSON.stringify(path)}`, { path }, err)
    }
    if (entries.length === 0) throw invalid('manifest', `the bundle has no entry for ${path}`, { path })
    let t = -Infinity
    for (const e of entries) {
      if (!isMoment(e.time)) throw invalid('time', `an entry of ${path} has the invalid time ${String(e.time)}`, { path, time: e.time })
      if (e.time > latest) throw invalid('time', `an entry of ${path} is dated ${e.time} ms after 1970, in the future`, { path, time: e.time })
      if (e.time < t) throw invalid('manifest', `the entries of ${path} are not in time order`, { path })
      t = e.time
      if ((e.evaluation === null) !== (e.output === null)) throw invalid('inconsistent', `an entry of ${path} has an output without an evaluation, or the reverse`, { path })
    }
  }
  if (paths === 0) throw invalid('manifest', 'the bundle names no path')
  const tags = readBundleTags(node, m)
  if (tags.length > 0) m.tags = tags
  return { manifest: m, count: count as number | undefined }
}

/**
 * Check the bundle's graph against the index of its blocks: complete, every
 * entry's output its evaluation's, the count right and nothing extra.
 * Returns the CIDs (strings) the manifest reaches.
 */
export function checkGraph (m: BundleManifest, index: BlockIndex, seen: ReadonlySet<string>, roots: ReadonlySet<string>, blocks: number, count: number | undefined): Set<string> {
  // Each CID once per role (a manifest's repeated CIDs are one object each: see decodeInterned).
  const links: Link[] = []
  const linked = new Map<string, Set<CID>>()
  for (const entries of Object.values(m.paths)) {
    for (const e of entries) {
      for (const l of entryLinks(e)) {
        let s = linked.get(l.role)
        if (s === undefined) linked.set(l.role, s = new Set())
        if (s.has(l.cid)) continue
        s.add(l.cid)
        links.push(l)
      }
    }
  }
  const { problems, reached } = index.check(links, 'import')
  const first = problems[0]
  if (first !== undefined) {
    const cid = first.cid?.toString()
    throw invalid(first.problem as BundleProblem, `${first.message}${first.from === undefined ? '' : ` (linked from ${first.from.toString()})`}`, { ...(cid === undefined ? {} : { cid }), ...(first.role === undefined ? {} : { role: first.role }) })
  }
  if (count !== undefined && count !== blocks) throw invalid('count', `the bundle holds ${blocks} blocks, its manifest says ${count}`, { blocks, expected: count })
  for (const path of Object.keys(m.paths)) {
    for (const e of m.paths[path] as HistoryEntry[]) {
      if (e.evaluation === null || e.output === null) continue
      const record = index.record(e.evaluation)
      if (record === undefined || !record.output.equals(e.output)) {
        throw invalid('inconsistent', `an entry of ${path} names output ${e.output.toString()}, its evaluation produced another`, { path, cid: e.evaluation.toString() })
      }
    }
  }
  // An export writes exactly what its entries reach: anything else stands in for a block that is missing.
  for (const id of seen) {
    if (!reached.has(id) && !roots.has(id)) throw invalid('extra', `block ${id} is not reached from the manifest`, { cid: id })
  }
  return reached
}
