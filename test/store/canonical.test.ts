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
import { decodeInterned, encodeCanonical, encodeDirect, encodeHistoryEntry, encodeManifest } from '../../store/canonical.js'
import { decodeDirect } from '../../store/direct-decode.js'
import { encodeNode, stripUndefined, toCodeManifest } from '../../store/records.js'
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

t.test('maps without a prototype (a decoded manifest\'s) are written directly, with the library\'s bytes', async (t) => {
  const declarations: Record<string, Uint8Array> = Object.create(null)
  declarations['src/a.ts#f'] = new Uint8Array([1, 2])
  declarations.b = new Uint8Array([3])
  const m = { algorithm: 'a', entry: 'e', declarations, values: Object.create(null), packages: {}, unavailable: [] }
  const direct = encodeDirect(m)
  t.ok(direct !== undefined && Buffer.from(direct).equals(library(m)), 'written in one pass, as the library writes it')
  // A manifest as the store decodes it encodes back to its own block.
  const block = library({ ...m, declarations: { ...declarations } })
  const decoded = toCodeManifest(dagCbor.decode(block))
  t.not(encodeDirect(decoded), undefined)
  t.ok(ours(decoded).equals(block))
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

/** The library's value for `bytes`, or the error it throws. */
function libraryDecode (bytes: Uint8Array): { value?: unknown, error?: unknown } {
  try {
    return { value: dagCbor.decode(bytes) }
  } catch (error) {
    return { error }
  }
}

/** When the one-pass reader decodes `bytes`, the library decodes them to the same value, and the bytes are that value's canonical encoding. */
function readsAsLibrary (t: Test, bytes: Uint8Array, what: string): 'direct' | 'library' | false {
  const direct = decodeDirect(bytes)
  if (direct === undefined) return 'library'
  const lib = libraryDecode(bytes)
  if (lib.error !== undefined) {
    t.fail(`${what}: read directly, but the library refuses it (${String(lib.error)})`)
    return false
  }
  if (!Buffer.from(dagCbor.encode(direct)).equals(Buffer.from(bytes))) {
    t.fail(`${what}: read directly from bytes that are not canonical`)
    return false
  }
  t.same(direct, lib.value, what)
  return 'direct'
}

t.test('the one-pass reader: the library\'s values for canonical blocks, the library for everything else', async (t) => {
  const counts = { direct: 0, library: 0 }
  for (let seed = 1; seed <= 1500; seed++) {
    const r = rng(seed * 104729)
    const v = { top: anyValue(r, 0), more: anyValue(r, 1) }
    let bytes: Buffer
    try {
      bytes = library(v)
    } catch {
      continue
    }
    const got = readsAsLibrary(t, bytes, `seed ${seed}`)
    if (got === false) return
    counts[got]++
  }
  // Manifests and history entries, the blocks it is for, are read directly.
  for (let i = 0; i < 20; i++) {
    const bytes = library(manifest(rng(i + 1), i * 37))
    t.equal(readsAsLibrary(t, bytes, `manifest ${i}`), 'direct', `manifest ${i} read directly`)
    counts.direct++
  }
  const entry = library({ time: Date.now(), evaluation: CIDS[0], output: CIDS[1], hit: true })
  t.equal(readsAsLibrary(t, entry, 'history entry'), 'direct')
  t.ok(counts.direct > 100 && counts.library > 100, `both readers used (${counts.direct} direct, ${counts.library} by the library)`)
})

t.test('the one-pass reader on bytes made to mislead it: what it reads, the library reads the same', async (t) => {
  const base = library({ algorithm: 'dds-sig/1', entry: 'src/a.ts#f', declarations: { 'src/a.ts#f': new Uint8Array(32).fill(7), 'src/b.ts#g': new Uint8Array(32).fill(9) }, values: {}, packages: { left: '1.0.0' }, unavailable: ['x'], link: CIDS[0] })
  const r = rng(4242)
  let direct = 0
  for (let i = 0; i < 4000; i++) {
    const b = Buffer.from(base)
    const kind = i % 4
    if (kind === 0) b[Math.floor(r() * b.length)] = Math.floor(r() * 256)
    else if (kind === 1) b[Math.floor(r() * b.length)]! ^= 1 << Math.floor(r() * 8)
    const bytes = kind === 2 ? b.subarray(0, Math.floor(r() * b.length)) : kind === 3 ? Buffer.concat([b, Buffer.from([Math.floor(r() * 256)])]) : b
    const got = readsAsLibrary(t, bytes, `mutation ${i}`)
    if (got === false) return
    if (got === 'direct') direct++
  }
  t.ok(direct > 0, `some mutations stay canonical and are read directly (${direct})`)
  const refused: Array<[string, number[]]> = [
    ['an integer not in its shortest form', [0x18, 0x01]],
    ['a length not in its shortest form', [0x78, 0x01, 0x61]],
    ['keys out of order', [0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02]],
    ['a key twice', [0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02]],
    ['a longer key first', [0xa2, 0x62, 0x61, 0x61, 0x01, 0x61, 0x62, 0x02]],
    ['a __proto__ key', [0xa1, 0x69, ...Buffer.from('__proto__'), 0xa0]],
    ['a number key', [0xa1, 0x01, 0x02]],
    ['an indefinite list', [0x9f, 0x01, 0xff]],
    ['a length past the block', [0x9a, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['a map count past the block', [0xba, 0x7f, 0xff, 0xff, 0xff]],
    ['text that is not UTF-8', [0x62, 0xc3, 0x28]],
    ['a lone surrogate in UTF-8', [0x63, 0xed, 0xa0, 0x80]],
    ['undefined', [0xf7]],
    ['a float', [0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]],
    ['another tag', [0xc1, 0x01]],
    ['a CID without its 0x00', [0xd8, 0x2a, 0x42, 0x01, 0x55]],
    ['a CID that is not one', [0xd8, 0x2a, 0x43, 0x00, 0xff, 0xff]],
    ['a CID in a form it does not write back', [0xd8, 0x2a, 0x58, 0x25, 0x00, 0x00, 0x71, 0x12, 0x20, ...new Uint8Array(32).fill(1)]],
    ['an integer past 2^53', [0x1b, 0x00, 0x20, 0, 0, 0, 0, 0, 0]],
    ['-2^53', [0x3b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    ['an 8-byte integer under 2^32', [0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]],
    ['trailing bytes', [0x01, 0x01]],
    ['nothing', []]
  ]
  for (const [what, bytes] of refused) t.equal(decodeDirect(new Uint8Array(bytes)), undefined, `${what}: left to the library`)
  // Nesting deep enough to exhaust a recursive reader's stack: left to the library, no throw here.
  const deep = new Uint8Array(200000).fill(0x81)
  t.equal(decodeDirect(deep), undefined, 'deep nesting: left to the library')
  t.equal(decodeDirect(new Uint8Array([0x1b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), Number.MAX_SAFE_INTEGER, '2^53 - 1 read directly')
  t.equal(decodeDirect(new Uint8Array([0x3b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])), -Number.MAX_SAFE_INTEGER, '-(2^53 - 1) read directly')
  const decoded = decodeDirect(new Uint8Array([0xa1, 0x6b, ...Buffer.from('constructor'), 0x01])) as Record<string, unknown>
  t.equal(decoded.constructor, 1, 'a constructor key is an own field')
  t.equal(Object.getPrototypeOf(decoded), Object.prototype)
})
