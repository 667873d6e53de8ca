/**
 * The executors of one instance, started on first use: a thread pool for
 * `runOn: 'threads'`, a job queue for `runOn: 'queue'`. Which one a call uses
 * is the call's `runOn`, else its function's annotation, else none (the call
 * runs on the event loop).
 */
import { annotationsOf } from '../annotations.js'
import { DdsError, ErrorCodes } from '../../store/errors.js'
import type { Executor, RunOn } from './interface.js'

/** Options of the executors (from `open`/`configure`). */
export interface ParallelOptions {
  /** Size of the thread pool (default: `os.availableParallelism()`). */
  threads?: number
  /** The job queue's Redis URL (default: `$DDS_QUEUE`). */
  queue?: string
}

async function start (where: RunOn, options: ParallelOptions): Promise<Executor> {
  if (where === 'threads') {
    const { threadExecutor } = await import('./threads.js')
    return threadExecutor(options.threads)
  }
  const url = options.queue ?? process.env.DDS_QUEUE
  if (url === undefined || url === '') {
    throw new DdsError(ErrorCodes.QUEUE_FAILED, "runOn: 'queue' needs a queue: open({ queue: 'redis://host:6379' }) or $DDS_QUEUE")
  }
  const { queueExecutor } = await import('./queue.js')
  return await queueExecutor(url)
}

/**
 * The executors of one instance.
 *
 * @example
 * const executors = new Executors({ threads: 4 })
 * const via = await executors.for(fn, 'threads')
 * await executors.close()
 */
export class Executors {
  readonly #options: ParallelOptions
  readonly #started = new Map<RunOn, Promise<Executor>>()

  constructor (options: ParallelOptions) {
    if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1)) {
      throw new RangeError(`threads must be a positive integer, got ${String(options.threads)}`)
    }
    this.#options = options
  }

  /** The executor for calls of `fn` that miss, or undefined for the event loop. */
  /** True when `fn` runs elsewhere (by `runOn` or its annotation): only then is `for` needed. */
  elsewhere (fn: Function, runOn: RunOn | undefined): boolean {
    return (runOn ?? annotationsOf(fn)?.runOn) !== undefined
  }

  async for (fn: Function, runOn: RunOn | undefined): Promise<Executor | undefined> {
    const where = runOn ?? annotationsOf(fn)?.runOn
    if (where === undefined) return undefined
    let e = this.#started.get(where)
    if (e === undefined) {
      e = start(where, this.#options)
      this.#started.set(where, e)
      // A queue that could not be reached is tried again by the next call.
      e.catch(() => { if (this.#started.get(where) === e) this.#started.delete(where) })
    }
    return await e
  }

  /** Stop every executor started. */
  async close (): Promise<void> {
    const all = [...this.#started.values()]
    this.#started.clear()
    await Promise.allSettled(all.map(async (e) => { await (await e).close() }))
  }
}
