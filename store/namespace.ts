/**
 * The namespace part: path heads, their append-only histories, and the
 * commit that moves heads (planned by store/commit-plan.ts, applied by the
 * backend where the database lives). Decoded heads are reused while the
 * stored bytes are the same.
 */
import { DdsError, ErrorCodes, isDdsError } from './errors.js'
import { decodeNode, toStoredHistoryEntry, type PathEntry } from './records.js'
import { historyRange, keyPath, parseHistoryKey, pathKey } from './keys.js'
import { validatePath } from './paths.js'
import { quickGet } from './blocks.js'
import { remember } from './cache.js'
import { readHead } from './commit.js'
import { commitReads, commonDirectory, groupUnder, ONE_SCAN, planCommit, type CommitPlan, type Head } from './commit-plan.js'
import { hex, sameBytes } from './util.js'
import type { Backend, CommitOptions, CommitResult, NamespaceReader, NamespaceWriter, PathsOptions, PathUpdate, Staged } from './interface.js'

/** The local path namespace of a store. */
export class LocalNamespace implements NamespaceReader, NamespaceWriter {
  readonly #backend: Backend
  readonly #check: () => void
  readonly #heads = new Map<string, { raw: Uint8Array, entry: PathEntry }>()

  constructor (backend: Backend, check: () => void) {
    this.#backend = backend
    this.#check = check
  }

  /** The current entry of a path (deletions included), or undefined when it never held a value. */
  async headEntry (path: string): Promise<PathEntry | undefined> {
    this.#check()
    validatePath(path)
    const v = await quickGet(this.#backend, 'paths', pathKey(path))
    if (v === undefined) return undefined
    const known = this.#heads.get(path)
    if (known !== undefined && sameBytes(known.raw, v)) return known.entry
    const { seq, entry } = readHead(v)
    const e = { path, seq, ...entry }
    remember(this.#heads, path, { raw: v, entry: e })
    return e
  }

  /** The history of a path, newest first. */
  async * history (path: string, options: { limit?: number } = {}): AsyncIterable<PathEntry> {
    this.#check()
    validatePath(path)
    const range = historyRange(path)
    for await (const [key, value] of this.#backend.entries('history', { ...range, reverse: true, ...(options.limit === undefined ? {} : { limit: options.limit }) })) {
      const { seq } = parseHistoryKey(key)
      yield { path, seq, ...toStoredHistoryEntry(decodeNode(value, 'history entry')) }
    }
  }

  /** Every path with a value (or, with `deleted`, also deleted ones), in order, under `prefix`. */
  async * paths (options: PathsOptions = {}): AsyncIterable<PathEntry> {
    this.#check()
    const prefix = options.prefix
    if (prefix !== undefined && prefix !== '/') validatePath(prefix, 'prefix')
    const range = prefix === undefined || prefix === '/' ? {} : { gte: pathKey(prefix), lt: pathKey(prefix + '0') }
    for await (const [key, value] of this.#backend.entries('paths', range)) {
      let path: string | undefined
      let head: Head
      try {
        path = keyPath(key)
        if (prefix !== undefined && prefix !== '/' && path !== prefix && !path.startsWith(prefix + '/')) continue
        head = readHead(value)
      } catch (err) {
        // One garbled head is that path's problem: a listing that is told goes on without it.
        if (options.onDamaged === undefined || !isDdsError(err)) throw err
        options.onDamaged(path ?? `(path key ${hex(key).slice(0, 64)})`, err)
        continue
      }
      const { seq, entry } = head
      if (entry.evaluation === null && options.deleted !== true) continue
      yield { path, seq, ...entry }
    }
  }

  /** Append history entries for several paths in one atomic batch, with `pending` (content first). */
  async commit (updates: PathUpdate[], pending: Staged, options: CommitOptions = {}): Promise<CommitResult> {
    this.#check()
    for (const u of updates) validatePath(u.path)
    return await this.#backend.commit(updates, pending.ops, options)
  }
}

/**
 * Plan a commit against what a namespace holds now, without writing: a
 * writer that must refuse before it writes anything (a bundle import) learns
 * here what the commit would do, and which rule it breaks.
 */
export async function planAgainst (reader: NamespaceReader, updates: PathUpdate[], options: CommitOptions = {}): Promise<CommitPlan> {
  const reads = commitReads(updates)
  const heads = new Map<string, Head>()
  // Reads in slices: 100,000 pending reads of an import would all be kept alive at once.
  for (let i = 0; i < reads.heads.length; i += 1024) {
    await Promise.all(reads.heads.slice(i, i + 1024).map(async (path) => {
      const e = await reader.headEntry(path)
      if (e !== undefined) heads.set(path, { seq: e.seq, entry: e })
    }))
  }
  let under: Map<string, string[]>
  if (reads.under.length > ONE_SCAN) {
    const live: string[] = []
    for await (const e of reader.paths({ prefix: commonDirectory(reads.under) })) live.push(e.path)
    under = groupUnder(reads.under, live)
  } else {
    under = new Map()
    for (const path of reads.under) {
      const live: string[] = []
      for await (const e of reader.paths({ prefix: path })) if (e.path !== path) live.push(e.path)
      under.set(path, live)
    }
  }
  return planCommit({ head: (p) => heads.get(p), liveUnder: (p) => under.get(p) ?? [] }, updates, options, Date.now())
}

/** DDS_PATH_NOT_FOUND: `path` holds no value (in `where`, when not the store). */
export function pathNotFound (path: string, where?: string): DdsError {
  return new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${path} holds no value${where === undefined ? '' : ` in ${where}`}`, { data: { path } })
}
