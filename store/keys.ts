/**
 * Byte layouts of keys and small values in the key spaces.
 *
 * - `blocks`: CID bytes -> tag byte + payload. Tag 0: the block's bytes follow.
 *   Tag 1: the block lives in a blob file; crc32 (4 bytes) and size (4 bytes) follow.
 * - `memo`: signature digest -> dag-cbor memo entry.
 * - `paths`: utf8 path -> sequence number (8 bytes) + dag-cbor history entry (the head).
 * - `history`: utf8 path + 0x00 + sequence number (8 bytes) -> dag-cbor history entry.
 * - `meta`: utf8 name -> utf8 value.
 */

import { DdsError, ErrorCodes } from './errors.js'

const utf8 = new TextEncoder()
const utf8d = new TextDecoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Stored keys and values are read back from disk: a short or garbled one is corruption, not a crash. */
function malformedKey (what: string, bytes: Uint8Array): DdsError {
  return new DdsError(ErrorCodes.INTEGRITY, `malformed ${what} (${bytes.byteLength} bytes)`, { data: { problem: 'malformed', what, bytes: Buffer.from(bytes).toString('hex').slice(0, 64) } })
}

/** Write a sequence number as 8 big-endian bytes (no BigInt and no DataView: a commit of 100,000 paths writes 200,000 of them). */
function putSeq (out: Uint8Array, at: number, seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`a sequence number must be a whole number from 0: ${String(seq)}`)
  const hi = Math.floor(seq / 0x100000000)
  const lo = seq >>> 0
  out[at] = hi >>> 24
  out[at + 1] = (hi >>> 16) & 0xff
  out[at + 2] = (hi >>> 8) & 0xff
  out[at + 3] = hi & 0xff
  out[at + 4] = lo >>> 24
  out[at + 5] = (lo >>> 16) & 0xff
  out[at + 6] = (lo >>> 8) & 0xff
  out[at + 7] = lo & 0xff
}

/** UTF-8 bytes of a path; valid paths are ASCII, copied by a loop (shorter than a call into the encoder for a dozen characters). */
function pathBytes (path: string, extra: number): Uint8Array {
  const n = path.length
  const out = new Uint8Array(n + extra)
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i)
    if (c > 0x7f) {
      const b = utf8.encode(path)
      const wide = new Uint8Array(b.byteLength + extra)
      wide.set(b, 0)
      return wide
    }
    out[i] = c
  }
  return out
}

export function pathKey (path: string): Uint8Array {
  return pathBytes(path, 0)
}

export function keyPath (key: Uint8Array): string {
  try {
    return strictUtf8.decode(key)
  } catch {
    throw malformedKey('path key', key)
  }
}

export function historyKey (path: string, seq: number): Uint8Array {
  const out = pathBytes(path, 9)
  const at = out.byteLength - 9
  out[at] = 0
  putSeq(out, at + 1, seq)
  return out
}

/** The key range holding the history of one path. */
export function historyRange (path: string): { gte: Uint8Array, lt: Uint8Array } {
  const p = utf8.encode(path)
  const gte = new Uint8Array(p.byteLength + 1)
  gte.set(p, 0)
  gte[p.byteLength] = 0
  const lt = gte.slice()
  lt[p.byteLength] = 1
  return { gte, lt }
}

export function parseHistoryKey (key: Uint8Array): { path: string, seq: number } {
  const nul = key.byteLength - 9
  if (nul < 1 || key[nul] !== 0) throw malformedKey('history key', key)
  return {
    path: keyPath(key.subarray(0, nul)),
    seq: Number(new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(nul + 1))
  }
}

export function encodeHead (seq: number, entry: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + entry.byteLength)
  putSeq(out, 0, seq)
  out.set(entry, 8)
  return out
}

export function decodeHead (value: Uint8Array): { seq: number, entry: Uint8Array } {
  if (value.byteLength < 9) throw malformedKey('head', value)
  return {
    seq: Number(new DataView(value.buffer, value.byteOffset, value.byteLength).getBigUint64(0)),
    entry: value.subarray(8)
  }
}

