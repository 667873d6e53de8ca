/**
 * The vocabulary of the remote store (a team's shared store, with the local
 * store as a cache in front of it): what the store needs from a remote
 * (`Remote`), how one is named and reached (`RemoteOptions`), and the few
 * object operations every remote is built on (`ObjectStore`), which S3 and a
 * shared directory implement.
 */
import type { CID } from 'multiformats/cid'
import type { S3Client } from '@aws-sdk/client-s3'
import type { CommitOptions, CommitResult, Lock, PathsOptions, PathUpdate } from '../interface.js'
import type { ArtifactRoot, BundleTag, PathEntry } from '../records.js'
import type { Layout } from './layout.js'

/** How to reach an `s3://` remote. Unset fields come from the usual AWS variables. */
export interface S3Options {
  /** Endpoint of an S3-compatible service. Default: `$AWS_ENDPOINT_URL_S3`, else `$AWS_ENDPOINT_URL`, else AWS. */
  endpoint?: string
  /** Default: `$AWS_REGION`, else `$AWS_DEFAULT_REGION`, else `us-east-1`. */
  region?: string
  /** Default: the SDK's provider chain (`$AWS_ACCESS_KEY_ID`, `$AWS_SECRET_ACCESS_KEY`, profiles, roles). */
  credentials?: { accessKeyId: string, secretAccessKey: string, sessionToken?: string }
  /** Address buckets as `endpoint/bucket` (default true when an endpoint is given). */
  forcePathStyle?: boolean
  /** Give up on one request after this many ms without progress (default 30 s). */
  timeout?: number
  /** Attempts after the first for a request that failed on the network or with a 5xx (default 4). */
  retries?: number
  /** Requests in flight at once (default 16). */
  concurrency?: number
  /** Artifacts larger than this many bytes go up in parts (default 4 GiB); smaller ones in one streamed request. */
  multipartAbove?: number
  /** Create the bucket when it does not exist (default true). */
  createBucket?: boolean
  /** Use this client instead of building one (its own settings then apply). */
  client?: S3Client
}

/** How to use a `file://` remote (a shared directory). */
export interface FileOptions {
  /** Create the directory when it does not exist (default true). */
  createDirectory?: boolean
  /**
   * A lock on one object older than this (ms, by the file server's clock) is
   * taken to be left by a writer that died inside its few-millisecond
   * critical section, and is broken (default 10 s).
   */
  staleLock?: number
}

/**
 * Where the remote is and how to reach it: the URL picks the kind
 * (`s3://bucket/prefix` or `file:///mnt/team/dds`), the nested options of
 * that kind apply.
 */
export interface RemoteOptions {
  /** `s3://bucket/prefix` (the prefix is optional) or `file:///absolute/directory`. */
  url: string
  /** How long a lease outlives its holder's last heartbeat, in ms (default 30 s). */
  leaseTtl?: number
  /** For `s3://` remotes. */
  s3?: S3Options
  /** For `file://` remotes. */
  file?: FileOptions
}

/**
 * A memo answer as the remote keeps it: the memo key, the evaluation record
 * and, when small, the output's artifact root, so that a remote cache hit of
 * a small value costs one request. Every block is checked against its CID
 * when it comes down; the memo entry is derived from the record.
 */
export interface MemoPack {
  key: Uint8Array
  evaluation: CID
  /** The evaluation record's bytes. */
  record: Uint8Array
  /** The artifact root's bytes, when it is small. */
  root?: Uint8Array
}

/** A path's head as the remote keeps it: the newest entry, with its evaluation's memo answer when the writer had it. */
export interface RemoteHead extends PathEntry {
  memo?: MemoPack
}

/** A path update for the remote, with the memo answer of its evaluation to publish with the head. */
export interface RemoteUpdate extends PathUpdate {
  memo?: MemoPack
}

/** One verified chunk of a large artifact. */
export interface PackChunk {
  index: number
  bytes: Uint8Array
}

/**
 * What the store needs from a remote. Blocks and memo answers are immutable
 * and written once; path histories are append-only logs; leases are claimed
 * conditionally and expire.
 */
