/** The events of the store's automatic retention (store/auto-gc.ts) as the programming model reports them. */
import { isDdsError } from '../store/errors.js'
import type { BudgetEvent } from '../store/auto-gc.js'
import type { DdsEvent } from './interface.js'

/** A `gc` event for a finished collection, a `warning` for a failed one (the run it followed has succeeded). */
export function budgetEvent (e: BudgetEvent): DdsEvent {
  if (e.type === 'gc') return { type: 'gc', freed: e.report.bytes + e.report.fileBytes, history: e.report.history, met: e.report.budget?.met ?? true }
  const err = e.error
  const why = isDdsError(err) ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err)
  return { type: 'warning', message: `the store's retention budget could not be applied (${why}); nothing was lost` }
}
