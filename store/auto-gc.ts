/**
 * The store's retention budget applied by itself (`open({ budget })`,
 * `DDS_BUDGET`): after a run commits, a gc under the budget runs in the
 * background, so the run's result is not delayed; at most one at a time per
 * store instance and at most one per interval, and what it did or why it
 * failed goes to the caller's listener, never thrown or printed.
 */
import { gc, type GcReport } from './gc.js'
import type { Store } from './store.js'

/** What an automatic collection reports. */
export type BudgetEvent =
  | { type: 'gc', report: GcReport }
  | { type: 'gc-failed', error: unknown }

/** Least time between two automatic collections of one store instance (ms). */
export const AUTO_GC_INTERVAL_MS = 60_000

const state = new WeakMap<Store, { running: boolean, last: number }>()

/**
 * Start a gc under `store.budget` in the background unless one runs or ran
 * less than `intervalMs` ago. The store's close waits for it.
 *
 * @example
 * await store.commit(updates)
 * afterCommit(store, (e) => { if (e.type === 'gc-failed') console.warn(e.error) })
 */
export function afterCommit (store: Store, report: (event: BudgetEvent) => void, intervalMs = AUTO_GC_INTERVAL_MS): void {
  const budget = store.budget
  if (budget === undefined || store.closed || store.backend.readOnly !== undefined) return
  const s = state.get(store) ?? { running: false, last: -Infinity }
  state.set(store, s)
  const now = Date.now()
  if (s.running || now - s.last < intervalMs) return
  s.running = true
  s.last = now
  store.track((async () => {
    // Off the critical path: the commit has returned before this starts.
    await new Promise<void>((resolve) => { setImmediate(resolve) })
    try {
      report({ type: 'gc', report: await gc(store, { budget }) })
    } catch (err) {
      report({ type: 'gc-failed', error: err })
    } finally {
      s.running = false
    }
  })())
}
