/**
 * Public types of the code-signature engine.
 */
import type { CodeManifest, FunctionInfo } from '../../store/records.js'

/** How a signature is computed for one call. */
export interface SignatureOptions {
  /**
   * Hashes a run-time value (a closure variable, a computed module binding, an
   * explicit dependency) to a 32-byte digest. Supplied by the caller; it throws
   * a `DdsError` with code `DDS_UNHASHABLE` for values it refuses. `label`
   * names the value (`src/config.ts#N`, `closure:factor`, `deps[0]`). It may
   * call back into the engine for function values.
   */
  hashValue: (value: unknown, label: string) => Uint8Array
  /** A hand-pinned version that replaces the analysis of the function's code (recorded in `manifest.pinned`). */
  pin?: string
  /** Extra explicit dependencies, hashed with `hashValue` and recorded as values `deps[0]`, `deps[1]`, ... */
  deps?: unknown[]
  /**
   * Names to leave out of the signature: not followed, not hashed. A plain
   * name (`logger`) matches that free name anywhere in the reached code; a key
   * (`src/db.ts#client`) matches one declaration.
   */
  ignore?: string[]
}

/** The code signature of a function. Treat it as read-only: engines return the same object while nothing changed. */
export interface CodeSignature {
  /** SHA-256 of the dag-cbor encoding of `manifest`. */
  digest: Uint8Array
  /** What the signature is made of. */
  manifest: CodeManifest
  /** Where the function is defined; `file` relative to its project root, 1-based `line` and `column`. */
  fn: FunctionInfo
  /** Things the caller may want to surface: dynamic imports, unreadable values, unanalysable code. */
  warnings: string[]
}

/** Options of a {@link SignatureEngine}. */
export interface EngineOptions {
  /**
   * The project root that declaration keys are relative to. By default keys
   * are relative to the nearest directory with a package.json of the
   * function's file; files under another package.json get that package's name
   * as a prefix (`other-pkg:src/x.ts#f`).
   */
  root?: string
  /**
   * Use the in-process inspector (default `true`). `false` forces the
   * fallback used where the inspector is unavailable: locating by call site and
   * name, with no run-time values.
   */
  inspector?: boolean
}
