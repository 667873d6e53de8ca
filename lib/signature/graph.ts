/**
 * The static closure of a function: starting from its unit of code, follow
 * every free name to the declaration it denotes (same file, other project
 * files through imports and re-exports, enclosing functions), hash each
 * declaration reached, record packages by version, and list the bindings whose
 * value the source does not determine, with the ways to read them at run time.
 */
import { basename, dirname } from 'node:path'
import type { FunctionInfo } from '../../store/records.js'
import { classifyInit, isImmutable, unitHash, unitNodes } from './module-index.js'
import type { ModuleIndex, ValueClass } from './module-index.js'
import { ancestorsOf, isFunctionLike, LineIndex, nestedPath, nodeName } from './locate.js'
import type { Located } from './locate.js'
import type { AstNode } from './parse.js'
import { NODE_MAJOR, relativeKey } from './resolve.js'
import type { ProjectResolver } from './resolve.js'
import { rangeOf } from './scope.js'
import type { Binding, Scope } from './scope.js'

/** A way to read a binding's value at run time. */
export type ValueSite =
  /** A variable of an enclosing function, read from the entry function's scope chain; `depth` skips shadowed namesakes. */
  | { kind: 'closure', name: string, depth: number }
  /** A top-level variable of a module, read from the scope chain of a function defined in it. */
  | { kind: 'module', file: string, name: string }
  /** An import binding of a module (a live binding to the export), optionally a property of a namespace. */
  | { kind: 'import', file: string, local: string, prop: string | undefined, spec: string, imported: string }

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
}

interface RefGroup {
  props: Set<string>
  bare: boolean
}

/** Builds declaration keys: paths relative to the entry's project root, other packages' files prefixed with their name. */
class Keys {
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

class Reach {
  readonly declarations = new Map<string, Uint8Array>()
  private readonly owners = new Map<string, AstNode>()
  private readonly packages = new Map<string, Set<string>>()
  readonly values = new Map<string, ValueNeed>()
  readonly handles = new Map<string, HandleSite[]>()
  readonly unavailable = new Set<string>()
  readonly warnings: string[] = []
  private readonly seen = new Set<AstNode>()
  private readonly seenExports = new Set<string>()
  private readonly queue: Array<() => void> = []
  /** Set while following the references of a unit whose own value is hashed. */
  private inValueUnit = false
  entryScope: Scope | undefined

  constructor (private readonly host: GraphHost, readonly keys: Keys, private readonly ignore: ReadonlySet<string>) {}

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

  private addPackage (name: string, version: string): void {
    let set = this.packages.get(name)
    if (set === undefined) this.packages.set(name, set = new Set())
    set.add(version)
  }

  private addValue (label: string, immutable: boolean, sites: ValueSite[]): void {
    const existing = this.values.get(label)
    if (existing === undefined) {
      this.values.set(label, { label, immutable, optional: this.inValueUnit, sites })
      return
    }
    existing.immutable &&= immutable
    existing.optional &&= this.inValueUnit
    for (const s of sites) if (!existing.sites.some((e) => JSON.stringify(e) === JSON.stringify(s))) existing.sites.push(s)
  }

  private addHandle (file: string, site: HandleSite): void {
    let list = this.handles.get(file)
    if (list === undefined) this.handles.set(file, list = [])
    if (!list.some((h) => h.file === site.file && h.local === site.local && h.prop === site.prop)) list.push(site)
    // Direct handles are cheaper: try them first.
    list.sort((a, b) => Number(b.direct === true) - Number(a.direct === true))
  }

  private ignored (name: string, key: string): boolean {
    return this.ignore.has(name) || this.ignore.has(key)
  }

  // ---- units ----------------------------------------------------------

  /** Hash a unit and queue what it references. `valueUnit`: the unit's own value is hashed. */
  private unit (index: ModuleIndex, key: string, nodes: AstNode[], own: ReadonlySet<Binding>, valueUnit = false): string {
    let k = key
    for (let n = 2; this.owners.has(k) && this.owners.get(k) !== nodes[0]; n++) k = `${key}~${n}`
    this.owners.set(k, nodes[0]!)
    this.declarations.set(k, unitHash(index, nodes).hash)
    this.queue.push(() => {
      this.inValueUnit = valueUnit
      try {
        this.references(index, k, nodes, own)
      } finally {
        this.inValueUnit = false
      }
    })
    return k
  }

