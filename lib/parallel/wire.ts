/**
 * Errors and buffers across a thread or process boundary: an error thrown by a
 * kept function on a worker arrives as an error with the same name, message,
 * code and data (a DdsError as a DdsError), and the buffers of a result are
 * moved (transferred), not copied.
 */
import { DdsError, ErrorCodes, type ErrorCode } from '../../store/errors.js'

/** An error as plain data. */
export interface WireError {
  name: string
  message: string
  stack?: string
  code?: unknown
  data?: Record<string, unknown>
}

const CODES = new Set<string>(Object.values(ErrorCodes))

/** An error (or anything thrown) as plain data that structured clone and JSON both keep. */
export function toWire (err: unknown): WireError {
  if (err instanceof Error) {
    const out: WireError = { name: err.name, message: err.message }
    if (err.stack !== undefined) out.stack = err.stack
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string' || typeof code === 'number') out.code = code
    if (err instanceof DdsError) out.data = err.data
    return out
  }
  return { name: 'Error', message: `a non-error was thrown: ${String(err)}` }
}

/** The error a wire form stands for: a DdsError for a DDS code, else an Error with the same name, code and stack. */
export function fromWire (w: WireError): Error {
  if (typeof w.code === 'string' && CODES.has(w.code)) {
    const e = new DdsError(w.code as ErrorCode, w.message, { data: w.data ?? {} })
    if (w.stack !== undefined) e.stack = w.stack
    return e
  }
  const e = new Error(w.message)
  e.name = w.name
  if (w.stack !== undefined) e.stack = w.stack
  if (w.code !== undefined) Object.assign(e, { code: w.code })
  return e
}

/**
 * The ArrayBuffers a value can give away: those of typed arrays, DataViews and
 * ArrayBuffers in it (nested in arrays, plain objects and maps), each only when
 * the view spans the whole buffer (a view into a shared pool, such as a small
 * Buffer, must not detach the pool). SharedArrayBuffers are shared, never moved.
 */
export function transferables (value: unknown, out = new Set<ArrayBuffer>(), depth = 0): ArrayBuffer[] {
  if (depth > 64 || value === null || typeof value !== 'object') return [...out]
  if (value instanceof ArrayBuffer) {
    out.add(value)
  } else if (ArrayBuffer.isView(value)) {
    const b = value.buffer
    if (b instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === b.byteLength) out.add(b)
  } else if (Array.isArray(value)) {
    for (const v of value) transferables(v, out, depth + 1)
  } else if (value instanceof Map) {
    for (const v of value.values()) transferables(v, out, depth + 1)
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) transferables(v, out, depth + 1)
  }
  return [...out]
}
