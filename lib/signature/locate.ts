/**
 * Finding a function in a parsed file (by position, by name, or by its
 * canonical text), naming nested code stably, and the call-site search used
 * when the inspector is unavailable.
 */
import { fileURLToPath } from 'node:url'
import { childKeys } from './parse.js'
import type { AstNode } from './parse.js'
import { memberName } from './ast.js'

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression', 'ClassDeclaration', 'ClassExpression'])
const MEMBER_TYPES = new Set(['MethodDefinition', 'Property', 'PropertyDefinition', 'AccessorProperty'])

/**
 * True for nodes that create a function object (classes are functions too).
 *
 * @example
 * isFunctionLike({ type: 'ArrowFunctionExpression', start: 0, end: 8 }) // true
 */
export function isFunctionLike (node: AstNode): boolean {
  return FUNCTION_TYPES.has(node.type)
}

/**
 * The child nodes of a node, in visitor-key order.
 *
 * @example
 * children(program).length === program.body.length
 */
export function children (node: AstNode): AstNode[] {
  const out: AstNode[] = []
  for (const key of childKeys(node.type)) {
    const child = node[key]
    if (child === null || child === undefined) continue
    if (Array.isArray(child)) {
      for (const c of child) if (c !== null && typeof c === 'object' && typeof c.type === 'string') out.push(c)
    } else if (typeof child === 'object' && typeof child.type === 'string') {
      out.push(child)
    }
  }
  return out
}

/** A node with the chain of nodes above it, from the program down to its parent. */
export interface Located {
  node: AstNode
  ancestors: AstNode[]
}

/**
 * The innermost function or class whose source range contains `offset`.
 *
 * @example
 * functionAt(program, text.indexOf('(x) =>'))?.node.type // 'ArrowFunctionExpression'
 */
export function functionAt (program: AstNode, offset: number): Located | undefined {
  const path: AstNode[] = []
  let found: Located | undefined
  let node: AstNode | undefined = program
  while (node !== undefined) {
    if (isFunctionLike(node)) found = { node, ancestors: path.slice() }
    path.push(node)
    // A method's function node starts at its parameters; a position mapped
    // onto the method's name still means that method.
    const value = node.value
    if (MEMBER_TYPES.has(node.type) && value !== null && typeof value === 'object' && isFunctionLike(value) && offset < value.start) {
      return { node: value, ancestors: path.slice() }
    }
    let next: AstNode | undefined
    for (const c of children(node)) {
      if (c.start <= offset && offset < c.end) { next = c; break }
    }
    node = next
  }
  return found
}

/**
 * The chain of ancestors of a node, found by descending through source ranges.
 *
 * @example
 * ancestorsOf(program, binding.decl)
 */
export function ancestorsOf (program: AstNode, target: AstNode): AstNode[] | undefined {
  const path: AstNode[] = []
  let node: AstNode | undefined = program
  while (node !== undefined) {
    if (node === target) return path
    path.push(node)
    let next: AstNode | undefined
    for (const c of children(node)) {
      if (c.start <= target.start && target.end <= c.end) { next = c; break }
    }
    node = next
  }
  return undefined
}

/**
 * Every function or class node of a program, in source order, with its ancestors.
 *
 * @example
 * allFunctions(program).map((l) => nodeName(l))
 */
export function allFunctions (program: AstNode): Located[] {
  const out: Located[] = []
  const walk = (node: AstNode, path: AstNode[]): void => {
    if (isFunctionLike(node)) out.push({ node, ancestors: path.slice() })
    path.push(node)
    for (const c of children(node)) walk(c, path)
    path.pop()
  }
  walk(program, [])
  return out
}

function keyName (member: AstNode): string | undefined {
  if (member.computed === true) return undefined
  const k = member.key
  if (k === null || k === undefined) return undefined
  if (k.type === 'Identifier') return k.name
  if (k.type === 'PrivateIdentifier') return `#${k.name as string}`
  if (k.type === 'Literal') return String(k.value)
  return undefined
}