  private references (index: ModuleIndex, key: string, nodes: AstNode[], own: ReadonlySet<Binding>): void {
    const { refs, moduleUses } = index.scopes
    const groups = new Map<Binding, RefGroup>()
    const inside = (pos: number): boolean => nodes.some((n) => n.start <= pos && pos < n.end)
    for (const node of nodes) {
      const [lo, hi] = rangeOf(refs, (r) => r.id.start, node.start, node.end)
      for (let i = lo; i < hi; i++) {
        const ref = refs[i]!
        const b = ref.binding
        if (b === undefined) {
          if (ref.name === 'eval') this.warn(`${key} uses eval: code it runs is not part of the signature`)
          continue
        }
        if (own.has(b)) continue
        if (b.scope.kind !== 'program' && inside(b.id.start)) continue
        let g = groups.get(b)
        if (g === undefined) groups.set(b, g = { props: new Set(), bare: false })
        if (ref.prop !== undefined && !ref.write) g.props.add(ref.prop)
        else g.bare = true
      }
      const [ulo, uhi] = rangeOf(moduleUses, (u) => u.start, node.start, node.end)
      for (let i = ulo; i < uhi; i++) {
        const use = moduleUses[i]!
        if (use.spec === undefined) {
          this.warn(`${key} has a dynamic ${use.kind === 'import' ? 'import()' : 'require()'} whose target is not part of the signature`)
          continue
        }
        this.resolveSpec(index, use.spec, use.kind, '*', use.prop === undefined ? undefined : [use.prop], undefined)
      }
    }
    for (const [b, g] of groups) {
      if (b.scope.kind === 'program') {
        if (this.ignored(b.name, `${this.keys.of(index.file)}#${b.name}`)) continue
        if (index.imports.has(b)) this.followImport(index, b, g)
        else if (b.kind === 'import') this.unresolvedImport(index, b)
        else this.topBinding(index, b, undefined)
      } else {
        if (this.ignore.has(b.name)) continue
        this.enclosing(index, b)
      }
    }
  }

  /** A top-level binding of a file: its declaration unit, and its value when the source does not determine it. */
  topBinding (index: ModuleIndex, b: Binding, site: HandleSite | undefined): void {
    const key = `${this.keys.of(index.file)}#${b.name}`
    if (this.ignored(b.name, key)) return
    const vc = valueClassOf(b)
    if (vc === 'runtime') {
      const sites: ValueSite[] = [{ kind: 'module', file: index.file, name: b.name }]
      if (site !== undefined) sites.unshift({ kind: 'import', ...site })
      this.addValue(key, isImmutable(b) || b.kind === 'const', sites)
    }
    if ((vc === 'code' || vc === 'runtime') && site !== undefined) this.addHandle(index.file, { ...site, direct: vc === 'code' })
    const nodes = unitNodes(index, b)
    const main = nodes[0]!
    if (this.seen.has(main)) return
    this.seen.add(main)
    const own = new Set<Binding>()
    for (const other of index.scopes.program.vars.values()) if (other.decl === b.decl) own.add(other)
    own.add(b)
    this.unit(index, key, nodes, own, vc === 'runtime')
  }

  /** A binding of an enclosing function: its declaration when it is code or a literal, else its value from the closure. */
  private enclosing (index: ModuleIndex, b: Binding): void {
    if (b.kind === 'function' || b.kind === 'class' || b.kind === 'enum' || b.kind === 'namespace' || b.kind === 'self') {
      this.nested(index, b.decl)
      return
    }
    if (b.decl.type === 'VariableDeclarator' && b.decl.id?.type === 'Identifier') {
      const vc = classifyInit(b.decl.init)
      if (vc === 'code' && isImmutable(b)) { this.nested(index, b.decl); return }
      if (vc === 'static' && isImmutable(b)) { this.nested(index, b.decl); return }
    }
    const depth = this.depthOf(b)
    this.addValue(depth === 0 ? `closure:${b.name}` : `closure:${b.name}@${depth}`, isImmutable(b), [{ kind: 'closure', name: b.name, depth }])
  }

  /** How many scopes between the entry and `b`'s scope declare the same name (they shadow it in the scope chain). */
  private depthOf (b: Binding): number {
    let depth = 0
    for (let s = this.entryScope; s !== undefined && s !== b.scope; s = s.parent) {
      if (s.vars.has(b.name) && s.kind !== 'name') depth++
    }
    return depth
  }

  /** A unit nested inside a top-level declaration, keyed by its path. */
  nested (index: ModuleIndex, node: AstNode): string | undefined {
    if (this.seen.has(node)) return undefined
    this.seen.add(node)
    const ancestors = ancestorsOf(index.program, node) ?? []
    const key = `${this.keys.of(index.file)}#${nestedPath(ancestors, node)}`
    return this.unit(index, key, [node], new Set())
  }

  /** An export that is an expression rather than a named binding (anonymous default, CommonJS `exports.x = ...`). */
  nodeExport (index: ModuleIndex, name: string, node: AstNode, site: HandleSite | undefined): void {
    const key = `${this.keys.of(index.file)}#${name}`
    if (this.ignore.has(key)) return
    const vc = classifyInit(node)
    if (vc === 'runtime') this.addValue(key, true, site === undefined ? [] : [{ kind: 'import', ...site }])
    if ((vc === 'code' || vc === 'runtime') && site !== undefined) this.addHandle(index.file, { ...site, direct: vc === 'code' })
    if (this.seen.has(node)) return
    this.seen.add(node)
    this.unit(index, key, [node], new Set(), vc === 'runtime')
  }

