/**
 * The one-pass encoder makes the bytes `@ipld/dag-cbor` makes: for
 * manifests of every size around the CBOR length boundaries, keys that sort
 * differently by length and by bytes, multi-byte and surrogate keys,
 * undefined fields, history entries, random values of every kind (integers
 * at each head size, floats, -0, CIDs, nested lists and maps, holes), and
 * values outside the shape (which go to the library). The interned decoder
 * gives the library's values and refuses what it refuses.
 */
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { decodeInterned, encodeCanonical, encodeHistoryEntry, encodeManifest } from '../../store/canonical.js'
import { encodeNode, stripUndefined } from '../../store/records.js'
import type { CodeManifest, HistoryEntry } from '../../store/records.js'

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

const CIDS = [
  CID.parse('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'),
  CID.parse('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'),
  CID.parse('QmWATWQ7fVPP2EFGu71UkfnqhYXDYH566qy47CnJDgvs8u')
]

/** A random value of any kind dag-cbor knows (and a few it refuses). */
function anyValue (r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 9 : 12))
  switch (pick) {
    case 0: return key(r)
    case 1: return randomBytes(Math.floor(r() * 40))
    case 2: return [0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, Date.now()][Math.floor(r() * 12)]! * (r() < 0.3 ? -1 : 1)
    case 3: return r() < 0.5 ? r() * 1000 : -0
    case 4: return r() < 0.5
    case 5: return null
    case 6: return CIDS[Math.floor(r() * CIDS.length)]
    case 7: return r() < 0.9 ? undefined : 2 ** 60
    case 8: return r() < 0.5 ? NaN : Infinity
    case 9: {
      const a = Array.from({ length: Math.floor(r() * 5) }, () => anyValue(r, depth + 1))
      if (r() < 0.1) a.length += 2 // holes
      return a
    }
    default: {
      const o: Record<string, unknown> = {}
      for (let i = 0; i < Math.floor(r() * 6); i++) o[key(r)] = anyValue(r, depth + 1)
      return o
    }
  }
}

function same (t: Test, v: unknown, what: string): boolean {
  let expected: Buffer | undefined
  let refused = false
  try {
    expected = library(v)
  } catch {
    refused = true
  }
  let got: Buffer | undefined
  let ourRefusal = false
  try {
    got = Buffer.from(encodeCanonical(v))
  } catch {
    ourRefusal = true
  }
  if (refused !== ourRefusal || (expected !== undefined && (got === undefined || !got.equals(expected)))) {
    t.fail(`${what}: ${refused ? 'the library refuses it' : 'bytes differ'}`)
    return false
  }
  return true
}

t.test('values of every kind: the library\'s bytes, or refused as it refuses them', async (t) => {
  let ok = 0
  for (let seed = 1; seed <= 2000; seed++) {
    const r = rng(seed * 7919)
    const v = { top: anyValue(r, 0), more: anyValue(r, 1) }
    if (same(t, v, `seed ${seed}`)) ok++
  }
  t.equal(ok, 2000)
})

t.test('history entries and memo-like entries, as commits write them', async (t) => {
  const entries: unknown[] = [
    { time: Date.now(), evaluation: CIDS[0], output: CIDS[1] },
    { time: 0, evaluation: null, output: null },
    { time: 2 ** 53 - 1, evaluation: CIDS[2], output: CIDS[0], hit: true, imported: true },
    { time: 1, evaluation: CIDS[0], output: CIDS[0], hit: undefined, imported: false },
    { evaluation: CIDS[0], output: CIDS[1], loads: [{ path: '/a', evaluation: CIDS[0], output: CIDS[1] }, { path: '/b', evaluation: null, output: CIDS[2] }], files: [] }
  ]
  for (const [i, e] of entries.entries()) t.ok(same(t, e, `entry ${i}`), `entry ${i}`)
  // the history entry's own writer, with its fields in their fixed order, and whatever else a caller hands it
  const odd: unknown[] = [
    ...entries.slice(0, 4),
    { time: 1.5, evaluation: null, output: null },
    { time: -5, evaluation: CIDS[0], output: null, hit: false },
    { time: 3, evaluation: CIDS[0], output: CIDS[1], extra: 'x' },
    { output: CIDS[1], time: 3, imported: true, evaluation: CIDS[0], hit: true },
    { time: 3, evaluation: 'not a cid', output: [1, 2] }
  ]
  for (const [i, e] of odd.entries()) {
    t.ok(Buffer.from(encodeHistoryEntry(e as HistoryEntry)).equals(library(e)), `history entry ${i}: the library's bytes`)
  }
  const r = rng(99)
  for (let i = 0; i < 500; i++) {
    const e: Record<string, unknown> = { time: Math.floor(r() * 2 ** 53), evaluation: r() < 0.2 ? null : CIDS[i % 3], output: r() < 0.2 ? null : CIDS[(i + 1) % 3] }
    if (r() < 0.3) e.hit = r() < 0.5
    if (r() < 0.3) e.imported = r() < 0.5
    if (r() < 0.1) e.imported = undefined
    if (!Buffer.from(encodeHistoryEntry(e as unknown as HistoryEntry)).equals(library(e))) t.fail(`random entry ${i}`)
  }
  // the buffer is reused: an encode does not change the bytes an earlier one returned
  const a = encodeCanonical(entries[0])
  const copy = Buffer.from(a)
  encodeCanonical({ x: 'y'.repeat(200000) })
  t.ok(Buffer.from(a).equals(copy))
})

