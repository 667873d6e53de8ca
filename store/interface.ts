/**
 * The shared vocabulary of the store's parts: what a backend offers (key
 * spaces, batch operations, ranges, locks, blob files), what a commit takes
 * and returns, what a lease is, and the small read and write interfaces each
 * part (blocks, memo index, namespace, leases) implements, locally and, with
 * a remote, as a tier in front of the local part, and what a codec is.
 * Types and constants only:
 * importing this file loads no implementation (no native binding).
 */
import type { CID } from 'multiformats/cid'
import type { ArtifactRoot, MemoEntry, PathEntry } from './records.js'
import type { DdsError } from './errors.js'

/** The key spaces of a store. */
export type Space = 'meta' | 'blocks' | 'memo' | 'paths' | 'history' | 'leases'
/** Every key space, in the order backends create them. */
export const SPACES: readonly Space[] = ['meta', 'blocks', 'memo', 'paths', 'history', 'leases']

/** Returned by `getSync` when the backend cannot answer synchronously right now. */
export const NOT_SYNC: unique symbol = Symbol('dds.notSync')

/** Put `value` under `key` in a key space. */
export interface PutOp { type: 'put', space: Space, key: Uint8Array, value: Uint8Array }
/** Delete `key` from a key space. */
export interface DelOp { type: 'del', space: Space, key: Uint8Array }
/** One operation of an atomic batch. */
export type BatchOp = PutOp | DelOp

/** A key range of a scan (byte order), as abstract-level takes it. */
export interface RangeOptions {
  gt?: Uint8Array
  gte?: Uint8Array
  lt?: Uint8Array
  lte?: Uint8Array
  reverse?: boolean
  limit?: number
}

/** A held lock or lease: call `release()` when done. */
export interface Lock {
  release (): Promise<void>
}

/** Large immutable blobs kept as files named by their key (a CID string). */
export interface BlobFiles {
  readonly directory: string
  /** Write the blob `name` (its content is determined by its name: rewriting writes the same bytes). */
  write (name: string, bytes: Uint8Array): Promise<void>
  /** The file's bytes, at most `maxBytes + 1` of them (a longer file shows as too long), or undefined when absent. */
  read (name: string, maxBytes: number): Promise<Uint8Array | undefined>
  /** Read the file into `target` at `offset`; returns the number of bytes read, -1 when absent, or its size (reading nothing) when it would not fit. */
  readInto (name: string, target: Uint8Array, offset: number): Promise<number>
  has (name: string): Promise<boolean>
  /** Create a new blob to be written at positions (a segment); fails when the name exists. Absent: one file per block. */
  create?: (name: string) => Promise<BlobWriteHandle>
  /** Open a blob for positioned reads, or undefined when absent (the same refusals as `read`). */
  openRead?: (name: string) => Promise<BlobReadHandle | undefined>
  remove (name: string): Promise<void>
  /** Every blob name, with its size and modification time. */
  list (): AsyncIterable<{ name: string, size: number, mtimeMs: number }>
}

/** A blob opened for positioned reads. */
export interface BlobReadHandle {
  /** The file's size when opened. */
  readonly size: number
  /** Fill `target` from `position` in the file; returns the bytes read (fewer at its end). */
  readAt (target: Uint8Array, position: number): Promise<number>
  close (): Promise<void>
}

/** A new blob being written at positions. */
export interface BlobWriteHandle {
  writeAt (bytes: Uint8Array, position: number): Promise<void>
  /** Flush (when the store syncs its files) and close. */
  close (): Promise<void>
}

/** One path update of a commit. `evaluation: null` deletes the path. */
export interface PathUpdate {
  path: string
  evaluation: CID | null
  output: CID | null
  hit?: boolean
  /** Keep this commit time instead of now (imports, and a commit written to two logs). */
  time?: number
  imported?: boolean
}

/** How a commit treats an update that would change nothing or go back in time. */
export interface CommitOptions {
  /** Append even when the head already points at the same evaluation. */
  force?: boolean
  /** Skip an update whose time is not newer than the current head (imports, pulls). */
  onlyIfNewer?: boolean
  /**
   * An id of this commit (32 hex digits), from a process committing through
   * the one that holds the database: the record of what it did is written
   * with it, so that a retry after a lost answer is told what the first
   * application did (nothing it appended goes unreported).
   */
  token?: string
  /** The ids of the same process's earlier commits, whose records can go. */
  forget?: string[]
}

/** What a commit did. */
export interface CommitResult {
  /** Updates that appended a history entry, with their sequence numbers. */
  appended: Array<{ path: string, seq: number }>
  /** Updates that changed nothing (same head, or older than the head). */
  skipped: string[]
}

/** Exclusive (one holder) or shared (any number of shared holders, no exclusive one). */
export type LeaseMode = 'exclusive' | 'shared'

