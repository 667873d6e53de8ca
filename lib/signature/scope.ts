/**
 * Scope analysis of one parsed file: every binding with the node that
 * declares it, every identifier reference resolved to its binding (or left
 * free), and the `require(...)` / `import(...)` calls.
 *
 * Type positions (annotations, interfaces, `declare` forms, overloads) are
 * skipped: they do not exist at run time, so they neither bind nor reference.
 */
import { childKeys } from './parse.js'
import type { AstNode } from './parse.js'

/** How a name was declared. `self` is the inner name of a named function or class expression. */
export type BindingKind =
  | 'var' | 'let' | 'const' | 'using' | 'param' | 'function' | 'class' | 'catch'
  | 'import' | 'enum' | 'namespace' | 'self'

/** A lexical scope. */
export interface Scope {
  readonly parent: Scope | undefined
  readonly node: AstNode
  readonly kind: 'program' | 'function' | 'block' | 'name' | 'enum'
  readonly vars: Map<string, Binding>
}

/** A declared name. */
export interface Binding {
  readonly name: string
  readonly kind: BindingKind
  /** The declaring identifier. */
  readonly id: AstNode
  readonly scope: Scope
  /**
   * The smallest node that declares it: the function or class declaration,
   * the variable declarator, the import specifier, the enum, the catch
   * clause, or the function whose parameter it is.
   */
  readonly decl: AstNode
  /** For variables the VariableDeclaration, for imports the ImportDeclaration. */
  readonly parent: AstNode | undefined
  /** Index of the program statement holding the declaration. */
  readonly top: number
  /** Assigned somewhere after its declaration (`x = ...`, `x++`, `for (x of ...)`). */
  written: boolean
  /** Its name is observable from outside (exports of a TS namespace), so it is never renamed. */
  fixedName: boolean
}

/** One use of a name. */
export interface Reference {
  readonly name: string
  readonly id: AstNode
  /** `undefined` for a global or otherwise undeclared name. */
  readonly binding: Binding | undefined
  readonly write: boolean
  /** The static property read on it (`x.p`, `x['p']`), when it is the object of a member expression. */
  prop: string | undefined
}

/** A `require(...)` or `import(...)` call, or a TS `import x = require(...)`. */
export interface ModuleUse {
  readonly kind: 'require' | 'import'
  readonly start: number
  readonly end: number
  /** The specifier when it is a string literal, else `undefined` (a dynamic specifier). */
  readonly spec: string | undefined
  /** The property read on the result (`require('x').y`). */
  prop: string | undefined
}

/** The analysis of one file. */
export interface ScopeInfo {
  readonly program: Scope
  /** All bindings, sorted by the position of their identifier. */
  readonly bindings: Binding[]
  /** All references, sorted by position. */
  readonly refs: Reference[]
  /** Declaring and referencing identifiers mapped to their binding. */
  readonly resolved: Map<AstNode, Binding>
  /** Sorted by position. */
  readonly moduleUses: ModuleUse[]
  /** The scope each function, class-name, block or program node opens. */
  readonly scopeOf: Map<AstNode, Scope>
}

/** Keys that hold only type information. */
const TYPE_KEYS = new Set(['typeAnnotation', 'returnType', 'typeParameters', 'typeArguments', 'superTypeArguments', 'implements'])

/** TypeScript node types that have run-time meaning; every other `TS*` node is type-only. */
const RUNTIME_TS = new Set([
  'TSAsExpression', 'TSSatisfiesExpression', 'TSNonNullExpression', 'TSTypeAssertion', 'TSInstantiationExpression',
  'TSEnumDeclaration', 'TSEnumBody', 'TSEnumMember', 'TSModuleDeclaration', 'TSModuleBlock',
  'TSImportEqualsDeclaration', 'TSExternalModuleReference', 'TSExportAssignment', 'TSParameterProperty', 'TSQualifiedName'
])

/**
 * Expression wrappers that only carry a type (and parentheses): the code is their `expression`.
 *
 * @example
 * while (TS_WRAPPERS.has(node.type)) node = node.expression
 */
