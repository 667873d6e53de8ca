/**
 * The paths downstream of some paths: every path whose current evaluation
 * received, loaded or called (transitively) a value those paths held. Read
 * from the lineage graph, so it sees what the store recorded, not the code.
 */
import type { Store } from '../store/store.js'
import { lineage, type LineageGraph } from './graph.js'

/**
 * The paths that used `paths` (not including them), sorted.
 *
 * @example
 * await downstreamOf(store, ['/weather/clean']) // ['/weather/model', '/weather/report', '/weather/stats']
 */
export async function downstreamOf (store: Store, paths: string[]): Promise<string[]> {
  return downstreamIn(await lineage(store), paths)
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
