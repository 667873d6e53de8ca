/**
 * The path histories of a remote: append-only logs with a published head.
 *
 * - `log/<path>/<seq>`: an appender claims the next sequence number by
 *   creating its entry (create-only); a writer that loses the race reads
 *   again and takes the next one, so no entry is ever lost or overwritten.
 * - `head/<path>`: the newest published entry, moved forward one sequence
 *   number at a time by compare-and-swap. An entry is visible once the head
 *   reaches it; a writer whose claim finds an entry the head has not reached
 *   (its writer died before publishing it) publishes it first, so the log
 *   stays dense and every claimed entry becomes visible. The head also
 *   carries the memo answer of its evaluation when its writer had it, so
 *   that the usual remote hit costs the one request that reads the head.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { DdsError, ErrorCodes, isDdsError } from '../errors.js'
import { decodeNode, toStoredHistoryEntry, type HistoryEntry, type PathEntry } from '../records.js'
import { ancestors, validatePath } from '../paths.js'
import { planCommit, type CommitState } from '../commit-plan.js'
import { sameBytes } from '../util.js'
import type { CommitOptions, CommitResult, PathsOptions } from '../interface.js'
import { backoff } from './helpers.js'
import { corruptMemo, encodeMemoPack, toMemoPack } from './memo.js'
import type { Condition, MemoPack, RemoteHead, RemotePlace, RemoteUpdate } from './interface.js'

/** Heads read ahead of a listing, and log entries ahead of a history. */
const READ_AHEAD = 16
const HISTORY_AHEAD = 8

interface Head {
  seq: number
  entry: HistoryEntry
  /** The entry's bytes as in the log. */
  bytes: Uint8Array
  etag: string
  memo?: MemoPack
}

/** What the overlap rule needs to know about the paths around one path: its ancestors' heads and its live descendants. */
interface Surroundings {
  ancestors: Map<string, Head | undefined>
  liveUnder: string[]
}

const NOTHING_AROUND: Surroundings = { ancestors: new Map(), liveUnder: [] }

/** The path logs of one remote. */
export class PathLogs {
  readonly #at: RemotePlace