export const TS_WRAPPERS = new Set(['TSAsExpression', 'TSSatisfiesExpression', 'TSNonNullExpression', 'TSTypeAssertion', 'TSInstantiationExpression', 'ParenthesizedExpression'])

/**
 * True for nodes that vanish when TypeScript is compiled: type declarations,
 * `declare` forms, overload signatures, abstract members, index signatures.
 *
 * @example
 * isTypeOnly({ type: 'TSInterfaceDeclaration', start: 0, end: 9 }) // true
 */
export function isTypeOnly (node: AstNode): boolean {
  const type = node.type
  if (type.startsWith('TS') && !RUNTIME_TS.has(type)) return true
  if (node.declare === true) return true
  if ((type === 'ImportDeclaration' || type === 'ImportSpecifier') && node.importKind === 'type') return true
  if ((type === 'ExportNamedDeclaration' || type === 'ExportAllDeclaration' || type === 'ExportSpecifier') && node.exportKind === 'type') return true
  if (type === 'MethodDefinition' && node.value?.type === 'TSEmptyBodyFunctionExpression') return true
  if (type === 'TSModuleDeclaration' && (node.body === null || node.body === undefined || node.global === true)) return true
  return false
}

/**
 * True for a TS `this` parameter (`function f(this: X)`), which has no run-time existence.
 *
 * @example
 * fn.params.filter((p) => !isThisParam(p))
 */
export function isThisParam (param: AstNode): boolean {
  return param.type === 'Identifier' && param.name === 'this'
}

function stringKey (node: AstNode | null | undefined): string | undefined {
  if (node === null || node === undefined) return undefined
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value
  if (node.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0]?.value?.cooked ?? undefined
  return undefined
}

/**
 * The static name of a member access, `x.p` or `x['p']`; `undefined` when computed.
 *
 * @example
 * memberName(parseExpr('cfg.RATE')) // 'RATE'
 */
export function memberName (member: AstNode): string | undefined {
  if (!member.computed) return member.property?.type === 'PrivateIdentifier' ? undefined : member.property?.name
  return stringKey(member.property)
}

const ENUM_MEMBER = Symbol('enum member')

class Analyzer {
  readonly bindings: Binding[] = []
  readonly refs: Reference[] = []
  readonly resolved = new Map<AstNode, Binding>()
  readonly moduleUses: ModuleUse[] = []
  readonly scopeOf = new Map<AstNode, Scope>()
  private top = -1
  private readonly enumMembers = new Map<Scope, Set<string>>()

  analyze (program: AstNode): ScopeInfo {
    const scope = this.scope(undefined, program, 'program')
    const body: AstNode[] = program.body
    for (let i = 0; i < body.length; i++) {
      this.top = i
      const stmt = body[i]!
      this.hoistLexical(stmt, scope, false)
      this.hoistVars(stmt, scope)
    }
    for (let i = 0; i < body.length; i++) {
      this.top = i
      this.statement(body[i]!, scope)
    }
    this.bindings.sort((a, b) => a.id.start - b.id.start)
    this.refs.sort((a, b) => a.id.start - b.id.start)
    this.moduleUses.sort((a, b) => a.start - b.start)
    return { program: scope, bindings: this.bindings, refs: this.refs, resolved: this.resolved, moduleUses: this.moduleUses, scopeOf: this.scopeOf }
  }

  private scope (parent: Scope | undefined, node: AstNode, kind: Scope['kind']): Scope {
    const s: Scope = { parent, node, kind, vars: new Map() }
    // A named function expression opens a name scope and then its function
    // scope on the same node; the inner one is what code inside sees.
    this.scopeOf.set(node, s)
    return s
  }

