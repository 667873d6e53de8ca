/**
 * The static part of a signature, for one function location: locating the
 * function (inspector location through source maps, or call site and name
 * without the inspector), analysing the code it reaches, and the fallbacks
 * that hash a function's own text (no file, no parser, unanalysable code,
 * natives). Computed once per location and shared by every call.
 */
import { basename } from 'node:path'
import type { FunctionInfo } from '../../store/records.js'
import { canonicalText, localRenamer, sha256 } from './canonical.js'
import type { SourceFiles } from './files.js'
import { analyzeFunction } from './graph.js'
import type { InspectorBridge, Location } from './inspector.js'
import type { AnalysisStore, GraphHost, LoadedFile, SignatureOptions, StaticAnalysis, StaticPart } from './interface.js'
import { allFunctions, callSiteFrames, functionAt, LineIndex, nestedPath, nodeName } from './locate.js'
import type { Located } from './locate.js'
import type { ModuleIndex } from './module-index.js'
import { parseFunctionText, parserAvailable } from './parse.js'
import { modulesDigest, modulesKey, partOf, persistedPart, persistKey, persistPart, readModules, sourceKey, witnessesOf, writeModules } from './persisted.js'
import type { DigestMemo, PersistKey, Witnesses } from './persisted.js'
import type { AstNode } from './parse.js'
import { inNodeModules, NODE_MAJOR } from './resolve.js'
import type { ProjectResolver, ResolvedImport } from './resolve.js'
import { analyzeScopes } from './scope.js'
import { fileOfUrl, sourceExists } from './sourcemap.js'
import type { SourceMaps } from './sourcemap.js'
import { normalizeText } from './text.js'

/** What Node calls code given on the command line (`node -e`, `--input-type=module -e`, `-p`) or typed at the REPL. */
const EVAL_SCRIPT = /^(\[eval\d*\]|REPL\d+)$/

/**
 * The note for a function defined in code that has no file (`node -e`,
 * `eval`, `new Function`, the REPL): the documented fallback, not an error.
 */
function withoutFile (fn: Function, url: string): string {
  const name = fn.name === '' || fn.name === 'anonymous' ? 'a function' : fn.name
  const script = basename(fileOfUrl(url) ?? url)
  const where = url === '' ? 'eval or new Function' : script.startsWith('REPL') ? 'the REPL' : `node -e, ${script}`
  return `${name} is defined in code without a source file (${where}): it is hashed by its own text and the run-time values of the names it uses`
}

/** The options key of a signature without pin or ignored names (as the engine computes it). */
const DEFAULT_OPTIONS = JSON.stringify([null, []])

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

export type { StaticPart } from './interface.js'

/**
 * Computes and caches static parts.
 *
 * @example
 * const parts = new StaticParts(files, resolver, maps)
 * const part = parts.fromLocation(fn, bridge, details.location, options, optionsKey)
 */
export class StaticParts {
  private readonly byLocation = new Map<string, StaticPart>()
  private readonly functionFiles = new WeakMap<Function, string | undefined>()
  private readonly host: GraphHost
  /** The loaded modules handed to the analysis running now, if it asked (a persisted analysis depends on them). */
  private loadedAsked: string[] | undefined
  /** The function the analysis running now located (a run's record is also written under its recorded place). */
  private located: Located | undefined
  /** For an analysis from source (a plan): the modules a run had loaded, where writers from outside are looked for. */
  private planModules: string[] | undefined
  /** Files hashed by {@link StaticParts.atSource}, for the life of these parts (one plan). */
  private readonly sourceDigests: DigestMemo = { files: new Map(), dirs: new Map() }

  constructor (private readonly files: SourceFiles, private readonly resolver: ProjectResolver, private readonly maps: SourceMaps, root: string | undefined) {
    this.host = {
      load: (file) => files.load(file),
      resolver,
      root,
      loaded: () => {
        if (this.planModules !== undefined) return this.planModules
        const list = files.loadedFiles()
        this.loadedAsked = list
        return list
      }
    }
  }

  /** The static part of a function located by the inspector. */
  fromLocation (fn: Function, bridge: InspectorBridge, location: Location | undefined, options: SignatureOptions, optionsKey: string): StaticPart {
    if (location === undefined) return this.nativePart(fn)
    const cacheKey = `${location.scriptId}:${location.line}:${location.column}\0${optionsKey}`
    const hit = this.byLocation.get(cacheKey)
    if (hit !== undefined) return hit
    this.files.fresh()
    const script = bridge.script(location.scriptId)
    const part = this.staticForScript(fn, script?.url ?? '', () => script?.sourceMapURL ?? '', location, options, optionsKey)
    this.byLocation.set(cacheKey, part)
    return part
  }

