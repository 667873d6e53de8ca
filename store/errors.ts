/**
 * The one error class of dds-ts. Every failure the library reports on purpose
 * carries a stable `code` (part of the contract, unlike the message), the
 * evidence in `data` (path, CID, argument position) and the underlying `cause`.
 */

/** The stable error codes. Messages may change; codes do not. */
export const ErrorCodes = {
  /** A path is not absolute, has an empty, `.` or `..` segment, a bad character or a trailing slash. */
  PATH_INVALID: 'DDS_PATH_INVALID',
  /** One path would be a directory of another (`/f` and `/f/g`). */
  OVERLAPPING_PATH: 'DDS_OVERLAPPING_PATH',
  /** `load` of a path that holds no value. */
  PATH_NOT_FOUND: 'DDS_PATH_NOT_FOUND',
  /** The same path was kept twice in one run with different signatures. */
  PATH_CONFLICT: 'DDS_PATH_CONFLICT',
  /** A block, evaluation or artifact that must exist is missing. */
  NOT_FOUND: 'DDS_NOT_FOUND',
  /** Bytes do not match their CID, or a stored block is corrupt. */
  INTEGRITY: 'DDS_INTEGRITY',
  /** A returned value cannot be stored (function, socket, class instance without a codec). */
  UNSERIALIZABLE: 'DDS_UNSERIALIZABLE',
  /** An argument or captured value cannot be hashed deterministically. */
  UNHASHABLE: 'DDS_UNHASHABLE',
  /** A value read by a function is over the hashing bound. */
  VALUE_TOO_LARGE: 'DDS_VALUE_TOO_LARGE',
  /** A data function was called with arguments. */
  ARG_IN_DATA_FUNCTION: 'DDS_ARG_IN_DATA_FUNCTION',
  /** A path is kept, directly or indirectly, while computing itself. */
  CIRCULAR_CALL: 'DDS_CIRCULAR_CALL',
  /** The code of a function cannot be analysed (bundled or minified without sources). */
  SIGNATURE_UNAVAILABLE: 'DDS_SIGNATURE_UNAVAILABLE',
  /** The store on disk was written by an incompatible format version. */
  FORMAT_VERSION: 'DDS_FORMAT_VERSION',
  /** The store is closed. */
  STORE_CLOSED: 'DDS_STORE_CLOSED',
  /** The store cannot be opened or reached (lock, permissions, I/O). */
  STORE_UNAVAILABLE: 'DDS_STORE_UNAVAILABLE',
  /** A bundle is truncated, corrupt, incomplete or hostile. */
  BUNDLE_INVALID: 'DDS_BUNDLE_INVALID',
  /** A store that lists trusted keys was given an unsigned bundle, a bad signature or one by a key it does not trust. */
  BUNDLE_UNTRUSTED: 'DDS_BUNDLE_UNTRUSTED',
  /** A value to load is larger than the load limit (a bundle's root may repeat one chunk many times). */
  LOAD_TOO_LARGE: 'DDS_LOAD_TOO_LARGE',
  /** A string is not a valid CID. */
  CID_INVALID: 'DDS_CID_INVALID',
  /** The remote store does not enforce conditional writes. */
  REMOTE_UNSAFE: 'DDS_REMOTE_UNSAFE',
  /** The remote store failed after bounded retries. */
  REMOTE_UNAVAILABLE: 'DDS_REMOTE_UNAVAILABLE',
  /** A function to run on a worker cannot be loaded there: it is not exported from its module (a closure, a local function). */
  NOT_EXPORTED: 'DDS_NOT_EXPORTED',
  /** A worker's code or the call's arguments hash differently from the caller's: the call is refused, not run with other code. */
  CODE_MISMATCH: 'DDS_CODE_MISMATCH',
  /** A worker thread died (exit, out of memory) while running a call; nothing was stored for it. */
  WORKER_CRASHED: 'DDS_WORKER_CRASHED',
  /** A job on the queue failed on every attempt, or the queue cannot be reached. */
  QUEUE_FAILED: 'DDS_QUEUE_FAILED',
  /** An optional package a feature needs is not installed (`data.package` names it). */
  DEPENDENCY_MISSING: 'DDS_DEPENDENCY_MISSING',
  /** A `file()` or `dir()` argument names no file or directory. */
  FILE_NOT_FOUND: 'DDS_FILE_NOT_FOUND',
  /** A tag name is not a letter or _ followed by letters, digits, ., _ or - (`data.tag`). */
  TAG_INVALID: 'DDS_TAG_INVALID',
  /** No tag of that name (on that path) exists (`data.tag`, `data.path`). */
  TAG_NOT_FOUND: 'DDS_TAG_NOT_FOUND',
  /** An artifact was stored by a codec (or codec version) this store was not opened with (`data.codec` names it). */
  CODEC_MISSING: 'DDS_CODEC_MISSING',
  /** `DDS_BUDGET` is not `max-size=SIZE,max-age=AGE` (`data.value`). */
  BUDGET_INVALID: 'DDS_BUDGET_INVALID'
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

export interface DdsErrorOptions {
  cause?: unknown
  data?: Record<string, unknown>
}

/**
 * An error with a stable code.
 *
 * @example
 * try { await dds.load('/missing') } catch (err) {
 *   if (err instanceof DdsError && err.code === 'DDS_PATH_NOT_FOUND') console.log(err.data.path)
 * }
 */
export class DdsError extends Error {
  readonly code: ErrorCode
  readonly data: Record<string, unknown>

  constructor (code: ErrorCode, message: string, options: DdsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'DdsError'
    this.code = code
    this.data = options.data ?? {}
  }

  /** A plain JSON form: name, code, message, data (CIDs as strings) and the cause. */
  toJSON (): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: this.name,
      code: this.code,
      message: this.message,
      data: jsonSafe(this.data)
    }
    if (this.cause !== undefined) out.cause = causeToJSON(this.cause)
    return out
  }
}

/** True when `err` is a DdsError, optionally with the given code. */
export function isDdsError (err: unknown, code?: ErrorCode): err is DdsError {
  return err instanceof DdsError && (code === undefined || err.code === code)
}

function causeToJSON (cause: unknown): unknown {
  if (cause instanceof DdsError) return cause.toJSON()
  if (cause instanceof Error) {
    const out: Record<string, unknown> = { name: cause.name, message: cause.message }
    const code = (cause as { code?: unknown }).code
    if (code !== undefined) out.code = code
    return out
  }
  return jsonSafe(cause)
}

function jsonSafe (value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]'
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value)
  if (typeof value === 'bigint') return value.toString()
  if (value === undefined) return undefined
  if (typeof value !== 'object') return String(value)
  // CIDs and anything else with a meaningful toString print as that string.
  if ((value as { '/': unknown })['/'] !== undefined && typeof (value as object).toString === 'function') {
    return String(value)
  }
  if (Array.isArray(value)) return value.map((v) => jsonSafe(v, depth + 1))
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v, depth + 1)
  return out
}