  private bind (scope: Scope, id: AstNode, kind: BindingKind, decl: AstNode, parent?: AstNode, fixedName = false): void {
    const name: string = id.name
    const existing = scope.vars.get(name)
    if (existing !== undefined) {
      // var/function redeclarations and merged enums or namespaces share one binding.
      this.resolved.set(id, existing)
      return
    }
    const binding: Binding = { name, kind, id, scope, decl, parent, top: this.top, written: kind === 'var', fixedName }
    scope.vars.set(name, binding)
    this.bindings.push(binding)
    this.resolved.set(id, binding)
  }

  private lookup (scope: Scope | undefined, name: string): Binding | typeof ENUM_MEMBER | undefined {
    for (let s = scope; s !== undefined; s = s.parent) {
      if (s.kind === 'enum' && this.enumMembers.get(s)?.has(name) === true) return ENUM_MEMBER
      const b = s.vars.get(name)
      if (b !== undefined) return b
    }
    return undefined
  }

  private ref (id: AstNode, scope: Scope, write: boolean, prop?: string): void {
    const found = this.lookup(scope, id.name)
    if (found === ENUM_MEMBER) return
    if (found !== undefined) {
      this.resolved.set(id, found)
      if (write) found.written = true
    }
    this.refs.push({ name: id.name, id, binding: found, write, prop })
  }

  // ---- hoisting -------------------------------------------------------

  private declarePattern (pattern: AstNode | null, scope: Scope, kind: BindingKind, decl: AstNode, parent: AstNode | undefined, fixed: boolean): void {
    if (pattern === null || pattern === undefined) return
    switch (pattern.type) {
      case 'Identifier':
        if (!isThisParam(pattern)) this.bind(scope, pattern, kind, decl, parent, fixed)
        return
      case 'ObjectPattern':
        for (const p of pattern.properties) this.declarePattern(p.type === 'RestElement' ? p.argument : p.value, scope, kind, decl, parent, fixed)
        return
      case 'ArrayPattern':
        for (const e of pattern.elements) this.declarePattern(e, scope, kind, decl, parent, fixed)
        return
      case 'AssignmentPattern':
        this.declarePattern(pattern.left, scope, kind, decl, parent, fixed)
        return
      case 'RestElement':
        this.declarePattern(pattern.argument, scope, kind, decl, parent, fixed)
        return
      case 'TSParameterProperty':
        this.declarePattern(pattern.parameter, scope, kind, decl, parent, fixed)
    }
  }

  /** Declare the block-scoped names (and imports) of one statement. */
  private hoistLexical (stmt: AstNode, scope: Scope, inNamespace: boolean): void {
    let d = stmt
    let exported = false
    if ((stmt.type === 'ExportNamedDeclaration' || stmt.type === 'ExportDefaultDeclaration') && stmt.declaration !== null && stmt.declaration !== undefined) {
      if (isTypeOnly(stmt)) return
      d = stmt.declaration
      exported = true
    }
    if (isTypeOnly(d)) return
    const fixed = inNamespace && exported
    switch (d.type) {
      case 'VariableDeclaration':
        if (d.kind !== 'var') {
          const kind: BindingKind = d.kind === 'let' ? 'let' : d.kind === 'const' ? 'const' : 'using'
          for (const decl of d.declarations) this.declarePattern(decl.id, scope, kind, decl, d, fixed)
        }
        return
      case 'FunctionDeclaration':
        if (d.id !== null && d.id !== undefined) this.bind(scope, d.id, 'function', d, undefined, fixed)
        return
      case 'ClassDeclaration':
        if (d.id !== null && d.id !== undefined) this.bind(scope, d.id, 'class', d, undefined, fixed)
        return
      case 'TSEnumDeclaration':
        this.bind(scope, d.id, 'enum', d, undefined, fixed)
        return
      case 'TSModuleDeclaration':
        if (d.id?.type === 'Identifier') this.bind(scope, d.id, 'namespace', d, undefined, fixed)
        return
      case 'ImportDeclaration':
        for (const spec of d.specifiers) if (!isTypeOnly(spec)) this.bind(scope, spec.local, 'import', spec, d)
        return
      case 'TSImportEqualsDeclaration':
        if (d.importKind !== 'type') this.bind(scope, d.id, 'import', d, d, fixed)
    }
  }

