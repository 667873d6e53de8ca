/**
 * A LevelDB store used by several processes at once.
 *
 * LevelDB lets one process hold a directory. The process that holds it (the
 * leader) works on it directly and serves the others over a unix socket;
 * the others (followers) send it their reads and atomic writes. Large blobs
 * are files, read and written by every process directly. When the leader
 * closes the store, exits or dies, the operating system releases the
 * directory, its followers' connections drop, and the first of them to open
 * the directory leads in turn; requests in flight are sent again (each is
 * safe to repeat). The run engine asks a leader to hand the directory over
 * (`yieldIfShared`) before a computation known to be long, so that it does
 * not keep the others waiting. Locks live in the database as leases, so a
 * change of leader loses none.
 */
import { randomBytes } from 'node:crypto'
import { DdsError, ErrorCodes } from './errors.js'
import { definedRange, sleep } from './util.js'
import { canonicalLocation, DirectoryBlobs, LockedError, openLevelExclusive, type ClassicOptions, type LevelBackend } from './backend.js'
import { NOT_SYNC, type Backend, type BatchOp, type RangeOptions, type Space } from './interface.js'
import { FORGET_AT_ONCE } from './commit.js'
import { lockedFailure, openFailure } from './open-errors.js'
import { ConnectionLost, NotAuthenticated, RpcClient, RpcServer } from './rpc.js'
import { announce, announced, leaderSocket, retire, storeSecret, trustedSocketOwner, type LeaderSocket } from './local-socket.js'
import type { CommitOptions, CommitResult, LeaseRequest, LeaseResult, PathUpdate } from './interface.js'

export interface SharedOptions extends ClassicOptions {
  /** Give up opening after this many ms of the directory being neither free nor served (default 60 s). */
  openTimeout?: number
}

/** What this process holds while it leads: the database, its server and where that listens. */
interface Leader { db: LevelBackend, server: RpcServer, socket: LeaderSocket }

/** A store directory shared by the processes using it: leader or follower as it happens (see the top of this file). */
export class SharedBackend implements Backend {
  readonly kind = 'classic'
  readonly location: string
  readonly files: DirectoryBlobs
  readonly #options: SharedOptions
  #secret: Buffer | undefined
  #leader: Leader | undefined
  #client: RpcClient | undefined
  #electing: Promise<void> | undefined
  #closed = false
  /** Local operations using the leader's database right now. */
  #busy = 0
  #idle: Array<() => void> = []
  #handingOver: Promise<void> | undefined
  /**
   * Blocks are immutable and a memo entry, once written, stays a valid
   * answer: what a follower fetched through the leader is kept here, so that
   * repeated hits cost no round trip. Absence is never cached.
   */
  readonly #cache = new ByteLru(64 * 1024 * 1024)
  /** Deletions of cached key spaces this process has started (a write kept in the cache must not outlive one). */
  #deletions = 0
  /** Tokens of this process's commits through the leader whose records its next commit removes. */
  readonly #tokens: string[] = []
  /** How often this process took or gave up the lead (for tests and benchmarks). */
  readonly stats = { elections: 0, handovers: 0, retries: 0 }

  constructor (location: string, options: SharedOptions = {}) {
    this.location = location
    this.#options = options
    this.files = new DirectoryBlobs(location, { sync: options.syncFiles === true })
  }

  /** 'leader', 'follower' or 'none' (between the two). */
  get role (): 'leader' | 'follower' | 'none' {
    return this.#leader !== undefined ? 'leader' : this.#client !== undefined && !this.#client.isClosed ? 'follower' : 'none'
  }

