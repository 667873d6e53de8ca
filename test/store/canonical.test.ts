/**
 * The one-pass manifest encoder makes the bytes `@ipld/dag-cbor` makes: for
 * manifests of every size around the CBOR length boundaries, keys that sort
 * differently by length and by bytes, multi-byte and surrogate keys,
 * undefined fields, and values outside the shape (which go to the library).
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { encodeManifest } from '../../store/canonical.js'
import { encodeNode, stripUndefined } from '../../store/records.js'
import type { CodeManifest } from '../../store/records.js'

const library = (m: unknown): Buffer => Buffer.from(dagCbor.encode(stripUndefined(m)))
const ours = (m: unknown): Buffer => Buffer.from(encodeManifest(m as CodeManifest))

/** A seeded generator, so that a failure names a case that can be run again. */
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 0x100000000
  }
}

const ALPHABET = ['a', 'b', 'z', '/', '#', '.', '_', '0', 'é', 'ß', '中', '𝄞', 'Z', '~']

function key (r: () => number): string {
  const n = Math.floor(r() * 40)
  let k = ''
  for (let i = 0; i < n; i++) k += ALPHABET[Math.floor(r() * ALPHABET.length)]
  return k
}

function manifest (r: () => number, declarations: number): CodeManifest {
  const decl: Record<string, Uint8Array> = {}
  for (let i = 0; i < declarations; i++) decl[`src/m${Math.floor(r() * 100)}.ts#${key(r)}`] = randomBytes(32)
  const values: Record<string, Uint8Array> = {}
  for (let i = 0; i < Math.floor(r() * 5); i++) values[`closure:${key(r)}`] = randomBytes(Math.floor(r() * 300))
  const packages: Record<string, string> = {}
  for (let i = 0; i < Math.floor(r() * 4); i++) packages[key(r)] = `${key(r)}@1.${i}.0`
  return {
    algorithm: 'dds-ts/sig-1',
    entry: `src/a.ts#${key(r)}`,
    declarations: decl,
    values,
    packages,
    unavailable: Array.from({ length: Math.floor(r() * 4) }, () => key(r)),
    ...(r() < 0.5 ? { pinned: key(r) } : {})
  }
}

t.test('the bytes are the library\'s, across sizes and length boundaries', async (t) => {
  let cases = 0
  for (const n of [0, 1, 2, 23, 24, 25, 255, 256, 257, 1300, 65535, 65536, 65537]) {
    const r = rng(n + 1)
    const m = manifest(r, n)
    const a = ours(m)
    const b = library(m)
    if (!a.equals(b)) t.fail(`manifest of ${n} declarations differs`)
    cases++
    // what is stored is what encodeNode makes
    if (n < 2000 && !Buffer.from(encodeNode(m)).equals(a)) t.fail(`encodeNode differs for ${n}`)
  }
  t.equal(cases, 13)
  // strings and byte strings whose own lengths cross the boundaries
  for (const len of [0, 23, 24, 255, 256, 65535, 65536, 70000]) {
    const m = { algorithm: 'x'.repeat(len), entry: 'é'.repeat(len), declarations: { ['k'.repeat(len)]: new Uint8Array(len) }, values: {}, packages: {}, unavailable: ['u'.repeat(len)] }
    t.ok(ours(m).equals(library(m)), `strings and bytes of ${len}`)
  }
})

t.test('random manifests: 300 seeds', async (t) => {
  let differ = 0
  for (let seed = 1000; seed < 1300; seed++) {
    const r = rng(seed)
    const m = manifest(r, Math.floor(r() * 60))
    if (!ours(m).equals(library(m))) {
      differ++
      t.fail(`seed ${seed} differs`)
    }
  }
  t.equal(differ, 0)
})

t.test('key order: by encoded length first, then bytes (not by string order)', async (t) => {
  // 'b' < 'aa' by length; 'é' (2 bytes) after 'z' (1 byte); '中' (3 bytes) after 'ab'
  const m = { algorithm: 'a', entry: 'e', declarations: { aa: new Uint8Array(1), b: new Uint8Array(2), z: new Uint8Array(3), 'é': new Uint8Array(4), '中': new Uint8Array(5), ab: new Uint8Array(6) }, values: {}, packages: {}, unavailable: [] }
  const bytes = ours(m)
  t.ok(bytes.equals(library(m)))
  const decoded = dagCbor.decode(bytes) as CodeManifest
  t.same(Object.keys(decoded.declarations), ['b', 'z', 'aa', 'ab', 'é', '中'])
})

t.test('outside the shape: the library encodes (or refuses) as it does', async (t) => {
  const base = { algorithm: 'a', entry: 'e', declarations: {}, values: {}, packages: {}, unavailable: [] }
  class Box { a = 'x' }
  const odd: Array<[string, unknown]> = [
    ['a class instance', { ...base, values: { b: new Box() } }],
    ['a number', { ...base, depth: 3 }],
    ['a CID', { ...base, values: { c: CID.parse('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy') } }],
    ['null', { ...base, pinned: null }],
    ['a boolean in a list', { ...base, unavailable: ['x', true] }],
    ['a lone surrogate key', { ...base, declarations: { ['a\uD800']: new Uint8Array(1) } }],
    ['a surrogate pair', { ...base, entry: 'src/🎉.ts#f' }],
    ['a nested list', { ...base, unavailable: [['x']] }],
    ['undefined fields', { ...base, pinned: undefined, values: { x: undefined } }]
  ]
  for (const [what, m] of odd) {
    let expected: Buffer | Error
    try {
      expected = library(m)
    } catch (e) {
      expected = e as Error
    }
    if (expected instanceof Error) t.throws(() => ours(m), `${what}: refused as the library refuses it`)
    else t.ok(ours(m).equals(expected), `${what}: the library's bytes`)
  }
})