  /**
   * The static part of the function a record names (`file` absolute, 1-based
   * `line` and `column` as in `FunctionInfo`), read from the source as it is
   * now, without loading or running it: for telling ahead what a run would
   * hash (`dds plan`). Edits above the function move it, so when the place
   * no longer holds a function with the recorded `entry` key, the file's
   * functions of that name or path are tried. Undefined when the file cannot
   * be analysed or holds no such function.
   */
  atSource (file: string, line: number, column: number, name: string, entry: string, store?: AnalysisStore): StaticPart | undefined {
    this.files.fresh()
    if (store === undefined) return this.sourcePart(file, line, column, name, entry)
    // Writers from outside are looked for in the modules the last run had loaded (a plan loads none).
    const version = this.resolver.libraryVersion()
    const modules = readModules(store, modulesKey(file, name, entry, this.host.root, version))
    const key = sourceKey(file, line, column, name, entry, this.host.root, version, undefined, modulesDigest(modules))
    if (key === undefined) return this.sourcePart(file, line, column, name, entry)
    // A record (written by a run, or by an earlier plan) whose witnesses all hold: nothing is parsed.
    const kept = persistedPart(store, key, this.files, this.sourceDigests)
    if (kept !== undefined) return kept
    this.planModules = modules ?? []
    try {
      return this.analyzeAndPersist(store, key, () => this.sourcePart(file, line, column, name, entry))
    } finally {
      this.planModules = undefined
    }
  }

  private sourcePart (file: string, line: number, column: number, name: string, entry: string): StaticPart | undefined {
    const loaded = this.files.load(file)
    if (loaded.kind !== 'code' || loaded.index.errors.length > 0) return undefined
    const index = loaded.index
    const analyse = (located: Located): StaticPart | undefined => {
      try {
        const analysis = analyzeFunction(this.host, index, located, new Set(), name)
        return partOf(analysis, analysis.warnings)
      } catch {
        return undefined
      }
    }
    const at = functionAt(index.program, new LineIndex(index.text).offset(line - 1, column - 1))
    const first = at === undefined ? undefined : analyse(at)
    if (first?.entry === entry) return first
    const tail = entry.slice(entry.lastIndexOf('#') + 1)
    for (const located of allFunctions(index.program)) {
      if (located === at || (nodeName(located) !== name && nestedPath(located.ancestors, located.node) !== tail)) continue
      const part = analyse(located)
      if (part?.entry === entry) return part
    }
    return undefined
  }

