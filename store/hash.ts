/**
 * Hashing and CIDs. Hash functions are multiformats hasher values: sha2-256
 * (multiformats' own, through `node:crypto` on Node) is the default; blake3
 * (multicodec 0x1e) from `@noble/hashes` can be chosen per store. Every CID
 * records its hash function, so one store can hold blocks of both.
 */
import { CID } from 'multiformats/cid'
import { from as hasherFrom } from 'multiformats/hashes/hasher'
import { sha256 as multiformatsSha256 } from 'multiformats/hashes/sha2'
import type { SyncMultihashHasher } from 'multiformats/hashes/interface'
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { DdsError, ErrorCodes } from './errors.js'

export const RAW_CODE = 0x55
export const DAG_CBOR_CODE = 0x71
export const SHA256_CODE = 0x12
export const BLAKE3_CODE = 0x1e

export type HashName = 'sha2-256' | 'blake3'

/** A hasher whose digest is computed synchronously (every hasher a store uses is). */
export type Hasher = SyncMultihashHasher

/**
 * sha2-256 as a multiformats hasher. On Node multiformats computes it with
 * node:crypto, synchronously; the type says "maybe a promise" for browsers.
 */
export const sha256: Hasher = multiformatsSha256 as Hasher
/** blake3 (256-bit) as a multiformats hasher, through @noble/hashes. */
export const blake3: Hasher = hasherFrom({ name: 'blake3', code: BLAKE3_CODE, encode: (bytes) => nobleBlake3(bytes) as Uint8Array<ArrayBuffer> }) as Hasher

const byCode = new Map<number, Hasher>([[SHA256_CODE, sha256], [BLAKE3_CODE, blake3]])

/** The hasher for a multihash code, or undefined when the store does not know it. */
export function hasherFor (code: number): Hasher | undefined {
  return byCode.get(code)
}

/** The sha2-256 digest of `bytes` (32 bytes). */
export function sha256Digest (bytes: Uint8Array): Uint8Array {
  return sha256.encode(bytes)
}

/** The hash code for a hash name or one of the hashers above (`sha256`, `blake3`). */
export function hashCode (hash: HashName | Hasher): number {
  if (typeof hash === 'object' && hash !== null) {
    if (byCode.get(hash.code) === hash) return hash.code
    throw new TypeError(`unsupported hasher '${String(hash.name)}': use sha256 or blake3 (or 'sha2-256' or 'blake3')`)
  }
  if (hash === 'sha2-256') return SHA256_CODE
  if (hash === 'blake3') return BLAKE3_CODE
  throw new TypeError(`unknown hash '${String(hash)}': use 'sha2-256' or 'blake3'`)
}

/** The CID of `bytes` under `codec`, hashed with the given multihash code. */
export function cidOf (bytes: Uint8Array, codec: number, hash: number = SHA256_CODE): CID {
  const hasher = byCode.get(hash)
  if (hasher === undefined) throw new TypeError(`unsupported multihash code 0x${hash.toString(16)}`)
  return CID.createV1(codec, hasher.digest(bytes))
}

/** True when `bytes` hash to `cid` (with the CID's own hash function). */
export function matches (cid: CID, bytes: Uint8Array): boolean {
  const hasher = byCode.get(cid.multihash.code)
  if (hasher === undefined) return false
  const digest = hasher.encode(bytes)
  const expected = cid.multihash.digest
  if (digest.byteLength !== expected.byteLength) return false
  for (let i = 0; i < digest.byteLength; i++) if (digest[i] !== expected[i]) return false
  return true
}

/** Throw DDS_INTEGRITY unless `bytes` hash to `cid`. */
export function verifyBlock (cid: CID, bytes: Uint8Array, where = 'block'): void {
  if (!byCode.has(cid.multihash.code)) {
    throw new DdsError(ErrorCodes.INTEGRITY, `${where} ${cid} uses an unsupported hash function`, { data: { cid: cid.toString() } })
  }
  if (!matches(cid, bytes)) {
    throw new DdsError(ErrorCodes.INTEGRITY, `${where} ${cid} does not match its content`, { data: { cid: cid.toString() } })
  }
}


/** Parse a CID string, or throw DDS_CID_INVALID naming it. */
export function parseCID (text: string): CID {
  try {
    return CID.parse(text)
  } catch (err) {
    throw new DdsError(ErrorCodes.CID_INVALID, `not a CID: ${JSON.stringify(text)}`, { cause: err, data: { cid: text } })
  }
}

/** Decode CID bytes, or throw DDS_INTEGRITY. */
export function cidFromBytes (bytes: Uint8Array): CID {
  try {
    return CID.decode(bytes)
  } catch (err) {
    throw new DdsError(ErrorCodes.INTEGRITY, 'stored CID bytes are corrupt', { cause: err })
  }
}

export { CID }
