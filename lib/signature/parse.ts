/**
 * Parsing source text into an ESTree-shaped AST with oxc-parser.
 *
 * oxc-parser is a native addon. It is loaded on the first parse, not at
 * import: importing the library must not load native code (nor need a
 * top-level `await`, which would break `require('dds-ts')` from CommonJS), so
 * it is required synchronously. Where native addons are refused (Node's
 * permission model, a missing platform binding) the signature engine must
 * still work and fall back to hashing function text, so a failed load is
 * remembered, not thrown.
 */
import { createRequire } from 'node:module'
import { extname } from 'node:path'

/**
 * An AST node as produced by oxc-parser. The analysis walks nodes generically
 * (by the parser's visitor keys), so fields are read by name.
 */
export interface AstNode {
  type: string
  start: number
  end: number
  // The AST is consumed by generic walkers keyed by oxc's visitor keys; a
  // precise union of every node shape would not make those walkers safer.
  [field: string]: any
}

/** The result of parsing one file. */
export interface ParsedSource {
  program: AstNode
  /** Error messages; non-empty means the AST is partial and must not be trusted. */
  errors: string[]
}

type OxcModule = typeof import('oxc-parser')

const require = createRequire(import.meta.url)

let state: { oxc: OxcModule | undefined, failure: unknown, keys: Record<string, readonly string[]> } | undefined

/** The parser, loaded on first use; `undefined` when it cannot load. */
function parser (): OxcModule | undefined {
  if (state === undefined) {
    try {
      // oxc-parser is an ES module without top-level await: Node >= 20.19 requires it synchronously.
      const oxc = require('oxc-parser') as OxcModule
      state = { oxc, failure: undefined, keys: oxc.visitorKeys as Record<string, readonly string[]> }
    } catch (err) {
      state = { oxc: undefined, failure: err, keys: {} }
    }
  }
  return state.oxc
}

/**
 * Whether the parser loaded in this process.
 *
 * @example
 * if (!parserAvailable()) console.warn('code signatures fall back to function text')
 */
export function parserAvailable (): boolean {
  return parser() !== undefined
}

/**
 * Why the parser failed to load, for diagnostics; `undefined` when it loaded.
 *
 * @example
 * const why = parserLoadFailure()
 */
export function parserLoadFailure (): unknown {
  parser()
  return state?.failure
}

const EMPTY: readonly string[] = Object.freeze([])

/**
 * The child keys of a node type, in source order (oxc's visitor keys).
 *
 * @example
 * childKeys('BinaryExpression') // ['left', 'right']
 */
export function childKeys (type: string): readonly string[] {
  // Called for every node walked: only the first call loads the parser.
  if (state === undefined) parser()
  return state!.keys[type] ?? EMPTY
}

function langOf (file: string): 'js' | 'jsx' | 'ts' | 'tsx' {
  switch (extname(file).toLowerCase()) {
    case '.ts': case '.mts': case '.cts': return 'ts'
    case '.tsx': return 'tsx'
    case '.jsx': return 'jsx'
    default: return 'js'
  }
}

function sourceTypeOf (file: string): 'module' | 'commonjs' | 'unambiguous' {
  switch (extname(file).toLowerCase()) {
    case '.mjs': case '.mts': return 'module'
    case '.cjs': case '.cts': return 'commonjs'
    default: return 'unambiguous'
  }
}

/**
 * Parse a file's text. The language follows the file extension; a `.js` file
 * that fails as plain JavaScript is retried as JSX. Throws only when the
 * parser is not available (check {@link parserAvailable} first).
 *
 * @example
 * const { program, errors } = parseSource('src/a.ts', 'export const a: number = 1')
 */
export function parseSource (file: string, text: string, lang = langOf(file)): ParsedSource {
  const oxc = parser()
  if (oxc === undefined) throw new Error('oxc-parser is not available', { cause: state?.failure })
  const sourceType = sourceTypeOf(file)
  let result = oxc.parseSync(file, text, { lang, sourceType, preserveParens: false })
  if (result.errors.length > 0 && lang === 'js') {
    const retry = oxc.parseSync(file, text, { lang: 'jsx', sourceType, preserveParens: false })
    if (retry.errors.length === 0) result = retry
  }
  const errors = result.errors.filter((e) => e.severity === 'Error').map((e) => e.message)
  return { program: result.program as unknown as AstNode, errors }
}

/**
 * Parse a snippet of code that is an expression or class member on its own
 * (what `Function.prototype.toString` returns), by trying the wrappings that
 * make each kind valid. Returns the wrapping program and the node of the
 * function or class, or `undefined` when no wrapping parses.
 *
 * @example
 * parseFunctionText('(a, b) => a + b')?.node.type // 'ArrowFunctionExpression'
 */
export function parseFunctionText (text: string): { program: AstNode, node: AstNode } | undefined {
  const oxc = parser()
  if (oxc === undefined) return undefined
  // Method shorthand (`m() {}`, `get x() {}`, `async *g() {}`) is only valid
  // inside an object or class body; class members without a body keyword
  // (fields are never returned by toString) are tried last.
  const attempts: Array<[string, (p: AstNode) => AstNode | undefined]> = [
    [`(${text}\n)`, (p) => p.body[0]?.expression],
    [`({${text}\n})`, (p) => p.body[0]?.expression?.properties?.[0]?.value],
    [`(class {${text}\n})`, (p) => p.body[0]?.expression?.body?.body?.[0]?.value]
  ]
  for (const [wrapped, pick] of attempts) {
    const result = oxc.parseSync('fn.js', wrapped, { lang: 'js', sourceType: 'script', preserveParens: false })
    if (result.errors.some((e) => e.severity === 'Error')) continue
    const program = result.program as unknown as AstNode
    const node = pick(program)
    if (node !== undefined && node !== null) return { program, node }
  }
  return undefined
}
