/**
 * The lineage graph of a store: evaluations (the function, its path, when it
 * ran), with an edge for every path an evaluation loaded and every nested keep
 * it called, drawn in the direction data flows. Rendered as DOT, Mermaid, or
 * an SVG picture through Graphviz (WebAssembly, loaded only when asked for).
 */
import type { CID } from 'multiformats/cid'
import { validatePath } from '../store/paths.js'
import type { Store } from '../store/store.js'
import { DdsError, ErrorCodes, isDdsError } from '../store/errors.js'
import type { FunctionInfo } from '../store/records.js'

/** An evaluation in the graph. */
export interface GraphNode {
  /** The evaluation CID, as a string (or the output CID of a loaded value with no evaluation). */
  id: string
  evaluation: CID | null
  path: string | null
  fn: FunctionInfo | null
  started: number | null
  duration: number | null
  /** True when this evaluation is what its path holds now. */
  current: boolean
  /** True when the store lacks the record (the graph goes no further there). */
  missing: boolean
}

/** Data flowing from one evaluation to another: a loaded path, or a nested keep's result. */
export interface GraphEdge {
  from: string
  to: string
  kind: 'load' | 'call'
  /** The path the value went through. */
  path: string | null
}

export interface LineageGraph {
  nodes: GraphNode[]
  edges: GraphEdge[]
}

/**
 * The lineage of some paths (default: every path with a value): their current
 * evaluations and, transitively, the evaluations they loaded and called.
 *
 * @example
 * const graph = await lineage(store, ['/models/clf'])
 * console.log(toDot(graph))
 */
