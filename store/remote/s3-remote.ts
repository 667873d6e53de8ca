/**
 * The remote store on S3-compatible object storage.
 *
 * Layout under `s3://bucket/prefix/`:
 *
 * - `dds-remote`: the format marker (`{"format":"dds-remote/1"}`).
 * - `blocks/<cid>`: one block, written once (`If-None-Match: *`). A block is
 *   written only after every block it links to, so a block that is there
 *   brings its whole graph with it.
 * - `packs/<root cid>`: the payload of a chunked artifact, its chunks in
 *   order, uploaded as one object (multipart) before `blocks/<root cid>`.
 * - `memo/<key hex>`: a memo answer (key, evaluation record, small artifact
 *   root), written once; the first answer for a key stays.
 * - `log/<path>/<seq, 12 digits>`: the entries of a path's history. An
 *   appender claims the next sequence number by creating its entry
 *   (`If-None-Match: *`); a writer that loses the race reads again and takes
 *   the next one, so no entry is ever lost or overwritten.
 * - `head/<path>`: the newest published entry of the log, moved forward one
 *   sequence number at a time by compare-and-swap (`If-Match`). An entry is
 *   visible once the head reaches it; a writer whose claim finds an entry the
 *   head has not reached (its writer died before publishing it) publishes it
 *   first, so the log stays dense and every claimed entry becomes visible.
 *   The head also carries the memo answer of its evaluation when its writer
 *   had it, so that the usual remote hit (a teammate's value at the same
 *   path) costs the one request that reads the head.
 * - `lease/<name>`: a lease, created conditionally, renewed by its holder
 *   (compare-and-swap) and free for the taking once the server's clock is
 *   past its last renewal plus its time to live.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from '../errors.js'
import { matches, verifyBlock } from '../hash.js'
import { decodeNode, encodeNode, toEvaluationRecord, toHistoryEntry, type ArtifactRoot, type HistoryEntry, type PathEntry } from '../records.js'
import { ancestors, checkNoOverlap, validatePath } from '../paths.js'
import type { CommitOptions, CommitResult, Lock, PathUpdate } from '../interface.js'
import { buildClient, ObjectStore, type Condition, type PutResult } from './s3.js'
import type { MemoPack, PackChunk, Remote, RemoteHead, RemoteOptions, RemoteUpdate } from './interface.js'

/** The layout version this code reads and writes. */
export const REMOTE_FORMAT = 'dds-remote/1'

const DEFAULT_LEASE_TTL = 30_000
const MIN_LEASE_TTL = 2_000
const SEQ_DIGITS = 12
/** Ranges of a pack read at once. */
const PACK_STREAMS = 4
const utf8 = new TextEncoder()
const utf8d = new TextDecoder()

/**
 * Split `s3://bucket/prefix` into the bucket and the key prefix (`''` or ending in `/`).
 *
 * @example
 * parseRemoteUrl('s3://team/dds') // { bucket: 'team', prefix: 'dds/' }
 */
export function parseRemoteUrl (url: string): { bucket: string, prefix: string } {
  if (typeof url !== 'string') throw new TypeError(`remote must be an s3:// URL, got ${typeof url}`)
  const m = /^s3:\/\/([^/]+)(\/.*)?$/.exec(url)
  if (m === null) throw new TypeError(`remote must look like s3://bucket/prefix, got ${JSON.stringify(url)}`)
  const bucket = m[1] as string
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new TypeError(`invalid bucket name ${JSON.stringify(bucket)} in ${url}`)
  const segments = (m[2] ?? '').split('/').filter((s) => s !== '')
  for (const s of segments) {
    if (s === '.' || s === '..' || !/^[A-Za-z0-9._-]+$/.test(s)) throw new TypeError(`invalid prefix segment ${JSON.stringify(s)} in ${url}`)
  }
  return { bucket, prefix: segments.length === 0 ? '' : segments.join('/') + '/' }
}

/**
 * Open the remote at `options.url`: make sure the bucket exists, check the
 * format marker, and probe that the service enforces conditional writes
 * (DDS_REMOTE_UNSAFE when it does not).
 *
 * @example
 * const remote = await openS3Remote({ url: 's3://team/dds', endpoint: 'http://127.0.0.1:7480' })
 */
