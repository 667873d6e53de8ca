/**
 * The vocabulary of scope analysis (scopes, bindings, references, module
 * uses) and the half of the analyser that declares names: binding, lookup
 * and hoisting. The walk over statements and expressions that uses it is in
 * scope.ts.
 */
import { isThisParam, isTypeOnly } from './ast.js'
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

/**
 * A place whose effect the analysis cannot see: a `with` block (its names may
 * be properties of an object), a write with a computed key (`X[k] = v`).
 */
export interface BlindSpot {
  readonly kind: 'with' | 'computed-write'
  readonly start: number
  /** The identifier at the root of the written object (`X` in `X.a[k] = v`), when there is one. */
  readonly root?: AstNode
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
  /** Sorted by position. */
  readonly blind: BlindSpot[]
  /** The scope each function, class-name, block or program node opens. */
  readonly scopeOf: Map<AstNode, Scope>
}

/** Marks a name that is an enum member inside its enum's initialisers (not a variable). */
const ENUM_MEMBER = Symbol('enum member')

/**
 * Declares names and resolves references to them; subclassed by the walker
 * that visits every node.
 *
 * @example
 * class Walker extends ScopeBuilder { walk (p: AstNode) { const s = this.scope(undefined, p, 'program'); ... } }
 */
export abstract class ScopeBuilder {
  readonly bindings: Binding[] = []
  readonly refs: Reference[] = []
  readonly resolved = new Map<AstNode, Binding>()
  readonly moduleUses: ModuleUse[] = []
  readonly blind: BlindSpot[] = []
  readonly scopeOf = new Map<AstNode, Scope>()
  /** Index of the program statement being walked, recorded in each binding. */
  protected top = -1
  protected readonly enumMembers = new Map<Scope, Set<string>>()


  protected scope (parent: Scope | undefined, node: AstNode, kind: Scope['kind']): Scope {
    const s: Scope = { parent, node, kind, vars: new Map() }
    // A named function expression opens a name scope and then its function
    // scope on the same node; the inner one is what code inside sees.
    this.scopeOf.set(node, s)
    return s
  }

  protected bind (scope: Scope, id: AstNode, kind: BindingKind, decl: AstNode, parent?: AstNode, fixedName = false): void {
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

  protected lookup (scope: Scope | undefined, name: string): Binding | typeof ENUM_MEMBER | undefined {
    for (let s = scope; s !== undefined; s = s.parent) {
      if (s.kind === 'enum' && this.enumMembers.get(s)?.has(name) === true) return ENUM_MEMBER
      const b = s.vars.get(name)
      if (b !== undefined) return b
    }
    return undefined
  }

  protected ref (id: AstNode, scope: Scope, write: boolean, prop?: string): void {
    const found = this.lookup(scope, id.name)
    if (found === ENUM_MEMBER) return
    if (found !== undefined) {
      this.resolved.set(id, found)
      if (write) found.written = true
    }
    this.refs.push({ name: id.name, id, binding: found, write, prop })
  }

  // ---- hoisting -------------------------------------------------------

  protected declarePattern (pattern: AstNode | null, scope: Scope, kind: BindingKind, decl: AstNode, parent: AstNode | undefined, fixed: boolean): void {
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
  protected hoistLexical (stmt: AstNode, scope: Scope, inNamespace: boolean): void {
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
  protected hoistVars (node: AstNode | null | undefined, scope: Scope): void {
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

  protected hoistBlock (statements: AstNode[], scope: Scope, inNamespace = false): void {
    for (const s of statements) this.hoistLexical(s, scope, inNamespace)
  }
}
