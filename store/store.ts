/**
 * The store: blocks by CID, artifacts, evaluation records and code manifests,
 * the memo index, and the path namespace with its append-only history, over a
 * backend. Content is always written before the entries that point at it, and
 * entries that belong together go in one atomic batch.
 */
import { crc32 } from 'node:zlib'
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { openMemory } from './backend.js'
import { NOT_SYNC, type Backend, type BatchOp, type CommitOptions, type CommitResult, type LeaseMode, type Lock, type PathUpdate, type Space } from './interface.js'
import { openShared, type SharedOptions } from './shared.js'
import { newHolder } from './leases.js'
import { Mutexes } from './mutex.js'
import { cidOf, hashCode, verifyBlock, DAG_CBOR_CODE, RAW_CODE, SHA256_CODE, type HashName } from './hash.js'
import {
  BLOCK_FILE, BLOCK_INLINE, decodeHead, fileMarker, historyRange, inlineBlock,
  keyPath, parseFileMarker, parseHistoryKey, pathKey, text
} from './keys.js'
import {
  encodeNode, decodeNode, toArtifactRoot, toCodeManifest, toEvaluationRecord, toHistoryEntry, toMemoEntry,
  type ArtifactRoot, type CodeManifest, type EvaluationRecord, type MemoEntry, type PathEntry
} from './records.js'
import { decodeValue, encodeValue, type Encoding, type TypedArrayName } from './values.js'
import { validatePath } from './paths.js'
import type { RemoteLink, RemoteSpec } from './remote/link.js'
import type { Remote } from './remote/interface.js'

/** The on-disk format this code reads and writes. */
export const FORMAT_VERSION = 1

export interface StoreOptions {
  /** Store directory (LevelDB backend). Default: `$DDS_STORE`, else `.dds` in the working directory. */
  location?: string
  /** `'classic'` (LevelDB, default), `'memory'`, or a backend instance. */
  backend?: 'classic' | 'memory' | Backend
  /** Hash function for new blocks of a new store (default `'sha2-256'`). An existing store keeps its own. */
  hash?: HashName
  /** Artifacts up to this many bytes are one block (default 1 MiB). */
  inlineLimit?: number
  /** Chunk size of larger artifacts (default 1 MiB). */
  chunkSize?: number
  /** Blocks of at least this size are kept as files beside LevelDB (default 128 KiB). */
  fileThreshold?: number
  /** LevelDB tuning, file durability and how long to wait for a store held by another process. */
  classic?: SharedOptions
  /**
   * A team's shared store (`s3://bucket/prefix`, remote options, or an open
   * `Remote`): the local store becomes a cache in front of it. See `store/remote`.
   */
  remote?: RemoteSpec
}

export type { PathUpdate, CommitOptions, CommitResult }

/** Blocks and index entries waiting to be written in one batch. */
export class Pending {
  readonly ops: BatchOp[] = []
  readonly #seen = new Set<string>()

