/**
 * The canonical form of code: cosmetic edits keep a declaration's hash,
 * semantic edits change it. Also the scope analysis it rests on.
 */
import t from 'tap'
import { buildModuleIndex, unitHash, unitNodes } from '../../../lib/signature/module-index.js'
import { analyzeScopes } from '../../../lib/signature/scope.js'
import { parseSource } from '../../../lib/signature/parse.js'

/** Hex hash of the top-level declaration `name` in a TypeScript source. */
function hashOf (src: string, name = 'f', file = 'x.ts'): string {
  const index = buildModuleIndex(`/virtual/${file}`, src)
  if (index.errors.length > 0) throw new Error(`parse error: ${index.errors.join('; ')}`)
  const b = index.scopes.program.vars.get(name)
  if (b === undefined) throw new Error(`no top-level ${name}`)
  return Buffer.from(unitHash(index, unitNodes(index, b)).hash).toString('hex')
}

const same: Array<[string, string, string]> = [
  ['comments and whitespace', 'function f(a) { return a + 1 }', 'function f(a){\n  // one more\n  return a+1; /* done */\n}'],
  ['local renames', 'function f(a) { const b = a * 2; let c = b; return c }', 'function f(x) { const y = x * 2; let z = y; return z }'],
  ['renamed catch, loop and destructured locals', 'function f(o) { for (const [k, v] of o) { try { g(k, v) } catch (e) { h(e) } } const { p, q: r } = o; return p + r }',
    'function f(m) { for (const [key, val] of m) { try { g(key, val) } catch (err) { h(err) } } const { p, q: s } = m; return p + s }'],
  ['hoisted var renamed by declaration order', 'function f() { a = 1; var a; var b = 2; return a + b }', 'function f() { x = 1; var x; var y = 2; return x + y }'],
  ['type annotations', 'function f(a: number, b?: string): number { const c: number = a; return c }', 'function f(a, b) { const c = a; return c }'],
  ['generics, casts, non-null, satisfies', 'function f<T extends object>(a: T): T { return (a as any)!.x satisfies unknown }', 'function f(a) { return a.x }'],
  ['TS this parameter', 'function f(this: Window, a: number) { return a }', 'function f(a) { return a }'],
  ['literal spelling', "function f() { return [0x10, 1_000, 'a', 1e3] }", 'function f() { return [16, 1000, "a", 1000] }'],
  ['untagged template escapes', 'function f() { return `\\x41` }', 'function f() { return `A` }'],
  ['shorthand properties', 'function f(a) { return { a } }', 'function f(a) { return { a: a } }'],
  ['redundant parentheses', 'function f(a, b) { return (a + b) * (c) }', 'function f(a, b) { return (a + b) * c }'],
  ['class modifiers and declared fields', 'class f { private readonly x: number = 1; declare y: string; public m(): void {} }', 'class f { x = 1; m() {} }'],
  ['abstract members and overloads', 'abstract class f { abstract z(): void; m(a: string): void; m(a: any) { return a } }', 'class f { m(a) { return a } }'],
  ['parameter property accessibility', 'class f { constructor(private a: number) {} }', 'class f { constructor(public a: number) {} }'],
  ['arrow with types', 'const f = <T,>(x: T): T => x', 'const f = (y) => y'],
  ['exported or not', 'export function f(a) { return a }', 'function f(a) { return a }']
]