/** The name a node gives to what it declares, or `undefined` when it names nothing. */
function namingSegment (node: AstNode): string | undefined {
  switch (node.type) {
    case 'FunctionDeclaration': case 'ClassDeclaration':
      return node.id?.name
    case 'VariableDeclarator':
      return node.id?.type === 'Identifier' ? node.id.name : undefined
    case 'MethodDefinition': case 'PropertyDefinition': case 'AccessorProperty': {
      const name = keyName(node) ?? '[computed]'
      const kind: string = node.kind === 'get' || node.kind === 'set' ? `${node.kind as string}:` : ''
      return `${node.static === true ? 'static:' : ''}${kind}${name}`
    }
    case 'Property':
      return keyName(node) ?? '[computed]'
    case 'ExportDefaultDeclaration':
      return 'default'
    case 'AssignmentExpression':
      return node.left?.type === 'MemberExpression' ? memberName(node.left) : node.left?.type === 'Identifier' ? node.left.name : undefined
  }
  return undefined
}

/**
 * A name for a node that is stable under edits elsewhere: the names of the
 * declarations, members and properties enclosing it, `~` for anonymous code.
 * `makeScaler/~` is the arrow returned by `makeScaler`; `Model/predict` a method.
 *
 * @example
 * nestedPath(located.ancestors, located.node) // 'makeScaler/~'
 */
export function nestedPath (ancestors: AstNode[], node: AstNode): string {
  const segments: string[] = []
  const chain = [...ancestors.slice(1), node]
  for (let i = 0; i < chain.length; i++) {
    const n = chain[i]!
    const parent = i === 0 ? undefined : chain[i - 1]
    const seg = namingSegment(n)
    if (seg !== undefined) { segments.push(seg); continue }
    if (i === 0 && n.type !== 'ExportNamedDeclaration' && n.type !== 'VariableDeclaration') { segments.push('~'); continue }
    if (n === node && isFunctionLike(n)) {
      const namedByParent = parent !== undefined && namingSegment(parent) !== undefined &&
        (parent.init === n || parent.value === n || parent.right === n || parent.declaration === n)
      if (!namedByParent) segments.push(n.id?.name ?? '~')
    }
  }
  return segments.join('/')
}

/**
 * A function's display name from its node: its own name, or the name of the
 * declaration, property or member that holds it.
 *
 * @example
 * nodeName(located) // 'applyRate'
 */
export function nodeName (located: Located): string {
  const n = located.node
  if (n.id?.type === 'Identifier') return n.id.name
  const parent = located.ancestors[located.ancestors.length - 1]
  if (parent !== undefined) {
    const seg = namingSegment(parent)
    if (seg !== undefined) return seg
  }
  return ''
}

/**
 * 0-based line and column to a UTF-16 offset, and back.
 *
 * @example
 * const lines = new LineIndex(text); lines.offset(2, 4)
 */
export class LineIndex {
  private readonly starts: number[] = [0]
  constructor (text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1)
  }

  offset (line: number, column: number): number {
    return (this.starts[line] ?? this.starts[this.starts.length - 1]!) + column
  }

  position (offset: number): { line: number, column: number } {
    let lo = 0
    let hi = this.starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.starts[mid]! <= offset) lo = mid
      else hi = mid - 1
    }
    return { line: lo, column: offset - this.starts[lo]! }
  }
}

/** A stack frame outside this library. */
export interface CallSiteFrame {
  file: string
  /** 0-based. */
  line: number
  column: number
}

/**
 * The stack frames of the current call, innermost first, without this
 * library's own frames, Node internals and packages. Positions are those of
 * the running code (not source-mapped).
 *
 * @example
 * callSiteFrames()[0]?.file // the user's file that called the library
 */
export function callSiteFrames (isOwn: (file: string) => boolean): CallSiteFrame[] {
  const saved = Error.prepareStackTrace
  const savedLimit = Error.stackTraceLimit
  let sites: NodeJS.CallSite[] = []
  try {
    Error.stackTraceLimit = 50
    Error.prepareStackTrace = (_err, stack) => stack
    const holder: { stack?: unknown } = {}
    Error.captureStackTrace(holder, callSiteFrames)
    sites = holder.stack as NodeJS.CallSite[]
  } finally {
    Error.prepareStackTrace = saved
    Error.stackTraceLimit = savedLimit
  }
  const out: CallSiteFrame[] = []
  for (const site of sites ?? []) {
    const name = site.getFileName()
    if (name === undefined || name === null) continue
    let file: string
    if (name.startsWith('file:')) {
      try { file = fileURLToPath(name.replace(/[?#].*$/, '')) } catch { continue }
    } else if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name)) {
      file = name
    } else {
      continue
    }
    if (file.split(/[\\/]/).includes('node_modules') || isOwn(file)) continue
    out.push({ file, line: (site.getLineNumber() ?? 1) - 1, column: (site.getColumnNumber() ?? 1) - 1 })
  }
  return out
}
