/**
 * The module-level API: `keep`, `evaluate`, `load`, `dataFunction` on a default
 * store that is opened on first use (`$DDS_STORE`, else `.dds` in the working
 * directory) and changed with `configure`. Importing the package opens nothing.
 */
import { open, type DdsInstance } from './dds.js'
import { makeDataFunction } from './data-function.js'
import type { AnyFunction, DdsOptions, Kept, LoadOptions } from './interface.js'
import type { EachOptions } from './parallel/interface.js'

let options: DdsOptions = {}
let current: Promise<DdsInstance> | undefined
let closing: Promise<void> = Promise.resolve()

async function instance (): Promise<DdsInstance> {
  if (current === undefined) {
    const opts = options
    current = closing.then(async () => await open(opts))
    current.catch(() => { current = undefined })
  }
  return await current
}

/**
 * Choose the default store (and other options) for the module-level functions.
 * A store opened before is closed.
 *
 * @example
 * configure({ store: '/data/dds-store' })
 */
export function configure (next: DdsOptions = {}): void {
  if (next === null || typeof next !== 'object') throw new TypeError('configure() takes an options object')
  options = { ...next }
  const previous = current
  current = undefined
  if (previous !== undefined) {
    closing = previous.then(async (d) => { await d.close() }, () => {})
  }
}

/**
 * `fn(...args)` (awaited), stored at `path` in the default store; runs `fn`
 * only when its code (transitively) or its inputs changed.
 *
 * @example
 * const rows = await keep('/data/rows', readCsv, 'data/weather.csv')
 */
export async function keep<F extends AnyFunction> (path: string, fn: F, ...args: Parameters<F>): Promise<Kept<F>> {
  return await (await instance()).keep(path, fn, ...args)
}

/**
 * `fn(input)` kept for every input at its own child path (`path/0`, `path/1`,
 * ..., or `path/key(input)`) in the default store, at most `concurrency` at a
 * time (default: the number of cores); the results in input order.
 *
 * @example
 * const tiles = await keepEach('/tiles', renderTile, bounds, { key: (b) => b.id, runOn: 'threads' })
 */
export async function keepEach<F extends (input: any) => unknown> (path: string, fn: F, inputs: Iterable<Parameters<F>[0]>, options?: EachOptions<Parameters<F>[0]>): Promise<Array<Kept<F>>> {
  return await (await instance()).keepEach(path, fn, inputs, options)
}

/**
 * Run `fn(...args)` with caching for every keep inside it; their path updates
 * are committed together when it returns.
 *
 * @example
 * await evaluate(pipeline)
 */
export async function evaluate<F extends AnyFunction> (fn: F, ...args: Parameters<F>): Promise<Kept<F>> {
  return await (await instance()).evaluate(fn, ...args)
}

/**
 * The value at `path` in the default store, or at a tag (`'/models/clf@v1'`,
 * or `{ tag: 'v1' }`). Throws DDS_PATH_NOT_FOUND when it holds none, DDS_TAG_NOT_FOUND.
 *
 * @example
 * const model = await load('/models/clf')
 * const released = await load('/models/clf', { tag: 'v1' })
 */
export async function load<T = unknown> (path: string, options?: LoadOptions): Promise<T> {
  return await (await instance()).load<T>(path, options)
}

/**
 * A zero-argument function that is `keep(path, fn)` on the default store.
 *
 * @example
 * export const weather = dataFunction('/weather/raw', () => readWeather('data/weather.csv'))
 * const rows = await weather()
 */
export function dataFunction<F extends () => unknown> (path: string, fn: F): () => Promise<Kept<F>> {
  return makeDataFunction(path, fn, async (p, f) => await keep(p, f as AnyFunction) as Kept<F>)
}

/** Close the default store (it reopens on next use). */
export async function closeDefault (): Promise<void> {
  const previous = current
  current = undefined
  if (previous !== undefined) await (await previous).close()
  await closing
}
