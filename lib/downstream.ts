/**
 * The paths downstream of some paths: every path whose current evaluation
 * received, loaded or called (transitively) a value those paths held. Read
 * from the lineage graph, so it sees what the store recorded, not the code;
 * kept numbers and strings passed on, which carry no provenance, are linked
 * by the identity of their value.
 */
import type { CID } from 'multiformats/cid'
import { isDdsError } from '../store/errors.js'
import type { ArtifactRoot } from '../store/records.js'
import type { Store } from '../store/store.js'
import { lineage, type GraphEdge, type LineageGraph } from './graph.js'
import { hashValue } from './value-hash.js'

/** Outputs up to this size are read to see whether they are primitives. */
const PRIMITIVE_BYTES = 4096

/**
 * False for an artifact that is certainly an object, told from its root
 * without decoding it (and without loading its codec): a typed array, or a
 * CBOR payload that is an array or a map. True for anything that may be a
 * primitive, which is then decoded.
 */
function mayBePrimitive (root: ArtifactRoot): boolean {
  if (root.enc === 'typed') return false
  if (root.enc !== 'cbor-x/1' || root.data === undefined || root.data.length === 0) return true
  const major = root.data[0]! >> 5
  return major !== 4 && major !== 5
}

/**
 * The edges the lineage graph cannot hold: a kept number, string, boolean
 * or null passed on as an argument carries no provenance (only objects can
 * be remembered), so its argument identity is the hash of its value. Each
 * current evaluation whose output is such a value is linked to every current
 * evaluation that received an argument with that identity. A constant equal
 * by chance is linked too: downstream is an upper bound, never a miss.
 *
 * @example
 * const graph = await lineage(store)
 * graph.edges.push(...await valueEdges(store, graph))
 */
export async function valueEdges (store: Store, graph: LineageGraph): Promise<GraphEdge[]> {
  const current = graph.nodes.filter((n) => n.current && n.evaluation !== null && n.path !== null)
  const producers = new Map<string, { id: string, path: string }>()
  const inputs = new Map<string, readonly CID[]>()
  for (const n of current) {
    try {
      inputs.set(n.id, (await store.getEvaluation(n.evaluation as CID)).inputs)
      const output = (await store.head(n.path as string))?.output
      if (output === null || output === undefined) continue
      const root = await store.getArtifactRoot(output)
      if (root.size > PRIMITIVE_BYTES || !mayBePrimitive(root)) continue
      const value = await store.readArtifact(output)
      if ((value !== null && typeof value === 'object') || typeof value === 'function' || typeof value === 'symbol') continue
      producers.set(hashValue(value, 'args[0]', { mode: 'input' }).toString(), { id: n.id, path: n.path as string })
    } catch (err) {
      // A record or value the store cannot give (missing, no codec, not hashable): no edge from it.
      if (isDdsError(err)) continue
      throw err
    }
  }
  const edges: GraphEdge[] = []
  if (producers.size === 0) return edges
  for (const [to, list] of inputs) {
    for (const [index, input] of list.entries()) {
      const from = producers.get(input.toString())
      if (from !== undefined && from.id !== to) edges.push({ from: from.id, to, kind: 'input', path: from.path, index })
    }
  }
  return edges
}

/**
 * The paths that used `paths` (not including them), sorted.
 *
 * @example
 * await downstreamOf(store, ['/weather/clean']) // ['/weather/model', '/weather/report', '/weather/stats']
 */
export async function downstreamOf (store: Store, paths: string[]): Promise<string[]> {
  const graph = await lineage(store)
  graph.edges.push(...await valueEdges(store, graph))
  return downstreamIn(graph, paths)
}

/**
 * The paths that used `paths` (not including them) in a lineage graph already read, sorted.
 *
 * @example
 * const graph = await lineage(store)
 * downstreamIn(graph, ['/weather/clean']) // ['/weather/model', ...]
 */
export function downstreamIn (graph: LineageGraph, paths: string[]): string[] {
  const pathOf = new Map(graph.nodes.map((n) => [n.id, n.path]))
  const out = new Map<string, string[]>()
  for (const e of graph.edges) out.set(e.from, [...(out.get(e.from) ?? []), e.to])
  const start = new Set(paths)
  const stack = graph.nodes.filter((n) => n.path !== null && start.has(n.path)).map((n) => n.id)
  const seen = new Set(stack)
  const found = new Set<string>()
  while (stack.length > 0) {
    for (const to of out.get(stack.pop() as string) ?? []) {
      if (seen.has(to)) continue
      seen.add(to)
      stack.push(to)
      const p = pathOf.get(to)
      if (p !== null && p !== undefined && p !== '' && !start.has(p)) found.add(p)
    }
  }
  return [...found].sort()
}
