/**
 * Fast paths of dag-cbor where its generic form costs most.
 *
 * Encoding: the canonical bytes of the shapes written or hashed by the
 * hundred thousand (a code manifest of thousands of declarations on every
 * signature; history entries and heads on every commit): maps with string
 * keys, strings, byte strings, safe integers, booleans, null, CIDs and lists
 * of these, written in one pass into one reused buffer. `@ipld/dag-cbor`
 * makes the same bytes through a token tree and a sort of token pairs
 * (about 3x slower for a manifest in a fresh process, `bench/plan.js`).
 * Anything outside the shape goes to `encodeNode`.
 *
 * Decoding: a block whose CIDs repeat (a bundle's manifest) with the
 * library's own strict options, each repeated CID decoded once.
 *
 * test/store/canonical.test.ts checks the bytes and values are the library's.
 */
import * as cborg from 'cborg'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { encodeNode } from './records.js'
import type { CodeManifest, HistoryEntry } from './records.js'

const SURROGATE = /[\uD800-\uDFFF]/
/** Byte equality of two short arrays (a CID's 37 bytes), without a call out. */
function equal (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** The CBOR tag of a CID in dag-cbor. */
const CID_TAG = 42

/** Bytes written into one growing buffer: no allocation per item. */
class Writer {
  buf = Buffer.allocUnsafe(1 << 16)
  at = 0

  room (n: number): void {
    if (this.at + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n))
    this.buf.copy(bigger, 0, 0, this.at)
    this.buf = bigger
  }

  /** The head of a CBOR item of major type `major` and length or count `n`. */
  head (major: number, n: number): void {
    this.room(5)
    const m = major << 5
    const b = this.buf
    if (n < 24) b[this.at++] = m | n
    else if (n < 0x100) {
      b[this.at++] = m | 24
      b[this.at++] = n
    } else if (n < 0x10000) {
      b[this.at++] = m | 25
      b.writeUInt16BE(n, this.at)
      this.at += 2
    } else if (n < 0x100000000) {
      b[this.at++] = m | 26
      b.writeUInt32BE(n, this.at)
      this.at += 4
    } else {
      this.room(9)
      this.buf[this.at++] = m | 27
      this.buf.writeUInt32BE(Math.floor(n / 0x100000000), this.at)
      this.buf.writeUInt32BE(n >>> 0, this.at + 4)
      this.at += 8
    }
  }

  byte (x: number): void {
    this.room(1)
    this.buf[this.at++] = x
  }

  /** A text string of `bytes` UTF-8 bytes. */
  text (s: string, bytes: number): void {
    this.head(3, bytes)
    this.room(bytes)
    this.at += this.buf.write(s, this.at, 'utf8')
  }

  bytes (v: Uint8Array): void {
    this.head(2, v.length)
    this.room(v.length)
    this.buf.set(v, this.at)
    this.at += v.length
  }
}

/**
 * dag-cbor's key order: shorter UTF-8 encoding first, then bytewise. Without
 * surrogates, UTF-8 byte order is the order of UTF-16 code units, so equal
 * lengths compare as strings.
 */
function keyOrder (a: [string, number, unknown], b: [string, number, unknown]): number {
  if (a[1] !== b[1]) return a[1] - b[1]
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
}

/** Write `v`; false when `v` is outside the shape. */
function put (v: unknown, out: Writer): boolean {
  if (typeof v === 'string') {
    // a lone surrogate is for the library to encode as it does
    if (SURROGATE.test(v)) return false
    out.text(v, Buffer.byteLength(v, 'utf8'))
    return true
  }
  if (v instanceof Uint8Array) {
    out.bytes(v)
    return true
  }
  if (typeof v === 'number') {
    // integers as CBOR integers; floats, -0 and integers past 2^53 as the library writes them
    if (!Number.isSafeInteger(v) || Object.is(v, -0)) return false
    if (v >= 0) out.head(0, v)
    else out.head(1, -1 - v)
    return true
  }
  if (v === null) {
    out.byte(0xf6)
    return true
  }
  if (typeof v === 'boolean') {
    out.byte(v ? 0xf5 : 0xf4)
    return true
  }
  if (v instanceof CID) {
    // tag 42, then the CID's bytes after a 0x00 (the multibase identity prefix)
    const b = v.bytes
    out.head(6, CID_TAG)
    out.head(2, b.length + 1)
    out.byte(0)
    out.room(b.length)
    out.buf.set(b, out.at)
    out.at += b.length
    return true
  }
  if (Array.isArray(v)) {
    out.head(4, v.length)
    for (let i = 0; i < v.length; i++) {
      // a hole is for the library (which refuses it); undefined is null, as encodeNode writes it
      if (!(i in v)) return false
      const x: unknown = v[i]
      if (!put(x === undefined ? null : x, out)) return false
    }
    return true
  }
  if (v === null || typeof v !== 'object') return false
  // plain objects, and those without a prototype (what a decoded record's maps are)
  const proto: unknown = Object.getPrototypeOf(v)
  if (proto !== Object.prototype && proto !== null) return false
  const entries: Array<[string, number, unknown]> = []
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k]
    if (SURROGATE.test(k)) return false
    // dag-cbor refuses undefined; encodeNode leaves such fields out
    if (x !== undefined) entries.push([k, Buffer.byteLength(k, 'utf8'), x])
  }
  entries.sort(keyOrder)
  out.head(5, entries.length)
  for (const [k, n, x] of entries) {
    out.text(k, n)
    if (!put(x, out)) return false
  }
  return true
}

