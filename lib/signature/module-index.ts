/**
 * The index of one source file: its AST and scopes, what it imports, what it
 * exports, and which top-level statements mutate which top-level binding.
 * Built once per file content and shared by every signature that reaches it.
 * One part at the size limit: the foreign-write indexing still lives in its
 * builder, to move beside the writers logic in writers.ts.
 */
import { canonicalOf, sha256 } from './canonical.js'
import { parseSource } from './parse.js'
import type { AstNode } from './parse.js'
import { isTypeOnly, literalString, memberName, TS_WRAPPERS } from './ast.js'
import type { Binding, ScopeInfo } from './bindings.js'
import { analyzeScopes } from './scope.js'

/** An imported binding: the specifier and the name imported (`default`, `*` for a namespace). */
export interface ImportRef {
  spec: string
  imported: string
  kind: 'import' | 'require'
}

/** What an exported name stands for. */
export type ExportTarget =
  | { kind: 'local', name: string }
  | { kind: 'reexport', spec: string, imported: string }
  /** An anonymous default export or a CommonJS `exports.x = expr`: the expression itself. */
  | { kind: 'node', node: AstNode }

/** A top-level unit of code: what a reached top-level name hashes. */
export interface TopUnit {
  nodes: AstNode[]
  /** Canonical hash over the nodes. */
  hash: Uint8Array
}

/** The index of one parsed file. */
export interface ModuleIndex {
  /** Absolute path. */
  readonly file: string
  readonly text: string
  readonly program: AstNode
  readonly scopes: ScopeInfo
  /** Parse errors; when non-empty the file is not analysed. */
  readonly errors: string[]
  readonly imports: Map<Binding, ImportRef>
  readonly exports: Map<string, ExportTarget>
  /** Specifiers of `export * from`. */
  readonly stars: string[]
  /** Top-level statements that mutate a binding (`X.y = 1`, `registry.set(...)`, `applyMixins(X, [...])`). */
  readonly attached: Map<Binding, AstNode[]>
  /**
   * The same for import bindings (`X.prototype.m = ...` after `import { X }`):
   * they write to a binding of another module, so a reader of that binding
   * reaches them (see graph.ts, writers).
   */
  readonly foreignWrites: Map<Binding, AstNode[]>
  /** Memoised unit hashes, by the unit's first node. */
  readonly units: Map<AstNode, TopUnit>
}

function unwrap (node: AstNode | null | undefined): AstNode | null | undefined {
  let n = node
  while (n !== null && n !== undefined && (TS_WRAPPERS.has(n.type) || n.type === 'AwaitExpression' || n.type === 'ChainExpression')) {
    n = n.type === 'AwaitExpression' ? n.argument : n.expression
  }
  return n
}

/** The specifier of `require('x')`, also through interop wrappers such as `__importDefault(require('x'))`. */
function requireSpec (node: AstNode | null | undefined): string | undefined {
  let n = unwrap(node)
  for (let depth = 0; depth < 3 && n?.type === 'CallExpression'; depth++) {
    if (n.callee.type === 'Identifier' && n.callee.name === 'require') return literalString(n.arguments[0])
    if (n.arguments.length !== 1) return undefined
    n = unwrap(n.arguments[0])
  }
  return undefined
}

function nameOf (node: AstNode): string | undefined {
  if (node.type === 'Identifier') return node.name
  return literalString(node)
}

/** The identifier at the root of a member chain (`a` in `a.b.c`). */
function rootIdentifier (node: AstNode | null | undefined): AstNode | undefined {
  let n = unwrap(node)
  while (n?.type === 'MemberExpression') n = unwrap(n.object)
  return n?.type === 'Identifier' ? n : undefined
}

/** `module.exports` or `exports`, optionally followed by `.name`: returns the name or '' for the whole object. */
function cjsExportTarget (node: AstNode): string | undefined {
  const n = unwrap(node)
  if (n?.type !== 'MemberExpression') return undefined
  const obj = unwrap(n.object)
  const prop = memberName(n)
  if (obj?.type === 'Identifier' && obj.name === 'module' && prop === 'exports') return ''
  if (obj?.type === 'Identifier' && obj.name === 'exports' && prop !== undefined) return prop
  if (obj?.type === 'MemberExpression' && cjsExportTarget(obj) === '' && prop !== undefined) return prop
  return undefined
}

class IndexBuilder {
  readonly imports = new Map<Binding, ImportRef>()
  readonly exports = new Map<string, ExportTarget>()
  readonly stars: string[] = []
  readonly attached = new Map<Binding, AstNode[]>()
  readonly foreignWrites = new Map<Binding, AstNode[]>()

  constructor (private readonly scopes: ScopeInfo) {}