t.test('the interned decoder: the library\'s values, one object per repeated CID, the same refusals', async (t) => {
  const paths: Record<string, unknown[]> = {}
  for (let i = 0; i < 1000; i++) paths[`/p${i}`] = [{ time: i, evaluation: CIDS[i % 2], output: CIDS[2] }]
  const bytes = dagCbor.encode({ format: 'dds-bundle/1', created: 5, paths })
  const ours = decodeInterned(bytes) as { paths: Record<string, Array<{ evaluation: CID, output: CID }>> }
  t.same(ours, dagCbor.decode(bytes))
  t.equal(ours.paths['/p0']![0]!.output, ours.paths['/p999']![0]!.output, 'one CID object for one CID')
  t.ok(ours.paths['/p0']![0]!.evaluation.equals(CIDS[0]!))
  // many distinct CIDs among repeated ones: each decoded to its own value
  const many: Record<string, unknown> = {}
  const distinct = await Promise.all(Array.from({ length: 1500 }, async (_, i) => CID.create(1, 0x71, await sha256.digest(Buffer.from(String(i))))))
  for (let i = 0; i < 3000; i++) many[`/q${i}`] = { e: distinct[i % 1500] }
  const manyBytes = dagCbor.encode(many)
  t.same(decodeInterned(manyBytes), dagCbor.decode(manyBytes), '3,000 entries, 1,500 distinct CIDs')
  // what the library refuses, this refuses
  const refused: Array<[string, Uint8Array]> = [
    ['a CID without its 0x00', Uint8Array.from([0xa1, 0x61, 0x63, 0xd8, 0x2a, 0x42, 0x01, 0x55])],
    ['a CID that is not bytes', Uint8Array.from([0xa1, 0x61, 0x63, 0xd8, 0x2a, 0x61, 0x78])],
    ['a CID with trailing bytes', Uint8Array.from([0xa1, 0x61, 0x63, 0xd8, 0x2a, 0x58, CIDS[0]!.bytes.length + 2, 0x00, ...CIDS[0]!.bytes, 0x07])],
    ['a CID as the library writes it (accepted)', Uint8Array.from([0xa1, 0x61, 0x63, 0xd8, 0x2a, 0x58, CIDS[0]!.bytes.length + 1, 0x00, ...CIDS[0]!.bytes])],
    ['an indefinite-length map', Uint8Array.from([0xbf, 0x61, 0x61, 0x01, 0xff])],
    ['duplicate keys', Uint8Array.from([0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02])],
    ['undefined', Uint8Array.from([0xf7])],
    ['trailing bytes', Uint8Array.from([0x01, 0x02])]
  ]
  for (const [what, b] of refused) {
    let library = false
    try { dagCbor.decode(b) } catch { library = true }
    let mine = false
    try { decodeInterned(b) } catch { mine = true }
    t.equal(mine, library, `${what}: refused by both or by neither (library: ${library ? 'refused' : 'accepted'})`)
  }
  // a truly bad CID in tag 42, refused by both
  const bad = Uint8Array.from([0xa1, 0x61, 0x63, 0xd8, 0x2a, 0x43, 0x00, 0x01, 0x55])
  t.throws(() => dagCbor.decode(bad))
  t.throws(() => decodeInterned(bad))
})