  /** Declare the `var` names of a statement in its function scope, without entering nested functions. */
  private hoistVars (node: AstNode | null | undefined, scope: Scope): void {
    if (node === null || node === undefined) return
    switch (node.type) {
      case 'VariableDeclaration':
        if (node.kind === 'var' && node.declare !== true) {
          for (const decl of node.declarations) this.declarePattern(decl.id, scope, 'var', decl, node, false)
        }
        return
      case 'ExportNamedDeclaration': this.hoistVars(node.declaration, scope); return
      case 'BlockStatement': case 'StaticBlock':
        for (const s of node.body) this.hoistVars(s, scope)
        return
      case 'IfStatement': this.hoistVars(node.consequent, scope); this.hoistVars(node.alternate, scope); return
      case 'ForStatement': this.hoistVars(node.init, scope); this.hoistVars(node.body, scope); return
      case 'ForInStatement': case 'ForOfStatement': this.hoistVars(node.left, scope); this.hoistVars(node.body, scope); return
      case 'WhileStatement': case 'DoWhileStatement': case 'LabeledStatement': case 'WithStatement': this.hoistVars(node.body, scope); return
      case 'TryStatement': this.hoistVars(node.block, scope); this.hoistVars(node.handler?.body, scope); this.hoistVars(node.finalizer, scope); return
      case 'SwitchStatement':
        for (const c of node.cases) for (const s of c.consequent) this.hoistVars(s, scope)
    }
  }

  private hoistBlock (statements: AstNode[], scope: Scope, inNamespace = false): void {
    for (const s of statements) this.hoistLexical(s, scope, inNamespace)
  }

  // ---- statements -----------------------------------------------------

  private statements (list: AstNode[], scope: Scope): void {
    for (const s of list) this.statement(s, scope)
  }

