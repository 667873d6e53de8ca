/**
 * keepEach: one kept function over many inputs, each kept at its own child
 * path, with bounded concurrency and progress events. The calls are ordinary
 * keeps of one run, so what did not change is a cache hit and the run commits
 * every child path together.
 */
import { availableParallelism } from 'node:os'
import { DdsError, ErrorCodes } from '../../store/errors.js'
import { validatePath } from '../../store/paths.js'
import type { DdsEvent } from '../interface.js'
import type { EachOptions, RunOn } from './interface.js'

/** What a map needs from the engine: one keep (optionally elsewhere) and the event sink. */
export interface EachHost {
  keepOne: (path: string, fn: Function, input: unknown, runOn: RunOn | undefined) => Promise<{ value: unknown, hit: boolean }>
  emit: (event: DdsEvent) => void
}

/** Child paths of a map: `path/name` per input, checked before anything runs. */
export function childPaths<T> (path: string, inputs: readonly T[], key: EachOptions<T>['key']): string[] {
  validatePath(path)
  return inputs.map((input, i) => {
    const name = key === undefined ? String(i) : key(input, i)
    if (typeof name !== 'string' && typeof name !== 'number') {
      throw new TypeError(`keepEach(${JSON.stringify(path)}): key() must return a string or a number, got ${typeof name} for input ${i}`)
    }
    const child = `${path === '/' ? '' : path}/${String(name)}`
    try {
      validatePath(child)
    } catch (err) {
      throw new DdsError(ErrorCodes.PATH_INVALID, `keepEach(${JSON.stringify(path)}): input ${i} names an invalid child path ${JSON.stringify(child)}`, { cause: err, data: { path: child, index: i } })
    }
    if (child.split('/').length !== path.split('/').length + (path === '/' ? 0 : 1)) {
      // A key with a slash would put one input under another's directory.
      throw new DdsError(ErrorCodes.PATH_INVALID, `keepEach(${JSON.stringify(path)}): the key of input ${i} must be one path segment, got ${JSON.stringify(String(name))}`, { data: { path: child, index: i } })
    }
    return child
  })
}

function concurrencyOf (value: number | undefined): number {
  if (value === undefined) return availableParallelism()
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`keepEach(): concurrency must be a positive integer, got ${String(value)}`)
  return value
}

/**
 * Keep `fn(input)` for every input at its child path, at most `concurrency`
 * at a time, and return the results in input order. After the first failure
 * no new input starts; the ones in flight finish (their results stay stored,
 * so a re-run resumes) and the first error is thrown.
 */
export async function keepEachIn<T> (host: EachHost, path: string, fn: Function, inputs: Iterable<T>, options: EachOptions<T> = {}): Promise<unknown[]> {
  if (typeof fn !== 'function') throw new TypeError(`keepEach(${JSON.stringify(path)}): the second argument must be a function, got ${typeof fn}`)
  if (inputs === null || typeof (inputs as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== 'function') {
    throw new TypeError(`keepEach(${JSON.stringify(path)}): inputs must be iterable`)
  }
  if (options.runOn !== undefined && options.runOn !== 'threads' && options.runOn !== 'queue') {
    throw new TypeError(`keepEach(): runOn must be 'threads' or 'queue', got ${String(options.runOn)}`)
  }
  const list = [...inputs]
  const paths = childPaths(path, list, options.key)
  const limit = concurrencyOf(options.concurrency)
  const results = new Array<unknown>(list.length)
  let next = 0
  let done = 0
  let hits = 0
  let failure: { error: unknown } | undefined
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < list.length) {
      const i = next++
      try {
        const r = await host.keepOne(paths[i] as string, fn, list[i], options.runOn)
        results[i] = r.value
        if (r.hit) hits++
      } catch (error) {
        failure ??= { error }
        return
      }
      done++
      host.emit({ type: 'progress', path, done, total: list.length, hits })
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, list.length) }, lane))
  if (failure !== undefined) throw failure.error
  return results
}
