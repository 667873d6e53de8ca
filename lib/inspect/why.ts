/**
 * Why a path re-ran, as data: the two evaluations compared and every
 * difference `why` names, or, for a path with a single evaluation, that it
 * was computed for the first time and what it ran with.
 */
import type { CID } from 'multiformats/cid'
import { parseCID } from '../../store/hash.js'
import type { Store } from '../../store/store.js'
import { compareSides, whySides, type Change, type EvaluationRef, type Side } from '../why.js'
import { evaluationView } from './evaluation.js'
import type { ChangeView, FirstRunView, SideView, WhyView } from './interface.js'
import { fileView, iso } from './json.js'

/** One side of a comparison as data. */
function sideView (s: Side): SideView {
  return { seq: s.seq ?? null, time: s.time === undefined ? null : iso(s.time), evaluation: s.evaluation.toString(), started: iso(s.record.started) }
}

/** A change with its CIDs (and the loaded references) as strings. */
export function changeView (c: Change): ChangeView {
  if (c.kind === 'file') return { kind: c.kind, change: c.change, path: c.path, ...(c.old === undefined ? {} : { old: fileView(c.old) }), ...(c.new === undefined ? {} : { new: fileView(c.new) }) }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(c)) {
    if (v !== null && typeof v === 'object' && 'output' in v) {
      const l = v as { path: string, evaluation: CID | null, output: CID }
      out[k] = { path: l.path, evaluation: l.evaluation?.toString() ?? null, output: l.output.toString() }
    } else {
      out[k] = v !== null && typeof v === 'object' ? String(v) : v
    }
  }
  return out as ChangeView
}

/** A history sequence number, or an evaluation CID (as a CID or its string). */
export type WhyRef = number | string | CID

function ref (r: WhyRef | undefined): EvaluationRef | undefined {
  if (r === undefined || typeof r === 'number') return r
  return typeof r === 'string' ? parseCID(r) : r
}

/**
 * Compare two evaluations of a path (by default its current one and the
 * latest earlier one that came from another evaluation). A path with a
 * single evaluation gives `{ first: true, new, ran }`: computed for the first
 * time, with what it ran with. DDS_PATH_NOT_FOUND when the path holds no
 * value, DDS_NOT_FOUND for a sequence number not in its history.
 *
 * @example
 * const w = await explain(store, '/data/clean')
 * if ('first' in w) console.log('first run of', w.ran.function.name)
 * else for (const c of w.changes) console.log(c.kind, c.change)
 */
export async function explain (store: Store, path: string, options: { old?: WhyRef, new?: WhyRef } = {}): Promise<WhyView | FirstRunView> {
  const old = ref(options.old)
  const neu = ref(options.new)
  const sides = await whySides(store, path, { ...(old === undefined ? {} : { old }), ...(neu === undefined ? {} : { new: neu }) })
  if (sides.old === undefined) {
    return { path, first: true, new: sideView(sides.new), ran: await evaluationView(store, sides.new.evaluation, sides.new.record) }
  }
  const w = await compareSides(store, sides.old, sides.new)
  return { path, old: sideView(w.old), new: sideView(w.new), sameSignature: w.sameSignature, identical: w.identical, changes: w.changes.map(changeView) }
}