  constructor (at: RemotePlace) { this.#at = at }

  async #readHead (path: string): Promise<Head | undefined> {
    const found = await this.#at.objects.get(this.#at.layout.head(path))
    if (found === undefined) return undefined
    let node: { seq?: unknown, entry?: unknown, memo?: unknown }
    try {
      node = dagCbor.decode(found.bytes)
    } catch {
      node = {}
    }
    if (typeof node.seq !== 'number' || !Number.isSafeInteger(node.seq) || node.seq < 1 || !(node.entry instanceof Uint8Array)) {
      throw new DdsError(ErrorCodes.INTEGRITY, `the head of ${path} in remote ${this.#at.url} is malformed`, { data: { path, remote: this.#at.url } })
    }
    const head: Head = { seq: node.seq, bytes: node.entry, entry: toStoredHistoryEntry(decodeNode(node.entry, 'history entry')), etag: found.etag }
    if (node.memo !== undefined) {
      const where = `in the head of ${path}`
      const memo = toMemoPack(node.memo, this.#at.url, where)
      if (head.entry.evaluation === null || !memo.evaluation.equals(head.entry.evaluation)) throw corruptMemo(this.#at.url, where, 'it is not the head\'s evaluation')
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
      while (ahead.length < HISTORY_AHEAD && next >= last) {
        const p = this.#at.objects.get(this.#at.layout.log(path, next--)).then((o) => o?.bytes)
        p.catch(() => {})
        ahead.push(p)
      }
    }
    for (let seq = h.seq - 1; seq >= last; seq--) {
      fill()
      const bytes = await ahead.shift()
      if (bytes === undefined) {
        throw new DdsError(ErrorCodes.INTEGRITY, `entry ${seq} of the log of ${path} is missing from remote ${this.#at.url}`, { data: { path, seq, remote: this.#at.url } })
      }
      yield { path, seq, ...toStoredHistoryEntry(decodeNode(bytes, 'history entry')) }
    }
  }

  async * paths (options: PathsOptions = {}): AsyncIterable<PathEntry> {
    const prefix = options.prefix
    if (prefix !== undefined && prefix !== '/') validatePath(prefix, 'prefix')
    const base = this.#at.layout.heads()
    const under = prefix === undefined || prefix === '/' ? base + '/' : base + prefix
    const wanted = (e: PathEntry | undefined): e is PathEntry => e !== undefined && (e.evaluation !== null || options.deleted === true)
    // Heads are read a few ahead of the listing, and yielded in its order.
    const ahead: Array<Promise<PathEntry | undefined>> = []
    for await (const key of this.#at.objects.list(under)) {
      const path = key.slice(base.length)
      if (prefix !== undefined && prefix !== '/' && path !== prefix && !path.startsWith(prefix + '/')) continue
      const p = this.head(path).then((h) => {
        if (h === undefined) return undefined
        const { memo: _memo, ...entry } = h
        return entry
      }, (err: unknown) => {
        // A garbled head is that path's problem: a listing that is told goes on without it.
        if (options.onDamaged === undefined || !isDdsError(err) || err.code !== ErrorCodes.INTEGRITY) throw err
        options.onDamaged(path, err)
        return undefined
      })
      p.catch(() => {})
      ahead.push(p)
      while (ahead.length > READ_AHEAD) {
        const e = await ahead.shift()
        if (wanted(e)) yield e
      }
    }
    while (ahead.length > 0) {
      const e = await ahead.shift()
      if (wanted(e)) yield e
    }
  }

  /** The heads of the ancestors of `path`, and the paths under it that hold a value in the remote. */
  async #surroundings (path: string): Promise<Surroundings> {
    const listing = (async () => {
      const base = this.#at.layout.heads()
      const live: string[] = []
      for await (const key of this.#at.objects.list(this.#at.layout.head(path) + '/')) {
        const other = key.slice(base.length)
        const h = await this.#readHead(other)
        if (h !== undefined && h.entry.evaluation !== null) live.push(other)
      }
      return live
    })()
    listing.catch(() => {})
    const heads = await Promise.all(ancestors(path).map(async (a) => [a, await this.#readHead(a)] as const))
    return { ancestors: new Map(heads), liveUnder: await listing }
  }

  /** The commit planner's view of one path: its head as last read, and what is around it. */
  #state (path: string, head: Head | undefined, around: Surroundings): CommitState {
    return {
      head: (p) => p === path ? head : around.ancestors.get(p),
      liveUnder: (p) => p === path ? around.liveUnder : []
    }
  }

  /** Move the head of `path` forward to `seq` (holding `bytes`), from the head last read. */
  async #publish (path: string, from: Head | undefined, seq: number, bytes: Uint8Array, memo?: MemoPack): Promise<void> {
    let current = from
    let delay = 10
    const body = dagCbor.encode({ seq, entry: bytes, ...(memo === undefined ? {} : { memo: encodeMemoPack(memo) }) })
    while (current === undefined || current.seq < seq) {
      const condition: Condition = current === undefined ? { ifNoneMatch: true } : { ifMatch: current.etag }
      const r = await this.#at.objects.put(this.#at.layout.head(path), body, condition)
      if (r.ok) return
      if (r.conflict) delay = await backoff(delay, 500)
      current = await this.#readHead(path)
    }
  }

  async #appendOne (u: RemoteUpdate, time: number, options: CommitOptions): Promise<number | undefined> {
    const path = u.path
    const update = { ...u, time }
    // The paths around are read while the head is: the planner needs them unless the update is skipped.
    const around = u.evaluation === null ? Promise.resolve(NOTHING_AROUND) : this.#surroundings(path)
    around.catch(() => {})
    let h = await this.#readHead(path)
    let delay = 10
    for (let attempt = 0; ; attempt++) {
      if (attempt > 10_000) throw new DdsError(ErrorCodes.REMOTE_UNAVAILABLE, `remote ${this.#at.url}: could not append to the log of ${path}`, { data: { path, remote: this.#at.url } })
      // A skip (same evaluation, or not newer) needs nothing but the head; the overlap rule needs the rest.
      if (planCommit(this.#state(path, h, NOTHING_AROUND), [update], options, time).entries.length === 0) return undefined
      const planned = planCommit(this.#state(path, h, await around), [update], options, time).entries[0]
      if (planned === undefined) return undefined
      const { seq, bytes } = planned
      const claim = await this.#at.objects.put(this.#at.layout.log(path, seq), bytes, { ifNoneMatch: true })
      if (claim.ok) {
        await this.#publish(path, h, seq, bytes, u.memo)
        return seq
      }
      if (!claim.conflict) {
        const there = await this.#at.objects.get(this.#at.layout.log(path, seq))
        if (there !== undefined && sameBytes(there.bytes, bytes)) {
          // Our own claim, whose answer was lost and the request sent again.
          await this.#publish(path, h, seq, bytes, u.memo)
          return seq
        }
        // Another writer's entry: publish it for them (they may have died), then take the next number.
        if (there !== undefined) await this.#publish(path, h, seq, there.bytes)
      } else {
        delay = await backoff(delay, 500)
      }
      h = await this.#readHead(path)
    }
  }

  async append (updates: RemoteUpdate[], options: CommitOptions = {}): Promise<CommitResult> {
    const now = Date.now()
    // The rules within the batch (valid paths, no two live ones overlapping), before anything is written.
    planCommit({ head: () => undefined, liveUnder: () => [] }, updates, options, now)
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
}