  private statement (node: AstNode, scope: Scope): void {
    if (isTypeOnly(node)) return
    switch (node.type) {
      case 'ImportDeclaration': return
      case 'ExportAllDeclaration': return
      case 'ExportNamedDeclaration':
        if (node.declaration !== null && node.declaration !== undefined) this.statement(node.declaration, scope)
        else if (node.source === null || node.source === undefined) {
          for (const spec of node.specifiers) if (!isTypeOnly(spec) && spec.local.type === 'Identifier') this.ref(spec.local, scope, false)
        }
        return
      case 'ExportDefaultDeclaration': {
        const d = node.declaration
        if (d.type === 'FunctionDeclaration') this.fn(d, scope)
        else if (d.type === 'ClassDeclaration') this.cls(d, scope)
        else if (!isTypeOnly(d)) this.expr(d, scope)
        return
      }
      case 'TSImportEqualsDeclaration': {
        const ref = node.moduleReference
        if (ref.type === 'TSExternalModuleReference') {
          this.moduleUses.push({ kind: 'require', start: node.start, end: node.end, spec: stringKey(ref.expression), prop: undefined })
        } else {
          let root = ref
          while (root.type === 'TSQualifiedName') root = root.left
          if (root.type === 'Identifier') this.ref(root, scope, false)
        }
        return
      }
      case 'VariableDeclaration':
        for (const d of node.declarations) {
          this.pattern(d.id, scope, false)
          if (d.init !== null && d.init !== undefined) this.expr(d.init, scope)
        }
        return
      case 'FunctionDeclaration': this.fn(node, scope); return
      case 'ClassDeclaration': this.cls(node, scope); return
      case 'BlockStatement': {
        const s = this.scope(scope, node, 'block')
        this.hoistBlock(node.body, s)
        this.statements(node.body, s)
        return
      }
      case 'ForStatement': {
        const s = this.scope(scope, node, 'block')
        if (node.init?.type === 'VariableDeclaration') { this.hoistLexical(node.init, s, false); this.statement(node.init, s) } else if (node.init !== null && node.init !== undefined) this.expr(node.init, s)
        if (node.test !== null && node.test !== undefined) this.expr(node.test, s)
        if (node.update !== null && node.update !== undefined) this.expr(node.update, s)
        this.statement(node.body, s)
        return
      }
      case 'ForInStatement': case 'ForOfStatement': {
        const s = this.scope(scope, node, 'block')
        if (node.left.type === 'VariableDeclaration') { this.hoistLexical(node.left, s, false); this.statement(node.left, s) } else this.pattern(node.left, s, true)
        this.expr(node.right, s)
        this.statement(node.body, s)
        return
      }
      case 'SwitchStatement': {
        this.expr(node.discriminant, scope)
        const s = this.scope(scope, node, 'block')
        for (const c of node.cases) this.hoistBlock(c.consequent, s)
        for (const c of node.cases) {
          if (c.test !== null && c.test !== undefined) this.expr(c.test, s)
          this.statements(c.consequent, s)
        }
        return
      }
      case 'TryStatement':
        this.statement(node.block, scope)
        if (node.handler !== null && node.handler !== undefined) {
          const h = node.handler
          const s = this.scope(scope, h, 'block')
          if (h.param !== null && h.param !== undefined) {
            this.declarePattern(h.param, s, 'catch', h, undefined, false)
            this.pattern(h.param, s, false)
          }
          this.statement(h.body, s)
        }
        if (node.finalizer !== null && node.finalizer !== undefined) this.statement(node.finalizer, scope)
        return
      case 'LabeledStatement': this.statement(node.body, scope); return
      case 'BreakStatement': case 'ContinueStatement': case 'EmptyStatement': case 'DebuggerStatement': return
      case 'TSEnumDeclaration': {
        const s = this.scope(scope, node, 'enum')
        const members = new Set<string>()
        for (const m of node.body.members) {
          const name = m.id.type === 'Identifier' ? m.id.name : stringKey(m.id)
          if (name !== undefined) members.add(name)
        }
        this.enumMembers.set(s, members)
        for (const m of node.body.members) if (m.initializer !== null && m.initializer !== undefined) this.expr(m.initializer, s)
        return
      }
      case 'TSModuleDeclaration': {
        let body = node.body
        while (body?.type === 'TSModuleDeclaration') body = body.body
        if (body === null || body === undefined) return
        const s = this.scope(scope, node, 'function')
        for (const st of body.body) { this.hoistLexical(st, s, true); this.hoistVars(st, s) }
        this.statements(body.body, s)
        return
      }
      case 'TSExportAssignment': this.expr(node.expression, scope); return
      default: this.generic(node, scope)
    }
  }

  // ---- functions and classes ------------------------------------------

  fn (node: AstNode, scope: Scope): void {
    if (node.type === 'TSEmptyBodyFunctionExpression' || node.type === 'TSDeclareFunction') return
    let outer = scope
    if (node.type === 'FunctionExpression' && node.id !== null && node.id !== undefined) {
      outer = this.scope(scope, node, 'name')
      this.bind(outer, node.id, 'self', node)
    }
    const s = this.scope(outer, node, 'function')
    for (const p of node.params) this.declarePattern(p, s, 'param', node, undefined, false)
    for (const p of node.params) this.pattern(p, s, false)
    const body = node.body
    if (body === null || body === undefined) return
    if (body.type === 'BlockStatement') {
      for (const st of body.body) { this.hoistLexical(st, s, false); this.hoistVars(st, s) }
      this.statements(body.body, s)
    } else {
      this.expr(body, s)
    }
  }

