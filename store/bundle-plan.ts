/**
 * Import planning: what a valid bundle changes in a store, decided before
 * any of it is written. The path side is the commit planner's (through
 * planAgainst: overlap, same head, newer head); the memo side is the trust
 * model of imports. A memo answer is a claim ("this code on these inputs
 * gave this output") nobody can check without running the code, so an
 * import files answers only for the evaluations its paths' entries name and
 * the nested evaluations they made, never under a key this store already
 * answers (nor twice under one key), and none at all when `dataOnly`.
 */
import type { CID } from 'multiformats/cid'
import { memoEntryOf, memoKeysOf, memoPut } from './memo.js'
import { planAgainst } from './namespace.js'
import type { PlannedEntry } from './commit-plan.js'
import { sameCid, hex } from './util.js'
import type { BundleManifest, HistoryEntry } from './records.js'
import type { BlockIndex } from './block-index.js'
import type { Store } from './store.js'
import type { BatchOp, CommitResult, PathUpdate } from './interface.js'

/** The path side of an import. */
export interface ImportPlan {
  updates: PathUpdate[]
  /** Paths whose newest bundle entry will not become the head, and why. */
  kept: Map<string, 'newer' | 'same'>
}

const IMPORT_COMMIT = { onlyIfNewer: true } as const

/** The updates an import commits and which heads stay; throws DDS_OVERLAPPING_PATH (nothing written yet). */
export async function planImport (store: Store, m: BundleManifest): Promise<ImportPlan> {
  const updates: PathUpdate[] = []
  const last = new Map<string, number>()
  for (const path of Object.keys(m.paths)) {
    for (const e of m.paths[path] as HistoryEntry[]) {
      last.set(path, updates.length)
      const u: PathUpdate = { path, evaluation: e.evaluation, output: e.output, time: e.time, imported: true }
      if (e.hit === true) u.hit = true
      updates.push(u)
    }
  }
  const plan = await planAgainst(store, updates, IMPORT_COMMIT)
  const newestAppended = new Map<string, PlannedEntry>()
  for (const e of plan.entries) newestAppended.set(e.path, e)
  const kept = new Map<string, 'newer' | 'same'>()
  for (const [path, i] of last) {
    const newest = updates[i] as PathUpdate
    const appended = newestAppended.get(path)
    if (appended !== undefined && appended.entry.time === newest.time && sameCid(appended.entry.evaluation, newest.evaluation)) continue
    const head = await store.headEntry(path)
    kept.set(path, head !== undefined && sameCid(head.evaluation, newest.evaluation) ? 'same' : 'newer')
  }
  return { updates, kept }
}

/** The options the import's commit uses (the same the plan was made with). */
export const importCommitOptions = IMPORT_COMMIT

/** How many entries each path got, from a commit result. */
export function appendedPerPath (result: CommitResult): Map<string, number> {
  const out = new Map<string, number>()
  for (const a of result.appended) out.set(a.path, (out.get(a.path) ?? 0) + 1)
  return out
}

/**
 * The memo puts an import adds: for each evaluation the entries name (newest
 * entries first, so that a key two evaluations claim goes to the newer) and
 * each nested evaluation it called, its primary key and its key with loads
 * and files, where this store has no answer yet.
 */
export async function memoOps (store: Store, m: BundleManifest, index: BlockIndex): Promise<BatchOp[]> {
  const ops: BatchOp[] = []
  const claimed = new Set<string>()
  for (const cid of memoOrder(m, index)) {
    const record = index.record(cid)
    if (record === undefined) continue
    const entry = memoEntryOf(cid, record)
    for (const key of memoKeysOf(record)) {
      const k = hex(key)
      if (claimed.has(k)) continue
      claimed.add(k)
      if (await store.peekMemo(key) !== undefined) continue
      ops.push(memoPut(key, entry))
    }
  }
  return ops
}

/** The entries' evaluations, newest entries first, each followed by what it called (depth first). */
function memoOrder (m: BundleManifest, index: BlockIndex): CID[] {
  const out: CID[] = []
  const seen = new Set<string>()
  const entries: HistoryEntry[] = Object.values(m.paths).flat().sort((a, b) => b.time - a.time)
  for (const e of entries) {
    if (e.evaluation === null) continue
    const stack = [e.evaluation]
    while (stack.length > 0) {
      const c = stack.pop() as CID
      const id = c.toString()
      if (seen.has(id)) continue
      const record = index.record(c)
      if (record === undefined) continue
      seen.add(id)
      out.push(c)
      for (let i = record.calls.length - 1; i >= 0; i--) stack.push(record.calls[i] as CID)
    }
  }
  return out
}
