/**
 * Hashing and CIDs. sha2-256 through `node:crypto` is the default; blake3
 * (multicodec 0x1e) from `@noble/hashes` can be chosen per store. Every CID
 * records its hash function, so one store can hold blocks of both.
 */
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { from as hasherFrom } from 'multiformats/hashes/hasher'
import type { MultihashHasher } from 'multiformats/hashes/interface'
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { DdsError, ErrorCodes } from './errors.js'

export const RAW_CODE = 0x55
export const DAG_CBOR_CODE = 0x71
export const SHA256_CODE = 0x12
export const BLAKE3_CODE = 0x1e

export type HashName = 'sha2-256' | 'blake3'

function sha256Bytes (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

function blake3Bytes (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return nobleBlake3(bytes) as Uint8Array<ArrayBuffer>
}

/** sha2-256 as a multiformats hasher, synchronous, through node:crypto. */
export const sha256: MultihashHasher<typeof SHA256_CODE> = hasherFrom({ name: 'sha2-256', code: SHA256_CODE, encode: sha256Bytes })
/** blake3 (256-bit) as a multiformats hasher, through @noble/hashes. */
export const blake3: MultihashHasher<typeof BLAKE3_CODE> = hasherFrom({ name: 'blake3', code: BLAKE3_CODE, encode: blake3Bytes })

const byCode = new Map<number, (bytes: Uint8Array) => Uint8Array>([
  [SHA256_CODE, sha256Bytes],
  [BLAKE3_CODE, blake3Bytes]
])

/** The hash code for a hash name. */
export function hashCode (name: HashName): number {
  if (name === 'sha2-256') return SHA256_CODE
  if (name === 'blake3') return BLAKE3_CODE
  throw new TypeError(`unknown hash '${String(name)}': use 'sha2-256' or 'blake3'`)
}

/** The CID of `bytes` under `codec`, hashed with the given multihash code. */
export function cidOf (bytes: Uint8Array, codec: number, hash: number = SHA256_CODE): CID {
  const fn = byCode.get(hash)
  if (fn === undefined) throw new TypeError(`unsupported multihash code 0x${hash.toString(16)}`)
  return CID.createV1(codec, Digest.create(hash, fn(bytes)))
}

/** True when `bytes` hash to `cid` (with the CID's own hash function). */
export function matches (cid: CID, bytes: Uint8Array): boolean {
  const fn = byCode.get(cid.multihash.code)
  if (fn === undefined) return false
  const digest = fn(bytes)
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
