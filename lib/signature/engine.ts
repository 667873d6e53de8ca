/**
 * The signature engine: locates a function, analyses the code it reaches,
 * reads the run-time values that code depends on, and folds everything into a
 * manifest and its digest.
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
import { readFileSync, statSync } from 'node:fs'
import { extname } from 'node:path'
import { DdsError, ErrorCodes } from '../../store/errors.js'
import { encodeNode } from '../../store/records.js'
import type { CodeManifest, FunctionInfo } from '../../store/records.js'
import { canonicalText, localRenamer, sha256 } from './canonical.js'
import { analyzeFunction } from './graph.js'
import type { GraphHost, LoadedFile, StaticAnalysis, ValueNeed } from './graph.js'
import { InspectorBridge } from './inspector.js'
import type { FunctionDetails, Location } from './inspector.js'
import type { CodeSignature, EngineOptions, SignatureOptions } from './interface.js'
import { allFunctions, callSiteFrames, functionAt, LineIndex } from './locate.js'
import type { Located } from './locate.js'
import { buildModuleIndex, dataHash } from './module-index.js'
import type { ModuleIndex } from './module-index.js'
import { parseFunctionText, parserAvailable } from './parse.js'
import type { AstNode } from './parse.js'
import { inNodeModules, NODE_MAJOR, ProjectResolver, relativeKey } from './resolve.js'
import { analyzeScopes } from './scope.js'
import { fileOfUrl, SourceMaps, sourceExists } from './sourcemap.js'
import { normalizeText } from './text.js'
import { ValueReader } from './values.js'
import type { ReadPlan } from './values.js'

/** The signature algorithm version, folded into every manifest. */
export const ALGORITHM = 'dds-sig/1'

/** When this process started, in ms since the epoch (as file mtimes). */
const PROCESS_START = performance.timeOrigin

const CODE_EXTENSIONS = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'])