  private top (name: string): Binding | undefined {
    return this.scopes.program.vars.get(name)
  }

  private attach (id: AstNode | undefined, stmt: AstNode): void {
    if (id === undefined) return
    const b = this.scopes.resolved.get(id)
    if (b === undefined || b.scope.kind !== 'program') return
    const map = b.kind === 'import' || this.imports.has(b) ? this.foreignWrites : this.attached
    const list = map.get(b)
    if (list === undefined) map.set(b, [stmt])
    else if (!list.includes(stmt)) list.push(stmt)
  }

  /**
   * A class passed to a call (`applyMixins(Derived, [Base])`, `decorate(X)`):
   * the callee may copy members onto it, so the statement is part of the
   * class. An imported binding may be a class too, but is only taken when
   * passed to a plain function (`applyMixins(X, ...)`), not to a method
   * (`app.use(handler)` does not change `handler`). Other local values passed
   * to calls are left alone.
   */
  private attachClassArguments (call: AstNode, stmt: AstNode): void {
    const plain = unwrap(call.callee)?.type === 'Identifier'
    for (const a of call.arguments as AstNode[]) {
      const id = unwrap(a)
      if (id?.type !== 'Identifier') continue
      const b = this.scopes.resolved.get(id)
      if (b === undefined || b.scope.kind !== 'program') continue
      if (isClassBinding(b) || (plain && (b.kind === 'import' || this.imports.has(b)))) this.attach(id, stmt)
    }
  }

  private declaredNames (decl: AstNode): string[] {
    const out: string[] = []
    const walk = (p: AstNode | null | undefined): void => {
      if (p === null || p === undefined) return
      switch (p.type) {
        case 'Identifier': out.push(p.name); break
        case 'ObjectPattern': for (const q of p.properties) walk(q.type === 'RestElement' ? q.argument : q.value); break
        case 'ArrayPattern': for (const e of p.elements) walk(e); break
        case 'AssignmentPattern': walk(p.left); break
        case 'RestElement': walk(p.argument); break
      }
    }
    if (decl.type === 'VariableDeclaration') for (const d of decl.declarations) walk(d.id)
    else if (decl.id?.type === 'Identifier') out.push(decl.id.name)
    return out
  }

  build (program: AstNode): void {
    for (const binding of this.scopes.bindings) {
      if (binding.scope.kind !== 'program') continue
      if (binding.kind === 'import') this.indexImport(binding)
      else if (binding.decl.type === 'VariableDeclarator') this.indexRequire(binding)
    }
    for (const stmt of program.body as AstNode[]) {
      if (isTypeOnly(stmt)) continue
      switch (stmt.type) {
        case 'ExportNamedDeclaration':
          if (stmt.declaration !== null && stmt.declaration !== undefined) {
            for (const name of this.declaredNames(stmt.declaration)) this.exports.set(name, { kind: 'local', name })
          } else {
            for (const spec of stmt.specifiers) {
              if (isTypeOnly(spec)) continue
              const exported = nameOf(spec.exported) ?? 'default'
              const local = nameOf(spec.local) ?? 'default'
              if (stmt.source !== null && stmt.source !== undefined) this.exports.set(exported, { kind: 'reexport', spec: stmt.source.value, imported: local })
              else this.exports.set(exported, { kind: 'local', name: local })
            }
          }
          break
        case 'ExportDefaultDeclaration': {
          const d = stmt.declaration
          if ((d.type === 'FunctionDeclaration' || d.type === 'ClassDeclaration') && d.id !== null && d.id !== undefined) this.exports.set('default', { kind: 'local', name: d.id.name })
          else if (unwrap(d)?.type === 'Identifier') this.exports.set('default', { kind: 'local', name: unwrap(d)!.name })
          else this.exports.set('default', { kind: 'node', node: d })
          break
        }
        case 'ExportAllDeclaration':
          if (stmt.exported !== null && stmt.exported !== undefined) this.exports.set(nameOf(stmt.exported) ?? 'default', { kind: 'reexport', spec: stmt.source.value, imported: '*' })
          else this.stars.push(stmt.source.value)
          break
        case 'TSExportAssignment': {
          const e = unwrap(stmt.expression)
          this.exports.set('default', e?.type === 'Identifier' ? { kind: 'local', name: e.name } : { kind: 'node', node: stmt.expression })
          break
        }
        case 'ExpressionStatement':
          this.indexStatement(stmt)
          break
      }
    }
  }