  /** Add an operation unless an identical block put is already pending. */
  add (op: BatchOp, dedupKey?: string): void {
    if (dedupKey !== undefined) {
      if (this.#seen.has(dedupKey)) return
      this.#seen.add(dedupKey)
    }
    this.ops.push(op)
  }
}

/** A stored artifact: its root CID, payload size and encoding. */
export interface ArtifactInfo {
  cid: CID
  enc: Encoding
  type?: TypedArrayName
  size: number
  chunks: number
}

const LEASE_TTL = 60_000
const DEFAULT_INLINE = 1024 * 1024
const DEFAULT_CHUNK = 1024 * 1024
const DEFAULT_FILE_THRESHOLD = 128 * 1024

/** The default store directory: `$DDS_STORE`, else `.dds` in the working directory. */
export function defaultLocation (): string {
  const env = process.env.DDS_STORE
  return env !== undefined && env !== '' ? env : '.dds'
}

/**
 * Open a store.
 *
 * @example
 * const store = await openStore({ location: '.dds' })
 * const { cid } = await store.putArtifact('hello')
 * await store.readArtifact(cid) // 'hello'
 * await store.close()
 */
export async function openStore (options: StoreOptions = {}): Promise<Store> {
  let backend: Backend
  let release: () => Promise<void>
  const kind = options.backend ?? 'classic'
  if (kind === 'classic') {
    const opened = await openShared(options.location ?? defaultLocation(), options.classic)
    backend = opened.backend
    release = opened.release
  } else if (kind === 'memory') {
    const b = await openMemory()
    backend = b
    release = async () => { await b.close() }
  } else if (typeof kind === 'object' && kind !== null && typeof kind.get === 'function') {
    backend = kind
    release = async () => { await kind.close() }
  } else {
    throw new TypeError(`backend must be 'classic', 'memory' or a Backend, got ${String(kind)}`)
  }
  try {
    const hash = await checkMeta(backend, options.hash)
    const store = new Store(backend, release, hash, options)
    if (options.remote !== undefined) await store.attachRemote(options.remote)
    return store
  } catch (err) {
    await release()
    throw err
  }
}

async function checkMeta (backend: Backend, wanted: HashName | undefined): Promise<number> {
  const format = await backend.get('meta', text.encode('format'))
  if (format === undefined) {
    const hash = wanted ?? 'sha2-256'
    hashCode(hash)
    await backend.batch([
      { type: 'put', space: 'meta', key: text.encode('format'), value: text.encode(String(FORMAT_VERSION)) },
      { type: 'put', space: 'meta', key: text.encode('hash'), value: text.encode(hash) },
      { type: 'put', space: 'meta', key: text.encode('created'), value: text.encode(new Date().toISOString()) }
    ], { sync: true })
    return hashCode(hash)
  }
  const found = text.decode(format)
  if (found !== String(FORMAT_VERSION)) {
    throw new DdsError(ErrorCodes.FORMAT_VERSION,
      `store format version ${found} is not supported by this version of dds-ts (it reads version ${FORMAT_VERSION})`,
      { data: { found, expected: FORMAT_VERSION, location: backend.location } })
  }
  const stored = await backend.get('meta', text.encode('hash'))
  return hashCode((stored === undefined ? 'sha2-256' : text.decode(stored)) as HashName)
}

export class Store {
  readonly backend: Backend
  /** Multihash code of new blocks. */
  readonly hash: number
  readonly inlineLimit: number
  readonly chunkSize: number
  readonly fileThreshold: number
  readonly #release: () => Promise<void>
  readonly #locks = new Mutexes()
  /** Decoded small artifact roots by CID (immutable content, verified when first read). */
  readonly #roots = new Map<string, ArtifactRoot>()
  /** The last decoded memo entry and head per key, reused while the stored bytes are the same. */
  readonly #memos = new Map<string, { raw: Uint8Array, entry: MemoEntry }>()
  readonly #heads = new Map<string, { raw: Uint8Array, entry: PathEntry }>()
  #closed = false
  /** Set when the store has a remote: the hooks below then consult it. */
  #link: RemoteLink | undefined

  constructor (backend: Backend, release: () => Promise<void>, hash: number, options: StoreOptions) {
    this.backend = backend
    this.#release = release
    this.hash = hash
    this.inlineLimit = positive(options.inlineLimit, DEFAULT_INLINE, 'inlineLimit')
    this.chunkSize = positive(options.chunkSize, DEFAULT_CHUNK, 'chunkSize')
    this.fileThreshold = positive(options.fileThreshold, DEFAULT_FILE_THRESHOLD, 'fileThreshold')
  }

  /** The store directory, or undefined for an in-memory store. */
  get location (): string | undefined {
    return this.backend.location
  }

  get closed (): boolean {
    return this.#closed
  }

  /** The remote this store is a cache of, if any. */
  get remote (): Remote | undefined {
    return this.#link?.remote
  }

