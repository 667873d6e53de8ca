/**
 * Reading a bundle file: a sequential CARv1 reader that refuses what does
 * not fit in the file or the limits (a section longer than the rest of the
 * file, an absurd length, a CID dds does not write), the bundle's one error
 * (DDS_BUNDLE_INVALID with `data.problem`), and the file identity that shows
 * a file replaced or written to between the two passes of an import.
 */
import { open as fsOpen, type FileHandle } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { DAG_CBOR_CODE, RAW_CODE, SHA256_CODE, BLAKE3_CODE } from './hash.js'


/** What was wrong with a bundle (`data.problem` of DDS_BUNDLE_INVALID). */
export type BundleProblem =
  | 'truncated' | 'count' | 'extra' | 'header' | 'too-large' | 'cid' | 'hash-mismatch' | 'duplicate'
  | 'root' | 'manifest' | 'path' | 'missing' | 'malformed' | 'wrong-size' | 'inconsistent' | 'changed' | 'time' | 'tag'

export function invalid (problem: BundleProblem, message: string, data: Record<string, unknown> = {}, cause?: unknown): DdsError {
  return new DdsError(ErrorCodes.BUNDLE_INVALID, `invalid bundle: ${message}`, { data: { problem, ...data }, ...(cause === undefined ? {} : { cause }) })
}

const HEADER_LIMIT = 64 * 1024
const READ_BUFFER = 1 << 20

/** A sequential reader of a CARv1 file that refuses what does not fit in the file or the limits. */
export class CarFile {
  readonly #fh: FileHandle
  readonly size: number
  readonly #maxBlock: number
  #buf = new Uint8Array(READ_BUFFER)
  #start = 0 // file offset of #buf[0]
  #len = 0
  #pos = 0 // offset into #buf

  constructor (fh: FileHandle, size: number, maxBlock: number) {
    this.#fh = fh
    this.size = size
    this.#maxBlock = maxBlock
  }

  get offset (): number {
    return this.#start + this.#pos
  }

  async #fill (): Promise<boolean> {
    const rest = this.#len - this.#pos
    this.#buf.copyWithin(0, this.#pos, this.#len)
    this.#start += this.#pos
    this.#pos = 0
    this.#len = rest
    const { bytesRead } = await this.#fh.read(this.#buf, rest, this.#buf.byteLength - rest, this.#start + rest)
    this.#len += bytesRead
    return bytesRead > 0
  }

  /** A varint, or undefined at the end of the file. */
  async varint (): Promise<number | undefined> {
    let value = 0
    let shift = 1
    for (let i = 0; ; i++) {
      if (this.#pos === this.#len && !(await this.#fill())) {
        if (i === 0) return undefined
        throw invalid('truncated', `the file ends inside a length at byte ${this.offset}`, { offset: this.offset })
      }
      const b = this.#buf[this.#pos++] as number
      value += (b & 0x7f) * shift
      if ((b & 0x80) === 0) {
        if (i > 0 && b === 0) throw invalid('header', `a length at byte ${this.offset} is not minimally encoded`, { offset: this.offset })
        return value
      }
      shift *= 128
      if (i >= 7) throw invalid('too-large', `a length at byte ${this.offset} is absurd`, { offset: this.offset })
    }
  }

  /** The next `n` bytes, as a fresh array. */
  async exactly (n: number): Promise<Uint8Array> {
    if (this.offset + n > this.size) throw invalid('truncated', `a section at byte ${this.offset} needs ${n} bytes, the file has ${this.size - this.offset} left`, { offset: this.offset })
    // Every byte is filled below (or the read fails): no need to zero 1 GiB first.
    const out: Uint8Array = n >= 4096 ? Buffer.allocUnsafeSlow(n) : new Uint8Array(n)
    const have = Math.min(n, this.#len - this.#pos)
    out.set(this.#buf.subarray(this.#pos, this.#pos + have), 0)
    this.#pos += have
    let filled = have
    while (filled < n) {
      // Large sections are read straight into their own array.
      const { bytesRead } = await this.#fh.read(out, filled, n - filled, this.#start + this.#len)
      if (bytesRead === 0) throw invalid('truncated', `the file ends inside a section at byte ${this.#start + this.#len}`, { offset: this.#start + this.#len })
      filled += bytesRead
      this.#start += this.#len + bytesRead
      this.#len = 0
      this.#pos = 0
    }
    return out
  }

  async header (): Promise<CID> {
    const n = await this.varint()
    if (n === undefined || n === 0) throw invalid(n === undefined ? 'truncated' : 'header', 'the file has no CAR header')
    if (n > HEADER_LIMIT) throw invalid('header', `the CAR header claims ${n} bytes`)
    const bytes = await this.exactly(n)
    let header: unknown
    try {
      header = dagCbor.decode(bytes)
    } catch (err) {
      throw invalid('header', 'the CAR header is not dag-cbor (not a CAR file)', {}, err)
    }
    const h = header as { version?: unknown, roots?: unknown }
    if (header === null || typeof header !== 'object' || h.version !== 1) {
      throw invalid('header', h !== null && typeof h === 'object' && h.version === 2 ? 'CARv2 files are not bundles' : 'not a CARv1 header')
    }
    if (!Array.isArray(h.roots) || h.roots.length !== 1) throw invalid('root', 'a bundle has exactly one root')
    const root = CID.asCID(h.roots[0])
    if (root === null) throw invalid('root', 'the root is not a CID')
    return root
  }

  /** The next block (not yet verified), or undefined at the end. */
  async block (): Promise<{ cid: CID, bytes: Uint8Array, offset: number } | undefined> {
    const offset = this.offset
    const n = await this.varint()
    if (n === undefined) return undefined
    if (n > this.#maxBlock + 128) throw invalid('too-large', `a section at byte ${offset} claims ${n} bytes, more than the ${this.#maxBlock} allowed`, { offset })
    const section = await this.exactly(n)
    let cid: CID
    let bytes: Uint8Array
    try {
      const [c, rest] = CID.decodeFirst(section)
      // A decoded CID keeps a view of the whole section: copy it, so that keeping the CID does not keep the block.
      cid = CID.decode(c.bytes.slice())
      bytes = rest
    } catch (err) {
      throw invalid('cid', `the section at byte ${offset} does not start with a CID`, { offset }, err)
    }
    if (cid.version !== 1 || (cid.code !== RAW_CODE && cid.code !== DAG_CBOR_CODE) ||
        (cid.multihash.code !== SHA256_CODE && cid.multihash.code !== BLAKE3_CODE) || cid.multihash.size !== 32) {
      throw invalid('cid', `block ${cid} uses a CID version, codec or hash dds does not write`, { offset, cid: cid.toString() })
    }
    return { cid, bytes, offset }
  }
}

export async function openFile (file: string): Promise<FileHandle> {
  try {
    return await fsOpen(file, 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new DdsError(ErrorCodes.NOT_FOUND, `bundle file ${file} does not exist`, { cause: err, data: { file } })
    throw err
  }
}

/** What changes when a file is written to or replaced. */
export function identity (s: Stats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`
}
