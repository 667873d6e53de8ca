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
import { decodeNode, encodeNode, isArtifactRoot, toArtifactRoot, toEvaluationRecord, toMemoEntry, type ArtifactRoot, type MemoEntry, type PathEntry } from '../records.js'
import { linksOf, required, type Link } from '../verify.js'
import { Pending, type Store } from '../store.js'
import { BLOCK_INLINE } from '../keys.js'
import type { BatchOp, CommitOptions, CommitResult, Lock, PathUpdate } from '../interface.js'
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
export async function linkRemote (store: Store, spec: RemoteSpec): Promise<RemoteLink> {
  if (isRemote(spec)) return new RemoteLink(store, spec, false)
  return new RemoteLink(store, await openRemoteUrl(spec), true)
}

/** The hooks a store calls when it has a remote. */
export class RemoteLink {
  readonly remote: Remote
  readonly #store: Store
  readonly #owned: boolean
  /** CIDs the remote is known to hold (with everything they reach). */
  #known = new Set<string>()
  readonly #pushing = new Map<string, Promise<void>>()
  /** Memo answers that came with path heads, by key (hex). Answers never go stale. */
  readonly #stash = new Map<string, MemoPack>()
  /** Head reads in flight: a memo lookup waits for them before asking the remote. */
  readonly #headReads = new Set<Promise<unknown>>()

  constructor (store: Store, remote: Remote, owned: boolean) {
    this.#store = store
    this.remote = remote
    this.#owned = owned
  }

  #remember (cid: CID): void {
    if (this.#known.size >= KNOWN_LIMIT) this.#known = new Set()
    this.#known.add(cid.toString())
  }

  /** Write verified blocks (and other operations) to the local store, without sending anything back up. */
  async #cache (blocks: Array<[CID, Uint8Array]>, extra: BatchOp[] = []): Promise<void> {
    const pending = new Pending()
    for (const [cid, bytes] of blocks) await this.#store.stageBlock(cid, bytes, pending)
    for (const op of extra) pending.add(op)
    await this.#store.backend.batch(pending.ops)
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
    const id = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')
    if (!this.#stash.has(id) && this.#headReads.size > 0) await Promise.allSettled([...this.#headReads])
    const pack = this.#stash.get(id) ?? await this.remote.getMemo(key)
    this.#stash.delete(id)
    if (pack === undefined) return undefined
    const record = toEvaluationRecord(decodeNode(pack.record, 'evaluation record'))
    const entry: MemoEntry = { evaluation: pack.evaluation, output: record.output, loads: record.loads, nested: record.calls.length > 0 }
    const blocks: Array<[CID, Uint8Array]> = [[pack.evaluation, pack.record]]
    if (pack.root !== undefined) blocks.push([record.output, pack.root])
    await this.#cache(blocks, [{ type: 'put', space: 'memo', key, value: encodeNode(entry) }])
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
    if (first === undefined || await this.#store.hasBlock(first)) return false
    const pending = new Pending()
    // Chunk files are written while the next chunks come in; a bounded number at once.
    const writes = new Set<Promise<void>>()
    let failed: unknown
    try {
      await this.remote.readPack(rootCid, root, async ({ index, bytes }) => {
        if (failed !== undefined) throw failed
        const w: Promise<void> = this.#store.stageBlock(chunks[index] as CID, bytes, pending)
          .catch((err: unknown) => { failed ??= err })
          .finally(() => { writes.delete(w) })
        writes.add(w)
        if (writes.size >= WRITES_IN_FLIGHT) await Promise.race(writes)
      }, target === undefined ? {} : { into: target })
    } finally {
      await Promise.all(writes)
    }
    if (failed !== undefined) throw failed
    // The chunks become visible together, like the chunks of a run.
    await this.#store.backend.batch(pending.ops)
    this.#remember(rootCid)
    return true
  }

  // ---------------------------------------------------------------- up

  /** A block's bytes from the local store only. */
  async #local (cid: CID): Promise<Uint8Array | undefined> {
    return await this.#store.getBlock(cid, { local: true })
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
    // A kept value passed as an argument is an input by the CID of its artifact root: it travels as an artifact (with its pack).
    const role = link.role === 'input' && isArtifactRoot(cid, bytes) ? 'artifact' : link.role
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
  async push (pending: Pending): Promise<void> {
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

  // ---------------------------------------------------------------- namespace and leases

  async head (path: string): Promise<PathEntry | undefined> {
    const read = this.remote.head(path)
    this.#headReads.add(read)
    try {
      const head = await read
      if (head === undefined) return undefined
      const { memo, ...entry } = head
      if (memo !== undefined) {
        if (this.#stash.size >= STASH_LIMIT) this.#stash.delete(this.#stash.keys().next().value as string)
        this.#stash.set(Buffer.from(memo.key.buffer, memo.key.byteOffset, memo.key.byteLength).toString('hex'), memo)
      }
      return entry
    } finally {
      this.#headReads.delete(read)
    }
  }

  async lease (name: string): Promise<Lock> {
    return await this.remote.lease(name)
  }

  async close (): Promise<void> {
    if (this.#owned) await this.remote.close()
  }
}
