/**
 * Data functions: zero-argument functions that are `keep(path, fn)`. The
 * registry here lets the run engine hash a data function passed as a value by
 * its path and code, and name an anonymous one after its path in records (so
 * `dds log`, `show` and the graph do not say `(anonymous)`).
 */
import { DdsError, ErrorCodes } from '../store/errors.js'
import { validatePath } from '../store/paths.js'
import type { Kept } from './interface.js'

const wrappers = new WeakMap<Function, { path: string, fn: Function }>()
const paths = new WeakMap<Function, string>()

/**
 * Make a zero-argument data function for `path` that calls `keep` through `keeper`.
 * Called with arguments it rejects (DDS_ARG_IN_DATA_FUNCTION), as every promise-returning API does.
 *
 * @example
 * const weather = makeDataFunction('/weather/raw', readWeather, (p, f) => dds.keep(p, f))
 */
export function makeDataFunction<F extends () => unknown> (path: string, fn: F, keeper: (path: string, fn: F) => Promise<Kept<F>>): () => Promise<Kept<F>> {
  validatePath(path)
  if (typeof fn !== 'function') throw new TypeError(`dataFunction(${JSON.stringify(path)}): the second argument must be a function`)
  const wrapper = async (...args: unknown[]): Promise<Kept<F>> => {
    if (args.length > 0) {
      throw new DdsError(ErrorCodes.ARG_IN_DATA_FUNCTION,
        `the data function for ${path} takes no arguments (got ${args.length}); use keep(path, fn, ...args) for functions with arguments`,
        { data: { path, arguments: args.length } })
    }
    return await keeper(path, fn)
  }
  Object.defineProperty(wrapper, 'name', { value: fn.name === '' ? 'dataFunction' : fn.name })
  wrappers.set(wrapper, { path, fn })
  if (!paths.has(fn)) paths.set(fn, path)
  return wrapper
}

/** The path and inner function of a data function, or undefined for any other function. */
export function dataFunctionOf (fn: Function): { path: string, fn: Function } | undefined {
  return wrappers.get(fn)
}

/** The name a function has in records: its own, else the path of the data function it is the body of. */
export function recordName (fn: Function, name: string): string {
  return name !== '' ? name : paths.get(fn) ?? name
}