  /** The source file a function is defined in (through its source map), for checking handles. */
  fileOfFunction (bridge: InspectorBridge, fn: Function, group: string): string | undefined {
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

  /** A native function: only its name. */
  nativePart (fn: Function): StaticPart {
    return this.emptyPart(`native:${fn.name}`, { name: fn.name }, [`${fn.name || 'a function'} is native code: only its name is part of the signature`])
  }

  private emptyPart (entry: string, info: FunctionInfo, warnings: string[] = []): StaticPart {
    return { entry, info, declarations: new Map(), packages: new Map(), needs: [], scopeNames: [], unavailable: new Set(), warnings, analysis: undefined }
  }

  /** `sourceMapURL` is asked for only when the map is used: a package's or a file-less script's is never needed. */
  private staticForScript (fn: Function, url: string, sourceMapURL: () => string, location: Location, options: SignatureOptions, optionsKey: string): StaticPart {
    if (url.startsWith('node:')) {
      const mod = `node:${url.slice(5).replace(/^internal\//, '').split('/')[0] ?? ''}`
      const part = this.emptyPart(`${mod}#${fn.name}`, { name: fn.name })
      part.packages.set(mod, NODE_MAJOR)
      return part
    }
    const generated = fileOfUrl(url)
    if (generated === undefined || (EVAL_SCRIPT.test(basename(generated)) && !sourceExists(generated))) {
      return this.textPart(fn, undefined, [withoutFile(fn, url)])
    }
    const own = this.resolver.selfPackage(generated)
    if (own !== undefined || inNodeModules(generated)) {
      const id = own ?? this.resolver.packageOfFile(generated)
      const part = this.emptyPart(`${id?.name ?? 'unknown-package'}#${fn.name}`, { name: fn.name })
      if (id !== undefined) part.packages.set(id.name, id.version)
      return part
    }
    const mapping = this.maps.forScript(url, sourceMapURL())
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
    const analyze = (): StaticPart => this.analyzeAt(fn, file, (index) => new LineIndex(index.text).offset(line, column), options, warnings, file === generated && mapping.sources.length === 0)
    const store = options.analyses
    const key = store === undefined || warnings.length > 0 ? undefined : persistKey(file, line, column, optionsKey, this.host.root, this.resolver.libraryVersion())
    if (store === undefined || key === undefined) return analyze()
    const kept = persistedPart(store, key, this.files)
    if (kept !== undefined) return kept
    return this.analyzeAndPersist(store, key, analyze, optionsKey)
  }

  /** Analyse while recording what the analysis reads, and persist the result when it is pinned down. */
  private analyzeAndPersist<P extends StaticPart | undefined> (store: AnalysisStore, key: PersistKey, analyze: () => P, optionsKey?: string): P {
    this.files.track()
    this.resolver.track()
    this.loadedAsked = undefined
    this.located = undefined
    let part: P
    let seen: Map<string, LoadedFile>
    let asked: ResolvedImport[]
    try {
      part = analyze()
    } finally {
      seen = this.files.untrack()
      asked = this.resolver.untrack()
    }
    if (part?.analysis !== undefined && seen.has(key.file)) {
      const w = witnessesOf(this.files, this.resolver, seen, asked, this.loadedAsked)
      if (w !== undefined) {
        persistPart(store, key, part, w)
        if (optionsKey !== undefined) this.persistAtSource(store, part, seen, w, optionsKey)
      }
    }
    return part
  }

  /**
   * A run's analysis written again under the key `dds plan` looks up (the
   * function's recorded place and entry), when a plan would analyse exactly
   * this: no pin or ignored names (a plan analyses without them), and the
   * recorded place finds this very function. The modules writers from
   * outside were looked for in are recorded with it: a plan, which loads no
   * module, looks in those.
   */
  private persistAtSource (store: AnalysisStore, part: StaticPart, seen: Map<string, LoadedFile>, w: Witnesses, optionsKey: string): void {
    const a = part.analysis
    const located = this.located
    const info = part.info
    if (a === undefined || located === undefined || optionsKey !== DEFAULT_OPTIONS || info.line === undefined || info.column === undefined) return
    const loaded = seen.get(a.entryFile)
    if (loaded?.kind !== 'code') return
    const index = loaded.index
    if (functionAt(index.program, new LineIndex(index.text).offset(info.line - 1, info.column - 1))?.node !== located.node) return
    const version = this.resolver.libraryVersion()
    const modules = this.loadedAsked ?? []
    writeModules(store, modulesKey(a.entryFile, info.name, part.entry, this.host.root, version), modules)
    const key = sourceKey(a.entryFile, info.line, info.column, info.name, part.entry, this.host.root, version, Buffer.from(index.text, 'utf8'), modulesDigest(modules))
    // The plan that finds this record looks for writers in the same modules, so it holds whatever that plan's process loaded.
    if (key !== undefined) persistPart(store, key, part, { ...w, loaded: null })
  }

  /** Analyse the function found at an offset of a file, or fall back to its text. */
  private analyzeAt (fn: Function, file: string, offsetOf: (index: ModuleIndex) => number, options: SignatureOptions, warnings: string[], unmapped: boolean): StaticPart {
    const loaded = this.files.load(file)
    if (loaded.kind !== 'code') {
      return this.textPart(fn, undefined, [...warnings, `${file} cannot be analysed (${loaded.kind === 'error' ? loaded.message : 'not code'}); the function's own text is hashed`])
    }
    const index = loaded.index
    const key = this.files.displayKey(file)
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
    this.located = located
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
      const key = this.files.displayKey(index.file)
      return this.textPart(fn, undefined, [...warnings, `analysis of ${key} failed (${(err as Error).message}); only the function's own text is hashed`], [key])
    }
    return partOf(analysis, [...warnings, ...analysis.warnings])
  }

  /**
   * A signature from the function's own text: for code without a file (eval,
   * `new Function`, the REPL) and for code that cannot be analysed. Free names
   * are looked up in the function's scopes at run time.
   */
  textPart (fn: Function, info: FunctionInfo | undefined, warnings: string[], unavailable: string[] = []): StaticPart {
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

  /** The static part of a function located by call site and name, where the inspector is unavailable. */
  withoutInspector (fn: Function, options: SignatureOptions, optionsKey: string): StaticPart {
    const note = 'the inspector is unavailable: the function was located by call site and name, and run-time values (closure variables, computed constants) are not part of the signature'
    if (!parserAvailable()) return this.textPart(fn, undefined, [note])
    this.files.fresh()
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
      const loaded = this.files.load(file)
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
      const loaded = this.files.load(file)
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