const different: Array<[string, string, string]> = [
  ['operator', 'function f(a) { return a + 1 }', 'function f(a) { return a - 1 }'],
  ['literal value', 'function f() { return 1 }', 'function f() { return 2 }'],
  ['string vs number', 'function f() { return 1 }', "function f() { return '1' }"],
  ['called helper', 'function f() { return g() }', 'function f() { return h() }'],
  ['property name', 'function f(o) { return o.a }', 'function f(o) { return o.b }'],
  ['key of a shorthand property', 'function f() { const a = 1; return { a } }', 'function f() { const b = 1; return { b } }'],
  ['parameter order', 'function f(a, b) { return a - b }', 'function f(b, a) { return a - b }'],
  ['default value', 'function f(a = 1) { return a }', 'function f(a = 2) { return a }'],
  ['optional chaining', 'function f(o) { return o?.a }', 'function f(o) { return o.a }'],
  ['async', 'async function f() { return 1 }', 'function f() { return 1 }'],
  ['generator', 'function* f() { yield 1 }', 'function f() { return 1 }'],
  ['regex flags', 'function f() { return /a/g }', 'function f() { return /a/i }'],
  ['tagged template raw text', 'function f() { return String.raw`\\x41` }', 'function f() { return String.raw`A` }'],
  ['static member', 'class f { x = 1 }', 'class f { static x = 1 }'],
  ['method body', 'class f { m() { return 1 } }', 'class f { m() { return 2 } }'],
  ['constructor', 'class f { constructor() { this.a = 1 } }', 'class f { constructor() { this.a = 2 } }'],
  ['block added', 'function f(a) { for (const x of a) g(x) }', 'function f(a) { for (const x of a) { g(x) } }'],
  ['let vs const', 'let f = 1', 'const f = 1'],
  ['enum member renamed', 'enum f { A = 1, B = A + 1 }', 'enum f { A = 1, C = A + 1 }'],
  ['namespace export renamed', 'namespace f { export const a = 1 }', 'namespace f { export const b = 1 }'],
  ['own function name', 'function f() { return 1 }', 'function f2() { return 1 }']
]

t.test('cosmetic edits keep the hash', async (t) => {
  for (const [what, a, b] of same) t.equal(hashOf(a), hashOf(b), what)
})

t.test('semantic edits change the hash', async (t) => {
  for (const [what, a, b] of different) {
    const nameB = what === 'own function name' ? 'f2' : 'f'
    t.not(hashOf(a), hashOf(b, nameB), what)
  }
})

t.test('top-level statements mutating a binding are part of its unit', async (t) => {
  const a = hashOf('const registry = new Map()\nregistry.set("a", 1)\n', 'registry')
  const b = hashOf('const registry = new Map()\nregistry.set("a", 2)\n', 'registry')
  const c = hashOf('const registry = new Map()\nregistry.set("a", 1)\nother()\n', 'registry')
  t.not(a, b)
  t.equal(a, c, 'unrelated top-level statements do not count')
})

t.test('scope analysis', async (t) => {
  const free = (src: string): string[] => {
    const info = analyzeScopes(parseSource('/virtual/x.ts', src).program)
    return [...new Set(info.refs.filter((r) => r.binding === undefined).map((r) => r.name))].sort()
  }
  t.same(free('function f(a) { const b = 1; return a + b + c }'), ['c'])
  t.same(free('function f() { const RATE = 2; return RATE } const x = RATE'), ['RATE'], 'a shadowing local hides the outer name only inside')
  t.same(free('label: for (;;) { break label }'), [], 'labels are not references')
  t.same(free('const o = { a: 1, b() { return this.a } }; o.c; o["d"]'), [], 'property names are not references')
  t.same(free('try { x() } catch (e) { e }'), ['x'])
  t.same(free('class A extends B { m() { return A } }'), ['B'])
  t.same(free('const f = function g() { return g }'), [], 'a named function expression sees its own name')
  t.same(free('function f(x: Foo): Bar<Baz> { return x as Qux }'), [], 'type positions are not references')
  t.same(free('enum E { A = 1, B = A * 2, C = K }'), ['K'], 'enum members see each other')
  const info = analyzeScopes(parseSource('/virtual/x.ts', 'let a = 1; let b = 2; function f() { a++ }; const c = require("./c.js").d; import("./e.js"); require(name)').program)
  t.equal(info.program.vars.get('a')?.written, true)
  t.equal(info.program.vars.get('b')?.written, false)
  t.same(info.moduleUses.map((u) => [u.kind, u.spec, u.prop]), [['require', './c.js', 'd'], ['import', './e.js', undefined], ['require', undefined, undefined]])
})

t.test('JSX references', async (t) => {
  const info = analyzeScopes(parseSource('/virtual/x.tsx', 'export const j = <Comp.Part x={v}><div>{w}</div></Comp.Part>').program)
  t.same([...new Set(info.refs.filter((r) => r.binding === undefined).map((r) => r.name))].sort(), ['Comp', 'v', 'w'])
})

t.test('the canonical hash is pinned', async (t) => {
  // A change here changes every stored signature: bump ALGORITHM with it.
  t.equal(hashOf('export function f(a: number): number {\n  const b = a * 2 // twice\n  return helper(b) + 0x10\n}\n'), '44de4c4a1d7cc90f5da6aed005ea18624ea17ed048e24089436e1a6ba6550eed')
})
