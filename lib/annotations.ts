/**
 * Escape hatches attached to values: hand-pinned versions, explicit or ignored
 * dependencies of a function, and user-given identities of arguments. They are
 * properties of the function or object itself, so they hold wherever it is used.
 */
import type { FunctionAnnotations } from './interface.js'
import { ttlMs } from './files/freshness.js'

const annotations = new WeakMap<Function, FunctionAnnotations>()
const identities = new WeakMap<object, string>()

/**
 * Attach escape hatches to a function and return it unchanged.
 *
 * @example
 * const fetchRates = annotate(async () => callApi(), { version: '2024-06' })
 * const score = annotate(scoreRows, { ignore: ['logger'], deps: [MODEL_CONFIG] })
 */
export function annotate<F extends Function> (fn: F, options: FunctionAnnotations): F {
  if (typeof fn !== 'function') throw new TypeError('annotate() takes a function')
  if (options === null || typeof options !== 'object') throw new TypeError('annotate() options must be an object')
  if (options.version !== undefined && typeof options.version !== 'string') throw new TypeError('annotate(): version must be a string')
  if (options.deps !== undefined && !Array.isArray(options.deps)) throw new TypeError('annotate(): deps must be an array')
  if (options.ignore !== undefined && (!Array.isArray(options.ignore) || options.ignore.some((n) => typeof n !== 'string'))) {
    throw new TypeError('annotate(): ignore must be an array of names')
  }
  if (options.ttl !== undefined) {
    if (typeof options.ttl !== 'string' && typeof options.ttl !== 'number') throw new TypeError('annotate(): ttl must be a number of ms or a duration string')
    ttlMs(options.ttl)
  }
  if (options.volatile !== undefined && typeof options.volatile !== 'boolean') throw new TypeError('annotate(): volatile must be a boolean')
  if (options.force !== undefined && typeof options.force !== 'boolean') throw new TypeError('annotate(): force must be a boolean')
  if (options.runOn !== undefined && options.runOn !== 'threads' && options.runOn !== 'queue') {
    throw new TypeError("annotate(): runOn must be 'threads' or 'queue'")
  }
  annotations.set(fn, { ...annotations.get(fn), ...options })
  return fn
}

/** The escape hatches of a function, if any. */
export function annotationsOf (fn: Function): FunctionAnnotations | undefined {
  return annotations.get(fn)
}

/**
 * Give an object (a connection, a client, a class instance) an identity chosen
 * by the user: wherever it is hashed (as an argument or a captured value) the
 * string `id` stands for it. Returns the object unchanged.
 *
 * @example
 * await keep('/report', buildReport, identify(db, 'warehouse-2024'), '2024-06')
 */
export function identify<T extends object> (value: T, id: string): T {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    throw new TypeError('identify() takes an object or a function; primitives are hashed by value')
  }
  if (typeof id !== 'string' || id === '') throw new TypeError('identify(): id must be a non-empty string')
  identities.set(value, id)
  return value
}

/** The user-given identity of an object, if any. */
export function identityGiven (value: object): string | undefined {
  return identities.get(value)
}
