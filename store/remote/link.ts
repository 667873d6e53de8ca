/**
 * A store with a remote: the local store is a fast cache in front of the
 * remote, which is the team's source of truth.
 *
 * - A block or memo answer missing locally is asked of the remote; what comes
 *   down is checked against its CID and copied into the local store.
 * - Chunked artifacts come down as a few ranged reads of their pack, each
 *   chunk checked, written to the local store and, when the caller reads the
 *   value, straight into its memory.
 * - After a run writes its evaluation, the evaluation and everything it reaches
 *   go up (blocks before the blocks that link to them, large artifacts as one
 *   streamed pack), then its memo answer, so that another machine finds it.
 * - After a local commit, each path's entry is appended to the path's log in
 *   the remote; heads are read from the remote.
 */
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from '../errors.js'
import { decodeNode, toArtifactRoot, toEvaluationRecord, toMemoEntry, type ArtifactRoot, type MemoEntry, type PathEntry } from '../records.js'
import { linksOf, required, travelRole, type Link } from '../dag.js'
import { Pending } from '../pending.js'
import { copyInto } from '../blocks.js'
import { answersKey, memoEntryOf, memoPut } from '../memo.js'
import { validatePath } from '../paths.js'
import { BLOCK_INLINE } from '../keys.js'
import { hex } from '../util.js'
import type {
  BatchOp, BlockReadOptions, ChunkSink, CommitOptions, CommitResult, LeaseMode, Lock, LockOptions, Parts, PathsOptions, PathUpdate, Staged
} from '../interface.js'
import type { MemoPack, Remote } from './interface.js'
import { isRemote, openRemoteUrl, type RemoteSpec } from './open.js'

export type { RemoteSpec } from './open.js'

/** Artifact roots up to this size travel inside memo answers (one request for a hit). */
const ROOT_IN_MEMO = 64 * 1024
/** ... and inside path heads, which are read on every keep. */
const ROOT_IN_HEAD = 16 * 1024
/** Chunk files written at once while a pack comes down. */
const WRITES_IN_FLIGHT = 16
/** Memo answers that came with heads, kept for the lookup that usually follows. */
const STASH_LIMIT = 1024
/** Known-present CIDs remembered per store before the memory is dropped and rebuilt. */
const KNOWN_LIMIT = 1_000_000

/**
 * Open the remote a spec names and link it to a store. A remote passed open
 * stays open when the store closes.
 */
export async function linkRemote (local: Parts, spec: RemoteSpec): Promise<RemoteLink> {
  if (isRemote(spec)) return new RemoteLink(local, spec, false)
  return new RemoteLink(local, await openRemoteUrl(spec), true)
}

/**
 * The remote as a tier in front of a store's local parts: the same block,
 * memo, namespace and lease interfaces, answered locally where the local
 * parts can, else by the remote (and what comes down is kept locally).
 */
export class RemoteLink implements Parts {
  readonly remote: Remote
  /** The parts this tier falls back to and caches into. */
  readonly local: Parts
  readonly #owned: boolean
  /** CIDs the remote is known to hold (with everything they reach). */
  #known = new Set<string>()
  readonly #pushing = new Map<string, Promise<void>>()
  /** Memo answers that came with path heads, by key (hex). Answers never go stale. */
  readonly #stash = new Map<string, MemoPack>()
  /** Head reads in flight: a memo lookup waits for them before asking the remote. */
  readonly #headReads = new Set<Promise<unknown>>()

  constructor (local: Parts, remote: Remote, owned: boolean) {
    this.local = local
    this.remote = remote
    this.#owned = owned
  }

  /** This tier's parts are itself: one object answers for blocks, memo, namespace and leases. */
  get blocks (): this { return this }
  get memo (): this { return this }
  get namespace (): this { return this }
  get locks (): this { return this }

  #remember (cid: CID): void {
    if (this.#known.size >= KNOWN_LIMIT) this.#known = new Set()
    this.#known.add(cid.toString())
  }

