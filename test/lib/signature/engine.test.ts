/**
 * The engine in-process, on functions defined in this test file (loaded by
 * tap's TypeScript loader with inline source maps): locations, closures,
 * run-time values, caching, the escape hatches and the fallbacks.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { encode as cborEncode } from '@ipld/dag-cbor'
import t from 'tap'
import { ALGORITHM, codeSignature, SignatureEngine } from '../../../lib/signature/index.js'
import type { SignatureOptions } from '../../../lib/signature/index.js'
import { DdsError, ErrorCodes } from '../../../store/errors.js'
import { makeHashValue } from './fixtures/stub.js'

const FILE = 'test/lib/signature/engine.test.ts'
const source = readFileSync(fileURLToPath(import.meta.url), 'utf8')
const lineOf = (text: string): number => source.slice(0, source.indexOf(text)).split('\n').length

const engine = new SignatureEngine()
const hashValue = makeHashValue({ signature: (fn, o) => engine.signature(fn, o), unhashable: (label) => new DdsError(ErrorCodes.UNHASHABLE, `cannot hash ${label}`) })
const opts: SignatureOptions = { hashValue }
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex')
const sig = (fn: Function, extra: Partial<SignatureOptions> = {}): ReturnType<SignatureEngine['signature']> => engine.signature(fn, { ...opts, ...extra })

// ---- fixtures defined at the top level of this file ----------------------

const FACTOR = 3
let counter = 0
const COMPUTED = [1, 2, 3].map((x) => x * 2)

function helperTop (x: number): number {
  return x * FACTOR
}

function usesHelper (x: number): number {
  return helperTop(x) + 1
}

function readsCounter (): number {
  return counter
}

function readsComputed (): number {
  return COMPUTED.length
}

function makeAdder (n: number): (x: number) => number {
  return (x) => x + n
}

class Box {
  value = 1
  get doubled (): number { return this.value * 2 }
  open (): number { return helperTop(this.value) }
  static make (): Box { return new Box() }
}

const api = {
  run (): number { return helperTop(2) },
  other: (): number => 1
}

const wrap = <T>(f: () => T): (() => T) => f
const wrapped = wrap(() => helperTop(3))

async function * stream (): AsyncGenerator<number> {
  yield helperTop(1)
}

class Opaque {
  constructor (readonly id: number) {}
}

// ---- tests -------------------------------------------------------------------

t.test('a top-level function of a test file', async (t) => {
  const s = sig(usesHelper)
  t.equal(s.manifest.algorithm, ALGORITHM)
  t.equal(s.manifest.entry, `${FILE}#usesHelper`)
  t.same(s.fn, { name: 'usesHelper', file: FILE, line: lineOf('function usesHelper'), column: 1 })
  t.same(Object.keys(s.manifest.declarations).sort(), [`${FILE}#FACTOR`, `${FILE}#helperTop`, `${FILE}#usesHelper`])
  t.same(s.manifest.values, {})
  t.same(s.manifest.unavailable, [])
  t.same(s.warnings, [])
  t.equal(s.digest.length, 32)
  t.equal(hex(s.digest), hex(new Uint8Array(await import('node:crypto').then((c) => c.createHash('sha256').update(cborEncode(s.manifest)).digest()))), 'digest is sha-256 of the dag-cbor manifest')
})

t.test('the warm path returns the cached signature', async (t) => {
  const a = sig(usesHelper)
  const b = sig(usesHelper)
  t.equal(a, b, 'same object while nothing changed')
  const other = new SignatureEngine()
  t.equal(hex(other.signature(usesHelper, opts).digest), hex(a.digest), 'another engine computes the same digest')
  t.equal(hex(codeSignature(usesHelper, opts).digest), hex(a.digest), 'and so does the default engine')
})

t.test('module-level values are read at run time and re-read on every call', async (t) => {
  counter = 0
  const a = sig(readsCounter)
  t.same(Object.keys(a.manifest.values), [`${FILE}#counter`])
  counter = 5
  const b = sig(readsCounter)
  t.not(hex(b.digest), hex(a.digest), 'a reassigned let changes the signature')
  counter = 0
  t.equal(hex(sig(readsCounter).digest), hex(a.digest), 'and going back restores it')
  const c = sig(readsComputed)
  t.same(Object.keys(c.manifest.values), [`${FILE}#COMPUTED`])
  COMPUTED.push(8)
  t.not(hex(sig(readsComputed).digest), hex(c.digest), 'mutating a computed array changes the signature')
  COMPUTED.pop()
  t.equal(hex(sig(readsComputed).digest), hex(c.digest))
})

t.test('closures are dependencies by value', async (t) => {
  const add1 = makeAdder(1)
  const add2 = makeAdder(2)
  const s1 = sig(add1)
  t.equal(s1.manifest.entry, `${FILE}#makeAdder/~`)
  t.same(Object.keys(s1.manifest.values), ['closure:n'])
  t.not(hex(sig(add2).digest), hex(s1.digest), 'different captured value, different signature')
  t.equal(hex(sig(makeAdder(1)).digest), hex(s1.digest), 'a new closure with the same value has the same signature')
  t.not(hex(sig(makeAdder).digest), hex(s1.digest), 'the factory is not its closure')
})

t.test('closures defined inside a test callback', async (t) => {
  let seen = 0
  const local = (x: number): number => x + seen + helperTop(1)
  const a = sig(local)
  t.equal(a.manifest.entry, `${FILE}#~/local`)
  t.equal(a.fn.line, lineOf('const local = (x: number)'))
  t.ok(a.manifest.declarations[`${FILE}#helperTop`], 'reaches top-level helpers')
  t.same(Object.keys(a.manifest.values), ['closure:seen'])
  seen = 1
  t.not(hex(sig(local).digest), hex(a.digest), 'a reassigned closure variable is re-read on the warm path')
  seen = 0
  t.equal(hex(sig(local).digest), hex(a.digest))
})

t.test('methods are hashed with their class', async (t) => {
  const open = sig(Box.prototype.open)
  t.equal(open.manifest.entry, `${FILE}#Box/open`)
  t.ok(open.manifest.declarations[`${FILE}#Box`])
  t.ok(open.manifest.declarations[`${FILE}#helperTop`], 'what the class reaches is followed')
  const make = sig(Box.make)
  t.equal(make.manifest.entry, `${FILE}#Box/static:make`)
  const getter = Object.getOwnPropertyDescriptor(Box.prototype, 'doubled')!.get!
  t.equal(sig(getter).manifest.entry, `${FILE}#Box/get:doubled`)
  t.not(hex(open.digest), hex(make.digest), 'two methods of one class differ')
})

t.test('object-literal methods, inline arrows, generators', async (t) => {
  const run = sig(api.run)
  t.equal(run.manifest.entry, `${FILE}#api/run`)
  t.ok(run.manifest.declarations[`${FILE}#api`], 'an object-literal method is hashed with its object')
  t.equal(sig(api.other).manifest.entry, `${FILE}#api/other`)
  const w = sig(wrapped)
  t.equal(w.manifest.entry, `${FILE}#wrapped/~`, 'an arrow passed inline is named by the declaration around it')
  t.same(Object.keys(w.manifest.declarations).sort(), [`${FILE}#FACTOR`, `${FILE}#helperTop`, `${FILE}#wrapped/~`])
  const g = sig(stream)
  t.equal(g.manifest.entry, `${FILE}#stream`)
  t.ok(g.manifest.declarations[`${FILE}#helperTop`])
})

t.test('functions without a file', async (t) => {
  /* eslint-disable no-new-func */
  const a = sig(new Function('a', 'return a + 1'))
  const a2 = sig(new Function('a', '/* note */ return a  +  1'))
  const b = sig(new Function('a', 'return a + 2'))
  t.equal(a.manifest.entry, 'text:anonymous')
  t.equal(hex(a.digest), hex(a2.digest), 'canonical text: comments and spacing do not count')
  t.not(hex(a.digest), hex(b.digest))
  const k = 41
  // eslint-disable-next-line no-eval
  const evaluated = eval('(x) => x + k') as (x: number) => number
  const e = sig(evaluated)
  t.same(Object.keys(e.manifest.values), ['closure:k'], 'free names are read from its scopes')
})