  /** Put the store in front of a remote (done by `openStore` when `remote` is given). */
  async attachRemote (spec: RemoteSpec): Promise<void> {
    this.#check()
    if (this.#link !== undefined) throw new TypeError('the store already has a remote')
    // Loaded on demand: a store without a remote never loads the S3 client.
    const { linkRemote } = await import('./remote/link.js')
    this.#link = await linkRemote(this, spec)
  }

  #check (): void {
    if (this.#closed) throw new DdsError(ErrorCodes.STORE_CLOSED, 'the store is closed')
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    try {
      await this.#link?.close()
    } finally {
      await this.#release()
    }
  }

  // ---------------------------------------------------------------- blocks

  /**
   * Prepare a block for writing: large blocks are written to their file now,
   * and the index entry (or the inline block) is added to `pending`.
   */
  async stageBlock (cid: CID, bytes: Uint8Array, pending: Pending): Promise<void> {
    this.#check()
    const key = cid.bytes
    const dedup = cid.toString()
    const files = this.backend.files
    if (files !== undefined && bytes.byteLength >= this.fileThreshold) {
      if (await this.hasBlock(cid)) return
      await files.write(dedup, bytes)
      pending.add({ type: 'put', space: 'blocks', key, value: fileMarker(crc32(bytes), bytes.byteLength) }, dedup)
      return
    }
    pending.add({ type: 'put', space: 'blocks', key, value: inlineBlock(bytes) }, dedup)
  }

  /** Store one block now; returns its CID. */
  async putBlock (bytes: Uint8Array, codec: number = RAW_CODE): Promise<CID> {
    const cid = cidOf(bytes, codec, this.hash)
    const pending = new Pending()
    await this.stageBlock(cid, bytes, pending)
    await this.write(pending)
    return cid
  }

  /** Write a pending batch atomically (with a remote, its memo answers then go up). */
  async write (pending: Pending, options: { sync?: boolean } = {}): Promise<void> {
    this.#check()
    await this.backend.batch(pending.ops, options)
    if (this.#link !== undefined) await this.#link.push(pending)
  }

  /** A read that takes the synchronous path when the backend offers it now. */
  async #get (space: Space, key: Uint8Array, fresh = false): Promise<Uint8Array | undefined> {
    const getSync = this.backend.getSync
    if (getSync !== undefined) {
      const v = getSync(space, key)
      if (v !== NOT_SYNC) return v
    }
    return await this.backend.get(space, key, fresh ? { fresh } : undefined)
  }

  /** True when the store holds the block (asked of the database itself: this decides what a write may skip). */
  async hasBlock (cid: CID): Promise<boolean> {
    this.#check()
    return (await this.#get('blocks', cid.bytes, true)) !== undefined
  }

  /** The stored form of a block (inline or file marker), without reading a file. */
  async #raw (cid: CID): Promise<Uint8Array | undefined> {
    return await this.#get('blocks', cid.bytes)
  }

  /**
   * A block's bytes, or undefined when absent. Inline blocks are checked
   * against their CID, file blocks against the crc32 recorded with them
   * (`verify: 'full'` re-hashes files too). A mismatch throws DDS_INTEGRITY.
   */
  async getBlock (cid: CID, options: { verify?: 'fast' | 'full', local?: boolean } = {}): Promise<Uint8Array | undefined> {
    this.#check()
    const raw = await this.#raw(cid)
    if (raw === undefined) return this.#link === undefined || options.local === true ? undefined : await this.#link.fetchBlock(cid)
    if (raw[0] === BLOCK_INLINE) {
      const bytes = raw.subarray(1)
      verifyBlock(cid, bytes)
      return bytes
    }
    if (raw[0] === BLOCK_FILE && raw.byteLength === 9) {
      const { crc, size } = parseFileMarker(raw)
      const files = this.#files(cid)
      const bytes = await files.read(cid.toString())
      if (bytes === undefined) throw missingFile(cid)
      if (bytes.byteLength !== size || (crc32(bytes) >>> 0) !== crc) throw corruptBlock(cid)
      if (options.verify === 'full') verifyBlock(cid, bytes)
      return bytes
    }
    throw corruptBlock(cid)
  }

  /** Read a block into `target` at `offset` (no copy for file blocks); returns its size, or -1 when absent. */
  async readBlockInto (cid: CID, target: Uint8Array, offset: number, options: { verify?: 'fast' | 'full' } = {}): Promise<number> {
    this.#check()
    const raw = await this.#raw(cid)
    if (raw === undefined) {
      const fetched = this.#link === undefined ? undefined : await this.#link.fetchBlock(cid)
      if (fetched === undefined) return -1
      if (offset + fetched.byteLength > target.byteLength) throw corruptBlock(cid)
      target.set(fetched, offset)
      return fetched.byteLength
    }
    if (raw[0] === BLOCK_INLINE) {
      const bytes = raw.subarray(1)
      verifyBlock(cid, bytes)
      if (offset + bytes.byteLength > target.byteLength) throw corruptBlock(cid)
      target.set(bytes, offset)
      return bytes.byteLength
    }
    if (raw[0] === BLOCK_FILE && raw.byteLength === 9) {
      const { crc, size } = parseFileMarker(raw)
      if (offset + size > target.byteLength) throw corruptBlock(cid)
      const view = target.subarray(offset, offset + size)
      const n = await this.#files(cid).readInto(cid.toString(), view, 0)
      if (n === -1) throw missingFile(cid)
      if (n !== size || (crc32(view) >>> 0) !== crc) throw corruptBlock(cid)
      if (options.verify === 'full') verifyBlock(cid, view)
      return size
    }
    throw corruptBlock(cid)
  }

  #files (cid: CID): NonNullable<Backend['files']> {
    const files = this.backend.files
    if (files === undefined) throw corruptBlock(cid)
    return files
  }

