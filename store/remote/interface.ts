/**
 * Public types of the remote store: a team's shared store on S3-compatible
 * object storage, with the local store as a cache in front of it.
 */
import type { CID } from 'multiformats/cid'
import type { S3Client } from '@aws-sdk/client-s3'
import type { CommitOptions, CommitResult, Lock, PathUpdate } from '../interface.js'
import type { ArtifactRoot, PathEntry } from '../records.js'

/** Where the remote is and how to reach it. Unset fields come from the usual AWS variables. */
export interface RemoteOptions {
  /** `s3://bucket/prefix` (the prefix is optional). */
  url: string
  /** Endpoint of an S3-compatible service. Default: `$AWS_ENDPOINT_URL_S3`, else `$AWS_ENDPOINT_URL`, else AWS. */
  endpoint?: string
  /** Default: `$AWS_REGION`, else `$AWS_DEFAULT_REGION`, else `us-east-1`. */
  region?: string
  /** Default: the SDK's provider chain (`$AWS_ACCESS_KEY_ID`, `$AWS_SECRET_ACCESS_KEY`, profiles, roles). */
  credentials?: { accessKeyId: string, secretAccessKey: string, sessionToken?: string }
  /** Address buckets as `endpoint/bucket` (default true when an endpoint is given). */
  forcePathStyle?: boolean
  /** How long a lease outlives its holder's last heartbeat, in ms (default 30 s). */
  leaseTtl?: number
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
  /** `s3://bucket/prefix` */
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
  paths (options?: { prefix?: string, deleted?: boolean }): AsyncIterable<PathEntry>
  /** Append entries to path logs (same rules as a local commit: same-evaluation skip, `force`, `onlyIfNewer`). */
  append (updates: RemoteUpdate[], options?: CommitOptions): Promise<CommitResult>
  /** Take a lease shared by every machine using the remote; waits for it. */
  lease (name: string): Promise<Lock>
  close (): Promise<void>
}
