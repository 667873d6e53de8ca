/**
 * The static closure of a function: starting from its unit of code, follow
 * every free name to the declaration it denotes (same file, other project
 * files through imports and re-exports, enclosing functions), hash each
 * declaration reached, record packages by version, and list the bindings whose
 * value the source does not determine, with the ways to read them at run time.
 * This file walks the units of code; following imports and exports across
 * files is in follow.ts.
 */
import type { FunctionInfo } from '../../store/records.js'
import { literalString, rangeOf, TS_WRAPPERS } from './ast.js'
import type { Binding, BlindSpot } from './bindings.js'
import { Keys, ReachBase } from './follow.js'
import type { RefGroup } from './follow.js'
import type { GraphHost, HandleSite, StaticAnalysis, ValueSite } from './interface.js'
import { ancestorsOf, isFunctionLike, LineIndex, nestedPath, nodeName } from './locate.js'
import type { Located } from './locate.js'
import { classifyInit, isImmutable, unitHash, unitNodes } from './module-index.js'
import type { ModuleIndex, ValueClass } from './module-index.js'
import type { AstNode } from './parse.js'
import { Writers } from './writers.js'

/** The reach of one function: units of code hashed and their references followed. */
class Reach extends ReachBase {
  private readonly writers = new Writers(this.host)

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
          if (ref.name === 'eval') this.warn(`${key} uses eval at ${place(this.keys, index, ref.id.start)}: code it runs is not part of the signature`)
          continue
        }
        if (own.has(b)) continue
        if (b.scope.kind !== 'program' && inside(b.id.start)) continue
        let g = groups.get(b)
        if (g === undefined) groups.set(b, g = { props: new Set(), bare: false })
        if (ref.prop !== undefined && !ref.write) g.props.add(ref.prop)
        else g.bare = true
      }
      const [blo, bhi] = rangeOf(index.scopes.blind, (u) => u.start, node.start, node.end)
      for (let i = blo; i < bhi; i++) this.blindSpot(index, key, index.scopes.blind[i]!, inside)
      const [ulo, uhi] = rangeOf(moduleUses, (u) => u.start, node.start, node.end)
      for (let i = ulo; i < uhi; i++) {
        const use = moduleUses[i]!
        if (use.spec === undefined) {
          this.warn(`${key} has a dynamic ${use.kind === 'import' ? 'import()' : 'require()'} at ${place(this.keys, index, use.start)} whose target is not part of the signature`)
          continue
        }
        const props = use.prop === undefined ? boundModuleProps(index, use.start, use.end) : [use.prop]
        this.resolveSpec(index, use.spec, use.kind, '*', props, undefined)
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

  /**
   * A place the analysis cannot see through. A computed write to the unit's
   * own locals is harmless; one to a binding from outside the unit may add or
   * replace any member of it, which no signature can follow.
   */
  private blindSpot (index: ModuleIndex, key: string, spot: BlindSpot, inside: (pos: number) => boolean): void {
    const at = place(this.keys, index, spot.start)
    if (spot.kind === 'with') {
      this.warn(`${key} has a with block at ${at}: the names it uses may be properties of an object, which the signature does not follow`)
      return
    }
    // Globals (`globalThis.runs[k] = n`) are not followed by the signature anyway: only a write to a binding it follows is a blind spot.
    const b = spot.root === undefined ? undefined : index.scopes.resolved.get(spot.root)
    if (b === undefined || (b.scope.kind !== 'program' && inside(b.id.start))) return
    const what = spot.root!.name
    this.warn(`${key} writes a computed property of ${what} at ${at}: which member changes is not part of the signature`)
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
    this.classStatics(index, b, key, site)
    const nodes = unitNodes(index, b)
    const main = nodes[0]!
    if (this.seen.has(main)) return
    this.seen.add(main)
    const own = new Set<Binding>()
    for (const other of index.scopes.program.vars.values()) if (other.decl === b.decl) own.add(other)
    own.add(b)
    this.unit(index, key, nodes, own, vc === 'runtime')
    this.writtenFromOutside(index, b)
  }

  /** The statements of other loaded modules that write to `b` (members added from outside, mixins): part of its reach. */
  private writtenFromOutside (index: ModuleIndex, b: Binding): void {
    for (const w of this.writers.of(index.file, b.name)) {
      const first = w.nodes[0]!
      if (this.seen.has(first)) continue
      this.seen.add(first)
      this.unit(w.index, `${this.keys.of(w.index.file)}#${w.binding.name}`, w.nodes, new Set([w.binding]))
    }
  }

  /**
   * Static fields computed at run time (`static rate = Number(process.env.RATE)`)
   * and what static blocks write are values, like a computed module `const`:
   * hashed by their run-time value, read from the class.
   */
  private classStatics (index: ModuleIndex, b: Binding, key: string, site: HandleSite | undefined): void {
    const cls = b.kind === 'class' ? b.decl : b.decl.type === 'VariableDeclarator' && b.decl.id?.type === 'Identifier' ? unwrapClass(b.decl.init) : undefined
    if (cls === undefined) return
    const members = new Set<string>()
    for (const m of cls.body.body as AstNode[]) {
      if (m.type === 'StaticBlock') members.add('*')
      else if (m.type === 'PropertyDefinition' && m.static === true && classifyInit(m.value) === 'runtime') {
        members.add(m.computed === true ? '*' : m.key.type === 'Identifier' ? m.key.name : String(m.key.value))
      }
    }
    for (const member of members) {
      const sites: ValueSite[] = [{ kind: 'module', file: index.file, name: b.name, member }]
      if (site !== undefined) sites.unshift({ kind: 'import', ...site, member })
      this.addValue(`${key}.${member === '*' ? '<static>' : member}`, false, sites)
    }
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
}

function unwrapClass (init: AstNode | null | undefined): AstNode | undefined {
  let n = init
  while (n !== null && n !== undefined && TS_WRAPPERS.has(n.type)) n = n.expression
  return n?.type === 'ClassExpression' ? n : undefined
}

/** `src/x.ts:12:5`, for warnings that name a place. */
function place (keys: Keys, index: ModuleIndex, pos: number): string {
  const p = new LineIndex(index.text).position(pos)
  return `${keys.of(index.file)}:${p.line + 1}:${p.column + 1}`
}

/** An expression without the `await`, parentheses and TS wrappers around it. */
function bare (node: AstNode | null | undefined): AstNode | null | undefined {
  let n = node
  while (n !== null && n !== undefined && (TS_WRAPPERS.has(n.type) || n.type === 'AwaitExpression')) n = n.type === 'AwaitExpression' ? n.argument : n.expression
  return n
}

/**
 * The exports used of a module loaded into a local (`const m = await
 * import('./plugin.js'); m.run()`, `const { run } = require('./x')`): the
 * static properties read on it, or `undefined` when it is used whole
 * (passed on, re-bound, read with a computed key): then every export counts.
 */
function boundModuleProps (index: ModuleIndex, start: number, end: number): string[] | undefined {
  const b = index.scopes.bindings.find((x) => {
    const init = x.decl.type === 'VariableDeclarator' ? bare(x.decl.init) : undefined
    return init?.start === start && init.end === end
  })
  if (b === undefined) return undefined
  const id = b.decl.id as AstNode
  if (id.type === 'ObjectPattern') {
    const props: string[] = []
    for (const p of id.properties as AstNode[]) {
      if (p.type !== 'Property' || p.computed === true) return undefined
      const key = p.key.type === 'Identifier' ? p.key.name : literalString(p.key)
      if (key === undefined) return undefined
      props.push(key)
    }
    return props
  }
  if (id.type !== 'Identifier' || b.written) return undefined
  const props = new Set<string>()
  for (const ref of index.scopes.refs) {
    if (ref.binding !== b) continue
    if (ref.prop === undefined || ref.write) return undefined
    props.add(ref.prop)
  }
  return [...props]
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
