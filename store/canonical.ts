/**
 * The canonical dag-cbor bytes of the one shape hashed on every signature, a
 * code manifest (string-keyed maps of byte strings and strings, a list of
 * strings), written in one pass. `@ipld/dag-cbor` makes the same bytes
 * through a token tree and a sort of token pairs; for a manifest of
 * thousands of declarations, in a fresh process, that costs tens of
 * milliseconds (`bench/plan.js`). Anything outside the shape goes to
 * `encodeNode`; test/store/canonical.test.ts checks the bytes are the
 * library's.
 */
import { encodeNode } from './records.js'
import type { CodeManifest } from './records.js'

const SURROGATE = /[\uD800-\uDFFF]/

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
    } else {
      b[this.at++] = m | 26
      b.writeUInt32BE(n, this.at)
      this.at += 4
    }
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
  if (Array.isArray(v)) {
    out.head(4, v.length)
    for (const x of v) if (typeof x !== 'string' || !put(x, out)) return false
    return true
  }
  if (v === null || typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return false
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

/**
 * The block bytes of a manifest: what `encodeNode(manifest)` returns.
 *
 * @example
 * sha256(encodeManifest(manifest)) // the manifest's digest, as its CID holds it
 */
export function encodeManifest (manifest: CodeManifest): Uint8Array {
  const out = new Writer()
  if (!put(manifest, out)) return encodeNode(manifest)
  return new Uint8Array(out.buf.buffer, out.buf.byteOffset, out.at)
}