  /** Every block CID in the store (streamed, in key order). */
  async * blockCIDs (): AsyncIterable<CID> {
    this.#check()
    for await (const key of this.backend.keys('blocks')) {
      try {
        yield CID.decode(key)
      } catch {
        throw new DdsError(ErrorCodes.INTEGRITY, 'the block index holds a key that is not a CID')
      }
    }
  }

  /** Delete blocks (index entries first, then their files). */
  async deleteBlocks (cids: CID[]): Promise<void> {
    this.#check()
    const files: CID[] = []
    for (const cid of cids) {
      const raw = await this.#raw(cid)
      if (raw !== undefined && raw[0] === BLOCK_FILE) files.push(cid)
    }
    for (const cid of cids) this.#roots.delete(Buffer.from(cid.bytes).toString('latin1'))
    await this.backend.batch(cids.map((cid) => ({ type: 'del' as const, space: 'blocks' as const, key: cid.bytes })))
    for (const cid of files) await this.backend.files?.remove(cid.toString())
  }

  // ---------------------------------------------------------------- nodes

  /** Encode a dag-cbor node, stage it, and return its CID. */
  async stageNode (value: unknown, pending: Pending): Promise<CID> {
    const bytes = encodeNode(value)
    const cid = cidOf(bytes, DAG_CBOR_CODE, this.hash)
    await this.stageBlock(cid, bytes, pending)
    return cid
  }

  /** Decode a dag-cbor block; DDS_NOT_FOUND when absent. */
  async getNode (cid: CID, what = 'node'): Promise<unknown> {
    if (cid.code !== DAG_CBOR_CODE) throw new DdsError(ErrorCodes.NOT_FOUND, `${cid} is not a ${what} (not dag-cbor)`, { data: { cid: cid.toString() } })
    const bytes = await this.getBlock(cid)
    if (bytes === undefined) throw new DdsError(ErrorCodes.NOT_FOUND, `${what} ${cid} is not in the store`, { data: { cid: cid.toString() } })
    return decodeNode(bytes, what)
  }

  async getEvaluation (cid: CID): Promise<EvaluationRecord> {
    return toEvaluationRecord(await this.getNode(cid, 'evaluation record'))
  }