/** One writer for every encode (encoding is synchronous): it grows to the largest value and stays. */
let scratch: Writer | undefined

/**
 * The bytes `encodeNode(value)` makes, written directly when `value` is of
 * the shape (maps with string keys, strings, byte strings, safe integers,
 * booleans, null, CIDs, lists of these), by the library otherwise.
 *
 * @example
 * encodeCanonical({ time: 1, evaluation: cid, output: cid }) // a history entry's bytes
 */
export function encodeCanonical (value: unknown): Uint8Array {
  return encodeDirect(value) ?? encodeNode(value)
}

/**
 * The bytes of `value` written in one pass, or undefined when it is outside
 * the shape (the library is then the one to encode it).
 *
 * @example
 * encodeDirect({ a: 1 }) // Uint8Array [0xa1, 0x61, 0x61, 0x01]
 * encodeDirect({ a: 1.5 }) // undefined
 */
export function encodeDirect (value: unknown): Uint8Array | undefined {
  return written((out) => put(value, out))
}

/** The bytes `write` puts into the shared writer (a copy of them), or undefined when it says the value is outside the shape. */
function written (write: (out: Writer) => boolean): Uint8Array | undefined {
  const out = scratch ?? new Writer()
  scratch = undefined
  try {
    out.at = 0
    if (!write(out)) return undefined
    const bytes = new Uint8Array(out.at)
    bytes.set(out.buf.subarray(0, out.at))
    return bytes
  } finally {
    scratch = out
  }
}

/** A history entry's fields in dag-cbor's key order (by length: hit, time, output, imported, evaluation). */
const ENTRY_KEYS = ['hit', 'time', 'output', 'imported', 'evaluation'] as const
const ENTRY_KEY_SET = new Set<string>(ENTRY_KEYS)
/** Each key as CBOR text (head and ASCII bytes), written by a copy. */
const ENTRY_KEY_BYTES = ENTRY_KEYS.map((k) => Uint8Array.from([0x60 | k.length, ...Buffer.from(k, 'ascii')]))

/**
 * The bytes of a history entry, as `encodeNode(entry)` makes them: its five
 * known fields written in their fixed order (a commit of 100,000 paths
 * encodes 100,000 of them). Any other field or kind of value: the general form.
 *
 * @example
 * encodeHistoryEntry({ time: 1, evaluation: cid, output: cid })
 */
export function encodeHistoryEntry (entry: HistoryEntry): Uint8Array {
  const e = entry as unknown as Record<string, unknown>
  let fields = 0
  for (const k in e) {
    if (!ENTRY_KEY_SET.has(k) || !Object.hasOwn(e, k)) return encodeCanonical(entry)
    if (e[k] !== undefined) fields++
  }
  return written((out) => {
    out.head(5, fields)
    for (let i = 0; i < ENTRY_KEYS.length; i++) {
      const v = e[ENTRY_KEYS[i]!]
      if (v === undefined) continue
      const kb = ENTRY_KEY_BYTES[i]!
      out.room(kb.length)
      for (let j = 0; j < kb.length; j++) out.buf[out.at + j] = kb[j]!
      out.at += kb.length
      if (!put(v, out)) return false
    }
    return true
  }) ?? encodeNode(entry)
}

/**
 * The block bytes of a manifest: what `encodeNode(manifest)` returns.
 *
 * @example
 * sha256(encodeManifest(manifest)) // the manifest's digest, as its CID holds it
 */
export function encodeManifest (manifest: CodeManifest): Uint8Array {
  return encodeCanonical(manifest)
}


/**
 * Decode a dag-cbor block in which the same CIDs come back many times (a
 * bundle's manifest: 100,000 paths naming a few evaluations and outputs):
 * with `@ipld/dag-cbor`'s own options, strict as it is, except that a CID
 * met again is the object already decoded (CIDs are immutable), so that it
 * is neither decoded nor printed twice.
 *
 * @example
 * const manifest = decodeInterned(rootBytes)
 */
export function decodeInterned (bytes: Uint8Array): unknown {
  // By a hash of the bytes, each candidate compared byte for byte (no string made per CID).
  const seen = new Map<number, Array<[Uint8Array, CID]>>()
  const cidOf = (decode: () => unknown): CID => {
    const b = decode()
    if (!(b instanceof Uint8Array) || b[0] !== 0) throw new Error('Invalid CID for CBOR tag 42; expected leading 0x00')
    let h = 0x811c9dc5
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193)
    const bucket = seen.get(h)
    if (bucket !== undefined) {
      for (const [bytes, cid] of bucket) if (equal(bytes, b)) return cid
    }
    const cid = CID.decode(b.subarray(1))
    // Bytes made to collide get no bucket longer than a few: each is then decoded on its own (never quadratic).
    if (bucket === undefined) seen.set(h, [[b, cid]])
    else if (bucket.length < 4) bucket.push([b, cid])
    return cid
  }
  const tags = { ...dagCbor.decodeOptions.tags, [CID_TAG]: cidOf }
  return cborg.decode(bytes, { ...dagCbor.decodeOptions, tags: tags as NonNullable<cborg.DecodeOptions['tags']> })
}