t.test('bound, native and builtin functions', async (t) => {
  const b1 = sig(usesHelper.bind(null, 1))
  const b2 = sig(usesHelper.bind(null, 2))
  t.equal(b1.manifest.entry, `bound:${FILE}#usesHelper`)
  t.not(hex(b1.digest), hex(b2.digest), 'bound arguments count')
  t.ok(b1.manifest.declarations[`${FILE}#helperTop`])
  const n = sig(Math.max)
  t.equal(n.manifest.entry, 'native:max')
  t.ok(n.warnings.length > 0)
  const { createHash } = await import('node:crypto')
  const c = sig(createHash)
  t.equal(c.manifest.entry, 'node:crypto#createHash')
  t.same(c.manifest.packages, { 'node:crypto': process.versions.node.split('.')[0] })
})

t.test('functions of packages count by version', async (t) => {
  const s = sig(cborEncode)
  const pkg = JSON.parse(readFileSync(new URL('../../../node_modules/@ipld/dag-cbor/package.json', import.meta.url), 'utf8')) as { version: string }
  t.same(s.manifest.packages, { '@ipld/dag-cbor': pkg.version })
  t.same(s.manifest.declarations, {})
})

t.test('escape hatches: deps, pin, ignore', async (t) => {
  const base = sig(usesHelper)
  const d1 = sig(usesHelper, { deps: [1] })
  const d2 = sig(usesHelper, { deps: [2] })
  t.ok(d1.manifest.values['deps[0]'])
  t.not(hex(d1.digest), hex(d2.digest))
  t.not(hex(d1.digest), hex(base.digest))
  t.equal(hex(sig(usesHelper).digest), hex(base.digest), 'without deps, back to the plain signature')
  const p1 = sig(usesHelper, { pin: 'v1' })
  t.equal(p1.manifest.pinned, 'v1')
  t.same(p1.manifest.declarations, {}, 'a pin replaces the analysis')
  t.not(hex(p1.digest), hex(sig(usesHelper, { pin: 'v2' }).digest))
  const ig = sig(usesHelper, { ignore: ['helperTop'] })
  t.same(Object.keys(ig.manifest.declarations), [`${FILE}#usesHelper`])
  const igKey = sig(usesHelper, { ignore: [`${FILE}#helperTop`] })
  t.same(Object.keys(igKey.manifest.declarations), [`${FILE}#usesHelper`], 'a key ignores one declaration')
})