/** Markers bundlers leave in their output. */
const BUNDLE_MARKERS = /__webpack_require__|__commonJS\(|__esm\(|\/\/ node_modules\/|System\.register\(|parcelRequire|__toESM\(/

/**
 * Whether generated code looks minified or bundled: analysing it would hash
 * mangled names and whole bundles, so it is reported instead.
 */
function looksMinifiedOrBundled (text: string): boolean {
  if (BUNDLE_MARKERS.test(text)) return true
  const lines = text.split('\n')
  let longest = 0
  for (const l of lines) if (l.length > longest) longest = l.length
  return longest > 5000 || (text.length > 2000 && text.length / lines.length > 250)
}

/** The static part of a signature, shared by every call for one function location. */
interface StaticPart {
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
}

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

interface FileEntry {
  mtimeMs: number
  size: number
  epoch: number
  /** The file as read from disk. */
  loaded: LoadedFile
  /** What the analysis uses, after comparison with the loaded code. */
  result: LoadedFile
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
  private readonly files = new Map<string, FileEntry>()
  private readonly byContent = new Map<string, LoadedFile>()
  private readonly byLocation = new Map<string, StaticPart>()
  private readonly fns = new WeakMap<Function, FnEntry>()
  private readonly active = new Set<Function>()
  private readonly bound = new WeakMap<Function, BoundParts>()
  private readonly functionFiles = new WeakMap<Function, string | undefined>()
  private epoch = 0
  private groups = 0
  private loaded: { epoch: number, map: Map<string, { generated: string | undefined, content: string | undefined }> } | undefined
  private readonly host: GraphHost

  constructor (options: EngineOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('engine options must be an object')
    if (options.root !== undefined && typeof options.root !== 'string') throw new TypeError('options.root must be a string')
    this.root = options.root
    this.useInspector = options.inspector !== false
    this.host = { load: (file) => this.load(file), resolver: this.resolver, root: this.root }
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

  private load (file: string): LoadedFile {
    const cached = this.files.get(file)
    if (cached !== undefined && cached.epoch === this.epoch) return cached.result
    let st
    try {
      st = statSync(file)
    } catch (err) {
      return { kind: 'error', message: `cannot read: ${(err as Error).message}` }
    }
    let disk: LoadedFile
    if (cached !== undefined && cached.mtimeMs === st.mtimeMs && cached.size === st.size) {
      disk = cached.loaded
    } else {
      let bytes: Buffer
      try {
        bytes = readFileSync(file)
      } catch (err) {
        return { kind: 'error', message: `cannot read: ${(err as Error).message}` }
      }
      disk = this.fromContent(file, bytes)
    }
    const result = this.againstLoaded(file, st.mtimeMs, disk)
    this.files.set(file, { mtimeMs: st.mtimeMs, size: st.size, epoch: this.epoch, loaded: disk, result })
    return result
  }

  private fromContent (file: string, bytes: Uint8Array): LoadedFile {
    const contentKey = `${file}\0${Buffer.from(sha256(bytes)).toString('hex')}`
    let loaded = this.byContent.get(contentKey)
    if (loaded === undefined) {
      if (!CODE_EXTENSIONS.has(extname(file).toLowerCase())) {
        loaded = { kind: 'data', hash: dataHash(bytes) }
      } else if (!parserAvailable()) {
        loaded = { kind: 'error', message: 'no parser available' }
      } else {
        loaded = { kind: 'code', index: buildModuleIndex(file, Buffer.from(bytes).toString('utf8')) }
      }
      this.byContent.set(contentKey, loaded)
    }
    return loaded
  }

  /**
   * Check a source file against the code that was loaded from it, so that a
   * signature never describes a newer file than the code that runs. A source
   * map that embeds the source tells exactly what was compiled: when the file
   * has changed since, the embedded version is analysed. Otherwise a file
   * modified after this process started, or a source newer than the compiled
   * file that runs (tsc without a rebuild), means the running code is not
   * known: the file is reported, which also keeps this signature apart from
   * the signature of the code on disk.
   */
  private againstLoaded (file: string, mtimeMs: number, disk: LoadedFile): LoadedFile {
    if (disk.kind !== 'code') return disk
    const info = this.loadedSources().get(file)
    if (info === undefined) return disk
    if (info.content !== undefined) {
      if (info.content === disk.index.text) return disk
      const loaded = this.fromContent(file, Buffer.from(info.content, 'utf8'))
      if (loaded.kind !== 'code') return disk
      return { ...loaded, note: 'changed on disk since it was loaded; the loaded version is analysed' }
    }
    if (mtimeMs > PROCESS_START) return { ...disk, stale: 'was modified after this process started: the code that runs may differ' }
    if (info.generated !== undefined) {
      try {
        const generated = statSync(info.generated).mtimeMs
        if (mtimeMs > generated + 1) return { ...disk, stale: `is newer than the compiled ${this.displayKey(info.generated)} that runs: rebuild` }
        if (generated > PROCESS_START) return { ...disk, stale: `was recompiled into ${this.displayKey(info.generated)} after this process started: the code that runs may differ` }
      } catch {
        // The compiled file is gone: nothing to compare with.
      }
    }
    return disk
  }

  /** The user's loaded scripts by original source: the compiled file that runs, and the source text embedded in its map. */
  private loadedSources (): Map<string, { generated: string | undefined, content: string | undefined }> {
    if (this.loaded !== undefined && this.loaded.epoch === this.epoch) return this.loaded.map
    const map = new Map<string, { generated: string | undefined, content: string | undefined }>()
    const bridge = this.bridge()
    for (const script of bridge?.knownScripts() ?? []) {
      const generated = fileOfUrl(script.url)
      if (generated === undefined || inNodeModules(generated) || this.resolver.selfPackage(generated) !== undefined) continue
      const mapping = this.maps.forScript(script.url, script.sourceMapURL)
      if (mapping.sources.length === 0) {
        map.set(generated, { generated: undefined, content: undefined })
        continue
      }
      for (const source of mapping.sources) {
        map.set(source, { generated: source === generated ? undefined : generated, content: mapping.content(source) })
      }
    }
    this.loaded = { epoch: this.epoch, map }
    return map
  }

  private cycle (fn: Function): CodeSignature {
    const manifest: CodeManifest = { algorithm: ALGORITHM, entry: `cycle:${fn.name}`, declarations: {}, values: {}, packages: {}, unavailable: [] }
    return { digest: sha256(encodeNode(manifest)), manifest, fn: { name: fn.name }, warnings: [`${fn.name || 'a function'} refers to itself through its own values; the inner reference is hashed by name`] }
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
        part = this.staticFromLocation(fn, bridge, details.location, options, optionsKey)
      } else {
        part = this.staticWithoutInspector(fn, options, optionsKey)
      }
      const values: CachedValue[] = []
      const firstValues: unknown[] = []
      const unreadable: string[] = []
      if (options.pin === undefined) {
        if (bridge !== undefined && details !== undefined) {
          const analysis = part.analysis
          const reader = new ValueReader(bridge, group, fn, details, analysis?.entryFile ?? '', analysis?.handles ?? new Map(), (f) => this.fileOfFunction(bridge, f, group))
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
    return { digest: sha256(encodeNode(manifest)), manifest, fn: part.info, warnings: pinned ? [] : warnings }
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
    return { digest: sha256(encodeNode(manifest)), manifest, fn: { ...inner.fn, name: fn.name }, warnings }
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

  // ---- locating and static analysis -----------------------------------

  private staticFromLocation (fn: Function, bridge: InspectorBridge, location: Location | undefined, options: SignatureOptions, optionsKey: string): StaticPart {
    if (location === undefined) return this.nativePart(fn)
    const cacheKey = `${location.scriptId}:${location.line}:${location.column}\0${optionsKey}`
    const hit = this.byLocation.get(cacheKey)
    if (hit !== undefined) return hit
    this.epoch++
    const script = bridge.script(location.scriptId)
    const part = this.staticForScript(fn, script?.url ?? '', script?.sourceMapURL ?? '', location, options)
    this.byLocation.set(cacheKey, part)
    return part
  }

  /** The source file a function is defined in (through its source map), for checking handles. */
  private fileOfFunction (bridge: InspectorBridge, fn: Function, group: string): string | undefined {
    if (this.functionFiles.has(fn)) return this.functionFiles.get(fn)
    const file = this.locateFile(bridge, fn, group)
    this.functionFiles.set(fn, file)
    return file
  }

  private locateFile (bridge: InspectorBridge, fn: Function, group: string): string | undefined {
    const location = bridge.details(fn, group).location
    if (location === undefined) return undefined
    const script = bridge.script(location.scriptId)
    const generated = script === undefined ? undefined : fileOfUrl(script.url)
    if (script === undefined || generated === undefined) return undefined
    const mapping = this.maps.forScript(script.url, script.sourceMapURL)
    if (mapping.sources.length === 0) return generated
    return mapping.original(location.line, location.column)?.file ?? generated
  }

  private nativePart (fn: Function): StaticPart {
    return this.emptyPart(`native:${fn.name}`, { name: fn.name }, [`${fn.name || 'a function'} is native code: only its name is part of the signature`])
  }

  private emptyPart (entry: string, info: FunctionInfo, warnings: string[] = []): StaticPart {
    return { entry, info, declarations: new Map(), packages: new Map(), needs: [], scopeNames: [], unavailable: new Set(), warnings, analysis: undefined }
  }

  private staticForScript (fn: Function, url: string, sourceMapURL: string, location: Location, options: SignatureOptions): StaticPart {
    if (url.startsWith('node:')) {
      const mod = `node:${url.slice(5).replace(/^internal\//, '').split('/')[0] ?? ''}`
      const part = this.emptyPart(`${mod}#${fn.name}`, { name: fn.name })
      part.packages.set(mod, NODE_MAJOR)
      return part
    }
    const generated = fileOfUrl(url)
    if (generated === undefined) return this.textPart(fn, undefined, [])
    const own = this.resolver.selfPackage(generated)
    if (own !== undefined || inNodeModules(generated)) {
      const id = own ?? this.resolver.packageOfFile(generated)
      const part = this.emptyPart(`${id?.name ?? 'unknown-package'}#${fn.name}`, { name: fn.name })
      if (id !== undefined) part.packages.set(id.name, id.version)
      return part
    }
    const mapping = this.maps.forScript(url, sourceMapURL)
    let file = generated
    let line = location.line
    let column = location.column
    const warnings: string[] = []
    if (mapping.sources.length > 0) {
      const pos = mapping.original(location.line, location.column)
      if (pos !== undefined && sourceExists(pos.file)) {
        file = pos.file
        line = pos.line
        column = pos.column
      } else if (pos !== undefined) {
        warnings.push(`original source ${pos.file} not found; analysing the generated code ${generated}`)
      } else {
        warnings.push(`the source map of ${generated} does not cover the function; analysing the generated code`)
      }
    }
    return this.analyzeAt(fn, file, (index) => new LineIndex(index.text).offset(line, column), options, warnings, file === generated && mapping.sources.length === 0)
  }

  /** Analyse the function found at an offset of a file, or fall back to its text. */
  private analyzeAt (fn: Function, file: string, offsetOf: (index: ModuleIndex) => number, options: SignatureOptions, warnings: string[], unmapped: boolean): StaticPart {
    const loaded = this.load(file)
    if (loaded.kind !== 'code') {
      return this.textPart(fn, undefined, [...warnings, `${file} cannot be analysed (${loaded.kind === 'error' ? loaded.message : 'not code'}); the function's own text is hashed`])
    }
    const index = loaded.index
    const key = this.displayKey(file)
    const notes = [...warnings]
    if (loaded.note !== undefined) notes.push(`${key} ${loaded.note}`)
    if (loaded.stale !== undefined) notes.push(`${key} ${loaded.stale}`)
    const lost = loaded.stale === undefined ? [] : [key]
    if (unmapped && /\.[cm]?jsx?$/i.test(file) && looksMinifiedOrBundled(index.text)) {
      return this.textPart(fn, undefined, [...notes, `${key} looks minified or bundled and has no usable source map: only the function's own text and closure values are hashed`], [key])
    }
    if (index.errors.length > 0) {
      return this.textPart(fn, undefined, [...notes, `${key} does not parse: ${index.errors[0] ?? ''}`], [key])
    }
    const located = functionAt(index.program, offsetOf(index))
    if (located === undefined) {
      return this.textPart(fn, undefined, [...notes, `no function found at the location of ${fn.name || 'the function'} in ${key}`], [key, ...lost])
    }
    const part = this.fromAnalysis(index, located, options, fn, notes)
    for (const k of lost) part.unavailable.add(k)
    return part
  }

  private fromAnalysis (index: ModuleIndex, located: Located, options: SignatureOptions, fn: Function, warnings: string[]): StaticPart {
    let analysis: StaticAnalysis
    try {
      analysis = analyzeFunction(this.host, index, located, new Set(options.ignore ?? []), fn.name)
    } catch (err) {
      // Code the analysis does not understand must not break the caller's
      // run: hash the function's own text and say what was lost.
      const key = this.displayKey(index.file)
      return this.textPart(fn, undefined, [...warnings, `analysis of ${key} failed (${(err as Error).message}); only the function's own text is hashed`], [key])
    }
    return {
      entry: analysis.entry,
      info: analysis.info,
      declarations: analysis.declarations,
      packages: analysis.packages,
      needs: analysis.values,
      scopeNames: [],
      unavailable: analysis.unavailable,
      warnings: [...warnings, ...analysis.warnings],
      analysis
    }
  }

  private displayKey (file: string): string {
    const root = this.root ?? this.resolver.projectRoot(file)?.dir
    return root === undefined ? file : relativeKey(root, file)
  }

  /**
   * A signature from the function's own text: for code without a file (eval,
   * `new Function`, the REPL) and for code that cannot be analysed. Free names
   * are looked up in the function's scopes at run time.
   */
  private textPart (fn: Function, info: FunctionInfo | undefined, warnings: string[], unavailable: string[] = []): StaticPart {
    const text = Function.prototype.toString.call(fn)
    if (text.includes('[native code]')) return this.nativePart(fn)
    const parsed = parseFunctionText(text)
    let canon: string
    const names: string[] = []
    const notes = [...warnings]
    const missing = [...unavailable]
    if (parsed !== undefined) {
      const scopes = analyzeScopes(parsed.program)
      canon = canonicalText(parsed.node, localRenamer(scopes, parsed.node.start, parsed.node.end))
      const seen = new Set<string>()
      for (const r of scopes.refs) {
        if (r.id.start < parsed.node.start || r.id.start >= parsed.node.end) continue
        if (r.binding === undefined && !seen.has(r.name)) { seen.add(r.name); names.push(r.name) }
      }
    } else {
      canon = normalizeText(text)
      if (!parserAvailable()) {
        notes.push('no parser is available (native addons refused?): only the function\'s own text is hashed, not the code it reaches')
        missing.push('static-analysis')
      } else {
        notes.push(`the text of ${fn.name || 'the function'} could not be parsed; it is hashed as normalised text`)
      }
    }
    const entry = `text:${fn.name}`
    const part = this.emptyPart(entry, info ?? { name: fn.name }, notes)
    part.declarations.set(entry, sha256(canon))
    part.scopeNames = names.sort()
    for (const u of missing) part.unavailable.add(u)
    return part
  }

  // ---- without the inspector ------------------------------------------

  private staticWithoutInspector (fn: Function, options: SignatureOptions, optionsKey: string): StaticPart {
    const note = 'the inspector is unavailable: the function was located by call site and name, and run-time values (closure variables, computed constants) are not part of the signature'
    if (!parserAvailable()) return this.textPart(fn, undefined, [note])
    this.epoch++
    const frames = callSiteFrames((file) => this.resolver.selfPackage(file) !== undefined)
    const candidates: string[] = []
    for (const frame of frames) {
      const mapping = this.maps.forFile(frame.file)
      let files = [frame.file]
      if (mapping.sources.length > 0) {
        const pos = mapping.original(frame.line, frame.column)
        files = pos !== undefined ? [pos.file, ...mapping.sources] : mapping.sources
      }
      for (const f of files) if (!candidates.includes(f) && sourceExists(f)) candidates.push(f)
    }
    const name = fn.name.replace(/^bound /, '')
    const found = this.findByName(candidates, name) ?? this.findByText(fn, candidates)
    if (found !== undefined) {
      const cacheKey = `nofile:${found.index.file}:${found.located.node.start}\0${optionsKey}`
      const hit = this.byLocation.get(cacheKey)
      if (hit !== undefined) return hit
      const part = this.fromAnalysis(found.index, found.located, options, fn, [note])
      this.byLocation.set(cacheKey, part)
      return part
    }
    return this.textPart(fn, undefined, [note, `${fn.name || 'the function'} was not found near its call site; only its own text is hashed`])
  }

  private findByName (files: string[], name: string): { index: ModuleIndex, located: Located } | undefined {
    if (name === '' || name === 'anonymous') return undefined
    for (const file of files) {
      const loaded = this.load(file)
      if (loaded.kind !== 'code' || loaded.index.errors.length > 0) continue
      const index = loaded.index
      const b = index.scopes.program.vars.get(name)
      if (b === undefined) continue
      let node: AstNode | undefined
      if (b.kind === 'function' || b.kind === 'class') node = b.decl
      else if (b.decl.type === 'VariableDeclarator' && b.decl.init !== null && b.decl.init !== undefined) node = b.decl.init
      else if (index.imports.has(b)) {
        const imp = index.imports.get(b)!
        const r = this.resolver.resolve(file, imp.spec, imp.kind)
        if (r.kind === 'file') {
          const inner = this.findByName([r.path], imp.imported === 'default' ? name : imp.imported)
          if (inner !== undefined) return inner
        }
      }
      if (node === undefined) continue
      const located = functionAt(index.program, node.start + 1)
      if (located !== undefined && located.node === node) return { index, located }
      if (located !== undefined) {
        const within = allFunctions(index.program).find((l) => l.node === node)
        if (within !== undefined) return { index, located: within }
      }
    }
    return undefined
  }

  private findByText (fn: Function, files: string[]): { index: ModuleIndex, located: Located } | undefined {
    const parsed = parseFunctionText(Function.prototype.toString.call(fn))
    if (parsed === undefined) return undefined
    const scopes = analyzeScopes(parsed.program)
    const target = shapeOf(parsed.node, localRenamer(scopes, parsed.node.start, parsed.node.end))
    for (const file of files) {
      const loaded = this.load(file)
      if (loaded.kind !== 'code' || loaded.index.errors.length > 0) continue
      const index = loaded.index
      for (const located of allFunctions(index.program)) {
        const n = located.node
        if (shapeOf(n, localRenamer(index.scopes, n.start, n.end)) === target) return { index, located }
      }
    }
    return undefined
  }
}

/** Canonical text of a function's parameters and body, comparable between a declaration and its `toString()`. */
function shapeOf (node: AstNode, rename: (id: AstNode) => string | undefined): string {
  if (node.type === 'ClassDeclaration' || node.type === 'ClassExpression') return canonicalText({ type: 'Class', start: 0, end: 0, superClass: node.superClass, body: node.body }, rename)
  return canonicalText({ type: 'Function', start: 0, end: 0, async: node.async, generator: node.generator, params: node.params, body: node.body }, rename)
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
