/**
 * A plan in words, for people: one reason as a few words (naming what
 * `dds why` would name) and the summary line (`2 will re-run (~2.1 s), 1 may
 * re-run, 3 up to date`), shared by the command and the web view.
 */
import { took } from '../graph.js'
import type { Plan, PlanReason, PlanStatus } from './interface.js'

/** The statuses in the order they are shown, each with its words. */
export const STATUS_WORDS: ReadonlyArray<[PlanStatus, string]> = [
  ['will-run', 'will re-run'],
  ['revert-hit', 'revert hit'],
  ['may-run', 'may re-run'],
  ['unknown', 'unknown'],
  ['up-to-date', 'up to date']
]

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v))

/**
 * One reason as a few words.
 *
 * @example
 * reasonText({ kind: 'upstream', change: 'may-change', path: '/weather/model' }) // 'upstream /weather/model'
 */
export function reasonText (r: PlanReason): string {
  switch (r.kind) {
    case 'declaration': case 'value': case 'unavailable': return `${r.kind} ${r.change} ${str(r.name)}`
    case 'package': return r.change === 'changed' ? `package ${str(r.name)} ${str(r.old)} -> ${str(r.new)}` : `package ${r.change} ${str(r.name)}`
    case 'argument': return `argument ${str(r.index)} ${r.change}`
    case 'file': case 'load': return `${r.kind} ${r.change} ${str(r.path)}`
    case 'algorithm': return `signature algorithm ${str(r.old)} -> ${str(r.new)}`
    case 'forced': return `forced (${str(r.glob)})`
    case 'invalidated': return 'invalidated'
    case 'no-answer': return 'no stored answer'
    case 'upstream': return `upstream ${str(r.path)}`
    case 'runtime-value': return `value ${str(r.name)} (known at run time)`
    case 'pinned': return `pinned version ${str(r.version)} (read at run time)`
    case 'signature': return 'signature not reproduced from the source here'
    case 'function': return `function ${str(r.name)} not found in ${str(r.file) || 'its source'}`
    default: return `${r.kind} ${r.change}`
  }
}

/**
 * The summary line: the count of each status present, with the recorded
 * durations of what will re-run summed.
 *
 * @example
 * planSummary(p) // '1 will re-run (~1.4 ms), 1 may re-run, 4 up to date'
 */
export function planSummary (p: Plan): string {
  const parts = STATUS_WORDS.filter(([s]) => p.counts[s] > 0).map(([s, w]) => `${p.counts[s]} ${w}${s === 'will-run' ? ` (~${took(p.estimate) || '0 ms'})` : ''}`)
  return parts.length === 0 ? 'no paths' : parts.join(', ')
}
