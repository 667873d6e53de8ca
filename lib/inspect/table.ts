/**
 * A path's history as a table to read (like `dvc exp show`): each entry with
 * its arguments, an output summary and what changed against the entry
 * before it, as `why` names it; and the numbers in its outputs over time, to
 * chart. `dds table`, `dds plot` and the web view are built on these.
 */
import type { CID } from 'multiformats/cid'
import { isDdsError } from '../../store/errors.js'
import type { Store } from '../../store/store.js'
import type { PathEntry } from '../../store/records.js'
import { validatePath } from '../../store/paths.js'
import { compareSides, type Side } from '../why.js'
import type { HistoryOptions } from './listing.js'
import { pathHistory } from './listing.js'
import type { HistoryTableRow, MetricsView, OutputSummary, Page, PageOptions } from './interface.js'
import { showCanonical } from './json.js'
import { inputDisplay } from './evaluation.js'
import { changeView } from './why.js'
import { parseCID } from '../../store/hash.js'
import { namespaceOf } from './source.js'

/** Values up to this size are decoded for a summary or a metric; larger ones are only described. */
const SMALL = 64 * 1024
const ARG_WIDTH = 40
const OUTPUT_WIDTH = 60

/** The decoded value of a small artifact stored as a general value or a string, else undefined. */
async function smallValue (store: Store, cid: CID): Promise<{ value: unknown } | undefined> {
  const info = await store.artifactInfo(cid)
  if (info.size > SMALL || (info.enc !== 'cbor-x/1' && info.enc !== 'utf8')) return undefined
  return { value: await store.readArtifact(cid) }
}

/** An output's encoding, size and (when small) a short rendering; null when it cannot be read. */
async function outputSummary (store: Store, cid: CID): Promise<OutputSummary | null> {
  try {
    const info = await store.artifactInfo(cid)
    const small = await smallValue(store, cid)
    return { cid: cid.toString(), enc: info.enc, type: info.type ?? null, size: info.size, display: small === undefined ? null : showCanonical(small.value, OUTPUT_WIDTH) }
  } catch (err) {
    if (isDdsError(err)) return null
    throw err
  }
}