  cls (node: AstNode, scope: Scope): void {
    for (const d of node.decorators ?? []) this.expr(d, scope)
    if (node.superClass !== null && node.superClass !== undefined) this.expr(node.superClass, scope)
    let s = scope
    if (node.type === 'ClassExpression' && node.id !== null && node.id !== undefined) {
      s = this.scope(scope, node, 'name')
      this.bind(s, node.id, 'self', node)
    }
    for (const m of node.body.body) {
      if (isTypeOnly(m)) continue
      for (const d of m.decorators ?? []) this.expr(d, s)
      if (m.computed === true) this.expr(m.key, s)
      switch (m.type) {
        case 'MethodDefinition': this.fn(m.value, s); break
        case 'PropertyDefinition': case 'AccessorProperty':
          if (m.value !== null && m.value !== undefined) this.expr(m.value, s)
          break
        case 'StaticBlock': {
          const b = this.scope(s, m, 'function')
          for (const st of m.body) { this.hoistLexical(st, b, false); this.hoistVars(st, b) }
          this.statements(m.body, b)
          break
        }
      }
    }
  }

  // ---- patterns -------------------------------------------------------

  /** Walk a binding or assignment pattern: identifiers are declarations (already bound) or writes. */
  private pattern (node: AstNode | null | undefined, scope: Scope, assign: boolean): void {
    if (node === null || node === undefined) return
    switch (node.type) {
      case 'Identifier':
        for (const d of node.decorators ?? []) this.expr(d, scope)
        if (assign) this.ref(node, scope, true)
        return
      case 'ObjectPattern':
        for (const p of node.properties) {
          if (p.type === 'RestElement') { this.pattern(p.argument, scope, assign); continue }
          if (p.computed === true) this.expr(p.key, scope)
          this.pattern(p.value, scope, assign)
        }
        return
      case 'ArrayPattern':
        for (const e of node.elements) this.pattern(e, scope, assign)
        return
      case 'AssignmentPattern':
        this.pattern(node.left, scope, assign)
        this.expr(node.right, scope)
        return
      case 'RestElement':
        this.pattern(node.argument, scope, assign)
        return
      case 'TSParameterProperty':
        for (const d of node.decorators ?? []) this.expr(d, scope)
        this.pattern(node.parameter, scope, assign)
        return
      default:
        if (TS_WRAPPERS.has(node.type)) { this.pattern(node.expression, scope, assign); return }
        // A member expression target (`a.b = 1`) reads `a`.
        this.expr(node, scope)
    }
  }

  // ---- expressions ----------------------------------------------------

  private expr (node: AstNode | null | undefined, scope: Scope): void {
    if (node === null || node === undefined) return
    switch (node.type) {
      case 'Identifier': this.ref(node, scope, false); return
      case 'Literal': case 'ThisExpression': case 'Super': case 'MetaProperty': case 'PrivateIdentifier': case 'JSXText': return
      case 'MemberExpression': {
        const obj = node.object
        if (obj.type === 'Identifier') {
          this.ref(obj, scope, false, memberName(node))
        } else {
          this.expr(obj, scope)
          if (obj.type === 'CallExpression') {
            const use = this.moduleUses.find((u) => u.start === obj.start && u.end === obj.end)
            if (use !== undefined) use.prop = memberName(node)
          }
        }
        if (node.computed === true) this.expr(node.property, scope)
        return
      }
      case 'CallExpression': {
        const callee = node.callee
        if (callee.type === 'Identifier' && callee.name === 'require' && this.lookup(scope, 'require') === undefined && node.arguments.length >= 1) {
          this.moduleUses.push({ kind: 'require', start: node.start, end: node.end, spec: stringKey(node.arguments[0]), prop: undefined })
        }
        this.expr(callee, scope)
        for (const a of node.arguments) this.expr(a, scope)
        return
      }
      case 'ImportExpression':
        this.moduleUses.push({ kind: 'import', start: node.start, end: node.end, spec: stringKey(node.source), prop: undefined })
        this.expr(node.source, scope)
        this.expr(node.options, scope)
        return
      case 'AssignmentExpression':
        this.pattern(node.left, scope, true)
        if (node.operator !== '=' && node.left.type === 'Identifier') this.ref(node.left, scope, false)
        this.expr(node.right, scope)
        return
      case 'UpdateExpression':
        if (node.argument.type === 'Identifier') { this.ref(node.argument, scope, true); return }
        this.expr(node.argument, scope)
        return
      case 'FunctionExpression': case 'ArrowFunctionExpression': this.fn(node, scope); return
      case 'ClassExpression': this.cls(node, scope); return
      case 'ObjectExpression':
        for (const p of node.properties) {
          if (p.type === 'SpreadElement') { this.expr(p.argument, scope); continue }
          if (p.computed === true) this.expr(p.key, scope)
          this.expr(p.value, scope)
        }
        return
      case 'JSXOpeningElement': case 'JSXClosingElement':
        this.jsxName(node.name, scope)
        for (const a of node.attributes ?? []) {
          if (a.type === 'JSXSpreadAttribute') this.expr(a.argument, scope)
          else this.expr(a.value, scope)
        }
        return
      default:
        if (TS_WRAPPERS.has(node.type)) { this.expr(node.expression, scope); return }
        if (isTypeOnly(node)) return
        this.generic(node, scope)
    }
  }