t.test('unhashable values', async (t) => {
  const box = new Opaque(1)
  const usesOpaque = (): number => box.id
  const s = sig(usesOpaque)
  t.same(s.manifest.unavailable, ['closure:box'], 'an unhashable captured value is reported, not hashed')
  t.ok(s.warnings.length > 0)
  t.throws(() => sig(usesHelper, { deps: [box] }), { code: ErrorCodes.UNHASHABLE }, 'an unhashable explicit dependency throws')
  const tooLarge = (): Uint8Array => { throw new DdsError(ErrorCodes.VALUE_TOO_LARGE, 'too large') }
  t.throws(() => new SignatureEngine().signature(readsComputed, { hashValue: tooLarge }), { code: ErrorCodes.VALUE_TOO_LARGE }, 'a value over the bound is refused with the hasher\'s error')
})

t.test('a function reaching itself through its values terminates', async (t) => {
  let self: () => unknown = () => 0
  self = () => self
  const s = sig(self)
  t.same(Object.keys(s.manifest.values), ['closure:self'])
})

t.test('misuse', async (t) => {
  t.throws(() => engine.signature('nope' as unknown as Function, opts), TypeError)
  t.throws(() => engine.signature(usesHelper, {} as SignatureOptions), TypeError)
  t.throws(() => engine.signature(usesHelper, { hashValue, ignore: 'x' as unknown as string[] }), TypeError)
  t.throws(() => new SignatureEngine({ root: 1 as unknown as string }), TypeError)
})

t.test('without the inspector', async (t) => {
  const plain = new SignatureEngine({ inspector: false })
  const h = makeHashValue({ signature: (fn, o) => plain.signature(fn, o), unhashable: (label) => new DdsError(ErrorCodes.UNHASHABLE, label) })
  const s = plain.signature(usesHelper, { hashValue: h })
  t.equal(s.manifest.entry, `${FILE}#usesHelper`, 'located by call site and name')
  t.equal(hex(s.digest), hex(sig(usesHelper).digest), 'same signature when no run-time value is involved')
  t.ok(s.warnings.length > 0, 'the fallback is reported')
  const c = plain.signature(readsCounter, { hashValue: h })
  t.same(c.manifest.unavailable, [`${FILE}#counter`], 'values cannot be read')
  const anon = plain.signature((x: number) => x + 1234, { hashValue: h })
  t.match(anon.manifest.entry, /^test\/lib\/signature\/engine\.test\.ts#/, 'an anonymous function is found by its text')
})

t.test('keys relative to an explicit root', async (t) => {
  const rooted = new SignatureEngine({ root: fileURLToPath(new URL('.', import.meta.url)) })
  const s = rooted.signature(usesHelper, opts)
  t.equal(s.manifest.entry, 'engine.test.ts#usesHelper')
  t.equal(s.fn.file, 'engine.test.ts')
})
