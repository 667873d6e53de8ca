/**
 * The commit planner: the namespace rules, written once, for every writer
 * (the local commit, a remote's path logs, bundle import). Pure: it reads
 * heads from a state the caller gathered (`commitReads` says which) and
 * returns the history entries to append and the result, without I/O. The
 * rules: every path valid; no live path a directory of another, in the store
 * or within the batch (the overlap rule); an update to the evaluation the
 * head already holds is skipped (unless `force`); with `onlyIfNewer`, an
 * update not newer than the head is skipped.
 */
import type { CID } from 'multiformats/cid'
import { isMoment, type HistoryEntry } from './records.js'
import { encodeHistoryEntry } from './canonical.js'
import { ancestors, overlapError, validatePath } from './paths.js'

import { sameCid } from './util.js'
import type { CommitOptions, CommitResult, PathUpdate } from './interface.js'

/** A path's head as a writer read it: its sequence number and newest entry. */
export interface Head {
  seq: number
  entry: HistoryEntry
}

/** What the planner reads: heads as they stand before the commit. */
export interface CommitState {
  /** The head of a path, or undefined when it never held a value. */
  head: (path: string) => Head | undefined
  /** The paths strictly under `path` (`path/…`) whose head holds a value. */
  liveUnder: (path: string) => Iterable<string>
}

/** One history entry to append, with its encoded bytes (the same bytes in every log). */
export interface PlannedEntry {
  path: string
  seq: number
  entry: HistoryEntry
  readonly bytes: Uint8Array
}

/** What a commit will do. */
export interface CommitPlan {
  entries: PlannedEntry[]
  result: CommitResult
}

/**
 * The reads a plan needs: the heads of `heads` and the live paths under each
 * of `under`.
 */
export function commitReads (updates: readonly PathUpdate[]): { heads: string[], under: string[] } {
  const heads = new Set<string>()
  const under = new Set<string>()
  for (const u of updates) {
    heads.add(u.path)
    if (u.evaluation === null) continue
    for (const a of ancestors(u.path)) heads.add(a)
    under.add(u.path)
  }
  return { heads: [...heads], under: [...under] }
}

/**
 * Whether `u` changes nothing given the current head: the head already holds
 * the same evaluation (unless `force`), or, with `onlyIfNewer`, the head is
 * as new or newer.
 */
export function isNoop (head: HistoryEntry | undefined, u: PathUpdate, time: number, options: CommitOptions = {}): boolean {
  if (head === undefined) return false
  if (options.force !== true && sameCid(head.evaluation, u.evaluation)) return true
  return options.onlyIfNewer === true && head.time >= time
}

/** The history entry an update appends at `time`. */
export function historyEntry (u: PathUpdate, time: number): HistoryEntry {
  const entry: HistoryEntry = { time, evaluation: u.evaluation, output: u.evaluation === null ? null : u.output }
  if (u.hit === true) entry.hit = true
  if (u.imported === true) entry.imported = true
  return entry
}

/**
 * Plan a commit: the entries to append, in update order, and the result.
 * Updates without a time get `now`. Throws DDS_PATH_INVALID or
 * DDS_OVERLAPPING_PATH, or a RangeError for a time that is not a moment
 * (see isMoment: it could not be read back), and then nothing is to be written.
 *
 * @example
 * const { heads, under } = commitReads(updates)
 * const plan = planCommit(stateFrom(heads, under), updates, {}, Date.now())
 */
export function planCommit (state: CommitState, updates: readonly PathUpdate[], options: CommitOptions, now: number): CommitPlan {
  for (const u of updates) {
    validatePath(u.path)
    if (u.time !== undefined && !isMoment(u.time)) throw new RangeError(`the time of an update of ${u.path} is not a whole number of ms from 1970 that a date can hold: ${String(u.time)}`)
  }
  const latest = new Map<string, PathUpdate>()
  for (const u of updates) latest.set(u.path, u)
  checkBatchOverlap(latest)
  const heads = new Map<string, Head | undefined>()
  const headOf = (path: string): Head | undefined => heads.has(path) ? heads.get(path) : state.head(path)
  const alive = (path: string): boolean => {
    const u = latest.get(path)
    return u !== undefined ? u.evaluation !== null : (headOf(path)?.entry.evaluation ?? null) !== null
  }
  const plan: CommitPlan = { entries: [], result: { appended: [], skipped: [] } }
  for (const u of updates) {
    const head = headOf(u.path)
    const time = u.time ?? now
    if (isNoop(head?.entry, u, time, options)) {
      plan.result.skipped.push(u.path)
      continue
    }
    if (u.evaluation !== null) {
      for (const a of ancestors(u.path)) if (alive(a)) throw overlapError(a, u.path)
      for (const p of state.liveUnder(u.path)) {
        if (latest.get(p)?.evaluation !== null) throw overlapError(u.path, p)
      }
    }
    const entry = historyEntry(u, time)
    const seq = (head?.seq ?? 0) + 1
    heads.set(u.path, { seq, entry })
    plan.entries.push(planned(u.path, seq, entry))
    plan.result.appended.push({ path: u.path, seq })
  }
  return plan
}

/** A planned entry whose bytes are encoded when first asked for: a plan made only to learn what a commit would do never needs them. */
function planned (path: string, seq: number, entry: HistoryEntry): PlannedEntry {
  let bytes: Uint8Array | undefined
  return {
    path,
    seq,
    entry,
    get bytes () {
      bytes ??= encodeHistoryEntry(entry)
      return bytes
    }
  }
}

/** No two live paths of one batch overlap (only the last update of each path counts). */
function checkBatchOverlap (latest: ReadonlyMap<string, PathUpdate>): void {
  for (const u of latest.values()) {
    if (u.evaluation === null) continue
    for (const a of ancestors(u.path)) {
      const other = latest.get(a)
      if (other !== undefined && other.evaluation !== null) throw overlapError(a, u.path)
    }
  }
}

/**
 * Above this many paths, the live paths under them are found by one scan
 * rather than one scan each (an import of many paths would otherwise open
 * an iterator per path, twice).
 */
export const ONE_SCAN = 32

/** The directory every one of `paths` is in or is (`/` when they share none). */
export function commonDirectory (paths: readonly string[]): string {
  // Compared as strings, a segment dropped at a time (no split per path: an import names 100,000).
  let common: string | undefined
  for (const p of paths) {
    if (common === undefined) {
      common = p
      continue
    }
    while (common !== '' && !(p.startsWith(common) && (p.length === common.length || p.charCodeAt(common.length) === 47))) {
      common = common.slice(0, common.lastIndexOf('/'))
    }
  }
  return common === undefined || common === '' ? '/' : common
}

/** The live paths a scan found, grouped by the paths of `under` they are strictly below. */
export function groupUnder (under: readonly string[], live: Iterable<string>): Map<string, string[]> {
  // Only the paths that have some: an import of many new paths finds none under most.
  const wanted = new Set(under)
  const out = new Map<string, string[]>()
  for (const p of live) {
    for (const a of ancestors(p)) {
      if (!wanted.has(a)) continue
      const list = out.get(a)
      if (list === undefined) out.set(a, [p])
      else list.push(p)
    }
  }
  return out
}

/** The CIDs an update or entry makes a path point at, which must be in the store. */
export function pointsAt (u: Pick<PathUpdate, 'evaluation' | 'output'>): CID[] {
  return [u.evaluation, u.output].filter((c): c is CID => c !== null)
}