  async getManifest (cid: CID): Promise<CodeManifest> {
    return toCodeManifest(await this.getNode(cid, 'code manifest'))
  }

  /** An artifact root, decoded once per process when it is small. */
  async #root (cid: CID): Promise<ArtifactRoot> {
    const k = Buffer.from(cid.bytes).toString('latin1')
    const known = this.#roots.get(k)
    if (known !== undefined) return known
    const root = await this.getArtifactRoot(cid)
    if ((root.data?.byteLength ?? 0) <= 4096 && (root.chunks?.length ?? 0) <= 64) remember(this.#roots, k, root)
    return root
  }

  async getArtifactRoot (cid: CID): Promise<ArtifactRoot> {
    return toArtifactRoot(await this.getNode(cid, 'artifact'))
  }

  // ---------------------------------------------------------------- artifacts

  /**
   * Encode a value and stage it as an artifact: one block up to the inline
   * limit, else raw chunks (written now) under a dag-cbor root (staged).
   * Throws DDS_UNSERIALIZABLE naming the field that cannot be stored.
   */
  async stageArtifact (value: unknown, pending: Pending, label = 'value'): Promise<ArtifactInfo> {
    this.#check()
    const payload = encodeValue(value, label)
    return await this.stagePayload(payload.enc, payload.type, payload.bytes, pending)
  }

  /** Stage payload bytes that are already encoded. */
  async stagePayload (enc: Encoding, type: TypedArrayName | undefined, bytes: Uint8Array, pending: Pending): Promise<ArtifactInfo> {
    const size = bytes.byteLength
    if (size <= this.inlineLimit) {
      // Copy: the caller may mutate the value it returned once we hand it back.
      const data = this.backend.files === undefined ? bytes.slice() : bytes
      const cid = await this.stageNode({ enc, type, size, data }, pending)
      return { cid, enc, ...(type === undefined ? {} : { type }), size, chunks: 0 }
    }
    const chunks: CID[] = []
    // Hash the next chunk while earlier ones are being written.
    const inFlight: Array<Promise<void>> = []
    try {
      for (let off = 0; off < size; off += this.chunkSize) {
        const view = bytes.subarray(off, Math.min(size, off + this.chunkSize))
        const chunk = this.backend.files === undefined ? view.slice() : view
        const cid = cidOf(chunk, RAW_CODE, this.hash)
        chunks.push(cid)
        const p = this.stageBlock(cid, chunk, pending)
        // Handled below; without this a failure seen while awaiting an earlier write counts as unhandled.
        p.catch(() => {})
        inFlight.push(p)
        if (inFlight.length >= 4) await inFlight.shift()
      }
      await Promise.all(inFlight)
    } catch (err) {
      await Promise.allSettled(inFlight)
      throw err
    }
    const cid = await this.stageNode({ enc, type, size, chunkSize: this.chunkSize, chunks }, pending)
    return { cid, enc, ...(type === undefined ? {} : { type }), size, chunks: chunks.length }
  }

  /**
   * Stage an artifact from a stream of payload bytes (any chunking), holding
   * at most one chunk in memory beyond what the stream yields.
   */
  async stageStream (enc: Encoding, type: TypedArrayName | undefined, source: AsyncIterable<Uint8Array>, pending: Pending): Promise<ArtifactInfo> {
    this.#check()
    const chunks: CID[] = []
    let buf = new Uint8Array(this.chunkSize)
    let fill = 0
    let size = 0
    const flush = async (): Promise<void> => {
      const chunk = buf.subarray(0, fill)
      const cid = cidOf(chunk, RAW_CODE, this.hash)
      await this.stageBlock(cid, chunk, pending)
      chunks.push(cid)
      // Staged inline blocks keep a reference: start a fresh buffer.
      buf = new Uint8Array(this.chunkSize)
      fill = 0
    }
    for await (const piece of source) {
      let off = 0
      while (off < piece.byteLength) {
        if (fill === this.chunkSize) await flush()
        const n = Math.min(piece.byteLength - off, this.chunkSize - fill)
        buf.set(piece.subarray(off, off + n), fill)
        fill += n
        off += n
        size += n
      }
    }
    if (chunks.length === 0 && size <= this.inlineLimit) return await this.stagePayload(enc, type, buf.subarray(0, fill), pending)
    if (fill > 0) await flush()
    const cid = await this.stageNode({ enc, type, size, chunkSize: this.chunkSize, chunks }, pending)
    return { cid, enc, ...(type === undefined ? {} : { type }), size, chunks: chunks.length }
  }

