/**
 * The store: a thin façade composing its parts over a backend. The blocks
 * part (store/blocks.ts), artifacts (store/artifacts.ts) and dag-cbor nodes
 * over them, the memo index (store/memo.ts), the namespace (store/namespace.ts)
 * and the leases (store/locks.ts). With a remote, the remote link
 * (store/remote/link.ts) is a tier in front of the local blocks, memo index,
 * namespace and leases, implementing the same interfaces and falling back to
 * them; the other parts read through whichever is in front. Content is
 * always written before the entries that point at it, and entries that
 * belong together go in one atomic batch. One file over the usual length, and one part:
 * it is the façade, one short forwarding method per operation of its parts.
 */
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { cidOf, hashCode, RAW_CODE, SHA256_CODE, type Hasher, type HashName } from './hash.js'
import { text } from './keys.js'
import type { CodeManifest, EvaluationRecord, MemoEntry, PathEntry, ArtifactRoot } from './records.js'
import { Codecs } from './codecs.js'
import { validatePath } from './paths.js'
import { Pending } from './pending.js'
import { LocalBlocks } from './blocks.js'
import { Nodes } from './nodes.js'
import { Artifacts, defaultLoadLimit, type ArtifactInfo } from './artifacts.js'
import { LocalMemo } from './memo.js'
import { LocalNamespace, pathNotFound } from './namespace.js'
import { LocalLocks } from './locks.js'
import { UsageLog } from './usage.js'
import { checkBudget, type Budget } from './budget.js'
import type { Backend, BlockReadOptions, BlockReader, BlockWriter, ChunkSink, Codec, CommitOptions, CommitResult, LeaseMode, Lock, LockOptions, Parts, PathsOptions, PathUpdate } from './interface.js'
import { openBackend, type BackendOptions } from './open-backend.js'
import { findStore } from './location.js'
import type { RemoteLink, RemoteSpec } from './remote/link.js'
import type { Remote } from './remote/interface.js'

/** The lock commits hold shared and gc's sweep exclusive. */
export const GC_SWEEP_LOCK = 'gc-sweep'

/** The on-disk format this code reads and writes. */
export const FORMAT_VERSION = 1

/** How to open a store: the backend (`location`, `backend`, `classic`, `readOnly`: see `BackendOptions`) and the store's own settings. */
export interface StoreOptions extends BackendOptions {
  /** Hash function for new blocks of a new store (default `'sha2-256'`; or the `sha256` or `blake3` hasher). An existing store keeps its own. */
  hash?: HashName | Hasher
  /**
   * Codecs for values the built-in ones do not store (class instances), tried
   * in order before CBOR. An artifact a codec stored needs that codec (same
   * name and version) to be read: DDS_CODEC_MISSING otherwise.
   */
  codecs?: readonly Codec[]
  /** Artifacts up to this many bytes are one block (default 1 MiB). */
  inlineLimit?: number
  /** Chunk size of larger artifacts (default 1 MiB). */
  chunkSize?: number
  /** Blocks of at least this size are kept as files beside LevelDB (default 128 KiB). */
  fileThreshold?: number
  /**
   * The largest value `readArtifact` (and so `load`) builds in memory, in
   * bytes (default half the machine's memory): larger ones are refused with
   * DDS_LOAD_TOO_LARGE before anything is allocated; `artifactBytes` still streams them.
   */
  loadLimit?: number
  /**
   * A team's shared store (`s3://bucket/prefix`, remote options, or an open
   * `Remote`): the local store becomes a cache in front of it. See `store/remote`.
   */
  remote?: RemoteSpec
  /**
   * A retention budget applied after each run that commits, in the background
   * (store/auto-gc.ts): history is dropped, least valuable first, while the
   * store holds more than `maxSize` bytes, and when unused for `maxAge` ms.
   */
  budget?: Budget
}

export type { PathUpdate, CommitOptions, CommitResult, ArtifactInfo }
export { Pending }

const DEFAULT_INLINE = 1024 * 1024
const DEFAULT_CHUNK = 1024 * 1024
const DEFAULT_FILE_THRESHOLD = 128 * 1024

/** The default store directory: `$DDS_STORE`, else the nearest `.dds` up to the repository root, else a new one (see `findStore`). */
export function defaultLocation (): string {
  return findStore().location
}

/**
 * Open a store. The LevelDB backend (a native binding) is loaded here, on
 * first use, not when the package is imported.
 *
 * @example
 * const store = await openStore({ location: '.dds' })
 * const { cid } = await store.putArtifact('hello')
 * await store.readArtifact(cid) // 'hello'
 * await store.close()
 */
