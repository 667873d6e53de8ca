/**
 * The signature engine: the per-function cache, the run-time values the
 * static part (static-part.ts) asks for, and folding everything into a
 * manifest and its digest. Files are read and cached by files.ts.
 *
 * Caching, and why it is correct:
 * - A function object's code, and the code of the modules it was loaded with,
 *   cannot change while the process runs (modules are never reloaded in
 *   place), so the static part of a signature is cached per function object
 *   and per code location (script and position) for the life of the engine.
 *   A module re-imported under a new URL is a new script, analysed afresh.
 * - Files are cached by (mtime, size) and, behind that, by content, and are
 *   re-checked at most once per fresh analysis: a file edited during the run
 *   is seen by the next function analysed, and a revert reuses the index of
 *   the earlier content.
 * - Run-time values are re-read and re-hashed on every call, but only the
 *   bindings the analysis flagged. Bindings that can never be re-bound keep
 *   their value object (its content is re-hashed); the others are read again
 *   through the inspector.
 */
import { DdsError, ErrorCodes } from '../../store/errors.js'
import { encodeManifest } from '../../store/canonical.js'
import type { CodeManifest } from '../../store/records.js'
import { sha256 } from './canonical.js'
import { SourceFiles } from './files.js'
import { InspectorBridge } from './inspector.js'
import { ALGORITHM } from './manifest.js'
import type { FunctionDetails } from './inspector.js'
import type { AnalysisStore, CodeSignature, EngineOptions, SignatureOptions, ValueNeed } from './interface.js'
import type { ModuleIndex } from './module-index.js'
import { ProjectResolver } from './resolve.js'
import { SourceMaps } from './sourcemap.js'
import { StaticParts } from './static-part.js'
import type { StaticPart } from './static-part.js'
import { ValueReader } from './values.js'
import type { ReadPlan } from './values.js'

export { ALGORITHM }

interface CachedValue {
  label: string
  plan: ReadPlan | undefined
  /** Digest of an immutable primitive, valid for `hasher`. */
  fixedDigest: Uint8Array | undefined
}

interface FnEntry {
  optionsKey: string
  part: StaticPart
  values: CachedValue[]
  hasher: SignatureOptions['hashValue']
  valueDigests: Array<Uint8Array | undefined>
  depDigests: Uint8Array[]
  result: CodeSignature
}

interface BoundParts {
  target: Function
  thisArg: unknown
  args: unknown
}

function isPrimitive (v: unknown): boolean {
  return v === null || (typeof v !== 'object' && typeof v !== 'function')
}