export async function openS3Remote (options: RemoteOptions): Promise<S3Remote> {
  if (options === null || typeof options !== 'object') throw new TypeError('remote options must be an object')
  const { bucket, prefix } = parseRemoteUrl(options.url)
  const leaseTtl = options.leaseTtl ?? DEFAULT_LEASE_TTL
  if (!Number.isSafeInteger(leaseTtl) || leaseTtl < MIN_LEASE_TTL) throw new RangeError(`leaseTtl must be an integer of at least ${MIN_LEASE_TTL} ms`)
  const client = options.client ?? buildClient(options)
  const objects = new ObjectStore(client, bucket, options.url, {
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.multipartAbove === undefined ? {} : { multipartAbove: options.multipartAbove }),
    owned: options.client === undefined
  })
  try {
    await objects.ensureBucket(options.createBucket !== false)
    const remote = new S3Remote(objects, prefix, options.url, leaseTtl)
    await remote.probe()
    await remote.checkFormat()
    return remote
  } catch (err) {
    objects.close()
    throw err
  }
}

interface Head {
  seq: number
  entry: HistoryEntry
  /** The entry's bytes as in the log. */
  bytes: Uint8Array
  etag: string
  memo?: MemoPack
}

interface LeaseBody {
  holder: string
  host: string
  pid: number
  ttl: number
}

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => { setTimeout(resolve, ms) })
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

function sameCid (a: CID | null, b: CID | null): boolean {
  return a === null || b === null ? a === b : a.equals(b)
}

function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

function overlapError (dir: string, path: string): DdsError {
  return new DdsError(ErrorCodes.OVERLAPPING_PATH,
    `paths ${dir} and ${path} overlap in the remote: ${dir} would be a directory of ${path} (delete one of them first)`,
    { data: { path, other: dir } })
}

/** A remote store in one bucket, under one prefix. Open it with `openS3Remote`. */
export class S3Remote implements Remote {
  readonly url: string
  readonly objects: ObjectStore
  readonly leaseTtl: number
  readonly #prefix: string

  constructor (objects: ObjectStore, prefix: string, url: string, leaseTtl: number) {
    this.objects = objects
    this.#prefix = prefix
    this.url = url
    this.leaseTtl = leaseTtl
  }

  // ---------------------------------------------------------------- keys

  /** The object key of a name relative to the prefix. */
  key (rel: string): string {
    return this.#prefix + rel
  }

  #block (cid: CID): string { return this.key(`blocks/${cid.toString()}`) }
  #pack (cid: CID): string { return this.key(`packs/${cid.toString()}`) }
  #memo (key: Uint8Array): string { return this.key(`memo/${hex(key)}`) }
  #head (path: string): string { return this.key(`head${path}`) }
  #log (path: string, seq: number): string { return this.key(`log${path}/${String(seq).padStart(SEQ_DIGITS, '0')}`) }
  #lease (name: string): string { return this.key(`lease/${name.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`) }

