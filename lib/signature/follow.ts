/**
 * Following names across files: declaration keys, imports resolved to the
 * exports they denote (through re-exports, barrels and `export *`),
 * packages by version, and the state a function's analysis accumulates.
 */
import { basename, dirname } from 'node:path'
import type { Binding, Scope } from './bindings.js'
import type { GraphHost, HandleSite, ValueNeed, ValueSite } from './interface.js'
import type { ModuleIndex } from './module-index.js'
import type { AstNode } from './parse.js'
import { NODE_MAJOR, relativeKey } from './resolve.js'

/** The uses of one binding in a unit: the static properties read on it, and whether it is used whole. */
export interface RefGroup {
  props: Set<string>
  bare: boolean
}

/**
 * Builds declaration keys: paths relative to the entry's project root, other packages' files prefixed with their name.
 *
 * @example
 * new Keys(host, '/p/src/main.ts').of('/p/src/util.ts') // 'src/util.ts'
 */
export class Keys {
  private readonly cache = new Map<string, string>()
  private readonly entryRoot: string

  constructor (private readonly host: GraphHost, entryFile: string) {
    this.entryRoot = host.root ?? host.resolver.projectRoot(entryFile)?.dir ?? dirname(entryFile)
  }

  of (file: string): string {
    let key = this.cache.get(file)
    if (key !== undefined) return key
    const explicit = this.host.root
    if (explicit !== undefined && !relativeKey(explicit, file).startsWith('../')) {
      key = relativeKey(explicit, file)
    } else {
      const root = this.host.resolver.projectRoot(file)
      if (root === undefined || root.dir === this.entryRoot) key = relativeKey(this.entryRoot, file)
      else key = `${root.name ?? basename(root.dir)}:${relativeKey(root.dir, file)}`
    }
    this.cache.set(file, key)
    return key
  }
}

/**
 * What the analysis of one function has reached so far, and the half of it
 * that follows imports and exports; the units of code themselves are walked
 * by the subclass in graph.ts.
 */
export abstract class ReachBase {
  readonly declarations = new Map<string, Uint8Array>()
  protected readonly owners = new Map<string, AstNode>()
  protected readonly packages = new Map<string, Set<string>>()
  readonly values = new Map<string, ValueNeed>()
  readonly handles = new Map<string, HandleSite[]>()
  readonly unavailable = new Set<string>()
  readonly warnings: string[] = []
  protected readonly seen = new Set<AstNode>()
  protected readonly seenExports = new Set<string>()
  protected readonly queue: Array<() => void> = []
  /** Set while following the references of a unit whose own value is hashed. */
  protected inValueUnit = false
  entryScope: Scope | undefined

  constructor (protected readonly host: GraphHost, readonly keys: Keys, protected readonly ignore: ReadonlySet<string>) {}

  run (): void {
    for (let task = this.queue.shift(); task !== undefined; task = this.queue.shift()) task()
  }