function sameBytes (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function checkOptions (options: SignatureOptions): void {
  if (options === null || typeof options !== 'object') throw new TypeError('signature options must be an object')
  if (typeof options.hashValue !== 'function') throw new TypeError('options.hashValue must be a function')
  if (options.pin !== undefined && typeof options.pin !== 'string') throw new TypeError('options.pin must be a string')
  if (options.deps !== undefined && !Array.isArray(options.deps)) throw new TypeError('options.deps must be an array')
  if (options.ignore !== undefined && (!Array.isArray(options.ignore) || options.ignore.some((n) => typeof n !== 'string'))) {
    throw new TypeError('options.ignore must be an array of strings')
  }
}

/**
 * Computes code signatures and holds the per-process caches (file indexes,
 * declaration hashes, scripts, source maps, per-function results).
 *
 * @example
 * const engine = new SignatureEngine()
 * const sig = engine.signature(train, { hashValue })
 * sig.manifest.declarations // { 'src/train.ts#train': ..., 'src/util.ts#scale': ... }
 */
export class SignatureEngine {
  private readonly root: string | undefined
  private readonly useInspector: boolean
  private bridgeState: InspectorBridge | null | undefined
  private readonly maps = new SourceMaps()
  private readonly resolver = new ProjectResolver()
  private readonly parts: StaticParts
  private readonly files: SourceFiles
  private readonly fns = new WeakMap<Function, FnEntry>()
  private readonly active = new Set<Function>()
  private readonly bound = new WeakMap<Function, BoundParts>()
  private groups = 0

  constructor (options: EngineOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('engine options must be an object')
    if (options.root !== undefined && typeof options.root !== 'string') throw new TypeError('options.root must be a string')
    this.root = options.root
    this.useInspector = options.inspector !== false
    this.files = new SourceFiles(this.root, this.resolver, this.maps, () => this.bridge())
    this.parts = new StaticParts(this.files, this.resolver, this.maps, this.root)
  }

  /**
   * The code signature of `fn`.
   *
   * @example
   * const { digest, manifest, warnings } = engine.signature(fn, { hashValue, deps: [schemaVersion] })
   */
  signature (fn: Function, options: SignatureOptions): CodeSignature {
    if (typeof fn !== 'function') throw new TypeError('signature() expects a function')
    checkOptions(options)
    const optionsKey = JSON.stringify([options.pin ?? null, [...(options.ignore ?? [])].sort()])
    const cached = this.fns.get(fn)
    if (cached !== undefined && cached.optionsKey === optionsKey) return this.refresh(cached, options)
    const bound = this.boundParts(fn)
    if (bound !== undefined) return this.boundSignature(fn, bound, options)
    if (this.active.has(fn)) return this.cycle(fn)
    this.active.add(fn)
    try {
      const entry = this.compute(fn, options, optionsKey)
      this.fns.set(fn, entry)
      return entry.result
    } finally {
      this.active.delete(fn)
    }
  }


  /**
   * The static part of a signature for the function a record names, from its
   * source as it is now, without running anything (see
   * `StaticParts.atSource`). `file` is absolute. Undefined when the source
   * holds no analysable function with that entry key. With `analyses`, a
   * persisted analysis whose witnesses hold is used, and a new one is kept.
   *
   * @example
   * const part = new SignatureEngine({ inspector: false }).staticAt('/p/src/a.ts', 3, 1, 'train', 'src/a.ts#train')
   * part?.declarations // Map { 'src/a.ts#train' => ..., 'src/util.ts#scale' => ... }
   */
  staticAt (file: string, line: number, column: number, name: string, entry: string, analyses?: AnalysisStore): StaticPart | undefined {
    return this.parts.atSource(file, line, column, name, entry, analyses)
  }

  /**
   * A source file's index (its AST and scopes) as the analysis reads it now,
   * or undefined when it is not code that parses.
   *
   * @example
   * engine.indexOf('/p/src/config.ts')?.scopes.program.vars.get('RATE')
   */
  indexOf (file: string): ModuleIndex | undefined {
    const loaded = this.files.load(file)
    return loaded.kind === 'code' && loaded.index.errors.length === 0 ? loaded.index : undefined
  }

  // ---- infrastructure -------------------------------------------------

  /** The parts of a bound function, read once through the inspector (they never change). */
  private boundParts (fn: Function): BoundParts | undefined {
    // Only bound functions have no own `prototype` and a name starting with "bound ".
    if (!fn.name.startsWith('bound ')) return undefined
    const hit = this.bound.get(fn)
    if (hit !== undefined) return hit
    const bridge = this.bridge()
    if (bridge === undefined) return undefined
    const group = `dds-sig-${++this.groups}`
    try {
      const b = bridge.details(fn, group).bound
      if (b === undefined) return undefined
      const target = bridge.value(b.target)
      if (typeof target !== 'function') return undefined
      const parts: BoundParts = {
        target,
        thisArg: b.thisArg === undefined ? undefined : bridge.value(b.thisArg),
        args: b.args === undefined ? [] : bridge.value(b.args)
      }
      this.bound.set(fn, parts)
      return parts
    } finally {
      bridge.release(group)
    }
  }

  private bridge (): InspectorBridge | undefined {
    if (!this.useInspector) return undefined
    if (this.bridgeState === undefined) this.bridgeState = InspectorBridge.connect() ?? null
    return this.bridgeState ?? undefined
  }

  private cycle (fn: Function): CodeSignature {
    const manifest: CodeManifest = { algorithm: ALGORITHM, entry: `cycle:${fn.name}`, declarations: {}, values: {}, packages: {}, unavailable: [] }
    return { digest: sha256(encodeManifest(manifest)), manifest, fn: { name: fn.name }, warnings: [`${fn.name || 'a function'} refers to itself through its own values; the inner reference is hashed by name`] }
  }

  // ---- cold path ------------------------------------------------------

  private compute (fn: Function, options: SignatureOptions, optionsKey: string): FnEntry {
    const bridge = this.bridge()
    const group = `dds-sig-${++this.groups}`
    try {
      let part: StaticPart
      let details: FunctionDetails | undefined
      if (bridge !== undefined) {
        details = bridge.details(fn, group)
        part = this.parts.fromLocation(fn, bridge, details.location, options, optionsKey)
      } else {
        part = this.parts.withoutInspector(fn, options, optionsKey)
      }
      const values: CachedValue[] = []
      const firstValues: unknown[] = []
      const unreadable: string[] = []
      if (options.pin === undefined) {
        if (bridge !== undefined && details !== undefined) {
          const analysis = part.analysis
          const reader = new ValueReader(bridge, group, fn, details, analysis?.entryFile ?? '', analysis?.handles ?? new Map(), (f) => this.parts.fileOfFunction(bridge, f, group))
          for (const need of part.needs) {
            const r = reader.read(need)
            if (r === undefined && need.optional) continue
            if (r === undefined) unreadable.push(need.label)
            values.push({ label: need.label, plan: r?.plan, fixedDigest: undefined })
            firstValues.push(r?.value)
          }
          for (const name of part.scopeNames) {
            const need: ValueNeed = { label: `closure:${name}`, immutable: false, optional: true, sites: [{ kind: 'closure', name, depth: 0 }, { kind: 'module', file: '', name }] }
            const r = reader.read(need)
            // Free names not found in any scope are globals.
            if (r === undefined) continue
            values.push({ label: need.label, plan: r.plan, fixedDigest: undefined })
            firstValues.push(r.value)
          }
        } else {
          for (const need of part.needs) {
            if (need.optional) continue
            unreadable.push(need.label)
            values.push({ label: need.label, plan: undefined, fixedDigest: undefined })
            firstValues.push(undefined)
          }
        }
      }
      const entry: FnEntry = {
        optionsKey,
        part,
        values,
        hasher: options.hashValue,
        valueDigests: [],
        depDigests: [],
        result: undefined as unknown as CodeSignature
      }
      const warnings = [...part.warnings]
      if (unreadable.length > 0) warnings.push(`values not readable, left out of the signature: ${unreadable.join(', ')}`)
      const unavailable = new Set(part.unavailable)
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!
        const d = v.plan === undefined ? undefined : this.hashOne(firstValues[i], v.label, options, unavailable, warnings)
        if (d !== undefined && v.plan?.kind === 'fixed' && isPrimitive(firstValues[i])) v.fixedDigest = d
        entry.valueDigests.push(d)
        if (d === undefined) unavailable.add(v.label)
      }
      entry.depDigests = this.hashDeps(options)
      entry.result = this.assemble(entry, options, unavailable, warnings)
      return entry
    } finally {
      bridge?.release(group)
    }
  }

  private hashOne (value: unknown, label: string, options: SignatureOptions, unavailable: Set<string>, warnings: string[]): Uint8Array | undefined {
    try {
      const d = options.hashValue(value, label)
      if (!(d instanceof Uint8Array)) throw new TypeError(`hashValue returned ${typeof d} for ${label}, not a Uint8Array`)
      return d
    } catch (err) {
      if (err instanceof DdsError && err.code === ErrorCodes.UNHASHABLE) {
        unavailable.add(label)
        const msg = `${label} cannot be hashed and is left out of the signature (pass it in deps with a stable identity, or ignore it)`
        if (!warnings.includes(msg)) warnings.push(msg)
        return undefined
      }
      throw err
    }
  }

  private hashDeps (options: SignatureOptions): Uint8Array[] {
    const deps = options.deps ?? []
    return deps.map((d, i) => {
      const digest = options.hashValue(d, `deps[${i}]`)
      if (!(digest instanceof Uint8Array)) throw new TypeError(`hashValue returned ${typeof digest} for deps[${i}], not a Uint8Array`)
      return digest
    })
  }

  private assemble (entry: FnEntry, options: SignatureOptions, unavailable: Set<string>, warnings: string[]): CodeSignature {
    const part = entry.part
    const pinned = options.pin !== undefined
    const declarations: Record<string, Uint8Array> = {}
    const packages: Record<string, string> = {}
    if (!pinned) {
      for (const [k, v] of part.declarations) declarations[k] = v
      for (const [k, v] of part.packages) packages[k] = v
    }
    const values: Record<string, Uint8Array> = {}
    entry.values.forEach((v, i) => {
      const d = entry.valueDigests[i]
      if (d !== undefined) values[v.label] = d
    })
    entry.depDigests.forEach((d, i) => { values[`deps[${i}]`] = d })
    const manifest: CodeManifest = {
      algorithm: ALGORITHM,
      entry: part.entry,
      declarations,
      values,
      packages,
      unavailable: pinned ? [] : [...unavailable].sort()
    }
    if (pinned) manifest.pinned = options.pin
    return { digest: sha256(encodeManifest(manifest)), manifest, fn: part.info, warnings: pinned ? [] : warnings }
  }

  /**
   * A bound function is its target's signature plus the bound `this` and
   * arguments. It is not cached: the target's own entry is, and its values
   * may change between calls.
   */
  private boundSignature (fn: Function, bound: BoundParts, options: SignatureOptions): CodeSignature {
    const inner = this.signature(bound.target, { ...options, deps: undefined })
    const warnings = [...inner.warnings]
    const unavailable = new Set(inner.manifest.unavailable)
    const values: Record<string, Uint8Array> = {}
    for (const [k, v] of Object.entries(inner.manifest.values)) values[`target:${k}`] = v
    const thisDigest = this.hashOne(bound.thisArg, 'bound:this', options, unavailable, warnings)
    if (thisDigest !== undefined) values['bound:this'] = thisDigest
    const argsDigest = this.hashOne(bound.args, 'bound:args', options, unavailable, warnings)
    if (argsDigest !== undefined) values['bound:args'] = argsDigest
    this.hashDeps(options).forEach((d, i) => { values[`deps[${i}]`] = d })
    const manifest: CodeManifest = { ...inner.manifest, entry: `bound:${inner.manifest.entry}`, values, unavailable: [...unavailable].sort() }
    if (options.pin !== undefined) manifest.pinned = options.pin
    return { digest: sha256(encodeManifest(manifest)), manifest, fn: { ...inner.fn, name: fn.name }, warnings }
  }

  // ---- warm path ------------------------------------------------------

  private refresh (entry: FnEntry, options: SignatureOptions): CodeSignature {
    if (entry.values.length === 0 && entry.depDigests.length === 0 && (options.deps === undefined || options.deps.length === 0)) return entry.result
    const sameHasher = entry.hasher === options.hashValue
    const unavailable = new Set(entry.part.unavailable)
    const warnings = [...entry.part.warnings]
    const digests: Array<Uint8Array | undefined> = []
    let bridge: InspectorBridge | undefined
    let group: string | undefined
    try {
      for (const v of entry.values) {
        let d: Uint8Array | undefined
        if (v.plan === undefined) {
          d = undefined
        } else if (v.fixedDigest !== undefined && sameHasher) {
          d = v.fixedDigest
        } else {
          if (v.plan.kind === 'scope' && bridge === undefined) {
            bridge = this.bridge()
            group = `dds-sig-${++this.groups}`
          }
          const r = ValueReader.replay(bridge, group ?? '', v.plan)
          d = r.found ? this.hashOne(r.value, v.label, options, unavailable, warnings) : undefined
        }
        if (d === undefined) unavailable.add(v.label)
        digests.push(d)
      }
    } finally {
      if (bridge !== undefined && group !== undefined) bridge.release(group)
    }
    const deps = this.hashDeps(options)
    let changed = !sameHasher || deps.length !== entry.depDigests.length
    for (let i = 0; !changed && i < digests.length; i++) changed = !sameBytes(digests[i], entry.valueDigests[i])
    for (let i = 0; !changed && i < deps.length; i++) changed = !sameBytes(deps[i], entry.depDigests[i])
    if (!changed) return entry.result
    entry.valueDigests = digests
    entry.depDigests = deps
    entry.hasher = options.hashValue
    const unread = entry.values.filter((v, i) => v.plan !== undefined && digests[i] === undefined && !warnings.some((w) => w.startsWith(v.label)))
    if (unread.length > 0) warnings.push(`values not readable, left out of the signature: ${unread.map((v) => v.label).join(', ')}`)
    entry.result = this.assemble(entry, options, unavailable, warnings)
    return entry.result
  }
}

/** The engine behind {@link codeSignature}, created on first use. */
let defaultEngine: SignatureEngine | undefined

/**
 * The code signature of `fn`, computed by a process-wide default engine.
 *
 * @example
 * const sig = codeSignature(train, { hashValue })
 * Buffer.from(sig.digest).toString('hex')
 */
export function codeSignature (fn: Function, options: SignatureOptions): CodeSignature {
  defaultEngine ??= new SignatureEngine()
  return defaultEngine.signature(fn, options)
}