  /** Store a value as an artifact now (blocks and root in one batch). */
  async putArtifact (value: unknown): Promise<ArtifactInfo> {
    const pending = new Pending()
    const info = await this.stageArtifact(value, pending)
    await this.write(pending)
    return info
  }

  /** Size, encoding and chunk count of an artifact, without reading its payload. */
  async artifactInfo (cid: CID): Promise<ArtifactInfo> {
    const root = await this.getArtifactRoot(cid)
    return { cid, enc: root.enc, ...(root.type === undefined ? {} : { type: root.type }), size: root.size, chunks: root.chunks?.length ?? 0 }
  }

  /**
   * Read an artifact back as the value it was. Chunked binary artifacts are
   * read straight into the memory of the result.
   */
  async readArtifact (cid: CID): Promise<unknown> {
    const root = await this.#root(cid)
    if (root.data !== undefined) return decodeValue(root.enc, root.type, root.data.slice())
    const target = allocate(root)
    await this.#readChunksInto(cid, root, target)
    return decodeValue(root.enc, root.type, target)
  }

  async #readChunksInto (rootCid: CID, root: ArtifactRoot, target: Uint8Array): Promise<void> {
    if (this.#link !== undefined && await this.#link.fillArtifact(rootCid, root, target)) return
    const chunks = root.chunks ?? []
    const chunkSize = root.chunkSize ?? 0
    // A few reads in flight keep the disk busy without holding more memory: reads land in `target`.
    const inFlight = 4
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < chunks.length) {
        const i = next++
        const cid = chunks[i] as CID
        const offset = i * chunkSize
        const expected = Math.min(chunkSize, root.size - offset)
        const n = await this.readBlockInto(cid, target, offset)
        if (n === -1) throw new DdsError(ErrorCodes.NOT_FOUND, `chunk ${cid} of artifact ${rootCid} is missing`, { data: { cid: cid.toString(), artifact: rootCid.toString() } })
        if (n !== expected) throw new DdsError(ErrorCodes.INTEGRITY, `chunk ${cid} of artifact ${rootCid} has the wrong size`, { data: { cid: cid.toString(), artifact: rootCid.toString() } })
      }
    }
    await Promise.all(Array.from({ length: Math.min(inFlight, chunks.length) }, worker))
  }

  /** The payload bytes of an artifact as a stream of verified chunks. */
  async * artifactBytes (cid: CID): AsyncIterable<Uint8Array> {
    const root = await this.getArtifactRoot(cid)
    if (root.data !== undefined) {
      yield root.data
      return
    }
    if (this.#link !== undefined) await this.#link.fillArtifact(cid, root)
    for (const chunk of root.chunks ?? []) {
      const bytes = await this.getBlock(chunk)
      if (bytes === undefined) throw new DdsError(ErrorCodes.NOT_FOUND, `chunk ${chunk} of artifact ${cid} is missing`, { data: { cid: chunk.toString(), artifact: cid.toString() } })
      yield bytes
    }
  }

  // ---------------------------------------------------------------- evaluations and memo

  /**
   * Stage an evaluation: the code manifest, the record and the memo entries
   * under `memoKeys`, into `pending` (to be written in one batch).
   */
  async stageEvaluation (manifest: CodeManifest, record: Omit<EvaluationRecord, 'code'>, memoKeys: Uint8Array[], pending: Pending): Promise<{ evaluation: CID, code: CID }> {
    const code = await this.stageNode(manifest, pending)
    const full: EvaluationRecord = { ...record, code }
    const evaluation = await this.stageNode(full, pending)
    const memo = encodeNode({ evaluation, output: full.output, loads: full.loads, nested: full.calls.length > 0 } satisfies MemoEntry)
    for (const key of memoKeys) pending.add({ type: 'put', space: 'memo', key, value: memo })
    return { evaluation, code }
  }

  /** The memo entry under a key, or undefined. */
  async lookupMemo (key: Uint8Array): Promise<MemoEntry | undefined> {
    this.#check()
    const v = await this.#get('memo', key)
    if (v === undefined) return this.#link === undefined ? undefined : await this.#link.fetchMemo(key)
    const k = Buffer.from(key).toString('latin1')
    const known = this.#memos.get(k)
    if (known !== undefined && Buffer.from(known.raw).equals(v)) return known.entry
    const entry = toMemoEntry(decodeNode(v, 'memo entry'))
    remember(this.#memos, k, { raw: v, entry })
    return entry
  }

  /** Every memo entry (streamed). */
  async * memoEntries (): AsyncIterable<{ key: Uint8Array, entry: MemoEntry }> {
    this.#check()
    for await (const [key, value] of this.backend.entries('memo')) {
      yield { key, entry: toMemoEntry(decodeNode(value, 'memo entry')) }
    }
  }

  async deleteMemo (keys: Uint8Array[]): Promise<void> {
    await this.backend.batch(keys.map((key) => ({ type: 'del' as const, space: 'memo' as const, key })))
  }

  // ---------------------------------------------------------------- paths

  /**
   * The current entry of a path (deletions included), or undefined when it
   * never held a value. With a remote, from the remote's log (the truth),
   * unless `local`.
   */
  async headEntry (path: string, options: { local?: boolean } = {}): Promise<PathEntry | undefined> {
    this.#check()
    validatePath(path)
    if (this.#link !== undefined && options.local !== true) return await this.#link.head(path)
    const v = await this.#get('paths', pathKey(path))
    if (v === undefined) return undefined
    const known = this.#heads.get(path)
    if (known !== undefined && Buffer.from(known.raw).equals(v)) return known.entry
    const { seq, entry } = decodeHead(v)
    const e = { path, seq, ...toHistoryEntry(decodeNode(entry, 'history entry')) }
    remember(this.#heads, path, { raw: v, entry: e })
    return e
  }

  /** The current value entry of a path, or undefined when absent or deleted. */
  async head (path: string, options: { local?: boolean } = {}): Promise<PathEntry | undefined> {
    const e = await this.headEntry(path, options)
    return e === undefined || e.evaluation === null ? undefined : e
  }

  /** The history of a path in this store, newest first (a remote's: `store.remote.history`). */
  async * history (path: string, options: { limit?: number } = {}): AsyncIterable<PathEntry> {
    this.#check()
    validatePath(path)
    const range = historyRange(path)
    for await (const [key, value] of this.backend.entries('history', { ...range, reverse: true, ...(options.limit === undefined ? {} : { limit: options.limit }) })) {
      const { seq } = parseHistoryKey(key)
      yield { path, seq, ...toHistoryEntry(decodeNode(value, 'history entry')) }
    }
  }

  /** Every path of this store with a value (or, with `deleted`, also deleted ones), in order, under `prefix` (a remote's: `store.remote.paths`). */
  async * paths (options: { prefix?: string, deleted?: boolean } = {}): AsyncIterable<PathEntry> {
    this.#check()
    const prefix = options.prefix
    if (prefix !== undefined && prefix !== '/') validatePath(prefix, 'prefix')
    const range = prefix === undefined || prefix === '/' ? {} : { gte: pathKey(prefix), lt: pathKey(prefix + '0') }
    for await (const [key, value] of this.backend.entries('paths', range)) {
      const path = keyPath(key)
      if (prefix !== undefined && prefix !== '/' && path !== prefix && !path.startsWith(prefix + '/')) continue
      const { seq, entry } = decodeHead(value)
      const e = { path, seq, ...toHistoryEntry(decodeNode(entry, 'history entry')) }
      if (e.evaluation === null && options.deleted !== true) continue
      yield e
    }
  }

  /**
   * Take a named lock held across every process using this store (a lease
   * in the database, released if the holding process dies). Waits for it.
   * With a remote, exclusive locks named `compute:…` are also leases in the
   * remote, so that an identical call on two machines runs once.
   */
  async lock (name: string, mode: LeaseMode = 'exclusive'): Promise<Lock> {
    this.#check()
    // Waiters of this process queue here instead of polling the database.
    const local = mode === 'exclusive' ? await this.#locks.acquire(name) : () => {}
    const holder = newHolder(mode, LEASE_TTL)
    try {
      let delay = 1
      while (true) {
        const r = await this.backend.lease({ op: 'acquire', name, holder })
        if (r.granted) break
        await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay))
        delay = Math.min(50, delay * 1.5)
      }
    } catch (err) {
      local()
      throw err
    }
    let remote: Lock | undefined
    if (this.#link !== undefined && mode === 'exclusive' && name.startsWith('compute:')) {
      try {
        remote = await this.#link.lease(name)
      } catch (err) {
        await this.backend.lease({ op: 'release', name, holder }).finally(local)
        throw err
      }
    }
    let released = false
    return {
      release: async () => {
        if (released) return
        released = true
        try {
          await remote?.release()
        } finally {
          try {
            await this.backend.lease({ op: 'release', name, holder })
          } finally {
            local()
          }
        }
      }
    }
  }

  /**
   * Append history entries for several paths in one atomic batch, together
   * with `pending` (content first). A path whose head already points at the
   * same evaluation gets no new entry. Throws DDS_OVERLAPPING_PATH if a path
   * would be a directory of a live path (or the reverse).
   */
  async commit (updates: PathUpdate[], pending: Pending = new Pending(), options: CommitOptions = {}): Promise<CommitResult> {
    this.#check()
    for (const u of updates) validatePath(u.path)
    if (this.#link === undefined) return await this.backend.commit(updates, pending.ops, options)
    // One time for both logs, so the local entry and the remote one are the same bytes.
    const now = Date.now()
    const stamped = updates.map((u) => u.time === undefined ? { ...u, time: now } : u)
    await this.backend.commit(stamped, pending.ops, options)
    await this.#link.push(pending)
    return await this.#link.append(stamped, options)
  }

  /** Delete a path: append a tombstone to its history. */
  async deletePath (path: string): Promise<CommitResult> {
    validatePath(path)
    const head = await this.head(path)
    if (head === undefined) {
      throw new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${path} holds no value`, { data: { path } })
    }
    return await this.commit([{ path, evaluation: null, output: null }])
  }

  /** The CID hash function of new blocks, by name. */
  get hashName (): HashName {
    return this.hash === SHA256_CODE ? 'sha2-256' : 'blake3'
  }
}

/** Keep at most 4096 decoded entries, dropping the oldest. */
function remember<V> (cache: Map<string, V>, key: string, value: V): void {
  if (cache.size >= 4096) cache.delete(cache.keys().next().value as string)
  cache.set(key, value)
}

function allocate (root: ArtifactRoot): Uint8Array {
  // A fresh ArrayBuffer is aligned for every typed array type.
  return new Uint8Array(new ArrayBuffer(root.size))
}

function missingFile (cid: CID): DdsError {
  return new DdsError(ErrorCodes.INTEGRITY, `the file of block ${cid} is missing`, { data: { cid: cid.toString() } })
}

function corruptBlock (cid: CID): DdsError {
  return new DdsError(ErrorCodes.INTEGRITY, `block ${cid} is corrupt`, { data: { cid: cid.toString() } })
}

function positive (v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer`)
  return v
}
