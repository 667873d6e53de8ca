// The call hasher's reuse of argument identities and memo keys: a repeated call gets the key a fresh hash gives.
import t from 'tap'
import { CallHasher } from '../../lib/run/hashing.js'
import { hashValueBlock, memoKey } from '../../lib/value-hash.js'
import { hex } from '../../store/util.js'

function double (x: unknown): unknown {
  return x
}

const fresh = (fn: Function, args: unknown[]): string => {
  const h = new CallHasher(() => {}, 1000)
  const sig = h.signature(fn)
  return hex(memoKey(sig.digest, args.map((a, i) => hashValueBlock(a, `args[${i}]`, { mode: 'input' }).cid)))
}

t.test('repeated calls give the same key as a fresh hash', async (t) => {
  const h = new CallHasher(() => {}, 1000)
  for (const args of [[1], ['a'], [true], [1, 'a'], [{ a: 1 }], ['x'.repeat(300)]]) {
    const first = h.prepare('/p', double, args)
    const again = h.prepare('/p', double, args)
    t.equal(again.keyHex, first.keyHex)
    t.equal(again.keyHex, fresh(double, args))
    t.equal(hex(again.key), again.keyHex)
  }
})

t.test('values that a Map key conflates still hash apart', async (t) => {
  const h = new CallHasher(() => {}, 1000)
  const zero = h.prepare('/p', double, [0]).keyHex
  const negZero = h.prepare('/p', double, [-0]).keyHex
  t.not(negZero, zero)
  t.equal(h.prepare('/p', double, [0]).keyHex, zero)
  t.equal(negZero, fresh(double, [-0]))
  const one = h.prepare('/p', double, [1]).keyHex
  t.not(h.prepare('/p', double, ['1']).keyHex, one)
  t.not(h.prepare('/p', double, [true]).keyHex, one)
  t.not(h.prepare('/p', double, [NaN]).keyHex, h.prepare('/p', double, [Infinity]).keyHex)
})

t.test('an object argument changed between calls hashes by its new content', async (t) => {
  const h = new CallHasher(() => {}, 1000)
  const arg = { a: 1 }
  const before = h.prepare('/p', double, [arg]).keyHex
  arg.a = 2
  const after = h.prepare('/p', double, [arg]).keyHex
  t.not(after, before)
  t.equal(after, fresh(double, [{ a: 2 }]))
})

t.test('argument order and count are part of the key', async (t) => {
  const h = new CallHasher(() => {}, 1000)
  t.not(h.prepare('/p', double, [1, 2]).keyHex, h.prepare('/p', double, [2, 1]).keyHex)
  t.not(h.prepare('/p', double, [1]).keyHex, h.prepare('/p', double, [1, 1]).keyHex)
  t.not(h.prepare('/p', double, []).keyHex, h.prepare('/p', double, [undefined]).keyHex)
})

t.test('more distinct arguments than the caches hold still hash right', async (t) => {
  const h = new CallHasher(() => {}, 1000)
  const keys = new Set<string>()
  for (let i = 0; i < 5000; i++) keys.add(h.prepare('/p', double, [i]).keyHex)
  t.equal(keys.size, 5000)
  t.equal(h.prepare('/p', double, [7]).keyHex, fresh(double, [7]))
})