export interface Remote {
  /** The URL it was opened with (`s3://bucket/prefix`, `file:///dir`). */
  readonly url: string
  /** True when the block (and, by the write order, everything it links to) is stored. */
  hasBlock (cid: CID): Promise<boolean>
  /** A block's bytes, checked against its CID (DDS_INTEGRITY on mismatch), or undefined. */
  getBlock (cid: CID): Promise<Uint8Array | undefined>
  /** Store a block once; a block already there is success. */
  putBlock (cid: CID, bytes: Uint8Array): Promise<void>
  /**
   * Upload the payload of a chunked artifact (all its chunks, in order, `size`
   * bytes) as one object; `payload` may be called again to send it again.
   */
  putPack (root: CID, payload: () => AsyncIterable<Uint8Array>, size: number): Promise<void>
  /**
   * Download the chunks of an artifact (a few ranges at once), each checked
   * against its CID before it is handed to `onChunk`; with `into`, chunks are
   * read straight into it at their offsets. DDS_NOT_FOUND when absent.
   */
  readPack (root: CID, artifact: ArtifactRoot, onChunk: (chunk: PackChunk) => Promise<void>, options?: { into?: Uint8Array }): Promise<void>
  /** The memo answer under a key, verified, or undefined. */
  getMemo (key: Uint8Array): Promise<MemoPack | undefined>
  /** Store a memo answer unless the key already has one. */
  putMemo (pack: MemoPack): Promise<void>
  /** The newest entry of a path's log (deletions included), or undefined. */
  head (path: string): Promise<RemoteHead | undefined>
  /** A path's log, newest first. */
  history (path: string, options?: { limit?: number }): AsyncIterable<PathEntry>
  /** The head of every path under `prefix` (deleted ones only with `deleted`), in key order. */
  paths (options?: PathsOptions): AsyncIterable<PathEntry>
  /** Append entries to path logs (same rules as a local commit: same-evaluation skip, `force`, `onlyIfNewer`). */
  append (updates: RemoteUpdate[], options?: CommitOptions): Promise<CommitResult>
  /** Take a lease shared by every machine using the remote; waits for it. */
  lease (name: string): Promise<Lock>
  /** Every well-formed tag of the remote (a remote without tags may leave this out). */
  tags? (): Promise<BundleTag[]>
  /** Store a tag unless the remote has one of that name. */
  putTag? (tag: BundleTag): Promise<void>
  close (): Promise<void>
}

// ------------------------------------------------------------------ object stores

/** A stored object's size and modification time. */
export interface ObjectInfo {
  /** ms since the epoch, by the storage server's clock. */
  lastModified: number
  size: number
}

/** A stored object's bytes, with the version tag a compare-and-swap names. */
export interface ObjectBytes extends ObjectInfo {
  bytes: Uint8Array
  etag: string
}

/** A condition on a write: create only, or replace only the version with this tag. */
export type Condition = { ifNoneMatch: true } | { ifMatch: string }

/**
 * The answer to a conditional write: written (with the new version tag), or
 * the condition did not hold. `conflict` means another write of the key was
 * in progress (try again shortly), not that the condition was false.
 */
export type PutResult = { ok: true, etag: string } | { ok: false, conflict: boolean }

/**
 * The object operations the remote's algorithms are written over. Keys are
 * `/`-separated names; a missing object is `undefined`, a failed condition
 * an answer, and what still fails after bounded retries DDS_REMOTE_UNAVAILABLE.
 * An implementation must make conditional writes atomic among all its users
 * (the probe checks that they are enforced at all).
 */
export interface ObjectStore {
  /** What the remote is called in errors. */
  readonly label: string
  /** An object's bytes and version, or undefined. */
  get (key: string): Promise<ObjectBytes | undefined>
  /** An object's bytes from `start` up to `end` (or all of it) as a stream, or undefined. */
  stream (key: string, range?: { start: number, end: number }): Promise<{ info: ObjectInfo, body: AsyncIterable<Uint8Array> } | undefined>
  /** An object's size and modification time, or undefined. */
  head (key: string): Promise<ObjectInfo | undefined>
  /** Write an object, optionally under a condition. */
  put (key: string, body: Uint8Array, condition?: Condition): Promise<PutResult>
  /** Write `size` bytes from a stream as one object that appears only when complete; `source` may be called again. */
  upload (key: string, source: () => AsyncIterable<Uint8Array>, size: number): Promise<void>
  /** Remove an object; a missing one is success. */
  delete (key: string): Promise<void>
  /** Every key under `prefix` (a plain string prefix), in byte order. */
  list (prefix: string): AsyncIterable<string>
  /** The storage server's clock now (ms), as well as it can be told. */
  serverNow (): Promise<number>
  /** Learn the server's dialect of conditional writes with a scratch object, before the probe checks them. */
  calibrate? (scratch: string): Promise<void>
  close (): Promise<void>
}

/** Where a remote's parts work: its object store, the key layout under its prefix, and its URL (for errors). */
export interface RemotePlace {
  readonly objects: ObjectStore
  readonly layout: Layout
  readonly url: string
}
