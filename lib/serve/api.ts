/**
 * The JSON API of the web view: each route a read-only query of
 * lib/inspect, its query-string arguments checked, answering plain data.
 */
import { ErrorCodes, isDdsError } from '../../store/errors.js'
import type { Store } from '../../store/store.js'
import { toSvg, lineage } from '../graph.js'
import { artifactOf, describeEvaluation, explain, historyTable, lineageJson, listPaths, metricsOf, parseTarget, sourcesOf, tablePage, type PageOptions, type WhyRef } from '../inspect.js'
import { plan, planSummary, reasonText } from '../plan/index.js'
import { previewOf } from './output.js'

/** A mistake in a request's arguments: answered 400 with the message. */
export class BadRequest extends Error {
  override name = 'BadRequest'
}

function required (q: URLSearchParams, name: string): string {
  const v = q.get(name)
  if (v === null || v === '') throw new BadRequest(`missing query argument ${name}`)
  return v
}

function page (q: URLSearchParams): PageOptions {
  const out: PageOptions = {}
  const limit = q.get('limit')
  if (limit !== null) {
    if (!/^\d{1,5}$/.test(limit)) throw new BadRequest('limit must be an integer')
    out.limit = Number(limit)
  }
  const cursor = q.get('cursor')
  if (cursor !== null && cursor !== '') out.cursor = cursor
  return out
}

function whyRef (v: string | null): WhyRef | undefined {
  if (v === null || v === '') return undefined
  return /^\d{1,15}$/.test(v) ? Number(v) : v
}

/** What every route may read besides the store: the project root whose working tree the source panel shows. */
export interface RouteContext {
  root?: string
}

/** One route: the query string in, JSON-ready data out. */
type Route = (store: Store, q: URLSearchParams, context: RouteContext) => Promise<unknown>

const routes: Record<string, Route> = {
  async paths (store, q) {
    const prefix = q.get('prefix')
    return await listPaths(store, { ...page(q), ...(prefix === null || prefix === '' || prefix === '/' ? {} : { prefix }) })
  },
  async history (store, q) {
    return await historyTable(store, required(q, 'path'), { limit: 50, ...page(q) })
  },
  async why (store, q) {
    const old = whyRef(q.get('old'))
    const neu = whyRef(q.get('new'))
    return await explain(store, required(q, 'path'), { ...(old === undefined ? {} : { old }), ...(neu === undefined ? {} : { new: neu }) })
  },
  async evaluation (store, q) {
    const target = parseTarget(required(q, 'target'))
    const view = await describeEvaluation(store, target)
    return { ...view, preview: await previewOf(store, await artifactOf(store, target)) }
  },
  async source (store, q, context) {
    return await sourcesOf(store, parseTarget(required(q, 'target')), context.root === undefined ? {} : { root: context.root })
  },
  async table (store, q) {
    const offset = q.get('offset')
    const limit = q.get('limit')
    if (offset !== null && !/^\d{1,15}$/.test(offset)) throw new BadRequest('offset must be an integer')
    if (limit !== null && !/^\d{1,5}$/.test(limit)) throw new BadRequest('limit must be an integer')
    const cid = await artifactOf(store, parseTarget(required(q, 'target')))
    const info = await store.artifactInfo(cid)
    const page = await tablePage(store, cid, info.enc, { ...(offset === null ? {} : { offset: Number(offset) }), ...(limit === null ? {} : { limit: Number(limit) }) })
    if (page === null) throw new BadRequest(`not an Arrow table (${info.enc})`)
    return page
  },
  async metrics (store, q) {
    const limit = q.get('limit')
    if (limit !== null && !/^\d{1,5}$/.test(limit)) throw new BadRequest('limit must be an integer')
    return await metricsOf(store, required(q, 'path'), limit === null ? {} : { limit: Number(limit) })
  },
  async lineage (store, q) {
    const paths = q.getAll('path').filter((p) => p !== '')
    const graph = await lineage(store, paths.length === 0 ? undefined : paths)
    let svg: string | null = null
    let problem: string | null = null
    try {
      svg = await toSvg(graph)
    } catch (err) {
      if (!isDdsError(err)) throw err
      problem = `${err.code}: ${err.message}`
    }
    return { graph: lineageJson(graph), svg, problem }
  },
  /**
   * What `dds plan` says the next run will do, computed on request from the
   * working tree the server was given (none: `plan` is null and `problem`
   * says why); `path` arguments (paths or globs) select what is listed. Each
   * path's reasons come as words too (`why`), and the summary line.
   */
  async plan (store, q, context) {
    if (context.root === undefined) return { plan: null, summary: null, problem: 'no working tree to read: start dds serve in the project to see what the next run will do' }
    const paths = q.getAll('path').filter((p) => p !== '')
    // Globs become regular expressions: bounded, so that a request cannot make one that backtracks for long.
    if (paths.length > 100 || paths.some((p) => p.length > 1000 || (p.match(/\*/g)?.length ?? 0) > 8)) throw new BadRequest('at most 100 paths, each of at most 1000 characters and 8 wildcards')
    let p
    try {
      p = await plan(store, { root: context.root, ...(paths.length === 0 ? {} : { paths }) })
    } catch (err) {
      // A path that holds no value or is malformed is the request's mistake; anything else makes the plan unavailable.
      if (!isDdsError(err) || err.code === ErrorCodes.PATH_NOT_FOUND || err.code === ErrorCodes.PATH_INVALID) throw err
      return { plan: null, summary: null, problem: `${err.code}: ${err.message}` }
    }
    return { plan: { ...p, paths: p.paths.map((x) => ({ ...x, why: x.reasons.map(reasonText) })) }, summary: planSummary(p), problem: null }
  }
}

/** The route for `/api/NAME`, or undefined. */
export function apiRoute (name: string): Route | undefined {
  return Object.hasOwn(routes, name) ? routes[name] : undefined
}