export async function lineage (store: Store, paths?: string[]): Promise<LineageGraph> {
  const heads = new Map<string, string>()
  const roots: Array<{ id: string, evaluation: CID | null, path: string, output: CID }> = []
  for await (const e of store.paths()) {
    if (e.evaluation !== null) heads.set(e.path, e.evaluation.toString())
  }
  const wanted = paths === undefined || paths.length === 0 ? [...heads.keys()] : paths
  for (const path of wanted) {
    validatePath(path)
    const head = await store.head(path)
    if (head === undefined || head.evaluation === null || head.output === null) {
      throw new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${path} holds no value`, { data: { path } })
    }
    roots.push({ id: head.evaluation.toString(), evaluation: head.evaluation, path, output: head.output })
  }

  const nodes = new Map<string, GraphNode>()
  const edges: GraphEdge[] = []
  const edgeKeys = new Set<string>()
  const addEdge = (e: GraphEdge): void => {
    const k = `${e.from}>${e.to}>${e.kind}`
    if (edgeKeys.has(k)) return
    edgeKeys.add(k)
    edges.push(e)
  }
  const stack = [...roots]
  while (stack.length > 0) {
    const { id, evaluation, path } = stack.pop() as (typeof roots)[number]
    if (nodes.has(id)) continue
    const node: GraphNode = { id, evaluation, path, fn: null, started: null, duration: null, current: heads.get(path) === id, missing: evaluation === null }
    nodes.set(id, node)
    if (evaluation === null) continue
    let record
    try {
      record = await store.getEvaluation(evaluation)
    } catch (err) {
      if (!isDdsError(err)) throw err
      node.missing = true
      continue
    }
    node.fn = record.fn
    node.started = record.started
    node.duration = record.duration
    if (record.path !== null) node.path = record.path
    for (const l of record.loads) {
      const from = (l.evaluation ?? l.output).toString()
      addEdge({ from, to: id, kind: 'load', path: l.path })
      stack.push({ id: from, evaluation: l.evaluation, path: l.path, output: l.output })
    }
    for (const c of record.calls) {
      const from = c.toString()
      addEdge({ from, to: id, kind: 'call', path: null })
      stack.push({ id: from, evaluation: c, path: '', output: c })
    }
  }
  // A called evaluation's path is known once its record is read.
  for (const e of edges) if (e.kind === 'call') e.path = nodes.get(e.from)?.path ?? null
  for (const n of nodes.values()) if (n.path === '') n.path = null
  for (const n of nodes.values()) n.current = n.path !== null && heads.get(n.path) === n.id
  const sorted = [...nodes.values()].sort((a, b) => (a.path ?? '').localeCompare(b.path ?? '') || (b.started ?? 0) - (a.started ?? 0))
  return { nodes: sorted, edges }
}

function when (ms: number | null): string {
  if (ms === null) return ''
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'
}

function took (ms: number | null): string {
  if (ms === null) return ''
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}

/** The lines of a node's label: path, function, when it ran and for how long. */
export function nodeLabel (n: GraphNode): string[] {
  const lines = [n.path ?? '(no path)']
  if (n.missing) lines.push('record missing')
  if (n.fn !== null) lines.push(`${n.fn.name === '' ? '(anonymous)' : n.fn.name}()${n.fn.file === undefined ? '' : `  ${n.fn.file}${n.fn.line === undefined ? '' : `:${n.fn.line}`}`}`)
  if (n.started !== null) lines.push(`ran ${when(n.started)}, ${took(n.duration)}`)
  if (!n.current && !n.missing) lines.push('(an earlier value)')
  return lines
}

function dotString (lines: string[]): string {
  return '"' + lines.map((s) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')).join('\\n') + '"'
}

/**
 * The graph in Graphviz DOT, left to right in the direction data flows.
 * Current evaluations are filled, earlier ones dashed; nested keeps are dashed edges.
 *
 * @example
 * toDot(await lineage(store)) // 'digraph lineage { ... }'
 */
export function toDot (graph: LineageGraph): string {
  const out = [
    'digraph lineage {',
    '  rankdir=LR;',
    '  bgcolor="white";',
    '  nodesep=0.35; ranksep=0.6;',
    '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, margin="0.18,0.08", color="#3b5b8c", fillcolor="#e8f0fb", fontcolor="#1b2a41"];',
    '  edge [fontname="Helvetica", fontsize=9, color="#5b6b7f", fontcolor="#5b6b7f", arrowsize=0.7];'
  ]
  const ids = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]))
  for (const n of graph.nodes) {
    const style = n.missing
      ? ', style="rounded,dashed", fillcolor="#fdecea", color="#b03a2e"'
      : n.current ? '' : ', style="rounded,dashed,filled", fillcolor="#f2f2f2", color="#8a8a8a", fontcolor="#555555"'
    out.push(`  ${ids.get(n.id) as string} [label=${dotString(nodeLabel(n))}${style}, tooltip=${dotString([n.id])}];`)
  }
  for (const e of graph.edges) {
    const from = ids.get(e.from)
    const to = ids.get(e.to)
    if (from === undefined || to === undefined) continue
    out.push(e.kind === 'load'
      ? `  ${from} -> ${to} [label="load"];`
      : `  ${from} -> ${to} [style=dashed, label="nested keep"];`)
  }
  out.push('}')
  return out.join('\n') + '\n'
}

function mermaidText (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '#quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/**
 * The graph as a Mermaid flowchart (renders in GitHub and most Markdown viewers).
 *
 * @example
 * toMermaid(await lineage(store)) // 'flowchart LR\n  n0["/data/raw<br/>readRaw()..."]...'
 */
export function toMermaid (graph: LineageGraph): string {
  const out = ['flowchart LR']
  const ids = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]))
  for (const n of graph.nodes) out.push(`  ${ids.get(n.id) as string}["${nodeLabel(n).map(mermaidText).join('<br/>')}"]`)
  for (const e of graph.edges) {
    const from = ids.get(e.from)
    const to = ids.get(e.to)
    if (from === undefined || to === undefined) continue
    out.push(e.kind === 'load' ? `  ${from} -->|load| ${to}` : `  ${from} -.->|nested keep| ${to}`)
  }
  const older = graph.nodes.filter((n) => !n.current && !n.missing).map((n) => ids.get(n.id) as string)
  const missing = graph.nodes.filter((n) => n.missing).map((n) => ids.get(n.id) as string)
  out.push('  classDef current fill:#e8f0fb,stroke:#3b5b8c,color:#1b2a41')
  out.push('  classDef older fill:#f2f2f2,stroke:#8a8a8a,color:#555555,stroke-dasharray: 4 3')
  out.push('  classDef missing fill:#fdecea,stroke:#b03a2e,stroke-dasharray: 4 3')
  const current = graph.nodes.filter((n) => n.current).map((n) => ids.get(n.id) as string)
  if (current.length > 0) out.push(`  class ${current.join(',')} current`)
  if (older.length > 0) out.push(`  class ${older.join(',')} older`)
  if (missing.length > 0) out.push(`  class ${missing.join(',')} missing`)
  return out.join('\n') + '\n'
}

/**
 * Render DOT text (or a graph) as an SVG picture with Graphviz compiled to
 * WebAssembly.
 *
 * @example
 * await writeFile('lineage.svg', await toSvg(await lineage(store)))
 */
export async function toSvg (graph: LineageGraph | string): Promise<string> {
  const { Graphviz } = await import('@hpcc-js/wasm-graphviz')
  const gv = await Graphviz.load()
  return gv.dot(typeof graph === 'string' ? graph : toDot(graph))
}
