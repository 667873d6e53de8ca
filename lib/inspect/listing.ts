/**
 * The long lists a viewer pages through: the paths of a store (under a
 * prefix) and the history of one path, each as a stream of rows (for the
 * command line) and as pages with a cursor (for a web view: 10,000 paths,
 * 5,000 history entries).
 */
import { DdsError, ErrorCodes, isDdsError } from '../../store/errors.js'
import type { Store } from '../../store/store.js'
import type { EvaluationRecord, PathEntry } from '../../store/records.js'
import { validatePath } from '../../store/paths.js'
import { listTags } from '../../store/tags.js'
import type { HistoryRow, Page, PageOptions, PathRow, ProblemView, SourceOptions, TableView, TagRef } from './interface.js'
import { fnJson, iso, ms } from './json.js'
import { namespaceOf } from './source.js'
import { tableView } from './arrow-table.js'

/** Told about what could not be read while listing (the row is still given, without it). */
export type OnProblem = (where: string, error: DdsError) => void

const DEFAULT_LIMIT = 100
const MAX_LIMIT = 10_000

function pageBounds (options: PageOptions): { limit: number, offset: number } {
  const limit = options.limit ?? DEFAULT_LIMIT
  const offset = options.offset ?? 0
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new RangeError(`limit must be an integer from 1 to ${MAX_LIMIT}`)
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError('offset must be a non-negative integer')
  if (options.cursor !== undefined && typeof options.cursor !== 'string') throw new TypeError('cursor must be a string from a previous page\'s next')
  return { limit, offset }
}

/** Up to `limit` entries past the cursor and the offset, and whether more follow. */
async function take (entries: AsyncIterable<PathEntry>, past: (e: PathEntry) => boolean, limit: number, offset: number): Promise<{ items: PathEntry[], more: boolean }> {
  const items: PathEntry[] = []
  let skipped = 0
  for await (const e of entries) {
    if (!past(e)) continue
    if (skipped < offset) { skipped++; continue }
    if (items.length === limit) return { items, more: true }
    items.push(e)
  }
  return { items, more: false }
}

function problemOf (where: string, err: DdsError): ProblemView {
  return { where, code: err.code, message: err.message }
}

/**
 * The tags of every path (or of one path), read once for a whole listing:
 * tags are few beside paths, and a tag knows its path, not the reverse.
 */
async function tagsByPath (store: Store, path?: string): Promise<Map<string, TagRef[]>> {
  const out = new Map<string, TagRef[]>()
  for await (const t of listTags(store.backend, path === undefined ? {} : { path })) {
    const list = out.get(t.path)
    if (list === undefined) out.set(t.path, [{ name: t.name, seq: t.seq }])
    else list.push({ name: t.name, seq: t.seq })
  }
  return out
}

async function pathRow (store: Store, e: PathEntry, tags: Map<string, TagRef[]>, onProblem?: OnProblem): Promise<PathRow> {
  let size: number | null = null
  let table: TableView | null = null
  if (e.output !== null) {
    try {
      const info = await store.artifactInfo(e.output)
      size = info.size
      table = await tableView(store, e.output, info.enc)
    } catch (err) {
      if (!isDdsError(err)) throw err
      onProblem?.(e.path, err)
    }
  }
  return { path: e.path, seq: e.seq, evaluation: e.evaluation?.toString() ?? null, output: e.output?.toString() ?? null, size, table, time: iso(e.time), deleted: e.evaluation === null, hit: e.hit === true, imported: e.imported === true, tags: tags.get(e.path) ?? [] }
}

/** Options of the path listing. */
export interface PathListOptions extends SourceOptions {
  /** Only paths equal to or under this one (`/data` lists `/data/raw`, not `/database`). */
  prefix?: string
  /** Also deleted paths (evaluation, output and size null). */
  deleted?: boolean
  onProblem?: OnProblem
}

/**
 * Every path of the store (under `prefix`), in order, as rows: current
 * evaluation, output, size, time of the last update.
 *
 * @example
 * for await (const row of pathRows(store, { prefix: '/data' })) console.log(row.path, row.size)
 */
export async function * pathRows (store: Store, options: PathListOptions = {}): AsyncIterable<PathRow> {
  const ns = namespaceOf(store, options)
  const tags = await tagsByPath(store)
  const onProblem = options.onProblem
  const listing = ns.paths({ ...(options.prefix === undefined ? {} : { prefix: options.prefix }), deleted: options.deleted === true, ...(onProblem === undefined ? {} : { onDamaged: onProblem }) })
  for await (const e of listing) yield await pathRow(store, e, tags, onProblem)
}

/**
 * One page of the path listing: `limit` rows (default 100) after `cursor`
 * (the `next` of the previous page) or after skipping `offset` rows.
 *
 * @example
 * let page = await listPaths(store, { limit: 50 })
 * while (page.next !== null) page = await listPaths(store, { limit: 50, cursor: page.next })
 */
