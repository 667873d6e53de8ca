/**
 * Reading, at run time, the values of the bindings a static analysis flagged:
 * closure variables from the function's own scope chain, top-level variables
 * of other modules from the scope chain of a function defined there (reached
 * through the import bindings that lead to it), or namespace properties.
 *
 * Each successful read yields a plan that can be replayed cheaply on later
 * calls: bindings that can never be re-bound keep their value object (whose
 * content is re-hashed every time), others are read again.
 */
import type { HandleSite, ValueNeed, ValueSite } from './interface.js'
import type { FunctionDetails, InspectorBridge, RemoteValue, ScopeRef } from './inspector.js'

/** How to read a value again. */
export type ReadPlan =
  | { kind: 'fixed', value: unknown }
  | { kind: 'scope', fn: Function, name: string, depth: number, moduleLevel: boolean }
  | { kind: 'property', object: object, prop: string }
  /** A class's own enumerable static members, as a plain object (what its static blocks wrote). */
  | { kind: 'statics', object: Function }

/** The own enumerable properties of a class (static fields; methods are not enumerable). */
function ownStatics (cls: Function): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(cls)) out[k] = (cls as unknown as Record<string, unknown>)[k]
  return out
}

/** The functions a value is or directly holds (array elements, object properties), a bounded number. */
function functionsIn (value: unknown): Function[] {
  if (typeof value === 'function') return [value]
  if (value === null || typeof value !== 'object') return []
  const items = Array.isArray(value) ? value : Object.values(value)
  const out: Function[] = []
  for (const item of items.slice(0, 256)) if (typeof item === 'function' && !out.includes(item)) out.push(item)
  return out
}

/** Scope kinds that hold a module's top-level bindings (ESM `Module`, the CommonJS wrapper `Closure`). */
function isModuleLevel (kind: string): boolean {
  return kind === 'Module' || kind === 'Closure' || kind === 'Script'
}

/** Scope kinds that hold a function's enclosing variables. */
function isClosureLevel (kind: string): boolean {
  return kind === 'Closure' || kind === 'Block' || kind === 'Catch' || kind === 'Local' || kind === 'With' || kind === 'Eval'
}

interface ScopeVars {
  ref: ScopeRef
  vars: Map<string, RemoteValue> | undefined
}

/**
 * Reads values through the inspector for one signature computation. Remote
 * objects live in `group` until the caller releases it.
 *
 * @example
 * const reader = new ValueReader(bridge, 'g1', fn, details, analysis.entryFile, analysis.handles)
 * const { value, plan } = reader.read(need) ?? {}
 */
export class ValueReader {
  private readonly chains = new Map<Function, ScopeVars[]>()
  private readonly handleCache = new Map<string, Function | null>()
  private readonly resolving = new Set<string>()
  private readonly siteValues = new Map<HandleSite, unknown>()

  constructor (
    private readonly bridge: InspectorBridge,
    private readonly group: string,
    private readonly entryFn: Function,
    entryDetails: FunctionDetails,
    private readonly entryFile: string,
    private readonly handles: Map<string, HandleSite[]>,
    /** The original source file a function is defined in, to check candidate handles. */
    private readonly fileOf: (fn: Function) => string | undefined = () => undefined
  ) {
    this.chains.set(entryFn, entryDetails.scopes.map((ref) => ({ ref, vars: undefined })))
  }

  private chain (fn: Function): ScopeVars[] {
    let c = this.chains.get(fn)
    if (c === undefined) {
      c = this.bridge.details(fn, this.group).scopes.map((ref) => ({ ref, vars: undefined }))
      this.chains.set(fn, c)
    }
    return c
  }

  private lookup (fn: Function, name: string, moduleLevel: boolean, depth: number): { found: boolean, value: unknown } {
    const chain = this.chain(fn)
    const order = moduleLevel ? [...chain].reverse() : chain
    let skip = depth
    for (const s of order) {
      if (moduleLevel ? !isModuleLevel(s.ref.kind) : !isClosureLevel(s.ref.kind)) continue
      s.vars ??= this.bridge.variables(s.ref)
      const ro = s.vars.get(name)
      if (ro === undefined) continue
      if (skip-- > 0) continue
      return { found: true, value: this.bridge.value(ro) }
    }
    return { found: false, value: undefined }
  }

  /** A function object defined in `file`, to read that module's scope through. */
  private handle (file: string): Function | undefined {
    if (file === this.entryFile) return this.entryFn
    const hit = this.handleCache.get(file)
    if (hit !== undefined) return hit ?? undefined
    if (this.resolving.has(file)) return undefined
    this.resolving.add(file)
    let found: Function | undefined
    for (const site of this.handles.get(file) ?? []) {
      const v = this.siteValue(site)
      if (site.direct === true && typeof v === 'function') { found = v; break }
      // A computed value (a function picked at load time, a table of
      // functions) may hold functions of several files: take one defined here.
      found = functionsIn(v).find((f) => this.fileOf(f) === file)
      if (found !== undefined) break
    }
    if (found === undefined) {
      // Imports used only by top-level statements are not kept in the
      // module's scope; a function of this file may still sit in a value
      // read for another file (`jump[0x38] = negint.decodeNegint8`).
      for (const [other, sites] of this.handles) {
        if (other === file || this.resolving.has(other)) continue
        for (const site of sites) {
          found = functionsIn(this.siteValue(site)).find((f) => this.fileOf(f) === file)
          if (found !== undefined) break
        }
        if (found !== undefined) break
      }
    }
    this.resolving.delete(file)
    this.handleCache.set(file, found ?? null)
    return found
  }

