/**
 * Canonical form of code: a text rendering of an AST that keeps what the code
 * does and drops what it does not: positions, comments, whitespace, literal
 * spelling (`0x10` and `16` are one number), type annotations and other
 * TypeScript-only syntax, and the names of local bindings, which are replaced
 * by their order of declaration. Two pieces of code with the same canonical
 * form behave the same; any edit that can change behaviour changes it.
 */
import { createHash } from 'node:crypto'
import type { AstNode } from './parse.js'
import { isThisParam, isTypeOnly, rangeOf, TS_WRAPPERS } from './ast.js'
import type { Binding, ScopeInfo } from './bindings.js'

/** Keys never rendered: positions, spelling, and TypeScript-only modifiers. */
const SKIP_KEYS = new Set([
  'type', 'start', 'end', 'range', 'loc', 'raw', 'extra',
  'typeAnnotation', 'returnType', 'typeParameters', 'typeArguments', 'superTypeArguments', 'implements',
  'declare', 'definite', 'accessibility', 'override', 'readonly', 'abstract', 'importKind', 'exportKind',
  // `{ a }` and `{ a: a }` are the same object.
  'shorthand'
])

/** Node types where `optional` is run-time syntax (`a?.b`, `f?.()`); elsewhere it is a TS `?` marker. */
const OPTIONAL_MEANS_CHAINING = new Set(['MemberExpression', 'CallExpression'])

/**
 * Decides the rendering of an identifier: a replacement name for local
 * bindings, `undefined` to keep the identifier's own name.
 */
export type Renamer = (id: AstNode) => string | undefined

class Renderer {
  private tagged = false
  constructor (private readonly rename: Renamer) {}

  node (node: unknown): string {
    if (node === null || node === undefined) return '_'
    if (Array.isArray(node)) return this.list(node)
    if (typeof node !== 'object') return JSON.stringify(node) ?? '_'
    const n = node as AstNode
    const type = n.type
    if (typeof type !== 'string') return this.plain(n)
    if (TS_WRAPPERS.has(type)) return this.node(n.expression)
    switch (type) {
      case 'Identifier': case 'JSXIdentifier': return this.rename(n) ?? `I:${n.name as string}`
      case 'PrivateIdentifier': return `P:${n.name as string}`
      case 'Literal':
        if (n.regex !== undefined && n.regex !== null) return `R:${JSON.stringify([n.regex.pattern, n.regex.flags])}`
        if (typeof n.bigint === 'string') return `B:${n.bigint}`
        return `L:${JSON.stringify(n.value)}`
      case 'TemplateElement':
        return this.tagged ? `T:${JSON.stringify([n.value.cooked, n.value.raw])}` : `T:${JSON.stringify(n.value.cooked)}`
      case 'JSXText': return `X:${JSON.stringify(n.value)}`
      case 'TSParameterProperty': return `(ParamProperty ${this.list(n.decorators ?? [])} ${this.node(n.parameter)})`
      case 'TaggedTemplateExpression': {
        const tag = this.node(n.tag)
        const saved = this.tagged
        this.tagged = true
        const quasi = this.node(n.quasi)
        this.tagged = saved
        return `(Tagged ${tag} ${quasi})`
      }
      case 'TemplateLiteral': {
        // A template nested in a tag's expressions is not itself tagged.
        const saved = this.tagged
        const quasis = this.list(n.quasis)
        this.tagged = false
        const exprs = this.list(n.expressions)
        this.tagged = saved
        return `(Template ${quasis} ${exprs})`
      }
    }
    let out = `(${type}`
    for (const key of Object.keys(n)) {
      if (SKIP_KEYS.has(key)) continue
      if (key === 'optional' && !OPTIONAL_MEANS_CHAINING.has(type)) continue
      let value = n[key]
      if (key === 'params' && Array.isArray(value)) value = value.filter((p: AstNode) => !isThisParam(p))
      out += ` ${key}=${this.node(value)}`
    }
    return out + ')'
  }

  private list (items: unknown[]): string {
    let out = '['
    let first = true
    for (const item of items) {
      if (item !== null && typeof item === 'object' && typeof (item as AstNode).type === 'string' && isTypeOnly(item as AstNode)) continue
      out += first ? this.node(item) : `,${this.node(item)}`
      first = false
    }
    return out + ']'
  }

  private plain (obj: Record<string, unknown>): string {
    let out = '{'
    for (const key of Object.keys(obj).sort()) {
      if (SKIP_KEYS.has(key)) continue
      out += `${key}=${this.node(obj[key])};`
    }
    return out + '}'
  }
}

/**
 * Render a node canonically with a given renaming of identifiers.
 *
 * @example
 * canonicalText(node, () => undefined) // keep every name
 */
export function canonicalText (node: AstNode, rename: Renamer): string {
  return new Renderer(rename).node(node)
}

/**
 * A renamer for code inside `[start, end)` of an analysed file: bindings
 * declared inside that range and not at the top level of the file become
 * `$0`, `$1`, ... in order of declaration; everything else (top-level and
 * enclosing names, globals, property names) keeps its name.
 *
 * @example
 * const text = canonicalText(fnNode, localRenamer(info, fnNode.start, fnNode.end))
 */
export function localRenamer (info: ScopeInfo, start: number, end: number): Renamer {
  const [lo, hi] = rangeOf(info.bindings, (b) => b.id.start, start, end)
  const order = new Map<Binding, number>()
  for (let i = lo; i < hi; i++) {
    const b = info.bindings[i]!
    if (b.scope.kind === 'program' || b.fixedName) continue
    order.set(b, order.size)
  }
  return (id) => {
    const b = info.resolved.get(id)
    if (b === undefined) return undefined
    const i = order.get(b)
    return i === undefined ? undefined : `$${i}`
  }
}

/**
 * The canonical text of a node of an analysed file, with its locals renamed.
 *
 * @example
 * canonicalOf(info, program.body[0])
 */
export function canonicalOf (info: ScopeInfo, node: AstNode): string {
  return canonicalText(node, localRenamer(info, node.start, node.end))
}

/**
 * SHA-256 of text or bytes, as a fresh 32-byte Uint8Array.
 *
 * @example
 * sha256('abc').length // 32
 */
export function sha256 (data: string | Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest())
}
