/**
 * Values the source states outright: a literal expression evaluated without
 * running anything, for the arguments a script passes and the module
 * constants a function reads.
 */
import { TS_WRAPPERS, literalString } from '../signature/ast.js'
import type { AstNode } from '../signature/parse.js'

/** The value of a literal expression, or NOT_STATIC. */
export const NOT_STATIC: unique symbol = Symbol('not static')

/**
 * The value a literal expression evaluates to (numbers, strings, booleans,
 * null, undefined, arrays and plain objects of them), or NOT_STATIC.
 *
 * @example
 * literalValue(parseExpr('{ min: -60, max: [1, 2] }')) // { min: -60, max: [1, 2] }
 */
export function literalValue (node: AstNode | null | undefined): unknown {
  let n = node
  while (n !== null && n !== undefined && TS_WRAPPERS.has(n.type)) n = n.expression
  if (n === null || n === undefined) return NOT_STATIC
  switch (n.type) {
    case 'Literal':
      // A regular expression or a bigint is an object or a type of its own at run time.
      return n.regex !== undefined || n.bigint !== undefined ? NOT_STATIC : n.value
    case 'TemplateLiteral': return literalString(n) ?? NOT_STATIC
    case 'Identifier': return n.name === 'undefined' ? undefined : NOT_STATIC
    case 'UnaryExpression': {
      const v = literalValue(n.argument)
      if (v === NOT_STATIC || typeof v !== 'number') return NOT_STATIC
      return n.operator === '-' ? -v : n.operator === '+' ? v : NOT_STATIC
    }
    case 'ArrayExpression': {
      const out: unknown[] = []
      for (const e of n.elements as Array<AstNode | null>) {
        const v = e === null || e.type === 'SpreadElement' ? NOT_STATIC : literalValue(e)
        if (v === NOT_STATIC) return NOT_STATIC
        out.push(v)
      }
      return out
    }
    case 'ObjectExpression': {
      const out: Record<string, unknown> = {}
      for (const p of n.properties as AstNode[]) {
        if (p.type !== 'Property' || p.computed === true || p.kind !== 'init' || p.method === true) return NOT_STATIC
        const key = p.key.type === 'Identifier' ? p.key.name : p.key.type === 'Literal' ? String(p.key.value) : undefined
        const v = literalValue(p.value)
        if (key === undefined || key === '__proto__' || v === NOT_STATIC) return NOT_STATIC
        out[key] = v
      }
      return out
    }
    default: return NOT_STATIC
  }
}