  readonly getSync = (space: Space, key: Uint8Array): Uint8Array | undefined | typeof NOT_SYNC => {
    const l = this.#leader
    if (l === undefined || this.#handingOver !== undefined || l.db.getSync === undefined) return NOT_SYNC
    return l.db.getSync(space, key)
  }

  async #ensure (): Promise<void> {
    if (this.#closed) throw new DdsError(ErrorCodes.STORE_CLOSED, 'the store is closed')
    if (this.#handingOver !== undefined) await this.#handingOver
    if (this.#leader !== undefined) return
    if (this.#client !== undefined && !this.#client.isClosed) return
    this.#electing ??= this.#elect().finally(() => { this.#electing = undefined })
    await this.#electing
  }

  async #elect (): Promise<void> {
    this.#client = undefined
    this.#secret ??= await storeSecret(this.location)
    const secret = this.#secret
    const deadline = Date.now() + (this.#options.openTimeout ?? 60_000)
    let delay = 1
    /** Why the last process found at the announced socket was not used. */
    let refused: string | undefined
    while (true) {
      if (this.#closed) throw new DdsError(ErrorCodes.STORE_CLOSED, 'the store is closed')
      const announcedPath = await announced(this.location)
      if (announcedPath !== undefined && !await trustedSocketOwner(this.location, announcedPath)) {
        refused = `${announcedPath} is not a socket of the store's owner`
      } else if (announcedPath !== undefined) {
        try {
          this.#client = await RpcClient.connect(announcedPath, secret)
          return
        } catch (err) {
          // Nobody serves the socket (the directory may be free), or an impostor does.
          if (err instanceof NotAuthenticated) refused = `${announcedPath}: ${err.message}`
        }
      }
      try {
        const db = await openLevelExclusive(this.location, this.#options)
        let socket: LeaderSocket | undefined
        try {
          // Only the holder of the directory chooses, clears and announces the socket.
          socket = await leaderSocket(this.location)
          const server = new RpcServer(db, secret)
          await server.listen(socket.path)
          await announce(this.location, socket.path)
          this.#leader = { db, server, socket }
        } catch (err) {
          if (socket !== undefined) await retire(this.location, socket)
          await db.close()
          throw openFailure(this.location, err, 'serve')
        }
        this.stats.elections++
        return
      } catch (err) {
        if (!(err instanceof LockedError)) throw err
      }
      if (Date.now() > deadline) {
        throw lockedFailure(this.location, refused === undefined ? 'does not answer' : `was refused (${refused})`)
      }
      // The holder is starting up or going away: try again shortly, with jitter.
      await sleep(delay + Math.random() * delay)
      delay = Math.min(50, delay * 2)
    }
  }

  /** Run `local` on the leader's database or `remote` through the leader, retrying when the leader changes. */
  async #op<T> (local: (db: LevelBackend) => Promise<T>, remote: (c: RpcClient) => Promise<T>): Promise<T> {
    while (true) {
      await this.#ensure()
      const leader = this.#leader
      if (leader !== undefined) {
        this.#busy++
        try {
          return await local(leader.db)
        } finally {
          if (--this.#busy === 0) for (const f of this.#idle.splice(0)) f()
        }
      }
      const client = this.#client
      if (client === undefined) continue
      try {
        return await remote(client)
      } catch (err) {
        if (!(err instanceof ConnectionLost)) throw err
        this.stats.retries++
        if (this.#client === client) this.#client = undefined
      }
    }
  }

  async get (space: Space, key: Uint8Array, options: { fresh?: boolean } = {}): Promise<Uint8Array | undefined> {
    const cacheable = CACHED.has(space) && options.fresh !== true
    const id = cacheable ? cacheId(space, key) : ''
    if (cacheable) {
      const hit = this.#cache.get(id)
      if (hit !== undefined) return hit
    }
    const value = await this.#op(async (db) => await db.get(space, key), async (c) => (await c.call('get', { space, key }) as Uint8Array | null) ?? undefined)
    // Only what came through the leader is kept: the leader itself reads synchronously.
    if (cacheable && value !== undefined && this.#leader === undefined) this.#cache.set(id, value)
    return value
  }

  async getMany (space: Space, keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return await this.#op(async (db) => await db.getMany(space, keys), async (c) => (await c.call('getMany', { space, keys }) as Array<Uint8Array | null>).map((v) => v ?? undefined))
  }

  async batch (ops: BatchOp[], options: { sync?: boolean } = {}): Promise<void> {
    if (ops.length === 0) return
    const since = this.#forget(ops)
    await this.#op(async (db) => { await db.batch(ops, options) }, async (c) => { await c.call('batch', { ops, sync: options.sync === true }) })
    this.#keepWritten(ops, since)
  }

  /**
   * Drop what this process kept of the keys a write of its own replaces or
   * deletes (gc, a bundle import that replaces a memo answer): it reads its
   * own writes. Before the write, so that no read in between keeps the old value.
   */
  #forget (ops: readonly BatchOp[]): number {
    for (const op of ops) {
      if (!CACHED.has(op.space)) continue
      this.#cache.delete(cacheId(op.space, op.key))
      if (op.type === 'del') this.#deletions++
    }
    return this.#deletions
  }

  /**
   * After a write of this follower's own went through: the small blocks and
   * memo answers it put are what the leader now holds, so the hits that follow
   * (the common case: the same calls again) read them without a round trip.
   * Skipped when a deletion of this process started meanwhile (a collection
   * may have removed them since).
   */
  #keepWritten (ops: readonly BatchOp[], since: number): void {
    if (this.#leader !== undefined || this.#deletions !== since) return
    for (const op of ops) {
      if (op.type !== 'put' || !CACHED.has(op.space) || op.value.byteLength > WRITE_THROUGH) continue
      // A copy: the caller's buffer is its own.
      this.#cache.set(cacheId(op.space, op.key), op.value.slice())
    }
  }

  async commit (updates: PathUpdate[], staged: BatchOp[], options: CommitOptions = {}): Promise<CommitResult> {
    const since = this.#forget(staged)
    // Sent through the leader, a commit carries a token: a retry after a lost answer is told what the first attempt did.
    const token = randomBytes(16).toString('hex')
    let sent = false
    // The records of this process's earlier commits through the leader go with this one.
    const forget = this.#tokens.splice(0, FORGET_AT_ONCE)
    const forgetAll = [...(options.forget ?? []), ...forget]
    const tokens = (): CommitOptions => ({ ...options, ...(sent && options.token === undefined ? { token } : {}), ...(forgetAll.length === 0 ? {} : { forget: forgetAll }) })
    try {
      const result = await this.#op(async (db) => await db.commit(updates, staged, tokens()), async (c) => {
        sent = true
        return await c.call('commit', { updates, staged, options: tokens() }) as CommitResult
      })
      if (sent && options.token === undefined) this.#tokens.push(token)
      this.#keepWritten(staged, since)
      return result
    } catch (err) {
      // Not written: the records it was to remove go with a later commit.
      this.#tokens.unshift(...forget)
      // A commit refused for data collected meanwhile: what this process kept may be stale too.
      if (err instanceof DdsError && err.code === ErrorCodes.NOT_FOUND) this.#cache.clear()
      throw err
    }
  }

  async lease (request: LeaseRequest): Promise<LeaseResult> {
    return await this.#op(async (db) => await db.lease(request), async (c) => await c.call('lease', { request }) as LeaseResult)
  }

  entries (space: Space, range: RangeOptions = {}): AsyncIterable<[Uint8Array, Uint8Array]> {
    return this.#pages(space, range, false) as AsyncIterable<[Uint8Array, Uint8Array]>
  }

  keys (space: Space, range: RangeOptions = {}): AsyncIterable<Uint8Array> {
    return this.#pages(space, range, true) as AsyncIterable<Uint8Array>
  }

  /** Iterate in pages, so that a change of leader between pages only resumes after the last key seen. */
  async * #pages (space: Space, range: RangeOptions, keysOnly: boolean): AsyncIterable<unknown> {
    let r: RangeOptions = { ...range }
    let left = range.limit ?? Number.POSITIVE_INFINITY
    while (left > 0) {
      const limit = Math.min(512, left)
      const page = await this.#op(async (db) => {
        const out: unknown[] = []
        if (keysOnly) for await (const k of db.keys(space, { ...r, limit })) out.push(k)
        else for await (const kv of db.entries(space, { ...r, limit })) out.push(kv)
        return out
      }, async (c) => await c.call('page', { space, range: definedRange(r), limit, keysOnly }) as unknown[])
      if (page.length === 0) return
      yield * page
      left -= page.length
      if (page.length < limit) return
      const last = (keysOnly ? page[page.length - 1] : (page[page.length - 1] as [Uint8Array])[0]) as Uint8Array
      r = range.reverse === true ? { ...withoutUpper(r), lt: last, reverse: true } : { ...withoutLower(r), gt: last }
    }
  }

  async yieldIfShared (): Promise<void> {
    const l = this.#leader
    if (l === undefined || l.server.connections === 0 || this.#handingOver !== undefined) return
    this.#handingOver = this.#stepDown(l).finally(() => { this.#handingOver = undefined })
    await this.#handingOver
  }

  async #stepDown (l: Leader): Promise<void> {
    await l.server.close()
    await retire(this.location, l.socket)
    if (this.#busy > 0) await new Promise<void>((resolve) => { this.#idle.push(resolve) })
    this.#leader = undefined
    // Flush first, so that the next holder opens without replaying a long log.
    await l.db.flush()
    await l.db.close()
    this.stats.handovers++
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#electing?.catch(() => {})
    await this.#handingOver?.catch(() => {})
    const l = this.#leader
    if (l !== undefined) {
      await l.server.close()
      await retire(this.location, l.socket)
      if (this.#busy > 0) await new Promise<void>((resolve) => { this.#idle.push(resolve) })
      this.#leader = undefined
      if (l.server.connections > 0) await l.db.flush()
      await l.db.close()
    }
    this.#client?.close()
    this.#client = undefined
  }
}

/** The key spaces a follower keeps what it read of: blocks never change, and a memo answer stays valid. */
const CACHED: ReadonlySet<Space> = new Set(['blocks', 'memo'])

/** Largest value a follower keeps of what it wrote itself (larger ones are read back on demand). */
const WRITE_THROUGH = 64 * 1024

/** The cache key of a key in a space. */
function cacheId (space: Space, key: Uint8Array): string {
  return `${space}:${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64')}`
}

/** A least-recently-used map of byte values, bounded by their total size. */
class ByteLru {
  readonly #max: number
  readonly #map = new Map<string, Uint8Array>()
  #bytes = 0

  constructor (maxBytes: number) {
    this.#max = maxBytes
  }

  clear (): void {
    this.#map.clear()
    this.#bytes = 0
  }

  delete (key: string): void {
    const v = this.#map.get(key)
    if (v === undefined) return
    this.#map.delete(key)
    this.#bytes -= v.byteLength
  }

  get (key: string): Uint8Array | undefined {
    const v = this.#map.get(key)
    if (v !== undefined) {
      this.#map.delete(key)
      this.#map.set(key, v)
    }
    return v
  }

  set (key: string, value: Uint8Array): void {
    if (value.byteLength > this.#max / 16 || this.#map.has(key)) return
    this.#map.set(key, value)
    this.#bytes += value.byteLength
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.#max) break
      this.#map.delete(k)
      this.#bytes -= v.byteLength
    }
  }
}

function withoutLower (r: RangeOptions): RangeOptions {
  const { gt: _gt, gte: _gte, ...rest } = r
  return rest
}

function withoutUpper (r: RangeOptions): RangeOptions {
  const { lt: _lt, lte: _lte, ...rest } = r
  return rest
}

interface Registered { backend: SharedBackend, refs: number }
// One backend per directory per process: a second LevelDB open of a directory
// in the same process fails and, in failing, drops the process's lock on it.
const registry = new Map<string, Registered>()

/**
 * Open (or share) the backend of a store directory. Every call must be
 * matched by a call of `release` on the result.
 */
export async function openShared (location: string, options: SharedOptions = {}): Promise<{ backend: SharedBackend, release: () => Promise<void> }> {
  const key = canonicalLocation(location)
  let entry = registry.get(key)
  if (entry === undefined) {
    entry = { backend: new SharedBackend(key, options), refs: 0 }
    registry.set(key, entry)
  }
  entry.refs++
  const current = entry
  let released = false
  return {
    backend: current.backend,
    release: async () => {
      if (released) return
      released = true
      current.refs--
      if (current.refs === 0) {
        if (registry.get(key) === current) registry.delete(key)
        await current.backend.close()
      }
    }
  }
}
