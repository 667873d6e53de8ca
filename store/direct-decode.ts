/**
 * Canonical dag-cbor read in one pass: the blocks the library writes by the
 * thousand (code manifests, evaluation records, history entries, memo
 * answers) decode here without `cborg`'s token tree. Anything outside the
 * narrow shape, or not in canonical form, is left to `@ipld/dag-cbor`,
 * which decodes or refuses it as it always has; what is decoded here is
 * what the library returns for the same bytes
 * (test/store/canonical.test.ts).
 */
import { CID } from 'multiformats/cid'

/** The CBOR tag of a CID in dag-cbor. */
const CID_TAG = 42

/** Nesting past this depth is left to the library (it decides what to make of it). */
const MAX_DEPTH = 64
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** A reader of canonical bytes; `fail` set when the bytes leave the shape. */
class Reader {
  at = 0
  fail = false
  /** The same bytes as a Buffer, for reading text without a view per string. */
  readonly text8: Buffer
  constructor (readonly b: Uint8Array) {
    this.text8 = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  }

  /** The argument of a head of additional info `info`, or -1 when not in its shortest form (or past 2^53 - 1). */
  arg (info: number): number {
    const b = this.b
    if (info < 24) return info
    let n = -1
    if (info === 24 && this.at < b.length) {
      n = b[this.at++]!
      if (n < 24) n = -1
    } else if (info === 25 && this.at + 2 <= b.length) {
      n = (b[this.at]! << 8) | b[this.at + 1]!
      this.at += 2
      if (n < 0x100) n = -1
    } else if (info === 26 && this.at + 4 <= b.length) {
      n = ((b[this.at]! << 24) >>> 0) + (b[this.at + 1]! << 16) + (b[this.at + 2]! << 8) + b[this.at + 3]!
      this.at += 4
      if (n < 0x10000) n = -1
    } else if (info === 27 && this.at + 8 <= b.length) {
      const high = ((b[this.at]! << 24) >>> 0) + (b[this.at + 1]! << 16) + (b[this.at + 2]! << 8) + b[this.at + 3]!
      const low = ((b[this.at + 4]! << 24) >>> 0) + (b[this.at + 5]! << 16) + (b[this.at + 6]! << 8) + b[this.at + 7]!
      this.at += 8
      // past 2^53 the library makes a BigInt: left to it
      n = high === 0 || high >= 0x200000 ? -1 : high * 0x100000000 + low
    }
    return n
  }

  text (n: number): string | undefined {
    const b = this.b
    const end = this.at + n
    if (n < 0 || end > b.length) return undefined
    let ascii = true
    for (let i = this.at; i < end; i++) if (b[i]! >= 0x80) { ascii = false; break }
    let s: string
    if (ascii) s = this.text8.toString('latin1', this.at, end)
    else {
      try {
        s = strictUtf8.decode(b.subarray(this.at, end))
      } catch {
        return undefined
      }
    }
    this.at = end
    return s
  }

  item (depth: number): unknown {
    const b = this.b
    if (this.at >= b.length || depth > MAX_DEPTH) return this.out()
    const first = b[this.at++]!
    const major = first >> 5
    const info = first & 31
    if (major === 7) {
      if (first === 0xf6) return null
      if (first === 0xf5) return true
      if (first === 0xf4) return false
      return this.out()
    }
    const n = this.arg(info)
    if (n < 0) return this.out()
    switch (major) {
      case 0: return n
      // -2^53 is past the safe integers: the library's
      case 1: return n === Number.MAX_SAFE_INTEGER ? this.out() : -1 - n
      case 2: {
        if (this.at + n > b.length) return this.out()
        // a copy, as the library makes: a plain Uint8Array that does not hold the block
        const v = b.slice(this.at, this.at + n)
        this.at += n
        return v
      }
      case 3: return this.text(n) ?? this.out()
      case 4: {
        if (n > b.length - this.at) return this.out()
        const list: unknown[] = []
        for (let i = 0; i < n && !this.fail; i++) list.push(this.item(depth + 1))
        return list
      }
      case 5: {
        if (n > b.length - this.at) return this.out()
        const map: Record<string, unknown> = {}
        let lastAt = -1
        let lastLen = 0
        for (let i = 0; i < n && !this.fail; i++) {
          const head = b[this.at]
          if (head === undefined || head >> 5 !== 3) return this.out()
          this.at++
          const len = this.arg(head & 31)
          const keyAt = this.at
          const k = this.text(len)
          if (k === undefined || k === '__proto__') return this.out()
          // keys in dag-cbor's order (length, then bytes), each once
          if (lastAt >= 0 && !(len > lastLen || (len === lastLen && before(b, lastAt, keyAt, len)))) return this.out()
          lastAt = keyAt
          lastLen = len
          map[k] = this.item(depth + 1)
        }
        return map
      }
      case 6: {
        // a CID: tag 42, a byte string, 0x00 then the CID's bytes
        if (n !== CID_TAG || this.at >= b.length || b[this.at]! >> 5 !== 2) return this.out()
        const bytes = this.item(depth + 1)
        if (this.fail || !(bytes instanceof Uint8Array) || bytes[0] !== 0) return this.out()
        let cid: CID
        try {
          cid = CID.decode(bytes.subarray(1))
        } catch {
          return this.out()
        }
        // bytes the CID reads in another form (a version 0 spelled out) are not what it writes back
        return Buffer.compare(cid.bytes, bytes.subarray(1)) === 0 ? cid : this.out()
      }
    }
    return this.out()
  }

  out (): undefined {
    this.fail = true
    return undefined
  }
}

/** Whether the `n` bytes of `b` at `x` sort before those at `y`. */
function before (b: Uint8Array, x: number, y: number, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const d = b[x + i]! - b[y + i]!
    if (d !== 0) return d < 0
  }
  return false
}

/**
 * The value of a block written in canonical dag-cbor of the shape
 * the one-pass encoder writes (store/canonical.ts: maps with text keys in order, texts, byte strings,
 * safe integers, booleans, null, CIDs, lists), read in one pass; or
 * undefined for anything else, which the library is then to decode (or
 * refuse). What this returns is what `@ipld/dag-cbor` returns for the same
 * bytes, and such bytes are exactly the canonical encoding of the value.
 *
 * @example
 * decodeDirect(new Uint8Array([0xa1, 0x61, 0x61, 0x01])) // { a: 1 }
 * decodeDirect(new Uint8Array([0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0])) // undefined (a float: the library's)
 */
export function decodeDirect (bytes: Uint8Array): unknown {
  // A plain view of a Buffer: its slices and subarrays are then plain Uint8Arrays, made without Buffer's constructor.
  const r = new Reader(bytes instanceof Buffer ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes)
  const v = r.item(0)
  return r.fail || r.at !== bytes.length ? undefined : v
}