  private indexImport (binding: Binding): void {
    const spec = binding.decl
    const decl = binding.parent
    if (decl?.type === 'TSImportEqualsDeclaration') {
      const ref = decl.moduleReference
      if (ref.type === 'TSExternalModuleReference') {
        const s = literalString(ref.expression)
        if (s !== undefined) this.imports.set(binding, { spec: s, imported: '*', kind: 'require' })
      }
      return
    }
    if (decl?.type !== 'ImportDeclaration') return
    const source: string = decl.source.value
    let imported = '*'
    if (spec.type === 'ImportDefaultSpecifier') imported = 'default'
    else if (spec.type === 'ImportSpecifier') imported = nameOf(spec.imported) ?? 'default'
    this.imports.set(binding, { spec: source, imported, kind: 'import' })
  }

  /** `const x = require('y')`, `const { a } = require('y')`, `const z = require('y').z`. */
  private indexRequire (binding: Binding): void {
    const decl = binding.decl
    const init = unwrap(decl.init)
    if (init === null || init === undefined) return
    let spec = requireSpec(init)
    let imported = '*'
    if (spec === undefined && init.type === 'MemberExpression') {
      spec = requireSpec(init.object)
      imported = memberName(init) ?? '*'
    }
    if (spec === undefined) return
    if (decl.id.type === 'Identifier') {
      this.imports.set(binding, { spec, imported, kind: 'require' })
      return
    }
    if (decl.id.type === 'ObjectPattern' && imported === '*') {
      for (const p of decl.id.properties) {
        if (p.type !== 'Property' || p.computed === true) continue
        const value = p.value.type === 'AssignmentPattern' ? p.value.left : p.value
        if (value.type === 'Identifier' && value.name === binding.name) {
          this.imports.set(binding, { spec, imported: nameOf(p.key) ?? '*', kind: 'require' })
        }
      }
    }
  }

  private indexStatement (stmt: AstNode): void {
    const e0 = unwrap(stmt.expression)
    const exprs: AstNode[] = e0?.type === 'SequenceExpression' ? e0.expressions : e0 === null || e0 === undefined ? [] : [e0]
    for (const raw of exprs) {
      const e = unwrap(raw)
      if (e === null || e === undefined) continue
      if (e.type === 'AssignmentExpression') {
        const cjs = cjsExportTarget(e.left)
        if (cjs !== undefined) {
          this.indexCjsExport(cjs, e.right)
          continue
        }
        const root = rootIdentifier(e.left)
        if (root !== undefined && unwrap(e.left)?.type === 'MemberExpression') this.attach(root, stmt)
      } else if (e.type === 'CallExpression') {
        const callee = unwrap(e.callee)
        if (callee?.type === 'MemberExpression') {
          const root = rootIdentifier(callee)
          if (root !== undefined && root.name === 'Object') {
            // Object.assign(X, ...), Object.defineProperty(X.prototype, ...)
            this.attach(rootIdentifier(e.arguments[0]), stmt)
          } else {
            this.attach(root, stmt)
          }
        }
        this.attachClassArguments(e, stmt)
      }
    }
  }

  private indexCjsExport (name: string, value: AstNode): void {
    const v = unwrap(value)
    if (name === '') {
      if (v?.type === 'Identifier') this.exports.set('default', { kind: 'local', name: v.name })
      else this.exports.set('default', { kind: 'node', node: value })
      if (v?.type === 'ObjectExpression') {
        for (const p of v.properties) {
          if (p.type !== 'Property' || p.computed === true) continue
          const key = nameOf(p.key)
          if (key === undefined) continue
          const pv = unwrap(p.value)
          this.exports.set(key, pv?.type === 'Identifier' ? { kind: 'local', name: pv.name } : { kind: 'node', node: p.value })
        }
      }
      return
    }
    this.exports.set(name, v?.type === 'Identifier' && this.top(v.name) !== undefined ? { kind: 'local', name: v.name } : { kind: 'node', node: value })
  }
}

/** A top-level class: a declaration, or a variable initialised with a class expression. */
function isClassBinding (b: Binding): boolean {
  if (b.kind === 'class') return true
  return b.decl.type === 'VariableDeclarator' && unwrap(b.decl.init)?.type === 'ClassExpression'
}

/**
 * Parse and index a file.
 *
 * @example
 * const index = buildModuleIndex('/p/src/a.ts', 'export const a = 1')
 * index.exports.get('a') // { kind: 'local', name: 'a' }
 */
export function buildModuleIndex (file: string, text: string): ModuleIndex {
  const { program, errors } = parseSource(file, text)
  const scopes = analyzeScopes(program)
  const builder = new IndexBuilder(scopes)
  if (errors.length === 0) builder.build(program)
  return {
    file,
    text,
    program,
    scopes,
    errors,
    imports: builder.imports,
    exports: builder.exports,
    stars: builder.stars,
    attached: builder.attached,
    foreignWrites: builder.foreignWrites,
    units: new Map()
  }
}

