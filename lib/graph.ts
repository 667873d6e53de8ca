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
import { decodeNode, toArtifactRoot, type FunctionInfo } from '../store/records.js'
import { DAG_CBOR_CODE } from '../store/hash.js'
import { linksOf } from '../store/dag.js'
import { dynamicImport } from '../store/dynamic-import.js'

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

/**
 * Data flowing from one evaluation to another: a kept value passed as an
 * argument (`input`, with its position), a loaded path, or a nested keep's result.
 */
export interface GraphEdge {
  from: string
  to: string
  kind: 'input' | 'load' | 'call'
  /** The path the value went through. */
  path: string | null
  /** The argument position, for `input` edges. */
  index?: number
}

export interface LineageGraph {
  nodes: GraphNode[]
  edges: GraphEdge[]
}

/**
 * The lineage of some paths (default: every path with a value): their current
 * evaluations and, transitively, the evaluations whose values they received
 * as arguments, loaded, or called as nested keeps.
 *
 * @example
 * const graph = await lineage(store, ['/models/clf'])
 * console.log(toDot(graph))
 */
export async function lineage (store: Store, paths?: string[]): Promise<LineageGraph> {
  const heads = new Map<string, string>()
  const roots: Array<{ id: string, evaluation: CID | null, path: string, output: CID }> = []
  // Which evaluation produced an artifact: a kept value passed as an argument is identified by its artifact.
  const producers = new Map<string, { evaluation: CID, path: string }>()
  for await (const e of store.paths({ deleted: true })) {
    if (e.evaluation !== null) heads.set(e.path, e.evaluation.toString())
    // Newest last, so that an artifact several evaluations produced names the latest.
    const entries: Array<{ evaluation: CID, output: CID }> = []
    for await (const h of store.history(e.path)) if (h.evaluation !== null && h.output !== null) entries.push({ evaluation: h.evaluation, output: h.output })
    for (const h of entries.reverse()) producers.set(h.output.toString(), { evaluation: h.evaluation, path: e.path })
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
    const k = `${e.from}>${e.to}>${e.kind}>${e.index ?? ''}`
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
    for (const [index, input] of record.inputs.entries()) {
      for (const artifact of await artifactsIn(store, input)) {
        const producer = producers.get(artifact.toString())
        if (producer === undefined) continue
        const from = producer.evaluation.toString()
        addEdge({ from, to: id, kind: 'input', path: producer.path, index })
        stack.push({ id: from, evaluation: producer.evaluation, path: producer.path, output: artifact })
      }
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
  // By code unit, not localeCompare: the same order under every locale, and no collator to load (its first use costs milliseconds).
  const byPath = (a: string, b: string): number => a < b ? -1 : a > b ? 1 : 0
  const sorted = [...nodes.values()].sort((a, b) => byPath(a.path ?? '', b.path ?? '') || (b.started ?? 0) - (a.started ?? 0))
  return { nodes: sorted, edges }
}

/** The artifacts an argument is or holds: its identity itself, or kept values inside its stored canonical form. */
async function artifactsIn (store: Store, input: CID): Promise<CID[]> {
  if (input.code !== DAG_CBOR_CODE) return []
  let bytes: Uint8Array | undefined
  try {
    bytes = await store.getBlock(input)
  } catch (err) {
    if (isDdsError(err)) return []
    throw err
  }
  if (bytes === undefined) return []
  try {
    // A kept value passed as such is identified by its artifact root.
    toArtifactRoot(decodeNode(bytes))
    return [input]
  } catch {}
  return linksOf(input, bytes, 'input').map((l) => l.cid)
}

function when (ms: number | null): string {
  if (ms === null) return ''
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC'
}

/** A duration in milliseconds, for a person: `1.9 ms`, `12.0 s`, `3 min 4 s` (empty when unknown). */
export function took (ms: number | null): string {
  if (ms === null) return ''
  if (ms < 0.1) return '< 0.1 ms'
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}

/** The parts of a node's label: its path, its function, where the function is, when it ran and for how long. */
export interface NodeText {
  path: string
  fn?: string
  source?: string
  ran?: string
  note?: string
}

/** What a node says about its evaluation. */
export function nodeText (n: GraphNode): NodeText {
  const out: NodeText = { path: n.path ?? '(no path)' }
  if (n.fn !== null) {
    out.fn = `${n.fn.name === '' ? '(anonymous)' : n.fn.name}()`
    if (n.fn.file !== undefined) out.source = `${n.fn.file}${n.fn.line === undefined ? '' : `:${n.fn.line}`}`
  }
  if (n.started !== null) out.ran = `ran ${when(n.started)} · ${took(n.duration)}`
  if (n.missing) out.note = 'record missing'
  else if (!n.current) out.note = 'an earlier value'
  return out
}

/** The lines of a node's label, as plain text. */
export function nodeLabel (n: GraphNode): string[] {
  const t = nodeText(n)
  return [t.path, t.fn, t.source, t.ran, t.note].filter((x): x is string => x !== undefined)
}

function html (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** A Graphviz HTML-like label: the path in bold, the function, then the source and the time in small grey type. */
function dotLabel (n: GraphNode): string {
  const t = nodeText(n)
  const lines = [`<B>${html(t.path)}</B>`]
  if (t.fn !== undefined) lines.push(html(t.fn))
  const small = [t.source, t.ran, t.note].filter((x): x is string => x !== undefined)
  for (const s of small) lines.push(`<FONT POINT-SIZE="9" COLOR="#5b6b7f">${html(s)}</FONT>`)
  return `<${lines.join('<BR/>')}>`
}

function dotString (s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"'
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
    '  nodesep=0.3; ranksep=0.5;',
    // Wide margins: viewers substitute fonts wider than the metrics Graphviz lays out with.
    '  node [shape=box, style="rounded,filled", fontname="Helvetica,Arial,sans-serif", fontsize=11, margin="0.3,0.1", color="#3b5b8c", fillcolor="#e8f0fb", fontcolor="#1b2a41"];',
    '  edge [fontname="Helvetica,Arial,sans-serif", fontsize=9, color="#5b6b7f", fontcolor="#5b6b7f", arrowsize=0.7];'
  ]
  const ids = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]))
  for (const n of graph.nodes) {
    const style = n.missing
      ? ', style="rounded,dashed", fillcolor="#fdecea", color="#b03a2e"'
      : n.current ? '' : ', style="rounded,dashed,filled", fillcolor="#f2f2f2", color="#8a8a8a", fontcolor="#555555"'
    out.push(`  ${ids.get(n.id) as string} [label=${dotLabel(n)}${style}, tooltip=${dotString(n.id)}];`)
  }
  for (const e of graph.edges) {
    const from = ids.get(e.from)
    const to = ids.get(e.to)
    if (from === undefined || to === undefined) continue
    out.push(e.kind === 'input'
      ? `  ${from} -> ${to} [label="arg ${e.index ?? 0}"];`
      : e.kind === 'load'
        ? `  ${from} -> ${to} [label="load", color="#2f7d4f", fontcolor="#2f7d4f"];`
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
    out.push(e.kind === 'input' ? `  ${from} -->|arg ${e.index ?? 0}| ${to}` : e.kind === 'load' ? `  ${from} -->|load| ${to}` : `  ${from} -.->|nested keep| ${to}`)
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
export async function toSvg (graph: LineageGraph | string, options: SvgOptions = {}): Promise<string> {
  const load = options.loadGraphviz ?? loadGraphviz
  const { Graphviz } = await load()
  const gv = await Graphviz.load()
  return centerNodeText(gv.dot(typeof graph === 'string' ? graph : toDot(graph)))
}

/** The part of `@hpcc-js/wasm-graphviz` that `toSvg` uses. */
export interface GraphvizModule {
  Graphviz: { load: () => Promise<{ dot: (source: string) => string }> }
}

/** Options of `toSvg`. */
export interface SvgOptions {
  /** How to load Graphviz (default: import the optional dependency `@hpcc-js/wasm-graphviz`). */
  loadGraphviz?: () => Promise<GraphvizModule>
}

const GRAPHVIZ = '@hpcc-js/wasm-graphviz'

/**
 * Import Graphviz, an optional dependency (most users never draw a picture):
 * DDS_DEPENDENCY_MISSING naming the package when it is not installed.
 */
export async function loadGraphviz (importer: (name: string) => Promise<unknown> = dynamicImport): Promise<GraphvizModule> {
  try {
    return await importer(GRAPHVIZ) as GraphvizModule
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw err
    throw new DdsError(ErrorCodes.DEPENDENCY_MISSING, `drawing an SVG needs the optional package ${GRAPHVIZ}: npm install ${GRAPHVIZ}`, { cause: err, data: { package: GRAPHVIZ } })
  }
}

/**
 * Graphviz places each line of an HTML label from its left end, as wide as
 * its own font metrics say; a viewer with a wider font would run the text out
 * of the box on the right. Centred on the box, a wider font overflows evenly
 * into the margins instead.
 */
function centerNodeText (svg: string): string {
  return svg.replace(/(<g id="node\d+" class="node">)([\s\S]*?)(?=<!--|<\/svg>)/g, (_m, open: string, body: string) => {
    const d = /<path[^>]* d="([^"]+)"/.exec(body)?.[1] ?? /<polygon[^>]* points="([^"]+)"/.exec(body)?.[1]
    if (d === undefined) return open + body
    const xs = [...d.matchAll(/(-?\d+(?:\.\d+)?),-?\d+(?:\.\d+)?/g)].map((m) => Number(m[1]))
    if (xs.length === 0) return open + body
    const cx = (Math.min(...xs) + Math.max(...xs)) / 2
    return open + body.replace(/text-anchor="start" x="-?[\d.]+"/g, `text-anchor="middle" x="${cx.toFixed(2)}"`)
  })
}