  private jsxName (name: AstNode, scope: Scope): void {
    if (name.type === 'JSXIdentifier') {
      // Lower-case names are intrinsic elements (`div`), not variables.
      if (/^[A-Z_$]/.test(name.name)) this.ref(name, scope, false)
    } else if (name.type === 'JSXMemberExpression') {
      let root = name
      let prop: string | undefined
      while (root.type === 'JSXMemberExpression') { prop = root.property.name; root = root.object }
      if (root.type === 'JSXIdentifier' && root.name !== 'this') this.ref(root, scope, false, prop)
    }
  }

  private generic (node: AstNode, scope: Scope): void {
    for (const key of childKeys(node.type)) {
      if (TYPE_KEYS.has(key)) continue
      const child = node[key]
      if (child === null || child === undefined) continue
      if (Array.isArray(child)) {
        for (const c of child) if (c !== null && typeof c === 'object') this.child(c, scope)
      } else if (typeof child === 'object') {
        this.child(child, scope)
      }
    }
  }

  private child (node: AstNode, scope: Scope): void {
    if (isStatement(node.type)) this.statement(node, scope)
    else this.expr(node, scope)
  }
}

const STATEMENTS = new Set([
  'BlockStatement', 'VariableDeclaration', 'FunctionDeclaration', 'ClassDeclaration', 'ForStatement', 'ForInStatement',
  'ForOfStatement', 'SwitchStatement', 'TryStatement', 'LabeledStatement', 'BreakStatement', 'ContinueStatement',
  'EmptyStatement', 'DebuggerStatement', 'TSEnumDeclaration', 'TSModuleDeclaration', 'TSExportAssignment',
  'ImportDeclaration', 'ExportNamedDeclaration', 'ExportDefaultDeclaration', 'ExportAllDeclaration', 'TSImportEqualsDeclaration'
])

function isStatement (type: string): boolean {
  return STATEMENTS.has(type)
}

/**
 * Analyse the scopes of a parsed program.
 *
 * @example
 * const { program } = parseSource('a.ts', 'const k = 2; export const f = (x) => x * k')
 * const info = analyzeScopes(program)
 * info.refs.filter((r) => r.binding === undefined) // free names
 */
export function analyzeScopes (program: AstNode): ScopeInfo {
  return new Analyzer().analyze(program)
}

/**
 * The index range `[lo, hi)` of items whose position lies within `[start, end)`,
 * in an array sorted by position.
 *
 * @example
 * const [lo, hi] = rangeOf(info.refs, (r) => r.id.start, fn.start, fn.end)
 */
export function rangeOf<T> (sorted: readonly T[], pos: (item: T) => number, start: number, end: number): [number, number] {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (pos(sorted[mid]!) < start) lo = mid + 1
    else hi = mid
  }
  let hi2 = lo
  let top = sorted.length
  while (hi2 < top) {
    const mid = (hi2 + top) >>> 1
    if (pos(sorted[mid]!) < end) hi2 = mid + 1
    else top = mid
  }
  return [lo, hi2]
}