  /** Write verified blocks (and other operations) to the local store, without sending anything back up. */
  async #cache (blocks: Array<[CID, Uint8Array]>, extra: BatchOp[] = []): Promise<void> {
    const pending = new Pending()
    for (const [cid, bytes] of blocks) await this.local.blocks.stageBlock(cid, bytes, pending)
    for (const op of extra) pending.add(op)
    await this.local.blocks.write(pending)
  }

  // ---------------------------------------------------------------- blocks

  async hasBlock (cid: CID): Promise<boolean> {
    return await this.local.blocks.hasBlock(cid)
  }

  /** A block from the local store, else from the remote (verified, then kept locally). */
  async getBlock (cid: CID, options: BlockReadOptions = {}): Promise<Uint8Array | undefined> {
    return await this.local.blocks.getBlock(cid, options) ?? await this.fetchBlock(cid)
  }

  async readBlockInto (cid: CID, target: Uint8Array, offset: number, options: BlockReadOptions = {}): Promise<number> {
    const n = await this.local.blocks.readBlockInto(cid, target, offset, options)
    if (n !== -1) return n
    const fetched = await this.fetchBlock(cid)
    return fetched === undefined ? -1 : copyInto(cid, fetched, target, offset)
  }

  async stageBlock (cid: CID, bytes: Uint8Array, pending: Staged): Promise<void> {
    await this.local.blocks.stageBlock(cid, bytes, pending)
  }

  chunkSink (): ChunkSink | undefined {
    return this.local.blocks.chunkSink?.()
  }

  /** The chunks held locally in segments (the others, local or not, are left to readBlockInto). */
  async readChunksInto (chunks: readonly CID[], chunkSize: number, target: Uint8Array): Promise<number[]> {
    return await this.local.blocks.readChunksInto?.(chunks, chunkSize, target) ?? chunks.map((_, i) => i)
  }

  /** Write a batch locally, then send the memo answers it holds (with what they reach) to the remote. */
  async write (pending: Staged, options: { sync?: boolean } = {}): Promise<void> {
    await this.local.blocks.write(pending, options)
    await this.push(pending)
  }

  // ---------------------------------------------------------------- down

  /** A block missing locally: from the remote (verified), copied into the local store. */
  async fetchBlock (cid: CID): Promise<Uint8Array | undefined> {
    const bytes = await this.remote.getBlock(cid)
    if (bytes === undefined) return undefined
    await this.#cache([[cid, bytes]])
    this.#remember(cid)
    return bytes
  }

  /**
   * A memo answer missing locally: from the remote, with its record and
   * small root, copied locally. A keep reads its path's head at the same
   * time, and the head usually carries the answer: then no other request.
   */
  async fetchMemo (key: Uint8Array): Promise<MemoEntry | undefined> {
    const id = hex(key)
    if (!this.#stash.has(id) && this.#headReads.size > 0) await Promise.allSettled([...this.#headReads])
    const pack = this.#stash.get(id) ?? await this.remote.getMemo(key)
    this.#stash.delete(id)
    if (pack === undefined) return undefined
    const record = toEvaluationRecord(decodeNode(pack.record, 'evaluation record'))
    // The remote's answer is taken only for the key its record claims, and
    // never in place of a local answer written meanwhile (see README, trust model).
    if (!answersKey(record, key)) return undefined
    const local = await this.local.memo.lookupMemo(key)
    if (local !== undefined) return local
    const entry = memoEntryOf(pack.evaluation, record)
    const blocks: Array<[CID, Uint8Array]> = [[pack.evaluation, pack.record]]
    if (pack.root !== undefined) blocks.push([record.output, pack.root])
    await this.#cache(blocks, [memoPut(key, entry)])
    this.#remember(pack.evaluation)
    this.#remember(record.output)
    return entry
  }

  /**
   * When the chunks of an artifact are not local, stream them from the remote
   * into the local store (and into `target`, when given). Returns false when
   * they were local already.
   */
  async fillArtifact (rootCid: CID, root: ArtifactRoot, target?: Uint8Array): Promise<boolean> {
    const chunks = root.chunks ?? []
    const first = chunks[0]
    if (first === undefined || await this.local.blocks.hasBlock(first)) return false
    const pending = new Pending()
    // Chunks are written (to one segment, when the store keeps them) while the next ones come in; a bounded number at once.
    const writes = new Set<Promise<void>>()
    const sink = this.local.blocks.chunkSink?.()
    let failed: unknown
    try {
      await this.remote.readPack(rootCid, root, async ({ index, bytes }) => {
        if (failed !== undefined) throw failed
        const cid = chunks[index] as CID
        const w: Promise<void> = (sink === undefined ? this.local.blocks.stageBlock(cid, bytes, pending) : sink.stage(cid, bytes, pending))
          .catch((err: unknown) => { failed ??= err })
          .finally(() => { writes.delete(w) })
        writes.add(w)
        if (writes.size >= WRITES_IN_FLIGHT) await Promise.race(writes)
      }, target === undefined ? {} : { into: target })
    } finally {
      await Promise.all(writes)
      await sink?.close().catch((err: unknown) => { failed ??= err })
    }
    if (failed !== undefined) throw failed
    // The chunks become visible together, like the chunks of a run.
    await this.local.blocks.write(pending)
    this.#remember(rootCid)
    return true
  }

  // ---------------------------------------------------------------- up

  /** A block's bytes from the local store only. */
  async #local (cid: CID): Promise<Uint8Array | undefined> {
    return await this.local.blocks.getBlock(cid)
  }

  /**
   * Make sure the remote holds what `link` reaches. A block goes up after
   * every block it links to, so a block the remote has brings its whole graph.
   * `fresh` blocks were just written here: no need to ask whether the remote has them.
   */
  async #ensure (link: Link, fresh: ReadonlySet<string>): Promise<void> {
    const id = link.cid.toString()
    if (this.#known.has(id)) return
    let p = this.#pushing.get(id)
    if (p === undefined) {
      p = this.#push(link, fresh).finally(() => { this.#pushing.delete(id) })
      this.#pushing.set(id, p)
    }
    await p
  }

  async #push (link: Link, fresh: ReadonlySet<string>): Promise<void> {
    const { cid } = link
    const id = cid.toString()
    // Large artifacts are worth a question even when fresh: another machine may have made the same bytes.
    const ask = !fresh.has(id) || link.role === 'artifact'
    if (ask && await this.remote.hasBlock(cid)) {
      this.#remember(cid)
      return
    }
    const bytes = await this.#local(cid)
    if (bytes === undefined) {
      if (!required(link.role)) return
      throw new DdsError(ErrorCodes.NOT_FOUND, `${link.role} ${id} is missing from the local store, so it cannot go to the remote (run dds verify)`, { data: { cid: id, role: link.role } })
    }
    const role = travelRole(link, bytes)
    const children = linksOf(cid, bytes, role)
    if (role === 'artifact' && children.length > 0) {
      await this.#pushPack(cid, toArtifactRoot(decodeNode(bytes, 'artifact')))
    } else {
      await Promise.all(children.map(async (c) => { await this.#ensure(c, fresh) }))
    }
    await this.remote.putBlock(cid, bytes)
    this.#remember(cid)
    // An evaluation that was not in the remote may have been computed before the remote was set: its memo answer goes too.
    if (link.role === 'evaluation' && !fresh.has(id)) {
      const record = toEvaluationRecord(decodeNode(bytes, 'evaluation record'))
      await this.remote.putMemo(await this.#memoPack(record.signature, cid, bytes, record.output))
    }
  }

  async #pushPack (rootCid: CID, root: ArtifactRoot): Promise<void> {
    const chunks = root.chunks ?? []
    const read = async (chunk: CID): Promise<Uint8Array> => {
      const bytes = await this.#local(chunk)
      if (bytes === undefined) throw new DdsError(ErrorCodes.NOT_FOUND, `chunk ${chunk} of artifact ${rootCid} is missing from the local store`, { data: { cid: chunk.toString(), artifact: rootCid.toString() } })
      return bytes
    }
    // Chunk files are read a few ahead of the upload.
    async function * payload (): AsyncIterable<Uint8Array> {
      const ahead: Array<Promise<Uint8Array>> = []
      let next = 0
      const fill = (): void => {
        while (ahead.length < 4 && next < chunks.length) {
          const p = read(chunks[next++] as CID)
          p.catch(() => {})
          ahead.push(p)
        }
      }
      fill()
      while (ahead.length > 0) {
        const bytes = await (ahead.shift() as Promise<Uint8Array>)
        fill()
        yield bytes
      }
    }
    await this.remote.putPack(rootCid, payload, root.size)
  }

  async #memoPack (key: Uint8Array, evaluation: CID, record: Uint8Array, output: CID, rootLimit = ROOT_IN_MEMO): Promise<MemoPack> {
    const pack: MemoPack = { key, evaluation, record }
    const root = await this.#local(output)
    if (root !== undefined && root.byteLength <= rootLimit) pack.root = root
    return pack
  }

  /** The memo answer of an evaluation, to travel with a path's head, when the evaluation is local. */
  async #headMemo (evaluation: CID | null): Promise<MemoPack | undefined> {
    if (evaluation === null) return undefined
    const bytes = await this.#local(evaluation)
    if (bytes === undefined) return undefined
    const record = toEvaluationRecord(decodeNode(bytes, 'evaluation record'))
    return await this.#memoPack(record.signature, evaluation, bytes, record.output, ROOT_IN_HEAD)
  }

  /**
   * After a local write: the memo answers it holds go to the remote, after
   * everything their evaluations reach.
   */
  async push (pending: Staged): Promise<void> {
    const memo: Array<{ key: Uint8Array, entry: MemoEntry }> = []
    const fresh = new Set<string>()
    const inline = new Map<string, Uint8Array>()
    for (const op of pending.ops) {
      if (op.type !== 'put') continue
      if (op.space === 'memo') memo.push({ key: op.key, entry: toMemoEntry(decodeNode(op.value, 'memo entry')) })
      else if (op.space === 'blocks') {
        const id = CID.decode(op.key).toString()
        fresh.add(id)
        if (op.value[0] === BLOCK_INLINE) inline.set(id, op.value.subarray(1))
      }
    }
    if (memo.length === 0) return
    await Promise.all(memo.map(async ({ entry }) => {
      await this.#ensure({ cid: entry.evaluation, role: 'evaluation' }, fresh)
      await this.#ensure({ cid: entry.output, role: 'artifact' }, fresh)
    }))
    await Promise.all(memo.map(async ({ key, entry }) => {
      const id = entry.evaluation.toString()
      const record = inline.get(id) ?? await this.#local(entry.evaluation)
      if (record === undefined) throw new DdsError(ErrorCodes.NOT_FOUND, `evaluation ${id} is missing from the local store`, { data: { cid: id } })
      await this.remote.putMemo(await this.#memoPack(key, entry.evaluation, record, entry.output))
    }))
  }

  /** After a local commit: what the entries reach goes up, then the entries are appended to the remote logs. */
  async append (updates: PathUpdate[], options: CommitOptions = {}): Promise<CommitResult> {
    const none = new Set<string>()
    const withMemo = await Promise.all(updates.map(async (u) => {
      if (u.evaluation !== null) await this.#ensure({ cid: u.evaluation, role: 'evaluation' }, none)
      if (u.output !== null) await this.#ensure({ cid: u.output, role: 'artifact' }, none)
      const memo = await this.#headMemo(u.evaluation)
      return memo === undefined ? u : { ...u, memo }
    }))
    return await this.remote.append(withMemo, options)
  }

  // ---------------------------------------------------------------- memo, namespace and leases

  /** The memo entry under a key: the local one, else the remote's (kept locally). */
  async lookupMemo (key: Uint8Array): Promise<MemoEntry | undefined> {
    return await this.local.memo.lookupMemo(key) ?? await this.fetchMemo(key)
  }

  /** A path's head is the remote's: the remote's logs are the team's truth. */
  async headEntry (path: string): Promise<PathEntry | undefined> {
    validatePath(path)
    const read = this.remote.head(path)
    this.#headReads.add(read)
    try {
      const head = await read
      if (head === undefined) return undefined
      const { memo, ...entry } = head
      if (memo !== undefined) {
        if (this.#stash.size >= STASH_LIMIT) this.#stash.delete(this.#stash.keys().next().value as string)
        this.#stash.set(hex(memo.key), memo)
      }
      return entry
    } finally {
      this.#headReads.delete(read)
    }
  }

  history (path: string, options: { limit?: number } = {}): AsyncIterable<PathEntry> {
    return this.local.namespace.history(path, options)
  }

  paths (options: PathsOptions = {}): AsyncIterable<PathEntry> {
    return this.local.namespace.paths(options)
  }

  /** Commit locally, send up what the batch and the entries reach, then append the entries to the remote logs. */
  async commit (updates: PathUpdate[], pending: Staged, options: CommitOptions = {}): Promise<CommitResult> {
    for (const u of updates) validatePath(u.path)
    // One time for both logs, so the local entry and the remote one are the same bytes.
    const now = Date.now()
    const stamped = updates.map((u) => u.time === undefined ? { ...u, time: now } : u)
    await this.local.namespace.commit(stamped, pending, options)
    await this.push(pending)
    return await this.append(stamped, options)
  }

  /** A local lock; exclusive `compute:…` locks are also remote leases, so that one machine computes. */
  async lock (name: string, mode: LeaseMode = 'exclusive', options: LockOptions = {}): Promise<Lock> {
    const local = await this.local.locks.lock(name, mode, options)
    if (mode !== 'exclusive' || !name.startsWith('compute:')) return local
    let remote: Lock
    try {
      remote = await this.remote.lease(name)
    } catch (err) {
      await local.release()
      throw err
    }
    return {
      release: async () => {
        try {
          await remote.release()
        } finally {
          await local.release()
        }
      }
    }
  }

  async close (): Promise<void> {
    if (this.#owned) await this.remote.close()
  }
}
