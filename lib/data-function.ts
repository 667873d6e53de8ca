/**
 * Data functions: zero-argument functions that are `keep(path, fn)`, and the
 * registry that lets a data function passed as a value be hashed by its path
 * and the code of the function it wraps.
 */
import { DdsError, ErrorCodes } from '../store/errors.js'
import { validatePath } from '../store/paths.js'
import type { Kept } from './interface.js'

const dataFunctions = new WeakMap<Function, { path: string, fn: Function }>()

/** The path and wrapped function of a data function, if `fn` is one. */
export function dataFunctionOf (fn: Function): { path: string, fn: Function } | undefined {
  return dataFunctions.get(fn)
}

/** Make a zero-argument data function for `path` that calls `keep` through `keeper`. */
export function makeDataFunction<F extends () => unknown> (path: string, fn: F, keeper: (path: string, fn: F) => Promise<Kept<F>>): () => Promise<Kept<F>> {
  validatePath(path)
  if (typeof fn !== 'function') throw new TypeError(`dataFunction(${JSON.stringify(path)}): the second argument must be a function`)
  const wrapper = (...args: unknown[]): Promise<Kept<F>> => {
    if (args.length > 0) {
      throw new DdsError(ErrorCodes.ARG_IN_DATA_FUNCTION,
        `the data function for ${path} takes no arguments (got ${args.length}); use keep(path, fn, ...args) for functions with arguments`,
        { data: { path, arguments: args.length } })
    }
    return keeper(path, fn)
  }
  Object.defineProperty(wrapper, 'name', { value: fn.name === '' ? 'dataFunction' : fn.name })
  dataFunctions.set(wrapper, { path, fn })
  return wrapper
}
