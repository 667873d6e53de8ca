/**
 * The vocabulary of the code-signature engine: its public options and
 * results, and what the static analysis hands to the value reader and the
 * engine (value needs, handles, loaded files).
 */
import type { CodeManifest, FunctionInfo } from '../../store/records.js'
import type { ModuleIndex } from './module-index.js'
import type { ProjectResolver } from './resolve.js'

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
  /**
   * Where analyses are kept between processes (a store's meta space): a
   * fresh process then re-analyses only what changed. Neither call may throw.
   */
  analyses?: AnalysisStore
}

/** A synchronous key-value place for persisted analyses; a value not there is `undefined`. */
export interface AnalysisStore {
  get: (key: Uint8Array) => Uint8Array | undefined
  /** Keep a record; writing may finish later, and may fail (then the record is only missing). */
  put: (key: Uint8Array, value: Uint8Array) => void
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

/** A way to read a binding's value at run time. */
export type ValueSite =
  /** A variable of an enclosing function, read from the entry function's scope chain; `depth` skips shadowed namesakes. */
  | { kind: 'closure', name: string, depth: number }
  /**
   * A top-level variable of a module, read from the scope chain of a function
   * defined in it. `member`: a static member of the class it holds, or `*`
   * for all its own enumerable static members (what static blocks write).
   */
  | { kind: 'module', file: string, name: string, member?: string }
  /** An import binding of a module (a live binding to the export), optionally a property of a namespace; `member` as for `module`. */
  | { kind: 'import', file: string, local: string, prop: string | undefined, spec: string, imported: string, member?: string }

/** A binding whose value is part of the signature. */
export interface ValueNeed {
  /** `src/config.ts#N` or `closure:factor`. */
  label: string
  /** Cannot be re-bound once initialised (`const`, or never assigned): its value object is fixed. */
  immutable: boolean
  /**
   * Reached only through the initialisers of other bindings whose values are
   * hashed (`const data = load(); const N = data.length`): its value is
   * covered by theirs, and such bindings are often not readable at run time.
   */
  optional: boolean
  sites: ValueSite[]
}

/** How to get hold of a function defined in some file: an import binding of another file holding it. */
export interface HandleSite {
  file: string
  local: string
  prop: string | undefined
  /** The import's specifier and imported name, for code compiled to CommonJS where `local` no longer exists. */
  spec: string
  imported: string
  /**
   * The binding is a function or class declared in the file, so its value is
   * a handle as it is; otherwise (a computed value) functions found in it must
   * be checked to be defined in the file.
   */
  direct?: boolean
}

/** The static part of a signature, computed once per function location. */
export interface StaticAnalysis {
  entry: string
  info: FunctionInfo
  entryFile: string
  declarations: Map<string, Uint8Array>
  packages: Map<string, string>
  values: ValueNeed[]
  handles: Map<string, HandleSite[]>
  unavailable: Set<string>
  warnings: string[]
}

/** A file as the analysis sees it. */
export type LoadedFile =
  /**
   * `note`: something worth a warning; `stale`: the code that runs may differ
   * from this source (edited after it was compiled), so it is reported as
   * unavailable, which also keeps the signature apart from the real one.
   */
  | { kind: 'code', index: ModuleIndex, note?: string, stale?: string }
  | { kind: 'data', hash: Uint8Array }
  | { kind: 'error', message: string }

/** What the analysis needs from the engine. */
export interface GraphHost {
  load: (file: string) => LoadedFile
  resolver: ProjectResolver
  /** An explicit project root for keys, if configured. */
  root: string | undefined
  /** The project's source files loaded in this process (the modules that can write to others' bindings). */
  loaded?: () => Iterable<string>
}

/** The static part of a signature, shared by every call for one function location. */
export interface StaticPart {
  entry: string
  info: FunctionInfo
  declarations: Map<string, Uint8Array>
  packages: Map<string, string>
  needs: ValueNeed[]
  /** For code without a file: free names looked up in the function's own scopes. */
  scopeNames: string[]
  unavailable: Set<string>
  warnings: string[]
  analysis: StaticAnalysis | undefined
  /** The digest of the manifest of this part alone (see manifest.ts), when a persisted record holds it. */
  bare?: Uint8Array
}
