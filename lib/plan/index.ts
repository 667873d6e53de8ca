/**
 * What the next run will recompute, told without running it (`dds plan`).
 *
 * @example
 * import { plan } from './plan/index.js'
 * const p = await plan(store)
 * console.log(p.counts['will-run'], 'will re-run, about', p.estimate, 'ms')
 */
export { plan } from './plan.js'
export type * from './interface.js'
