/**
 * Garbage collection: delete the blocks that no retained history entry, no
 * tag and no memo entry reaches. Mark first (walk from the roots), then sweep (delete
 * index entries, then blocks, then files), so that at no point does an entry
 * point at a deleted block.
 */
import type { CID } from 'multiformats/cid'
import { ErrorCodes, isDdsError } from './errors.js'
import { historyKey } from './keys.js'
import { storedSize } from './footprint.js'
import { segmentOf } from './blocks.js'
import type { BatchOp } from './interface.js'
import { GC_SWEEP_LOCK, type Store } from './store.js'
import { entryLinks, linksOf, walkStore, type Link } from './dag.js'
import { tagsOf } from './tags.js'
import { planBudget } from './gc-budget.js'
import { checkBudget, type Budget } from './budget.js'
import { staleUses } from './usage.js'
import { staleCommitRecords } from './commit.js'

export interface GcOptions {
  /**
   * Keep only the newest N history entries of each path (N >= 1; deletions
   * count). Memo entries whose evaluation is no longer reachable from the
   * retained history are dropped too. Default: keep all history and every
   * memo entry, so gc only frees blocks nothing points at.
   */
  keepHistory?: number
  /**
   * Drop history entries until the store holds at most `maxSize` bytes, and
   * those unused for `maxAge` ms (store/gc-budget.ts); never a head, a tagged
   * entry or a recent one. Memo entries of dropped evaluations go with them.
   */
  budget?: Budget
  /** Compute what would be freed, change nothing. */
  dryRun?: boolean
  /**
   * Spare what a concurrent writer may still be committing: memo entries of
   * evaluations that ended less than this long ago, and blob files with no
   * index entry younger than this. Default one hour.
   */
  graceMs?: number
  /** Called as marking and sweeping advance. */
  onProgress?: (progress: { phase: 'mark' | 'sweep', done: number }) => void
}

/** What gc freed (or, with `dryRun`, would free). */
export interface GcReport {
  dryRun: boolean
  /** Blocks deleted, and the payload bytes freed (a block in a segment that other kept blocks share frees its bytes when the last goes). */
  blocks: number
  bytes: number
  /** History entries dropped (only with `keepHistory`). */
  history: number
  /** Memo entries dropped (only with `keepHistory`). */
  memo: number
  /** Blob files with no index entry removed, and their bytes. */
  files: number
  fileBytes: number
  /** Blocks kept. */
  kept: number
  /** With a budget: the store's bytes before and (planned) after, and whether the budget could be met. */
  budget?: { before: number, after: number, met: boolean }
}

const BATCH = 1000
const HOUR = 60 * 60 * 1000

/**
 * Collect garbage in a store. Takes the store's `gc` lock while it runs.
 *
 * @example
 * const report = await gc(store, { keepHistory: 3 })
 * console.log(`freed ${report.blocks} blocks, ${report.bytes} bytes`)
 */