/** The two sides of a comparison read once each, however many rows name them. */
class Sides {
  readonly #store: Store
  readonly #cache = new Map<string, Promise<Side | undefined>>()
  constructor (store: Store) { this.#store = store }

  get (cid: string): Promise<Side | undefined> {
    let s = this.#cache.get(cid)
    if (s === undefined) {
      s = (async () => {
        try {
          const evaluation = parseCID(cid)
          const record = await this.#store.getEvaluation(evaluation)
          return { evaluation, record, manifest: await this.#store.getManifest(record.code) }
        } catch (err) {
          if (isDdsError(err)) return undefined
          throw err
        }
      })()
      this.#cache.set(cid, s)
    }
    return s
  }
}

/** `declaration changed src/clean.ts#clean`, `argument changed 0`, `load added /data/raw`. */
function changeText (c: Record<string, unknown> & { kind: string, change: string }): string {
  const what = c.name ?? c.path ?? c.index ?? c.field
  return `${c.kind} ${c.change}${what === undefined ? '' : ` ${String(what)}`}`
}

/**
 * One page of a path's history as table rows, newest first (pages as in
 * `pathHistory`): each entry with its arguments, an output summary and what
 * changed against the entry before it (one more entry is read to compare the
 * last row of the page). DDS_PATH_NOT_FOUND when the path has no history.
 *
 * @example
 * const page = await historyTable(store, '/models/clf', { limit: 20 })
 * page.items[0]?.changes // ['declaration changed src/train.ts#train']
 */
export async function historyTable (store: Store, path: string, options: HistoryOptions & PageOptions = {}): Promise<Page<HistoryTableRow> & { path: string }> {
  const page = await pathHistory(store, path, options)
  const last = page.items[page.items.length - 1]
  let older: string | null = null
  if (page.next !== null && last !== undefined) {
    // The entry just past the page, so that the page's last row has something to compare with.
    const extra = await pathHistory(store, path, { ...options, offset: 0, limit: 1, cursor: String(last.seq) })
    older = extra.items[0]?.evaluation ?? null
  }
  const sides = new Sides(store)
  const items: HistoryTableRow[] = []
  for (const [i, row] of page.items.entries()) {
    const before = i + 1 < page.items.length ? (page.items[i + 1] as HistoryTableRow).evaluation : (page.next === null ? undefined : older)
    const args: string[] = []
    let changes: string[] | null = null
    if (row.evaluation !== null) {
      const side = await sides.get(row.evaluation)
      if (side !== undefined) {
        for (const cid of side.record.inputs) args.push(await inputDisplay(store, cid, ARG_WIDTH) ?? 'kept value')
        if (before === row.evaluation) changes = []
        else if (before !== undefined && before !== null) {
          const old = await sides.get(before)
          if (old !== undefined) changes = (await compareSides(store, old, side)).changes.map((c) => changeText(changeView(c)))
        }
      }
    }
    items.push({ ...row, args, summary: row.output === null ? null : await outputSummary(store, parseCID(row.output)), changes })
  }
  return { ...page, items }
}

const MAX_DEPTH = 3

/** The numeric fields of a value (the value itself as `value`), dotted names for nested plain objects. */
function numbers (v: unknown, prefix = '', depth = 0, out = new Map<string, number>()): Map<string, number> {
  if (typeof v === 'number' && Number.isFinite(v)) out.set(prefix === '' ? 'value' : prefix, v)
  else if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) out.set(prefix === '' ? 'value' : prefix, Number(v))
  else if (v instanceof Map && depth < MAX_DEPTH) {
    for (const [k, x] of v) if (typeof k === 'string') numbers(x, prefix === '' ? k : `${prefix}.${k}`, depth + 1, out)
  } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v) && depth < MAX_DEPTH && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v)) numbers(x, prefix === '' ? k : `${prefix}.${k}`, depth + 1, out)
  }
  return out
}

/**
 * The numbers in a path's outputs over its newest `limit` entries (default
 * 1,000), oldest first: a numeric output as the field `value`, objects by
 * their numeric fields (`accuracy`, `scores.f1`). Deleted entries and large
 * or binary outputs are skipped. DDS_PATH_NOT_FOUND when the path has no history.
 *
 * @example
 * const m = await metricsOf(store, '/models/clf')
 * m.fields.accuracy // [0.81, 0.86, 0.91]
 */
export async function metricsOf (store: Store, path: string, options: HistoryOptions & { limit?: number } = {}): Promise<MetricsView> {
  validatePath(path)
  const limit = options.limit ?? 1000
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) throw new RangeError('limit must be an integer from 1 to 10000')
  const entries: PathEntry[] = []
  for await (const e of namespaceOf(store, options).history(path, { limit })) entries.push(e)
  if (entries.length === 0) await pathHistory(store, path, { ...options, limit: 1 }) // throws DDS_PATH_NOT_FOUND
  entries.reverse()
  const points: Array<{ seq: number, time: number, values: Map<string, number> }> = []
  const names = new Set<string>()
  const seen = new Map<string, Map<string, number>>()
  for (const e of entries) {
    if (e.output === null) continue
    const key = e.output.toString()
    let values = seen.get(key)
    if (values === undefined) {
      let small: { value: unknown } | undefined
      try {
        small = await smallValue(store, e.output)
      } catch (err) {
        if (!isDdsError(err)) throw err
        options.onProblem?.(`${path}@${e.seq}`, err)
      }
      values = small === undefined ? new Map() : numbers(small.value)
      seen.set(key, values)
    }
    if (values.size === 0) continue
    for (const k of values.keys()) names.add(k)
    points.push({ seq: e.seq, time: e.time, values })
  }
  const fields: MetricsView['fields'] = {}
  for (const name of [...names].sort()) fields[name] = points.map((p) => p.values.get(name) ?? null)
  return { path, seq: points.map((p) => p.seq), time: points.map((p) => new Date(p.time).toISOString()), fields }
}
