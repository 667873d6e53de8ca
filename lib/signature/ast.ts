/**
 * Small facts about oxc AST nodes shared by the scope analysis, the module
 * index and the canonicaliser: which nodes exist only for the type checker,
 * static member names and string literals, and ranges of position-sorted lists.
 */
import type { AstNode } from './parse.js'

/** Keys that hold only type information. */
export const TYPE_KEYS = new Set(['typeAnnotation', 'returnType', 'typeParameters', 'typeArguments', 'superTypeArguments', 'implements'])

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

/**
 * The value of a string literal or of a template literal without expressions; `undefined` otherwise.
 *
 * @example
 * literalString(parseExpr("'./a.js'")) // './a.js'
 */
export function literalString (node: AstNode | null | undefined): string | undefined {
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
  return literalString(member.property)
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