  /** The value at a handle site, read once per computation. */
  private siteValue (site: HandleSite): unknown {
    if (this.siteValues.has(site)) return this.siteValues.get(site)
    let v: unknown
    try {
      v = this.readImport(site).value
    } catch {
      v = undefined
    }
    this.siteValues.set(site, v)
    return v
  }

  private readImport (site: HandleSite): { found: boolean, value: unknown, plan?: ReadPlan } {
    const fn = this.handle(site.file)
    if (fn === undefined) return { found: false, value: undefined }
    const local = this.lookup(fn, site.local, true, 0)
    if (!local.found) return this.readCompiledImport(fn, site)
    if (site.prop === undefined) return { ...local, plan: { kind: 'scope', fn, name: site.local, depth: 0, moduleLevel: true } }
    const obj = local.value
    if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) return { found: false, value: undefined }
    return { found: true, value: (obj as Record<string, unknown>)[site.prop], plan: { kind: 'property', object: obj, prop: site.prop } }
  }

  /**
   * Compilers to CommonJS replace `import { x } from './config.js'` by a
   * module object and property reads: tsc by `config_js_1.x`, esbuild (tsx)
   * by `import_config.x`. Read the export through that object.
   */
  private readCompiledImport (fn: Function, site: HandleSite): { found: boolean, value: unknown, plan?: ReadPlan } {
    if (site.imported === '*' && site.prop === undefined) return { found: false, value: undefined }
    const last = site.spec.split('/').pop() ?? site.spec
    const ident = (text: string): string => text.replace(/[^A-Za-z0-9_$]/g, '_').replace(/\$/g, '\\$')
    const pattern = new RegExp(`^(?:${ident(last)}_\\d+|import_${ident(last.replace(/\.[^.]*$/, ''))}\\d*)$`)
    const prop = site.imported === '*' ? site.prop! : site.imported
    for (const s of [...this.chain(fn)].reverse()) {
      if (!isModuleLevel(s.ref.kind)) continue
      s.vars ??= this.bridge.variables(s.ref)
      for (const [name, ro] of s.vars) {
        if (!pattern.test(name) || ro.objectId === undefined) continue
        const obj = this.bridge.value(ro)
        if (obj === null || typeof obj !== 'object' || !(prop in obj)) continue
        const value = (obj as Record<string, unknown>)[prop]
        if (site.imported !== '*' && site.prop !== undefined) {
          if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return { found: false, value: undefined }
          return { found: true, value: (value as Record<string, unknown>)[site.prop], plan: { kind: 'property', object: value, prop: site.prop } }
        }
        return { found: true, value, plan: { kind: 'property', object: obj, prop } }
      }
    }
    return { found: false, value: undefined }
  }

  private readSite (site: ValueSite): { found: boolean, value: unknown, plan?: ReadPlan } {
    const r = this.readBinding(site)
    if (site.kind === 'closure' || site.member === undefined || !r.found) return r
    const cls = r.value
    if (typeof cls !== 'function') return { found: false, value: undefined }
    if (site.member === '*') return { found: true, value: ownStatics(cls), plan: { kind: 'statics', object: cls } }
    return { found: true, value: (cls as unknown as Record<string, unknown>)[site.member], plan: { kind: 'property', object: cls, prop: site.member } }
  }

  private readBinding (site: ValueSite): { found: boolean, value: unknown, plan?: ReadPlan } {
    switch (site.kind) {
      case 'closure': {
        const r = this.lookup(this.entryFn, site.name, false, site.depth)
        return { ...r, plan: { kind: 'scope', fn: this.entryFn, name: site.name, depth: site.depth, moduleLevel: false } }
      }
      case 'module': {
        const fn = this.handle(site.file)
        if (fn === undefined) return { found: false, value: undefined }
        const r = this.lookup(fn, site.name, true, 0)
        return { ...r, plan: { kind: 'scope', fn, name: site.name, depth: 0, moduleLevel: true } }
      }
      case 'import':
        return this.readImport(site)
    }
  }

  /**
   * Read a flagged binding; `undefined` when no site could read it (not
   * context-allocated, mangled by a minifier, module never loaded).
   *
   * @example
   * reader.read({ label: 'closure:factor', immutable: true, sites: [{ kind: 'closure', name: 'factor', depth: 0 }] })
   */
  read (need: ValueNeed): { value: unknown, plan: ReadPlan } | undefined {
    for (const site of need.sites) {
      let r: { found: boolean, value: unknown, plan?: ReadPlan }
      try {
        r = this.readSite(site)
      } catch {
        continue
      }
      if (!r.found || r.plan === undefined) continue
      return { value: r.value, plan: need.immutable ? { kind: 'fixed', value: r.value } : r.plan }
    }
    return undefined
  }

  /**
   * Replay a plan. Returns `undefined` in `found: false` when the binding can
   * no longer be read.
   *
   * @example
   * ValueReader.replay(bridge, 'g2', plan)
   */
  static replay (bridge: InspectorBridge | undefined, group: string, plan: ReadPlan): { found: boolean, value: unknown } {
    switch (plan.kind) {
      case 'fixed': return { found: true, value: plan.value }
      case 'property': return { found: true, value: (plan.object as Record<string, unknown>)[plan.prop] }
      case 'statics': return { found: true, value: ownStatics(plan.object) }
      case 'scope': {
        if (bridge === undefined) return { found: false, value: undefined }
        const reader = new ValueReader(bridge, group, plan.fn, bridge.details(plan.fn, group), '', new Map())
        return reader.lookup(plan.fn, plan.name, plan.moduleLevel, plan.depth)
      }
    }
  }
}