  warn (message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message)
  }

  packageMap (): Map<string, string> {
    const out = new Map<string, string>()
    for (const [name, versions] of this.packages) out.set(name, [...versions].sort().join(' || '))
    return out
  }

  protected addPackage (name: string, version: string): void {
    let set = this.packages.get(name)
    if (set === undefined) this.packages.set(name, set = new Set())
    set.add(version)
  }

  protected addValue (label: string, immutable: boolean, sites: ValueSite[]): void {
    const existing = this.values.get(label)
    if (existing === undefined) {
      this.values.set(label, { label, immutable, optional: this.inValueUnit, sites })
      return
    }
    existing.immutable &&= immutable
    existing.optional &&= this.inValueUnit
    for (const s of sites) if (!existing.sites.some((e) => JSON.stringify(e) === JSON.stringify(s))) existing.sites.push(s)
  }

  protected addHandle (file: string, site: HandleSite): void {
    let list = this.handles.get(file)
    if (list === undefined) this.handles.set(file, list = [])
    if (!list.some((h) => h.file === site.file && h.local === site.local && h.prop === site.prop)) list.push(site)
    // Direct handles are cheaper: try them first.
    list.sort((a, b) => Number(b.direct === true) - Number(a.direct === true))
  }

  protected ignored (name: string, key: string): boolean {
    return this.ignore.has(name) || this.ignore.has(key)
  }

  /** A top-level binding of a file: its declaration unit, and its value when the source does not determine it. */
  abstract topBinding (index: ModuleIndex, b: Binding, site: HandleSite | undefined): void

  /** An export that is an expression rather than a named binding. */
  abstract nodeExport (index: ModuleIndex, name: string, node: AstNode, site: HandleSite | undefined): void

  // ---- imports and exports --------------------------------------------

  protected unresolvedImport (index: ModuleIndex, b: Binding): void {
    const label = `${this.keys.of(index.file)}#${b.name}`
    this.unavailable.add(label)
    this.warn(`${label}: import not understood`)
  }

  protected followImport (index: ModuleIndex, b: Binding, g: RefGroup): void {
    const imp = index.imports.get(b)!
    const props = imp.imported === '*' && !g.bare && g.props.size > 0 ? [...g.props] : undefined
    this.resolveSpec(index, imp.spec, imp.kind, imp.imported, props, { file: index.file, local: b.name, prop: undefined, spec: imp.spec, imported: imp.imported })
  }

  protected resolveSpec (index: ModuleIndex, spec: string, kind: 'import' | 'require', imported: string, props: string[] | undefined, site: HandleSite | undefined): void {
    const r = this.host.resolver.resolve(index.file, spec, kind)
    switch (r.kind) {
      case 'builtin': this.addPackage(r.name, NODE_MAJOR); return
      case 'package': this.addPackage(r.name, r.version); return
      case 'missing': {
        const label = `${this.keys.of(index.file)}:${spec}`
        this.unavailable.add(label)
        this.warn(`cannot resolve '${spec}' imported by ${this.keys.of(index.file)}`)
        return
      }
    }
    const target = this.load(r.path)
    if (target === undefined) return
    if (imported === '*') {
      if (props !== undefined) {
        for (const p of props) this.reachExport(target, p, undefined, site === undefined ? undefined : { ...site, prop: p })
      } else {
        this.reachAll(target, new Set())
      }
      return
    }
    this.reachExport(target, imported, props, site)
  }

  /** Load a file; data files are recorded whole; `undefined` when it is not code. */
  protected load (file: string): ModuleIndex | undefined {
    const loaded = this.host.load(file)
    const key = this.keys.of(file)
    if (loaded.kind === 'data') {
      this.declarations.set(key, loaded.hash)
      return undefined
    }
    if (loaded.kind === 'error') {
      this.unavailable.add(key)
      this.warn(`${key}: ${loaded.message}`)
      return undefined
    }
    if (loaded.index.errors.length > 0) {
      this.unavailable.add(key)
      this.warn(`${key} does not parse: ${loaded.index.errors[0] ?? ''}`)
      return undefined
    }
    if (loaded.note !== undefined) this.warn(`${key} ${loaded.note}`)
    if (loaded.stale !== undefined) {
      this.unavailable.add(key)
      this.warn(`${key} ${loaded.stale}`)
    }
    return loaded.index
  }

  protected reachExport (index: ModuleIndex, name: string, props: string[] | undefined, site: HandleSite | undefined): void {
    const visitKey = `${index.file}\0${name}\0${props?.join(',') ?? ''}\0${site === undefined ? '' : `${site.file}\0${site.local}\0${site.prop ?? ''}`}`
    if (this.seenExports.has(visitKey)) return
    this.seenExports.add(visitKey)
    const t = index.exports.get(name)
    if (t !== undefined) {
      switch (t.kind) {
        case 'local': {
          const b = index.scopes.program.vars.get(t.name)
          if (b === undefined) {
            this.unavailable.add(`${this.keys.of(index.file)}#${name}`)
            return
          }
          const imp = index.imports.get(b)
          if (imp !== undefined) this.resolveSpec(index, imp.spec, imp.kind, imp.imported, props, site)
          else this.topBinding(index, b, site)
          return
        }
        case 'reexport':
          this.resolveSpec(index, t.spec, 'import', t.imported, props, site)
          return
        case 'node':
          this.nodeExport(index, name, t.node, site)
          return
      }
    }
    if (name !== 'default') {
      for (const spec of index.stars) {
        const r = this.host.resolver.resolve(index.file, spec, 'import')
        if (r.kind === 'file') {
          const target = this.load(r.path)
          if (target !== undefined && exportsName(this.host, target, name, new Set())) {
            this.reachExport(target, name, props, site)
            return
          }
        }
      }
      // Not found among local files: it may come from a package re-exported with `export *`.
      for (const spec of index.stars) {
        const r = this.host.resolver.resolve(index.file, spec, 'import')
        if (r.kind === 'package') { this.addPackage(r.name, r.version); return }
        if (r.kind === 'builtin') { this.addPackage(r.name, NODE_MAJOR); return }
      }
    }
    const label = `${this.keys.of(index.file)}#${name}`
    this.unavailable.add(label)
    this.warn(`${label}: no such export`)
  }

  /** Every export of a file (a namespace used as a whole). */
  protected reachAll (index: ModuleIndex, visited: Set<string>): void {
    if (visited.has(index.file)) return
    visited.add(index.file)
    for (const name of index.exports.keys()) this.reachExport(index, name, undefined, undefined)
    for (const spec of index.stars) {
      const r = this.host.resolver.resolve(index.file, spec, 'import')
      if (r.kind === 'package') this.addPackage(r.name, r.version)
      else if (r.kind === 'builtin') this.addPackage(r.name, NODE_MAJOR)
      else if (r.kind === 'file') {
        const target = this.load(r.path)
        if (target !== undefined) this.reachAll(target, visited)
      } else {
        this.unavailable.add(`${this.keys.of(index.file)}:${spec}`)
      }
    }
  }
}

function exportsName (host: GraphHost, index: ModuleIndex, name: string, visited: Set<string>): boolean {
  if (index.exports.has(name)) return true
  if (visited.has(index.file)) return false
  visited.add(index.file)
  for (const spec of index.stars) {
    const r = host.resolver.resolve(index.file, spec, 'import')
    if (r.kind !== 'file') continue
    const loaded = host.load(r.path)
    if (loaded.kind === 'code' && exportsName(host, loaded.index, name, visited)) return true
  }
  return false
}