/** Who holds a lease, and until when a holder on another machine counts as alive. */
export interface LeaseHolder {
  id: string
  pid: number
  /** When the process started (Linux clock ticks since boot), so that a reused pid is not taken for the holder. */
  start?: number
  host: string
  mode: LeaseMode
  /** ms since the epoch after which a holder on another machine counts as gone. */
  expires: number
}

/** A request to a backend's lease table. */
export interface LeaseRequest {
  op: 'acquire' | 'release' | 'renew'
  name: string
  holder: LeaseHolder
}

/** The answer to a lease request. */
export interface LeaseResult {
  granted: boolean
  /** The live holders that prevented the grant. */
  holders: LeaseHolder[]
}

/**
 * What a store needs from its storage. Keys and values are bytes.
 * `batch` applies all operations or none; `commit` and `lease` are atomic
 * read-modify-writes applied where the database lives.
 */
/**
 * Why a store cannot be opened or written (`data.reason` of DDS_STORE_UNAVAILABLE):
 * no permission, a file where the directory should be, held by a process
 * that cannot be reached, a full disk, a read-only filesystem.
 */
export type OpenFailure = 'permission' | 'not-a-directory' | 'locked' | 'disk-full' | 'read-only'

export interface Backend {
  readonly kind: 'classic' | 'memory' | string
  /** The store directory, or undefined for in-memory backends. */
  readonly location: string | undefined
  /** A value, or undefined. `fresh` asks for the database's own answer, never a cached copy. */
  get (space: Space, key: Uint8Array, options?: { fresh?: boolean }): Promise<Uint8Array | undefined>
  /** A synchronous get where the backend can answer now (a local database), else NOT_SYNC. */
  getSync?: (space: Space, key: Uint8Array) => Uint8Array | undefined | typeof NOT_SYNC
  getMany (space: Space, keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>>
  batch (ops: BatchOp[], options?: { sync?: boolean }): Promise<void>
  entries (space: Space, range?: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]>
  keys (space: Space, range?: RangeOptions): AsyncIterable<Uint8Array>
  /** Write `staged` and append history entries for `updates`, atomically. */
  commit (updates: PathUpdate[], staged: BatchOp[], options?: CommitOptions): Promise<CommitResult>
  /** Acquire, renew or release a lease. */
  lease (request: LeaseRequest): Promise<LeaseResult>
  /** Large blobs beside the database, when the backend has a directory. */
  readonly files: BlobFiles | undefined
  /** Why the store cannot be written (e.g. `'permission'`), or undefined when it can. */
  readonly readOnly?: string
  /** Before a long computation: let another process take over the database if one is using it. */
  yieldIfShared?: () => Promise<void>
  close (): Promise<void>
}

/** What a commit needs from the database: reads, a range scan and an atomic batch. */
export interface CommitKV {
  get: (space: 'paths' | 'blocks' | 'meta', key: Uint8Array) => Promise<Uint8Array | undefined>
  getMany: (space: 'paths', keys: Uint8Array[]) => Promise<Array<Uint8Array | undefined>>
  entries: (space: 'paths', range: { gt: Uint8Array, lt: Uint8Array }) => AsyncIterable<[Uint8Array, Uint8Array]>
  batch: (ops: BatchOp[], options: { sync: boolean }) => Promise<void>
}

/** What the lease table needs from the database. */
export interface LeaseKV {
  get: (space: 'leases', key: Uint8Array) => Promise<Uint8Array | undefined>
  batch: (ops: BatchOp[], options: { sync: boolean }) => Promise<void>
}

/** Blocks and index entries waiting to be written in one batch (see `Pending` in store/pending.ts). */
export interface Staged {
  readonly ops: BatchOp[]
  add (op: BatchOp, dedupKey?: string): void
}

/** How a block read checks what it returns. */
export interface BlockReadOptions {
  /** `'full'` re-hashes file blocks too (inline blocks are always checked against their CID). */
  verify?: 'fast' | 'full'
}

/** Reading blocks by CID: the local blocks part, or a remote tier in front of it. */
export interface BlockReader {
  /** True when the block is held (the local answer decides what a write may skip). */
  hasBlock (cid: CID): Promise<boolean>
  /** A block's bytes, checked, or undefined when absent. DDS_INTEGRITY on a mismatch. */
  getBlock (cid: CID, options?: BlockReadOptions): Promise<Uint8Array | undefined>
  /** Read a block into `target` at `offset`; returns its size, or -1 when absent. */
  readBlockInto (cid: CID, target: Uint8Array, offset: number, options?: BlockReadOptions): Promise<number>
  /**
   * Bring the chunks of an artifact in from elsewhere in one go (a remote's
   * pack), into the local blocks and, when given, into `target`. False when
   * there is nothing to bring (the chunks are local, or there is no elsewhere).
   */
  fillArtifact?: (root: CID, artifact: ArtifactRoot, target?: Uint8Array) => Promise<boolean>
  /**
   * Read the chunks of an artifact that sit together in local segments into
   * `target` (chunk `i` at `i * chunkSize`), each checked; returns the indexes
   * of the chunks it left for `readBlockInto` (inline, single files, absent).
   */
  readChunksInto?: (chunks: readonly CID[], chunkSize: number, target: Uint8Array) => Promise<number[]>
}

/**
 * Where the large blocks of one write go together (one segment file): each
 * `stage` writes a block and adds its index entry to `pending` once written;
 * `close` must be awaited before the batch holding those entries is written.
 */
export interface ChunkSink {
  stage (cid: CID, bytes: Uint8Array, pending: Staged): Promise<void>
  close (): Promise<void>
}

/** Writing blocks and index entries: stage them, then write the batch atomically. */
export interface BlockWriter {
  /** Add a block to a batch (large blocks are written to their file now). */
  stageBlock (cid: CID, bytes: Uint8Array, pending: Staged): Promise<void>
  /** A sink writing the large blocks of one artifact (or import) into one segment; absent: stageBlock per block. */
  chunkSink?: () => ChunkSink | undefined
  /** Write a staged batch atomically (a remote tier then sends its memo answers up). */
  write (pending: Staged, options?: { sync?: boolean }): Promise<void>
}

/** Reading the memo index. */
export interface MemoReader {
  /** The memo entry under a key, or undefined. */
  lookupMemo (key: Uint8Array): Promise<MemoEntry | undefined>
}

/** Reading the path namespace. */
export interface NamespaceReader {
  /** The current entry of a path (deletions included), or undefined when it never held a value. */
  headEntry (path: string): Promise<PathEntry | undefined>
  /** A path's history, newest first. */
  history (path: string, options?: { limit?: number }): AsyncIterable<PathEntry>
  /** The head of every path under `prefix` (deleted ones only with `deleted`), in key order. */
  paths (options?: PathsOptions): AsyncIterable<PathEntry>
}

/** Options of a listing of paths. */
export interface PathsOptions {
  /** Only paths equal to or under this one. */
  prefix?: string
  /** Also deleted paths. */
  deleted?: boolean
  /**
   * Told about a head that cannot be read (a garbled key or value, DDS_INTEGRITY),
   * which is then left out and the listing goes on; without it, the listing throws.
   */
  onDamaged?: (path: string, error: DdsError) => void
}

/** Writing the path namespace: one atomic commit of several paths, with the batch staged before it. */
export interface NamespaceWriter {
  commit (updates: PathUpdate[], pending: Staged, options?: CommitOptions): Promise<CommitResult>
}

/** Named locks held across every process (and, with a remote, every machine) using a store. */
/** How a lock is waited for: `onWait` is called once if the lock is taken, with its holders (none: another call of this process). */
export interface LockOptions {
  onWait?: (holders: LeaseHolder[]) => void
}

export interface LeaseProvider {
  lock (name: string, mode?: LeaseMode, options?: LockOptions): Promise<Lock>
}

/** The parts of a store every read and write goes through; a remote tier is one of these in front of another. */
export interface Parts {
  readonly blocks: BlockReader & BlockWriter
  readonly memo: MemoReader
  readonly namespace: NamespaceReader & NamespaceWriter
  readonly locks: LeaseProvider
}

/**
 * The payload a codec makes of a value: its bytes at once, or its pieces in
 * order (streamed into chunks, never joined), and an optional subtype kept in
 * the artifact root (the typed array type, `RecordBatch` for Arrow).
 */
export type Encoded =
  | { bytes: Uint8Array, type?: string }
  | { pieces: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, type?: string }

/** How a stored payload is described to its codec's `decode`. */
export interface EncodedForm {
  type?: string
  version?: number | string
}

/**
 * A codec, in the multiformats manner: how one kind of value becomes artifact
 * payload bytes and back. `name` (and `version`, when given) are stored in the
 * artifact root and so are part of the artifact's identity; a store reads an
 * artifact only with the codec of that name and version.
 *
 * @example
 * const point: Codec<Point> = {
 *   name: 'app/point', version: 1,
 *   accepts: (v) => v instanceof Point,
 *   encode: (p) => ({ bytes: Buffer.from(JSON.stringify([p.x, p.y])) }),
 *   decode: (b) => new Point(...JSON.parse(Buffer.from(b).toString()))
 * }
 * await open({ codecs: [point] })
 */
export interface Codec<T = any> {
  readonly name: string
  readonly version?: number | string
  /** True when this codec stores `value` (checked before the built-in CBOR codec). */
  accepts (value: unknown): boolean
  /** The payload of an accepted value; `label` names it in errors (`value.model`). */
  encode (value: T, label: string): Encoded | Promise<Encoded>
  /** The value back from its payload; `bytes` may be kept by the result. */
  decode (bytes: Uint8Array, form: EncodedForm): T | Promise<T>
}
