/**
 * What the next run will recompute, told without running it (`dds plan`).
 *
 * @example
 * import { plan, planSummary } from './plan/index.js'
 * const p = await plan(store)
 * console.log(planSummary(p)) // '1 will re-run (~1.4 ms), 1 may re-run, 4 up to date'
 */
export { plan } from './plan.js'
export { planSummary, reasonText, STATUS_WORDS } from './text.js'
export type * from './interface.js'