  /** The object key of a block (for tools and tests). */
  blockKey (cid: CID): string { return this.#block(cid) }
  /** The object key of an artifact's pack (for tools and tests). */
  packKey (cid: CID): string { return this.#pack(cid) }
  /** The object key of a memo answer (for tools and tests). */
  memoKey (key: Uint8Array): string { return this.#memo(key) }

  #unsafe (detail: string): DdsError {
    return new DdsError(ErrorCodes.REMOTE_UNSAFE,
      `remote ${this.url} does not enforce conditional writes (${detail}); concurrent writers would lose data, so it is refused`,
      { data: { remote: this.url, detail } })
  }

  /**
   * Check that create-only and compare-and-swap writes are enforced, and
   * learn whether If-Match wants the ETag quoted. Uses one scratch object.
   */
  async probe (): Promise<void> {
    const key = this.key(`probe/${randomBytes(12).toString('hex')}`)
    const o = this.objects
    const first = await o.put(key, utf8.encode('a'), { ifNoneMatch: true })
    if (!first.ok) throw this.#unsafe('a create-only write of a new object was refused')
    try {
      const again = await o.put(key, utf8.encode('b'), { ifNoneMatch: true })
      if (again.ok) throw this.#unsafe('If-None-Match: * is ignored: an existing object was replaced')
      const wrong = await o.put(key, utf8.encode('c'), { ifMatch: '"0123456789abcdef0123456789abcdef"' })
      if (wrong.ok) throw this.#unsafe('If-Match is ignored: a write naming another version succeeded')
      o.quoteIfMatch = true
      let swap = await o.put(key, utf8.encode('d'), { ifMatch: first.etag })
      if (!swap.ok && !swap.conflict) {
        o.quoteIfMatch = false
        swap = await o.put(key, utf8.encode('d'), { ifMatch: first.etag })
      }
      if (!swap.ok) throw this.#unsafe('If-Match never matches the current version')
      const stale = await o.put(key, utf8.encode('e'), { ifMatch: first.etag })
      if (stale.ok) throw this.#unsafe('If-Match matches a replaced version')
    } finally {
      await o.delete(key).catch(() => {})
    }
  }

  /** Create the format marker, or check the one there. */
  async checkFormat (): Promise<void> {
    const key = this.key('dds-remote')
    const marker = utf8.encode(JSON.stringify({ format: REMOTE_FORMAT }))
    let found = await this.objects.get(key)
    if (found === undefined) {
      await this.objects.put(key, marker, { ifNoneMatch: true })
      found = await this.objects.get(key)
    }
    let format: unknown
    try {
      format = (JSON.parse(utf8d.decode(found?.bytes ?? new Uint8Array())) as { format?: unknown }).format
    } catch {
      format = undefined
    }
    if (format !== REMOTE_FORMAT) {
      throw new DdsError(ErrorCodes.FORMAT_VERSION, `remote ${this.url} holds format ${JSON.stringify(format)}; this version of dds-ts reads ${REMOTE_FORMAT}`,
        { data: { remote: this.url, found: format ?? null, expected: REMOTE_FORMAT } })
    }
  }

  // ---------------------------------------------------------------- immutable objects

  /** Create an object once; an object already there (the same content, by its name) is success. */
  async #create (key: string, bytes: Uint8Array): Promise<void> {
    let delay = 20
    for (let i = 0; ; i++) {
      const r: PutResult = await this.objects.put(key, bytes, { ifNoneMatch: true })
      if (r.ok || !r.conflict) return
      // Another create of the same key is in progress: look again shortly.
      if (i >= 8 && await this.objects.head(key) !== undefined) return
      await sleep(delay + Math.random() * delay)
      delay = Math.min(1000, delay * 2)
    }
  }

  async hasBlock (cid: CID): Promise<boolean> {
    return (await this.objects.head(this.#block(cid))) !== undefined
  }

  async getBlock (cid: CID): Promise<Uint8Array | undefined> {
    const found = await this.objects.get(this.#block(cid))
    if (found === undefined) return undefined
    verifyBlock(cid, found.bytes, 'remote block')
    return found.bytes
  }

  async putBlock (cid: CID, bytes: Uint8Array): Promise<void> {
    await this.#create(this.#block(cid), bytes)
  }

  async putPack (root: CID, payload: () => AsyncIterable<Uint8Array>, size: number): Promise<void> {
    // Content-addressed by the root: a concurrent upload of the same pack writes the same bytes.
    await this.objects.upload(this.#pack(root), payload, size)
  }

  async readPack (root: CID, artifact: ArtifactRoot, onChunk: (chunk: PackChunk) => Promise<void>, options: { into?: Uint8Array } = {}): Promise<void> {
    const chunks = artifact.chunks ?? []
    const chunkSize = artifact.chunkSize ?? 0
    const into = options.into
    if (into !== undefined && into.byteLength < artifact.size) throw new RangeError(`readPack: the target holds ${into.byteLength} bytes, the artifact ${artifact.size}`)
    const key = this.#pack(root)
    const info = await this.objects.head(key)
    if (info === undefined) {
      throw new DdsError(ErrorCodes.NOT_FOUND, `the chunks of artifact ${root} are not in remote ${this.url}`, { data: { cid: root.toString(), remote: this.url } })
    }
    const corrupt = (detail: string, cid?: CID): DdsError => new DdsError(ErrorCodes.INTEGRITY,
      `the chunks of artifact ${root} in remote ${this.url} are corrupt: ${detail}`,
      { data: { cid: (cid ?? root).toString(), artifact: root.toString(), remote: this.url } })
    if (info.size !== artifact.size) throw corrupt(`${info.size} bytes, ${artifact.size} expected`)
    const sizeOf = (i: number): number => Math.min(chunkSize, artifact.size - i * chunkSize)
    // A few ranges at once: one stream alone does not keep a gateway busy. Ranges start at chunk boundaries.
    const streams = Math.max(1, Math.min(PACK_STREAMS, Math.floor(chunks.length / 8)))
    const per = Math.ceil(chunks.length / streams)
    const range = async (first: number, end: number): Promise<void> => {
      const start = first * chunkSize
      const stop = Math.min(artifact.size, end * chunkSize)
      const found = await this.objects.stream(key, { start, end: stop })
      if (found === undefined) throw new DdsError(ErrorCodes.NOT_FOUND, `the chunks of artifact ${root} are not in remote ${this.url}`, { data: { cid: root.toString(), remote: this.url } })
      let index = first
      let fill = 0
      const fresh = (i: number): Uint8Array => into !== undefined ? into.subarray(i * chunkSize, i * chunkSize + sizeOf(i)) : new Uint8Array(sizeOf(i))
      let buf = fresh(index)
      try {
        for await (const piece of found.body) {
          let off = 0
          while (off < piece.byteLength) {
            if (index >= end) throw corrupt('longer than the artifact')
            const n = Math.min(piece.byteLength - off, buf.byteLength - fill)
            buf.set(piece.subarray(off, off + n), fill)
            fill += n
            off += n
            if (fill === buf.byteLength) {
              const cid = chunks[index] as CID
              if (!matches(cid, buf)) throw corrupt(`chunk ${index} does not match its CID`, cid)
              await onChunk({ index, bytes: buf })
              index++
              fill = 0
              if (index < end) buf = fresh(index)
            }
          }
        }
      } catch (err) {
        if (err instanceof DdsError) throw err
        throw new DdsError(ErrorCodes.REMOTE_UNAVAILABLE, `remote ${this.url}: reading the chunks of ${root} failed: ${(err as Error).message}`,
          { cause: err, data: { remote: this.url, cid: root.toString() } })
      }
      if (index !== end) throw corrupt('shorter than the artifact')
    }
    const ranges: Array<Promise<void>> = []
    for (let first = 0; first < chunks.length; first += per) ranges.push(range(first, Math.min(chunks.length, first + per)))
    const settled = await Promise.allSettled(ranges)
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  async getMemo (key: Uint8Array): Promise<MemoPack | undefined> {
    const found = await this.objects.get(this.#memo(key))
    if (found === undefined) return undefined
    let node: unknown
    try {
      node = dagCbor.decode(found.bytes)
    } catch {
      throw this.#corruptMemo(hex(key), 'not dag-cbor')
    }
    const pack = this.#toMemoPack(node, hex(key))
    if (!sameBytes(pack.key, key)) throw this.#corruptMemo(hex(key), 'it answers another key')
    return pack
  }

  #corruptMemo (where: string, detail: string): DdsError {
    return new DdsError(ErrorCodes.INTEGRITY, `memo answer ${where} in remote ${this.url} is corrupt: ${detail}`, { data: { memo: where, remote: this.url } })
  }

  /** Check a memo answer as it came down: its blocks against their CIDs, its record against its key. */
  #toMemoPack (value: unknown, where: string): MemoPack {
    const node = (value ?? {}) as { key?: unknown, evaluation?: unknown, record?: unknown, root?: unknown }
    const evaluation = CID.asCID(node.evaluation)
    if (!(node.key instanceof Uint8Array)) throw this.#corruptMemo(where, 'no key')
    if (evaluation === null || !(node.record instanceof Uint8Array)) throw this.#corruptMemo(where, 'no evaluation record')
    verifyBlock(evaluation, node.record, 'remote evaluation record')
    const record = toEvaluationRecord(decodeNode(node.record, 'evaluation record'))
    // The primary key is the record's signature; the other key of an evaluation that loaded paths covers their values.
    if (!sameBytes(record.signature, node.key) && record.loads.length === 0) throw this.#corruptMemo(where, 'the evaluation answers another key')
    const pack: MemoPack = { key: node.key, evaluation, record: node.record }
    if (node.root !== undefined) {
      if (!(node.root instanceof Uint8Array)) throw this.#corruptMemo(where, 'malformed artifact root')
      verifyBlock(record.output, node.root, 'remote artifact root')
      pack.root = node.root
    }
    return pack
  }

  #encodePack (pack: MemoPack): Record<string, unknown> {
    return { key: pack.key, evaluation: pack.evaluation, record: pack.record, ...(pack.root === undefined ? {} : { root: pack.root }) }
  }

  async putMemo (pack: MemoPack): Promise<void> {
    const bytes = dagCbor.encode(this.#encodePack(pack))
    await this.#create(this.#memo(pack.key), bytes)
  }

  // ---------------------------------------------------------------- path logs

  async #readHead (path: string): Promise<Head | undefined> {
    const found = await this.objects.get(this.#head(path))
    if (found === undefined) return undefined
    let node: { seq?: unknown, entry?: unknown, memo?: unknown }
    try {
      node = dagCbor.decode(found.bytes)
    } catch {
      node = {}
    }
    if (typeof node.seq !== 'number' || !Number.isSafeInteger(node.seq) || node.seq < 1 || !(node.entry instanceof Uint8Array)) {
      throw new DdsError(ErrorCodes.INTEGRITY, `the head of ${path} in remote ${this.url} is malformed`, { data: { path, remote: this.url } })
    }
    const head: Head = { seq: node.seq, bytes: node.entry, entry: toHistoryEntry(decodeNode(node.entry, 'history entry')), etag: found.etag }
    if (node.memo !== undefined) {
      const memo = this.#toMemoPack(node.memo, `in the head of ${path}`)
      if (head.entry.evaluation === null || !memo.evaluation.equals(head.entry.evaluation)) throw this.#corruptMemo(`in the head of ${path}`, 'it is not the head\'s evaluation')
      head.memo = memo
    }
    return head
  }

  async head (path: string): Promise<RemoteHead | undefined> {
    validatePath(path)
    const h = await this.#readHead(path)
    return h === undefined ? undefined : { path, seq: h.seq, ...h.entry, ...(h.memo === undefined ? {} : { memo: h.memo }) }
  }

  async * history (path: string, options: { limit?: number } = {}): AsyncIterable<PathEntry> {
    validatePath(path)
    if (options.limit !== undefined && options.limit <= 0) return
    const h = await this.#readHead(path)
    if (h === undefined) return
    const last = Math.max(1, h.seq - (options.limit ?? h.seq) + 1)
    yield { path, seq: h.seq, ...h.entry }
    // Entries are immutable and numbered densely: read a few ahead, newest first.
    const ahead: Array<Promise<Uint8Array | undefined>> = []
    let next = h.seq - 1
    const fill = (): void => {
      while (ahead.length < 8 && next >= last) {
        const p = this.objects.get(this.#log(path, next--)).then((o) => o?.bytes)
        p.catch(() => {})
        ahead.push(p)
      }
    }
    for (let seq = h.seq - 1; seq >= last; seq--) {
      fill()
      const bytes = await ahead.shift()
      if (bytes === undefined) {
        throw new DdsError(ErrorCodes.INTEGRITY, `entry ${seq} of the log of ${path} is missing from remote ${this.url}`, { data: { path, seq, remote: this.url } })
      }
      yield { path, seq, ...toHistoryEntry(decodeNode(bytes, 'history entry')) }
    }
  }

  async * paths (options: { prefix?: string, deleted?: boolean } = {}): AsyncIterable<PathEntry> {
    const prefix = options.prefix
    if (prefix !== undefined && prefix !== '/') validatePath(prefix, 'prefix')
    const base = this.key('head')
    const under = prefix === undefined || prefix === '/' ? base + '/' : base + prefix
    const wanted = (e: PathEntry | undefined): e is PathEntry => e !== undefined && (e.evaluation !== null || options.deleted === true)
    // Heads are read a few ahead of the listing, and yielded in its order.
    const ahead: Array<Promise<PathEntry | undefined>> = []
    for await (const key of this.objects.list(under)) {
      const path = key.slice(base.length)
      if (prefix !== undefined && prefix !== '/' && path !== prefix && !path.startsWith(prefix + '/')) continue
      const p = this.head(path).then((h) => {
        if (h === undefined) return undefined
        const { memo: _memo, ...entry } = h
        return entry
      })
      p.catch(() => {})
      ahead.push(p)
      while (ahead.length > 16) {
        const e = await ahead.shift()
        if (wanted(e)) yield e
      }
    }
    while (ahead.length > 0) {
      const e = await ahead.shift()
      if (wanted(e)) yield e
    }
  }

  /** Ancestors and descendants of `path` that hold a value in the remote. */
  async #checkOverlap (path: string): Promise<void> {
    const heads = await Promise.all(ancestors(path).map(async (a) => [a, await this.#readHead(a)] as const))
    for (const [a, h] of heads) if (h !== undefined && h.entry.evaluation !== null) throw overlapError(a, path)
    const base = this.key('head')
    for await (const key of this.objects.list(this.#head(path) + '/')) {
      const other = key.slice(base.length)
      const h = await this.#readHead(other)
      if (h !== undefined && h.entry.evaluation !== null) throw overlapError(path, other)
    }
  }

  /** Move the head of `path` forward to `seq` (holding `bytes`), from the head last read. */
  async #publish (path: string, from: Head | undefined, seq: number, bytes: Uint8Array, memo?: MemoPack): Promise<void> {
    let current = from
    let delay = 10
    const body = dagCbor.encode({ seq, entry: bytes, ...(memo === undefined ? {} : { memo: this.#encodePack(memo) }) })
    while (current === undefined || current.seq < seq) {
      const condition: Condition = current === undefined ? { ifNoneMatch: true } : { ifMatch: current.etag }
      const r = await this.objects.put(this.#head(path), body, condition)
      if (r.ok) return
      if (r.conflict) {
        await sleep(delay + Math.random() * delay)
        delay = Math.min(500, delay * 2)
      }
      current = await this.#readHead(path)
    }
  }

  async #appendOne (u: RemoteUpdate, time: number, options: CommitOptions): Promise<number | undefined> {
    const path = u.path
    const entry: HistoryEntry = { time, evaluation: u.evaluation, output: u.evaluation === null ? null : u.output }
    if (u.hit === true) entry.hit = true
    if (u.imported === true) entry.imported = true
    const bytes = encodeNode(entry)
    const overlap = u.evaluation === null ? undefined : this.#checkOverlap(path)
    overlap?.catch(() => {})
    let h = await this.#readHead(path)
    let delay = 10
    for (let attempt = 0; ; attempt++) {
      if (attempt > 10_000) throw new DdsError(ErrorCodes.REMOTE_UNAVAILABLE, `remote ${this.url}: could not append to the log of ${path}`, { data: { path, remote: this.url } })
      if (h !== undefined && options.force !== true && sameCid(h.entry.evaluation, u.evaluation)) return undefined
      if (h !== undefined && options.onlyIfNewer === true && h.entry.time >= time) return undefined
      await overlap
      const seq = (h?.seq ?? 0) + 1
      const claim = await this.objects.put(this.#log(path, seq), bytes, { ifNoneMatch: true })
      if (claim.ok) {
        await this.#publish(path, h, seq, bytes, u.memo)
        return seq
      }
      if (!claim.conflict) {
        const there = await this.objects.get(this.#log(path, seq))
        if (there !== undefined && sameBytes(there.bytes, bytes)) {
          // Our own claim, whose answer was lost and the request sent again.
          await this.#publish(path, h, seq, bytes, u.memo)
          return seq
        }
        // Another writer's entry: publish it for them (they may have died), then take the next number.
        if (there !== undefined) await this.#publish(path, h, seq, there.bytes)
      } else {
        await sleep(delay + Math.random() * delay)
        delay = Math.min(500, delay * 2)
      }
      h = await this.#readHead(path)
    }
  }

  async append (updates: RemoteUpdate[], options: CommitOptions = {}): Promise<CommitResult> {
    for (const u of updates) validatePath(u.path)
    const latest = new Map<string, RemoteUpdate>()
    for (const u of updates) latest.set(u.path, u)
    checkNoOverlap([...latest.values()].filter((u) => u.evaluation !== null).map((u) => u.path))
    const now = Date.now()
    // Updates of one path in order; different paths at once.
    const byPath = new Map<string, RemoteUpdate[]>()
    for (const u of updates) {
      const list = byPath.get(u.path)
      if (list === undefined) byPath.set(u.path, [u])
      else list.push(u)
    }
    const seqs = new Map<RemoteUpdate, number | undefined>()
    await Promise.all([...byPath.values()].map(async (list) => {
      for (const u of list) seqs.set(u, await this.#appendOne(u, u.time ?? now, options))
    }))
    const result: CommitResult = { appended: [], skipped: [] }
    for (const u of updates) {
      const seq = seqs.get(u)
      if (seq === undefined) result.skipped.push(u.path)
      else result.appended.push({ path: u.path, seq })
    }
    return result
  }

  // ---------------------------------------------------------------- leases

  async lease (name: string): Promise<Lock> {
    const key = this.#lease(name)
    const o = this.objects
    const ttl = this.leaseTtl
    const id = randomBytes(8).toString('hex')
    const body = dagCbor.encode({ holder: id, host: hostname(), pid: process.pid, ttl } satisfies LeaseBody)
    let etag: string | undefined
    let delay = 25
    while (etag === undefined) {
      const r = await o.put(key, body, { ifNoneMatch: true })
      if (r.ok) {
        etag = r.etag
        break
      }
      if (!r.conflict) {
        const cur = await o.get(key)
        if (cur === undefined) continue
        const held = decodeLease(cur.bytes)
        if (held?.holder === id) {
          etag = cur.etag
          break
        }
        // Expiry by the server's clock: last renewal (Last-Modified) plus the holder's time to live, plus a second for rounding.
        if (held === undefined || o.serverNow() > cur.lastModified + held.ttl + 1000) {
          const take = await o.put(key, body, { ifMatch: cur.etag })
          if (take.ok) {
            etag = take.etag
            break
          }
          continue
        }
      }
      await sleep(delay + Math.random() * delay)
      delay = Math.min(1000, delay * 1.5)
    }
    let current = etag
    let renewed = Date.now()
    let lost = false
    let renewing: Promise<void> | undefined
    const timer = setInterval(() => {
      if (renewing !== undefined || lost) return
      renewing = (async () => {
        try {
          const r = await o.put(key, body, { ifMatch: current })
          if (r.ok) {
            current = r.etag
            renewed = Date.now()
          } else if (!r.conflict) {
            lost = true
          }
        } catch {
          // The network: the next beat tries again, and the lease outlives a few missed beats.
        } finally {
          renewing = undefined
        }
      })()
    }, Math.floor(ttl / 3))
    timer.unref()
    let released = false
    return {
      release: async () => {
        if (released) return
        released = true
        clearInterval(timer)
        await renewing
        if (lost) return
        if (Date.now() - renewed < ttl / 2) {
          // Nobody can have taken it over yet: it expires no sooner than a full ttl after the last renewal.
          await o.delete(key)
        } else {
          await o.put(key, dagCbor.encode({ holder: id, host: hostname(), pid: process.pid, ttl: 0 } satisfies LeaseBody), { ifMatch: current }).catch(() => {})
        }
      }
    }
  }

  async close (): Promise<void> {
    this.objects.close()
  }
}

function decodeLease (bytes: Uint8Array): LeaseBody | undefined {
  try {
    const v = dagCbor.decode(bytes) as Partial<LeaseBody>
    if (typeof v.holder !== 'string' || typeof v.ttl !== 'number') return undefined
    return { holder: v.holder, host: String(v.host), pid: Number(v.pid), ttl: v.ttl }
  } catch {
    return undefined
  }
}