export async function gc (store: Store, options: GcOptions = {}): Promise<GcReport> {
  const keep = options.keepHistory
  if (keep !== undefined && (!Number.isSafeInteger(keep) || keep < 1)) throw new RangeError('keepHistory must be an integer >= 1')
  const grace = options.graceMs ?? HOUR
  if (!Number.isFinite(grace) || grace < 0) throw new RangeError('graceMs must be a number >= 0')
  const dryRun = options.dryRun === true
  const progress = options.onProgress
  const budget = options.budget === undefined ? undefined : checkBudget(options.budget)

  const lock = await store.lock('gc')
  try {
    const now = Date.now()
    const plan = budget === undefined ? undefined : await planBudget(store, budget, { now, isRecent: async (e) => e !== null && grace > 0 && await recent(store, e, now - grace) })
    // ---- mark
    const marked = new Set<string>()
    const seen = new Set<string>()
    const evaluations = new Set<string>()
    let done = 0
    const mark = async (roots: Link[]): Promise<void> => {
      for await (const visit of walkStore(store, roots, { seen, readLeaves: false })) {
        const id = visit.link.cid.toString()
        marked.add(id)
        if (visit.link.role === 'evaluation') evaluations.add(id)
        if (visit.error !== undefined && visit.bytes !== undefined) {
          // A block that is not what its role says still links what it links: keep all of it.
          await mark(genericLinks(visit.link.cid, visit.bytes))
        }
        if (++done % 1000 === 0) progress?.({ phase: 'mark', done })
      }
    }

    const dropHistory: Uint8Array[] = []
    /** Mark what the retained history and the heads reach; `drop` collects the entries beyond keepHistory. */
    const markPaths = async (drop: Uint8Array[] | undefined): Promise<void> => {
      // A tagged entry is kept whatever its age, and its value with it.
      const tagged = new Set<string>()
      for (const tag of await tagsOf(store.backend)) {
        tagged.add(`${tag.path}@${tag.seq}`)
        await mark([{ cid: tag.evaluation, role: 'evaluation' }, { cid: tag.output, role: 'artifact' }])
      }
      for await (const head of store.paths({ deleted: true })) {
        let n = 0
        for await (const entry of store.history(head.path)) {
          const id = `${head.path}@${entry.seq}`
          if (((keep !== undefined && n >= keep) || plan?.drop.has(id) === true) && !tagged.has(id) && entry.seq !== head.seq) {
            drop?.push(historyKey(head.path, entry.seq))
            continue
          }
          n++
          await mark(entryLinks(entry))
        }
        // The head is its own copy of the last entry: it is always a root.
        await mark(entryLinks(head))
      }
    }
    await markPaths(dropHistory)

    const dropMemo: Uint8Array[] = []
    const memoRoots: Link[][] = []
    for await (const { key, entry } of store.memoEntries()) {
      const links: Link[] = [{ cid: entry.evaluation, role: 'evaluation' }, { cid: entry.output, role: 'artifact' }]
      if ((keep === undefined && plan === undefined) || evaluations.has(entry.evaluation.toString()) || (grace > 0 && await recent(store, entry.evaluation, now - grace))) {
        memoRoots.push(links)
      } else {
        dropMemo.push(key)
      }
    }
    for (const links of memoRoots) await mark(links)

    // A keep that hit an old evaluation may have committed a head pointing at it while
    // this marked (hits take no gc lock). Commits wait while this holds the sweep lock:
    // mark the paths again under it, and whatever any commit made reachable is kept.
    const sweepLock = await store.lock(GC_SWEEP_LOCK)
    try {
      await markPaths(undefined)

      // ---- sweep: index entries first, so nothing ever points at a deleted block
      const ops: BatchOp[] = [
        ...dropHistory.map((key) => ({ type: 'del' as const, space: 'history' as const, key })),
        ...dropMemo.map((key) => ({ type: 'del' as const, space: 'memo' as const, key })),
        // Last-use times of evaluations nothing keeps any more.
        ...await staleUses(store.backend, evaluations),
        // Records of commits sent through a leader a day ago or more (kept for a retry after a lost answer).
        ...await staleCommitRecords(store.backend, now - 24 * HOUR)
      ]
      if (!dryRun && ops.length > 0) await store.backend.batch(ops, { sync: true })

      let blocks = 0
      let bytes = 0
      let kept = 0
      const indexed = new Set<string>()
      // Segments hold the chunks of several blocks: one goes when no kept block is in it.
      const liveSegments = new Set<string>()
      const doomedSegments = new Map<string, number>()
      let doomed: CID[] = []
      const flush = async (): Promise<void> => {
        if (!dryRun && doomed.length > 0) await store.deleteBlocks(doomed)
        doomed = []
      }
      for await (const cid of store.blockCIDs()) {
        const id = cid.toString()
        indexed.add(id)
        const segment = await segmentOf(store.backend, cid)
        if (marked.has(id)) {
          kept++
          if (segment !== undefined) liveSegments.add(segment)
          continue
        }
        blocks++
        const size = await storedSize(store.backend, cid)
        // A block in a segment frees its bytes only with its segment (counted below).
        if (segment === undefined) bytes += size
        else doomedSegments.set(segment, (doomedSegments.get(segment) ?? 0) + size)
        doomed.push(cid)
        if (doomed.length >= BATCH) {
          await flush()
          progress?.({ phase: 'sweep', done: blocks })
        }
      }
      await flush()

      let files = 0
      let fileBytes = 0
      const blobs = store.backend.files
      if (blobs !== undefined) {
        for await (const f of blobs.list()) {
          if (indexed.has(f.name) || marked.has(f.name) || liveSegments.has(f.name)) continue
          const freed = doomedSegments.get(f.name)
          if (freed !== undefined) {
            // Every block in it was just deleted: it was complete (its entries were committed), so no grace.
            bytes += freed
            if (!dryRun) await blobs.remove(f.name)
            continue
          }
          if (now - f.mtimeMs < grace) continue
          files++
          fileBytes += f.size
          if (!dryRun) await blobs.remove(f.name)
        }
      }
      return { dryRun, blocks, bytes, history: dropHistory.length, memo: dropMemo.length, files, fileBytes, kept, ...(plan === undefined ? {} : { budget: { before: plan.before, after: plan.after, met: plan.met } }) }
    } finally {
      await sweepLock.release()
    }
  } finally {
    await lock.release()
  }
}

/** True when the evaluation ended after `since` (a run that may not have committed its paths yet). */
async function recent (store: Store, evaluation: CID, since: number): Promise<boolean> {
  try {
    const record = await store.getEvaluation(evaluation)
    return record.started + record.duration >= since
  } catch (err) {
    if (isDdsError(err, ErrorCodes.NOT_FOUND) || isDdsError(err, ErrorCodes.INTEGRITY)) return false
    throw err
  }
}

function genericLinks (cid: CID, bytes: Uint8Array): Link[] {
  try {
    return linksOf(cid, bytes, 'input')
  } catch (err) {
    if (isDdsError(err)) return []
    throw err
  }
}
