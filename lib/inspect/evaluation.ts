/**
 * One evaluation described in full: the function and its source, its code
 * manifest, its inputs (with their stored values or the path whose kept value
 * was passed), the paths it loaded, the nested keeps it called, its output.
 */
import type { CID } from 'multiformats/cid'
import { isDdsError } from '../../store/errors.js'
import type { Store } from '../../store/store.js'
import type { EvaluationRecord } from '../../store/records.js'
import type { EvaluationView, InputView, SourceOptions } from './interface.js'
import { hex } from '../../store/util.js'
import { fileView, fnJson, iso, ms, plain, showCanonical } from './json.js'
import { namespaceOf } from './source.js'
import { tableView } from './arrow-table.js'
import { evaluationOf, inputValue, parseTarget, type Target } from './target.js'

/** The paths whose current value is each artifact (to name kept values passed as arguments). */
async function holders (store: Store, options: SourceOptions): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  // Only names for the arguments: a head that cannot be read names nothing, and the description goes on.
  for await (const e of namespaceOf(store, options).paths({ onDamaged: () => {} })) if (e.output !== null) out.set(e.output.toString(), e.path)
  return out
}

function sortedHex (o: Record<string, Uint8Array>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, hex(v)]))
}

/**
 * A short rendering of an argument's stored canonical form (`"celsius"`,
 * `Map(2) {...}`), cut at `limit` characters; undefined when the argument
 * was not stored (too large) or is a kept value.
 *
 * @example
 * await inputDisplay(store, cid, 80) // '{ unit: "celsius" }'
 */
export async function inputDisplay (store: Store, cid: CID, limit?: number): Promise<string | undefined> {
  const stored = await inputValue(store, cid)
  return stored !== undefined && 'value' in stored ? showCanonical(stored.value, limit) : undefined
}

/** An evaluation record with what its links point to, as data. */
export async function evaluationView (store: Store, evaluation: CID, record: EvaluationRecord, options: SourceOptions = {}): Promise<EvaluationView> {
  const manifest = await store.getManifest(record.code)
  const info = await store.artifactInfo(record.output)
  const inputs: InputView[] = []
  let held: Map<string, string> | undefined
  for (const [index, cid] of record.inputs.entries()) {
    const stored = await inputValue(store, cid)
    let display: string | null = null
    if (stored !== undefined && 'artifact' in stored) {
      held ??= await holders(store, options)
      const path = held.get(cid.toString())
      display = `kept value${path === undefined ? '' : ` of ${path}`}`
    } else if (stored !== undefined) {
      display = showCanonical(stored.value)
    }
    inputs.push({ index, cid: cid.toString(), value: stored !== undefined && 'value' in stored ? plain(stored.value) : null, display })
  }
  const calls: EvaluationView['calls'] = []
  for (const c of record.calls) {
    const child = await store.getEvaluation(c).catch((err: unknown) => { if (isDdsError(err)) return undefined; throw err })
    calls.push({ evaluation: c.toString(), path: child?.path ?? null, function: child === undefined ? null : fnJson(child.fn) })
  }
  return {
    evaluation: evaluation.toString(),
    kind: record.kind,
    path: record.path,
    function: fnJson(record.fn),
    started: iso(record.started),
    duration: ms(record.duration),
    signature: hex(record.signature),
    code: {
      cid: record.code.toString(),
      algorithm: manifest.algorithm,
      entry: manifest.entry,
      pinned: manifest.pinned ?? null,
      declarations: sortedHex(manifest.declarations),
      values: sortedHex(manifest.values),
      packages: Object.fromEntries(Object.entries(manifest.packages).sort(([a], [b]) => (a < b ? -1 : 1))),
      unavailable: manifest.unavailable
    },
    inputs,
    loads: record.loads.map((l) => ({ path: l.path, evaluation: l.evaluation?.toString() ?? null, output: l.output.toString() })),
    files: (record.files ?? []).map(fileView),
    calls,
    output: { cid: record.output.toString(), enc: info.enc, type: info.type ?? null, size: info.size, chunks: info.chunks, table: await tableView(store, record.output, info.enc) }
  }
}

/**
 * Describe the evaluation a target names (`PATH`, `PATH@SEQ` or an
 * evaluation CID): function, source location, code manifest, inputs, loads,
 * calls and an output summary. DDS_PATH_NOT_FOUND / DDS_NOT_FOUND when the
 * target names nothing or no evaluation.
 *
 * @example
 * const e = await describeEvaluation(store, '/data/clean')
 * console.log(e.function.name, Object.keys(e.code.declarations))
 */
export async function describeEvaluation (store: Store, target: string | Target, options: SourceOptions = {}): Promise<EvaluationView> {
  const { evaluation, record } = await evaluationOf(store, typeof target === 'string' ? parseTarget(target) : target, options)
  return await evaluationView(store, evaluation, record, options)
}