export const BLOCK_INLINE = 0
export const BLOCK_FILE = 1

export function inlineBlock (bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength + 1)
  out[0] = BLOCK_INLINE
  out.set(bytes, 1)
  return out
}

export function fileMarker (crc: number, size: number): Uint8Array {
  const out = new Uint8Array(9)
  out[0] = BLOCK_FILE
  const dv = new DataView(out.buffer)
  dv.setUint32(1, crc >>> 0)
  dv.setUint32(5, size >>> 0)
  return out
}

export function parseFileMarker (value: Uint8Array): { crc: number, size: number } {
  if (value.byteLength !== 9) throw malformedKey('block file marker', value)
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength)
  return { crc: dv.getUint32(1), size: dv.getUint32(5) }
}

/**
 * A chunk inside a segment file (one file holding the chunks of one write, see
 * store/segments.ts): crc32, size, the byte position in the segment, and the
 * segment's name (ASCII).
 */
export const BLOCK_SEGMENT = 2
const SEGMENT_HEAD = 17

export function segmentMarker (crc: number, size: number, position: number, segment: string): Uint8Array {
  const name = utf8.encode(segment)
  const out = new Uint8Array(SEGMENT_HEAD + name.byteLength)
  out[0] = BLOCK_SEGMENT
  const dv = new DataView(out.buffer)
  dv.setUint32(1, crc >>> 0)
  dv.setUint32(5, size >>> 0)
  dv.setBigUint64(9, BigInt(position))
  out.set(name, SEGMENT_HEAD)
  return out
}

/** The fields of a segment marker; malformed (a coded error) when it is not one. */
export function parseSegmentMarker (value: Uint8Array): { crc: number, size: number, position: number, segment: string } {
  if (value.byteLength <= SEGMENT_HEAD || value[0] !== BLOCK_SEGMENT) throw malformedKey('block segment marker', value)
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength)
  const position = dv.getBigUint64(9)
  if (position > BigInt(Number.MAX_SAFE_INTEGER)) throw malformedKey('block segment marker', value)
  return { crc: dv.getUint32(1), size: dv.getUint32(5), position: Number(position), segment: utf8d.decode(value.subarray(SEGMENT_HEAD)) }
}

export const text = { encode: (s: string): Uint8Array => utf8.encode(s), decode: (b: Uint8Array): string => utf8d.decode(b) }

/**
 * Last-use times live in `meta` under `used/` + the evaluation's CID bytes, an 8-byte ms time as
 * value: one small key per evaluation, so that recording a batch of hits is one blind batch put.
 */
export const USED_PREFIX = 'used/'

/** The `meta` key recording when an evaluation's answer was last used. */
export function usedKey (evaluation: Uint8Array): Uint8Array {
  const p = utf8.encode(USED_PREFIX)
  const out = new Uint8Array(p.byteLength + evaluation.byteLength)
  out.set(p, 0)
  out.set(evaluation, p.byteLength)
  return out
}

/** The key range of every last-use key. */
export function usedRange (): { gte: Uint8Array, lt: Uint8Array } {
  const gte = utf8.encode(USED_PREFIX)
  const lt = gte.slice()
  lt[lt.byteLength - 1] = (lt[lt.byteLength - 1] ?? 0) + 1
  return { gte, lt }
}

/** The evaluation CID bytes of a last-use key. */
export function usedEvaluation (key: Uint8Array): Uint8Array {
  return key.subarray(USED_PREFIX.length)
}

/** An 8-byte big-endian time (ms since the epoch). */
export function encodeTime (ms: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, Math.floor(ms))))
  return out
}

/** The time of {@link encodeTime}; a malformed one is DDS_INTEGRITY. */
export function decodeTime (value: Uint8Array): number {
  if (value.byteLength !== 8) throw malformedKey('time', value)
  return Number(new DataView(value.buffer, value.byteOffset, value.byteLength).getBigUint64(0))
}
