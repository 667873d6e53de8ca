/**
 * Vocabulary of parallel execution: what the run engine hands to an executor
 * (a pool of worker threads, a job queue across machines) for one call that
 * missed, and the options of a map over inputs.
 */
import type { CID } from 'multiformats/cid'
import type { FunctionInfo } from '../../store/records.js'

/** Where a kept function runs when it misses: a pool of worker threads, or a job queue across machines. */
export type RunOn = 'threads' | 'queue'

/** One call that missed, as the engine hands it to an executor. */
export interface ExecCall {
  /** The path the call is kept at. */
  path: string
  fn: Function
  args: unknown[]
  /** The code signature digest of `fn` in this process: a worker must compute the same, or refuse. */
  code: Uint8Array
  /** The memo key (code and inputs): identical calls have the same key. */
  key: Uint8Array
  /** Where the signature engine found `fn`. */
  fnInfo: FunctionInfo
  /** The stored identity an argument was hashed by (a value returned by keep or load), if any. */
  identityOf: (value: unknown) => CID | undefined
}

/**
 * Runs a call elsewhere. A `value` executor returns the function's result and
 * the engine stores it as any other keep; a `stored` executor has the call
 * computed and stored in the shared store by someone else, and the engine then
 * finds it there as a cache hit.
 */
export interface Executor {
  readonly kind: 'value' | 'stored'
  run: (call: ExecCall) => Promise<unknown>
  close: () => Promise<void>
}

/** Options of `keepEach`. */
export interface EachOptions<T> {
  /**
   * The name of an input's child path under the map's path (default: its index,
   * `0`, `1`, ...). A key that follows the input keeps its result at the same
   * path when inputs are added, removed or reordered.
   */
  key?: (input: T, index: number) => string | number
  /** Most inputs in flight at once (default: `os.availableParallelism()`). */
  concurrency?: number
  /** Run each call that misses on the thread pool or the job queue instead of the event loop. */
  runOn?: RunOn
}