export async function listPaths (store: Store, options: PathListOptions & PageOptions = {}): Promise<Page<PathRow>> {
  const { limit, offset } = pageBounds(options)
  const after = options.cursor
  if (after !== undefined) validatePath(after, 'cursor')
  const ns = namespaceOf(store, options)
  const problems: ProblemView[] = []
  // A head that cannot be read is reported among the page's problems when it falls in the page's range.
  const onDamaged = (where: string, err: DdsError): void => {
    if (after !== undefined && where <= after) return
    problems.push(problemOf(where, err))
    options.onProblem?.(where, err)
  }
  const source = ns.paths({ ...(options.prefix === undefined ? {} : { prefix: options.prefix }), deleted: options.deleted === true, onDamaged })
  const { items, more } = await take(source, (e) => after === undefined || e.path > after, limit, offset)
  const rows: PathRow[] = []
  const tags = items.length === 0 ? new Map<string, TagRef[]>() : await tagsByPath(store)
  for (const e of items) rows.push(await pathRow(store, e, tags, (where, err) => { problems.push(problemOf(where, err)); options.onProblem?.(where, err) }))
  return { items: rows, next: more ? (items[items.length - 1] as PathEntry).path : null, problems }
}

/** The tag names on each history entry of a path (by sequence number). */
async function tagsBySeq (store: Store, path: string): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>()
  for (const t of (await tagsByPath(store, path)).get(path) ?? []) out.set(t.seq, [...(out.get(t.seq) ?? []), t.name])
  return out
}

async function historyRow (store: Store, e: PathEntry, tags: Map<number, string[]>, onProblem?: OnProblem): Promise<HistoryRow> {
  let record: EvaluationRecord | undefined
  if (e.evaluation !== null) {
    try {
      record = await store.getEvaluation(e.evaluation)
    } catch (err) {
      if (!isDdsError(err)) throw err
      onProblem?.(`${e.path}@${e.seq}`, err)
    }
  }
  return {
    seq: e.seq,
    time: iso(e.time),
    status: e.evaluation === null ? 'deleted' : e.hit === true ? 'hit' : 'computed',
    imported: e.imported === true,
    evaluation: e.evaluation?.toString() ?? null,
    output: e.output?.toString() ?? null,
    function: record === undefined ? null : fnJson(record.fn),
    started: record === undefined ? null : iso(record.started),
    duration: record === undefined ? null : ms(record.duration),
    tags: tags.get(e.seq) ?? []
  }
}

/** Options of a path's history. */
export interface HistoryOptions extends SourceOptions {
  onProblem?: OnProblem
}

function noHistory (path: string): DdsError {
  return new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${path} has no history`, { data: { path } })
}

/**
 * The history of a path, newest first, as rows (the newest `limit` when
 * given). DDS_PATH_NOT_FOUND when the path has no history at all.
 *
 * @example
 * for await (const row of historyRows(store, '/data/clean')) console.log(row.seq, row.status)
 */
export async function * historyRows (store: Store, path: string, options: HistoryOptions & { limit?: number } = {}): AsyncIterable<HistoryRow> {
  validatePath(path)
  const ns = namespaceOf(store, options)
  let n = 0
  const tags = await tagsBySeq(store, path)
  for await (const e of ns.history(path, options.limit === undefined ? {} : { limit: options.limit })) {
    n++
    yield await historyRow(store, e, tags, options.onProblem)
  }
  if (n === 0) throw noHistory(path)
}

/**
 * One page of a path's history, newest first: `limit` entries (default 100)
 * older than `cursor` (the `next` of the previous page, a sequence number)
 * or after skipping `offset` entries. DDS_PATH_NOT_FOUND when the path has
 * no history at all.
 *
 * @example
 * const page = await pathHistory(store, '/data/clean', { limit: 20 })
 * page.items[0]?.status // 'computed'
 */
export async function pathHistory (store: Store, path: string, options: HistoryOptions & PageOptions = {}): Promise<Page<HistoryRow> & { path: string }> {
  validatePath(path)
  const { limit, offset } = pageBounds(options)
  let before: number | undefined
  if (options.cursor !== undefined) {
    if (!/^\d{1,15}$/.test(options.cursor)) throw new TypeError('cursor must be a string from a previous page\'s next')
    before = Number(options.cursor)
  }
  const ns = namespaceOf(store, options)
  const source = ns.history(path, before === undefined ? { limit: offset + limit + 1 } : {})
  const { items, more } = await take(source, (e) => before === undefined || e.seq < before, limit, offset)
  if (items.length === 0 && before === undefined && offset === 0) throw noHistory(path)
  const problems: ProblemView[] = []
  const rows: HistoryRow[] = []
  const tags = await tagsBySeq(store, path)
  for (const e of items) rows.push(await historyRow(store, e, tags, (where, err) => { problems.push(problemOf(where, err)); options.onProblem?.(where, err) }))
  return { path, items: rows, next: more ? String((items[items.length - 1] as PathEntry).seq) : null, problems }
}