/**
 * The nodes that make up a top-level binding's unit: its declaration (the
 * declarator for variables, the whole program statement for a `var` nested in
 * a block) and the statements attached to it.
 *
 * @example
 * unitNodes(index, index.scopes.program.vars.get('helper')!)
 */
export function unitNodes (index: ModuleIndex, binding: Binding): AstNode[] {
  let main = binding.decl
  if (binding.decl.type === 'VariableDeclarator') {
    const stmt = index.program.body[binding.top] as AstNode | undefined
    const direct = stmt !== undefined && (stmt === binding.parent || stmt.declaration === binding.parent)
    if (!direct && stmt !== undefined) main = stmt
  } else if (binding.kind === 'import') {
    main = binding.parent ?? binding.decl
  }
  // A decorator written before `export class` lies outside the class's node
  // (and outside the export statement) but runs on the class.
  const decorators = binding.kind === 'class' ? ((binding.decl.decorators ?? []) as AstNode[]).filter((d) => d.start < main.start) : []
  const attached = index.attached.get(binding) ?? []
  return [main, ...decorators, ...attached]
}

/**
 * The canonical hash of a unit made of some nodes of a file. A variable
 * declarator is prefixed with its keyword: `let` and `const` differ.
 *
 * @example
 * const { hash } = unitHash(index, unitNodes(index, binding))
 */
export function unitHash (index: ModuleIndex, nodes: AstNode[]): TopUnit {
  const first = nodes[0]!
  const cached = index.units.get(first)
  if (cached !== undefined && cached.nodes.length === nodes.length) return cached
  const parts: string[] = []
  for (const node of nodes) {
    let text = canonicalOf(index.scopes, node)
    if (node.type === 'VariableDeclarator') {
      const kind = declaratorKind(index, node)
      text = `${kind} ${text}`
    }
    parts.push(text)
  }
  const unit = { nodes, hash: sha256(parts.join('\n')) }
  index.units.set(first, unit)
  return unit
}

function declaratorKind (index: ModuleIndex, declarator: AstNode): string {
  const b = index.scopes.resolved.get(firstIdentifier(declarator.id) ?? declarator)
  return b?.parent?.kind ?? 'var'
}

function firstIdentifier (pattern: AstNode | null | undefined): AstNode | undefined {
  if (pattern === null || pattern === undefined) return undefined
  switch (pattern.type) {
    case 'Identifier': return pattern
    case 'ObjectPattern':
      for (const p of pattern.properties) { const id = firstIdentifier(p.type === 'RestElement' ? p.argument : p.value); if (id !== undefined) return id }
      return undefined
    case 'ArrayPattern':
      for (const e of pattern.elements) { const id = firstIdentifier(e); if (id !== undefined) return id }
      return undefined
    case 'AssignmentPattern': return firstIdentifier(pattern.left)
    case 'RestElement': return firstIdentifier(pattern.argument)
  }
  return undefined
}

/** How a binding's value is determined. */
export type ValueClass = 'code' | 'static' | 'runtime'

/**
 * Classify an initialiser: `code` (a function or class, hashed by its
 * source), `static` (a primitive literal, fully determined by the source), or
 * `runtime` (anything else: computed values, and objects or arrays, whose
 * content can change after initialisation).
 *
 * @example
 * classifyInit(parseExpr('() => 1')) // 'code'
 */
export function classifyInit (init: AstNode | null | undefined): ValueClass {
  const n = unwrap(init)
  if (n === null || n === undefined) return 'static'
  switch (n.type) {
    case 'FunctionExpression': case 'ArrowFunctionExpression': case 'ClassExpression': case 'FunctionDeclaration': case 'ClassDeclaration':
      return 'code'
    case 'Literal': return 'static'
    case 'TemplateLiteral': return n.expressions.length === 0 ? 'static' : 'runtime'
    case 'UnaryExpression':
      return ['-', '+', '!', '~', 'void'].includes(n.operator) && classifyInit(n.argument) === 'static' ? 'static' : 'runtime'
    case 'Identifier': return n.name === 'undefined' ? 'static' : 'runtime'
    default: return 'runtime'
  }
}

/**
 * Whether a binding is immutable once initialised (a `const`, or a `let` or parameter never assigned).
 *
 * @example
 * isImmutable(index.scopes.program.vars.get('counter')!) // false when some code does `counter++`
 */
export function isImmutable (binding: Binding): boolean {
  if (binding.kind === 'var') return false
  return !binding.written
}

/**
 * The raw-bytes hash used for non-code files reached by imports (JSON data).
 *
 * @example
 * dataHash(readFileSync('data.json'))
 */
export function dataHash (bytes: Uint8Array): Uint8Array {
  return sha256(bytes)
}
