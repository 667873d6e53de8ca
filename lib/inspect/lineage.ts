/**
 * The lineage graph as data: evaluations (path, function, when it ran,
 * whether it is its path's current value) and the edges data flowed along.
 */
import type { Store } from '../../store/store.js'
import { lineage, type LineageGraph } from '../graph.js'
import type { LineageView } from './interface.js'
import { iso } from './json.js'

/** A lineage graph (from `lineage`) with its CIDs and times as strings. */
export function lineageJson (graph: LineageGraph): LineageView {
  return {
    nodes: graph.nodes.map((n) => ({
      id: n.id,
      evaluation: n.evaluation?.toString() ?? null,
      path: n.path,
      function: n.fn === null ? null : { name: n.fn.name, file: n.fn.file ?? null, line: n.fn.line ?? null },
      started: n.started === null ? null : iso(n.started),
      duration: n.duration,
      current: n.current,
      missing: n.missing
    })),
    edges: graph.edges.map((e) => ({ ...e }))
  }
}

/**
 * The lineage of `paths` (default: every path with a value): their current
 * evaluations and, transitively, the evaluations whose values they received,
 * loaded or called, as nodes and edges.
 *
 * @example
 * const g = await lineageView(store, ['/models/clf'])
 * g.edges.filter((e) => e.kind === 'load')
 */
export async function lineageView (store: Store, paths?: string[]): Promise<LineageView> {
  return lineageJson(await lineage(store, paths))
}
