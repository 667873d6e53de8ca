/**
 * How stored things are printed: times, durations, functions, hashes, the
 * canonical forms of arguments; artifact values as (streamed) JSON come from
 * lib/inspect/json-text.ts, which the web view shares.
 */
import type { FunctionView } from '../inspect/interface.js'

export { jsonPieces, looksLikeText } from '../inspect/json-text.js'

/** `name` or `(anonymous)`. */
export function fnName (fn: FunctionView): string {
  return fn.name === '' ? '(anonymous)' : fn.name
}

/** `src/clean.ts:12:3`, or undefined when the function has no file. */
export function fnSource (fn: FunctionView): string | undefined {
  if (fn.file === null) return undefined
  return `${fn.file}${fn.line === null ? '' : `:${fn.line}`}${fn.line === null || fn.column === null ? '' : `:${fn.column}`}`
}

/** Bytes as `12.3 MiB`. */
export function size (n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++ }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u] as string}`
}