  // ---- imports and exports --------------------------------------------

  private unresolvedImport (index: ModuleIndex, b: Binding): void {
    const label = `${this.keys.of(index.file)}#${b.name}`
    this.unavailable.add(label)
    this.warn(`${label}: import not understood`)
  }

  private followImport (index: ModuleIndex, b: Binding, g: RefGroup): void {
    const imp = index.imports.get(b)!
    const props = imp.imported === '*' && !g.bare && g.props.size > 0 ? [...g.props] : undefined
    this.resolveSpec(index, imp.spec, imp.kind, imp.imported, props, { file: index.file, local: b.name, prop: undefined, spec: imp.spec, imported: imp.imported })
  }

  private resolveSpec (index: ModuleIndex, spec: string, kind: 'import' | 'require', imported: string, props: string[] | undefined, site: HandleSite | undefined): void {
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
  private load (file: string): ModuleIndex | undefined {
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

  private reachExport (index: ModuleIndex, name: string, props: string[] | undefined, site: HandleSite | undefined): void {
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
  private reachAll (index: ModuleIndex, visited: Set<string>): void {
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

/** What determines a top-level binding: its code, its literal source, or its run-time value. */
function valueClassOf (b: Binding): ValueClass | 'none' {
  switch (b.kind) {
    case 'function': case 'class': return 'code'
    case 'enum': case 'namespace': return 'static'
    case 'var': case 'let': case 'const': case 'using': {
      if (b.decl.type !== 'VariableDeclarator' || b.decl.id?.type !== 'Identifier') return 'runtime'
      if (b.kind !== 'const' && !isImmutable(b)) return 'runtime'
      return classifyInit(b.decl.init)
    }
    default: return 'none'
  }
}

/**
 * The static analysis of a located function.
 *
 * @example
 * const analysis = analyzeFunction(host, index, functionAt(index.program, offset)!, new Set(), 'target')
 */
export function analyzeFunction (host: GraphHost, index: ModuleIndex, located: Located, ignore: ReadonlySet<string>, fnName: string): StaticAnalysis {
  const keys = new Keys(host, index.file)
  const reach = new Reach(host, keys, ignore)
  const F = located.node
  const A = located.ancestors
  for (const n of [F, ...[...A].reverse()]) {
    const s = index.scopes.scopeOf.get(n)
    if (s !== undefined) { reach.entryScope = s; break }
  }

  // Methods and fields are hashed with their whole class (fields and
  // `static` are not in a method's own text); object-literal methods with
  // their object, since `this` reaches the siblings.
  let unitNode = F
  let unitAncestors = A
  for (let i = A.length - 1; i >= 1; i--) {
    const n = A[i]!
    if (n.type === 'ClassBody') { unitNode = A[i - 1]!; unitAncestors = A.slice(0, i - 1); break }
    if (isFunctionLike(n)) break
  }
  const parent = A[A.length - 1]
  if (unitNode === F && parent?.type === 'Property' && parent.value === F && F.type !== 'ArrowFunctionExpression') {
    const obj = A[A.length - 2]
    if (obj?.type === 'ObjectExpression') { unitNode = obj; unitAncestors = A.slice(0, -2) }
  }
  const up = unitAncestors[unitAncestors.length - 1]
  if (up?.type === 'VariableDeclarator' && up.init === unitNode) unitNode = up

  const fileKey = keys.of(index.file)
  let entry = `${fileKey}#${nestedPath(A, F)}`
  const id = unitNode.type === 'VariableDeclarator' ? unitNode.id : unitNode.id
  const top = id?.type === 'Identifier' ? index.scopes.resolved.get(id) : undefined
  if (top !== undefined && top.scope.kind === 'program' && (unitNode === F || unitNode.init === F)) {
    entry = `${fileKey}#${top.name}`
    reach.topBinding(index, top, undefined)
  } else if (top !== undefined && top.scope.kind === 'program') {
    reach.topBinding(index, top, undefined)
  } else if (up?.type === 'ExportDefaultDeclaration' && A.length === 2) {
    entry = `${fileKey}#default`
    reach.nodeExport(index, 'default', unitNode, undefined)
  } else {
    reach.nested(index, unitNode)
  }
  reach.run()

  const pos = new LineIndex(index.text).position(F.start)
  const info: FunctionInfo = { name: fnName !== '' ? fnName : nodeName(located), file: fileKey, line: pos.line + 1, column: pos.column + 1 }
  return {
    entry,
    info,
    entryFile: index.file,
    declarations: reach.declarations,
    packages: reach.packageMap(),
    values: [...reach.values.values()],
    handles: reach.handles,
    unavailable: reach.unavailable,
    warnings: reach.warnings
  }
}