export async function openStore (options: StoreOptions = {}): Promise<Store> {
  const { backend, release, prepared: hash } = await openBackend(options, async (b) => await checkMeta(b, options.hash))
  try {
    const store = new Store(backend, release, hash, options)
    if (options.remote !== undefined) await store.attachRemote(options.remote)
    return store
  } catch (err) {
    await release()
    throw err
  }
}

async function checkMeta (backend: Backend, wanted: HashName | Hasher | undefined): Promise<number> {
  const format = await backend.get('meta', text.encode('format'))
  if (format === undefined && backend.readOnly !== undefined) {
    throw new DdsError(ErrorCodes.STORE_UNAVAILABLE, `${backend.location ?? 'the store'} is not a dds store (it records no format version)`, { data: { location: backend.location } })
  }
  if (format === undefined) {
    const code = hashCode(wanted ?? 'sha2-256')
    const hash = code === SHA256_CODE ? 'sha2-256' : 'blake3'
    await backend.batch([
      { type: 'put', space: 'meta', key: text.encode('format'), value: text.encode(String(FORMAT_VERSION)) },
      { type: 'put', space: 'meta', key: text.encode('hash'), value: text.encode(hash) },
      { type: 'put', space: 'meta', key: text.encode('created'), value: text.encode(new Date().toISOString()) }
    ], { sync: true })
    return code
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

/** The local parts of a store: what a remote tier falls back to. */
export interface LocalParts extends Parts {
  readonly blocks: LocalBlocks
  readonly memo: LocalMemo
  readonly namespace: LocalNamespace
  readonly locks: LocalLocks
}

export class Store {
  readonly backend: Backend
  /** Multihash code of new blocks. */
  readonly hash: number
  readonly inlineLimit: number
  readonly chunkSize: number
  readonly fileThreshold: number
  readonly loadLimit: number
  /** The parts over this store's own backend. */
  readonly local: LocalParts
  readonly #release: () => Promise<void>
  /** The parts every read and write goes through: the local ones, or the remote tier in front of them. */
  #front: Parts
  #nodes: Nodes
  #artifacts: Artifacts
  #closed = false
  #link: RemoteLink | undefined
  readonly #codecs: Codecs
  /** Hits not written yet ("last used", for retention). */
  readonly usage: UsageLog
  /** The retention budget applied after runs (see `StoreOptions.budget`). */
  readonly budget: Budget | undefined
  /** Work started in the background (an automatic gc) that close waits for. */
  readonly #background = new Set<Promise<void>>()

  constructor (backend: Backend, release: () => Promise<void>, hash: number, options: StoreOptions) {
    this.backend = backend
    this.#release = release
    this.hash = hash
    this.inlineLimit = positive(options.inlineLimit, DEFAULT_INLINE, 'inlineLimit')
    this.chunkSize = positive(options.chunkSize, DEFAULT_CHUNK, 'chunkSize')
    this.fileThreshold = positive(options.fileThreshold, DEFAULT_FILE_THRESHOLD, 'fileThreshold')
    this.loadLimit = positive(options.loadLimit, defaultLoadLimit(), 'loadLimit')
    this.#codecs = new Codecs(options.codecs)
    const check = (): void => { this.#check() }
    const blocks = new LocalBlocks(backend, this.fileThreshold, check)
    const nodes = new Nodes(blocks, hash)
    this.local = { blocks, memo: new LocalMemo(backend, nodes, check), namespace: new LocalNamespace(backend, check), locks: new LocalLocks(backend, check) }
    this.#front = this.local
    this.#nodes = nodes
    this.#artifacts = this.#artifactsOver(blocks)
    blocks.onDelete = (cids) => { this.#artifacts.forget(cids) }
    this.usage = new UsageLog(backend)
    this.budget = options.budget === undefined ? undefined : checkBudget(options.budget)
  }

  /** Have close wait for a background task (which must not reject). */
  track (task: Promise<void>): void {
    this.#background.add(task)
    void task.finally(() => { this.#background.delete(task) })
  }

  #artifactsOver (blocks: BlockReader & BlockWriter): Artifacts {
    return new Artifacts(blocks, this.#nodes, { inlineLimit: this.inlineLimit, chunkSize: this.chunkSize, hash: this.hash, files: this.backend.files !== undefined, loadLimit: this.loadLimit, codecs: this.#codecs })
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

  /** The remote tier in front of the local parts, if any. */
  get link (): RemoteLink | undefined {
    return this.#link
  }

  /** Put the store in front of a remote (done by `openStore` when `remote` is given). */
  async attachRemote (spec: RemoteSpec): Promise<void> {
    this.#check()
    if (this.#link !== undefined) throw new TypeError('the store already has a remote')
    // Loaded on demand: a store without a remote never loads the S3 client.
    const { linkRemote } = await import('./remote/link.js')
    const link = await linkRemote(this.local, spec)
    this.#link = link
    this.#front = { blocks: link, memo: link, namespace: link, locks: link }
    this.#nodes = new Nodes(link, this.hash)
    this.#artifacts = this.#artifactsOver(link)
  }

  #check (): void {
    if (this.#closed) throw new DdsError(ErrorCodes.STORE_CLOSED, 'the store is closed')
  }

  async close (): Promise<void> {
    if (this.#closed) return
    await Promise.allSettled([...this.#background])
    this.usage.stop()
    // Best effort: last-use times only steer retention, a failed write loses no value.
    await this.usage.flush()
    this.#closed = true
    try {
      await this.#link?.close()
    } finally {
      await this.#release()
    }
  }

  // ---------------------------------------------------------------- blocks

  /** Prepare a block for writing: large blocks are written to their file now, the index entry goes to `pending`. */
  async stageBlock (cid: CID, bytes: Uint8Array, pending: Pending): Promise<void> {
    await this.#front.blocks.stageBlock(cid, bytes, pending)
  }

  /** A sink putting the large blocks of one write into one segment file (undefined when the store keeps no files). */
  chunkSink (): ChunkSink | undefined {
    return this.local.blocks.chunkSink()
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
    await this.#front.blocks.write(pending, options)
  }

  /** True when this store holds the block (asked of the database itself: this decides what a write may skip). */
  async hasBlock (cid: CID): Promise<boolean> {
    return await this.local.blocks.hasBlock(cid)
  }

  /** A block's bytes, checked (DDS_INTEGRITY on a mismatch), or undefined when absent (locally and in the remote). */
  async getBlock (cid: CID, options: BlockReadOptions = {}): Promise<Uint8Array | undefined> {
    return await this.#front.blocks.getBlock(cid, options)
  }

  /** Read a block into `target` at `offset`; returns its size, or -1 when absent. */
  async readBlockInto (cid: CID, target: Uint8Array, offset: number, options: BlockReadOptions = {}): Promise<number> {
    return await this.#front.blocks.readBlockInto(cid, target, offset, options)
  }

  /** Every block CID in this store (streamed, in key order). */
  blockCIDs (): AsyncIterable<CID> {
    return this.local.blocks.blockCIDs()
  }

  /** Delete blocks of this store (index entries first, then their files). */
  async deleteBlocks (cids: CID[]): Promise<void> {
    await this.local.blocks.deleteBlocks(cids)
  }

  // ---------------------------------------------------------------- nodes and artifacts

  /** Encode a dag-cbor node, stage it, and return its CID. */
  async stageNode (value: unknown, pending: Pending): Promise<CID> {
    return await this.#nodes.stageNode(value, pending)
  }

  /** Decode a dag-cbor block; DDS_NOT_FOUND when absent. */
  async getNode (cid: CID, what = 'node'): Promise<unknown> {
    return await this.#nodes.getNode(cid, what)
  }

  async getEvaluation (cid: CID): Promise<EvaluationRecord> {
    return await this.#nodes.getEvaluation(cid)
  }

  async getManifest (cid: CID): Promise<CodeManifest> {
    return await this.#nodes.getManifest(cid)
  }

  async getArtifactRoot (cid: CID): Promise<ArtifactRoot> {
    return await this.#artifacts.getArtifactRoot(cid)
  }

  /** Encode a value and stage it as an artifact; DDS_UNSERIALIZABLE names the field that cannot be stored. */
  async stageArtifact (value: unknown, pending: Pending, label = 'value'): Promise<ArtifactInfo> {
    this.#check()
    return await this.#artifacts.stageArtifact(value, pending, label)
  }

  /** Stage payload bytes that are already encoded. */
  async stagePayload (enc: string, type: string | undefined, bytes: Uint8Array, pending: Pending): Promise<ArtifactInfo> {
    return await this.#artifacts.stagePayload({ enc, type }, bytes, pending)
  }

  /** Stage an artifact from a stream of payload bytes, holding at most one chunk beyond what the stream yields. */
  async stageStream (enc: string, type: string | undefined, source: AsyncIterable<Uint8Array>, pending: Pending): Promise<ArtifactInfo> {
    this.#check()
    return await this.#artifacts.stageStream({ enc, type }, source, pending)
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
    return await this.#artifacts.artifactInfo(cid)
  }

  /** Read an artifact back as the value it was. */
  async readArtifact (cid: CID): Promise<unknown> {
    return await this.#artifacts.readArtifact(cid)
  }

  /** The payload bytes of an artifact as a stream of verified chunks. */
  artifactBytes (cid: CID): AsyncIterable<Uint8Array> {
    return this.#artifacts.artifactBytes(cid)
  }

  // ---------------------------------------------------------------- evaluations and memo

  /** Stage an evaluation: its code manifest, record and memo entries under `memoKeys`. */
  async stageEvaluation (manifest: CodeManifest, record: Omit<EvaluationRecord, 'code'>, memoKeys: Uint8Array[], pending: Pending): Promise<{ evaluation: CID, code: CID }> {
    return await this.local.memo.stageEvaluation(manifest, record, memoKeys, pending)
  }

  /** The memo entry under a key, or undefined. An entry found counts as a use of its evaluation (see store/usage.ts). */
  async lookupMemo (key: Uint8Array): Promise<MemoEntry | undefined> {
    const entry = await this.peekMemo(key)
    if (entry !== undefined) this.usage.note(entry.evaluation)
    return entry
  }

  /** The memo entry under a key, for a question about it (a plan, an import): not a use, nothing is written. */
  async peekMemo (key: Uint8Array): Promise<MemoEntry | undefined> {
    return await this.#front.memo.lookupMemo(key)
  }

  /** Every memo entry of this store (streamed). */
  memoEntries (): AsyncIterable<{ key: Uint8Array, entry: MemoEntry }> {
    return this.local.memo.memoEntries()
  }

  async deleteMemo (keys: Uint8Array[]): Promise<void> {
    await this.local.memo.deleteMemo(keys)
  }

  // ---------------------------------------------------------------- paths

  /** The current entry of a path (deletions included), or undefined when it never held a value. With a remote, the remote's. */
  async headEntry (path: string): Promise<PathEntry | undefined> {
    return await this.#front.namespace.headEntry(path)
  }

  /** The current value entry of a path, or undefined when absent or deleted. */
  async head (path: string): Promise<PathEntry | undefined> {
    const e = await this.headEntry(path)
    return e === undefined || e.evaluation === null ? undefined : e
  }

  /** The history of a path in this store, newest first (a remote's own logs: `store.remote.history`). */
  history (path: string, options: { limit?: number } = {}): AsyncIterable<PathEntry> {
    return this.#front.namespace.history(path, options)
  }

  /** Every path with a value (or, with `deleted`, also deleted ones), in order, under `prefix`. */
  paths (options: PathsOptions = {}): AsyncIterable<PathEntry> {
    return this.#front.namespace.paths(options)
  }

  /**
   * Take a named lock held across every process using this store (a lease
   * in the database, released if the holding process dies). Waits for it, calling `onWait` once if it has to: with the
   * holders, or none when the holder is another call of this process.
   * With a remote, exclusive locks named `compute:…` are also leases in the
   * remote, so that an identical call on two machines runs once.
   */
  async lock (name: string, mode: LeaseMode = 'exclusive', options: LockOptions = {}): Promise<Lock> {
    return await this.#front.locks.lock(name, mode, options)
  }

  /**
   * Append history entries for several paths in one atomic batch, together
   * with `pending` (content first). A path whose head already points at the
   * same evaluation gets no new entry. Throws DDS_OVERLAPPING_PATH if a path
   * would be a directory of a live path (or the reverse).
   */
  async commit (updates: PathUpdate[], pending: Pending = new Pending(), options: CommitOptions = {}): Promise<CommitResult> {
    // gc sweeps holding this lock exclusively, after marking again what commits made reachable
    // while it marked (store/gc.ts): a commit lands either before that second mark or after the sweep.
    const sweep = await this.lock(GC_SWEEP_LOCK, 'shared')
    try {
      // The hits of the run so far ride along in the commit's batch: no write of their own.
      for (const op of this.usage.drain()) pending.add(op)
      return await this.#front.namespace.commit(updates, pending, options)
    } finally {
      await sweep.release()
    }
  }

  /** Delete a path: append a tombstone to its history. */
  async deletePath (path: string): Promise<CommitResult> {
    validatePath(path)
    if (await this.head(path) === undefined) throw pathNotFound(path)
    return await this.commit([{ path, evaluation: null, output: null }])
  }

  /** The CID hash function of new blocks, by name. */
  get hashName (): HashName {
    return this.hash === SHA256_CODE ? 'sha2-256' : 'blake3'
  }
}

function positive (v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer`)
  return v
}
