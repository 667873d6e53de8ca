/**
 * Scope analysis of one parsed file, the walk: every binding with the node
 * that declares it, every identifier reference resolved to its binding (or
 * left free), and the `require(...)` / `import(...)` calls. Declaring and
 * hoisting names is in bindings.ts, which also holds the vocabulary.
 *
 * Type positions (annotations, interfaces, `declare` forms, overloads) are
 * skipped: they do not exist at run time, so they neither bind nor reference.
 */
import { isTypeOnly, literalString, memberName, TS_WRAPPERS, TYPE_KEYS } from './ast.js'
import { ScopeBuilder } from './bindings.js'
import type { Scope, ScopeInfo } from './bindings.js'
import { childKeys } from './parse.js'
import type { AstNode } from './parse.js'

class Analyzer extends ScopeBuilder {
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
    this.blind.sort((a, b) => a.start - b.start)
    return { program: scope, bindings: this.bindings, refs: this.refs, resolved: this.resolved, moduleUses: this.moduleUses, blind: this.blind, scopeOf: this.scopeOf }
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
          this.moduleUses.push({ kind: 'require', start: node.start, end: node.end, spec: literalString(ref.expression), prop: undefined })
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
          const name = m.id.type === 'Identifier' ? m.id.name : literalString(m.id)
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
      case 'WithStatement': this.blind.push({ kind: 'with', start: node.start }); this.generic(node, scope); return
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
        if (node.type === 'MemberExpression' && node.computed === true && literalString(node.property) === undefined && node.property.type !== 'Literal') {
          let root = node.object
          while (root.type === 'MemberExpression' || TS_WRAPPERS.has(root.type)) root = root.type === 'MemberExpression' ? root.object : root.expression
          this.blind.push({ kind: 'computed-write', start: node.start, root: root.type === 'Identifier' ? root : undefined })
        }
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
          this.moduleUses.push({ kind: 'require', start: node.start, end: node.end, spec: literalString(node.arguments[0]), prop: undefined })
        }
        this.expr(callee, scope)
        for (const a of node.arguments) this.expr(a, scope)
        return
      }
      case 'ImportExpression':
        this.moduleUses.push({ kind: 'import', start: node.start, end: node.end, spec: literalString(node.source), prop: undefined })
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
