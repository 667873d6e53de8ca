/**
 * The local path commit: a read-modify-write of path heads, applied where the
 * database lives (in the process that holds it), one commit at a time. It
 * reads what the planner (store/commit-plan.ts) needs, lets it decide, and
 * appends the planned history entries with the operations staged before them
 * in one atomic batch. Re-applying the same commit changes nothing, so a
 * commit whose answer was lost can be retried.
 */
import { DdsError, ErrorCodes } from './errors.js'
import { decodeHead, encodeHead, historyKey, keyPath, pathKey } from './keys.js'
import { decodeNode, toStoredHistoryEntry } from './records.js'
import { commitReads, commonDirectory, groupUnder, ONE_SCAN, planCommit, pointsAt, type CommitPlan, type Head } from './commit-plan.js'
import { hex } from './util.js'
import type { BatchOp, CommitKV, CommitOptions, CommitResult, PathUpdate } from './interface.js'

export type { PathUpdate, CommitOptions, CommitResult, CommitKV } from './interface.js'

/** Decode a stored head (the value under a path key). */
export function readHead (value: Uint8Array): Head {
  const d = decodeHead(value)
  return { seq: d.seq, entry: toStoredHistoryEntry(decodeNode(d.entry, 'history entry')) }
}

/** The batch operations that append a plan's entries to the local history and move the heads. */
export function commitOps (plan: CommitPlan): BatchOp[] {
  const ops: BatchOp[] = []
  for (const e of plan.entries) {
    ops.push({ type: 'put', space: 'history', key: historyKey(e.path, e.seq), value: e.bytes })
    ops.push({ type: 'put', space: 'paths', key: pathKey(e.path), value: encodeHead(e.seq, e.bytes) })
  }
  return ops
}

/** How many heads a commit reads at once. */
const HEAD_READS = 4096

/**
 * Apply a commit. The caller serialises commits on one database (an
 * in-process mutex in the process that holds it).
 */
export async function applyCommit (kv: CommitKV, updates: PathUpdate[], staged: BatchOp[], options: CommitOptions = {}): Promise<CommitResult> {
  const reads = commitReads(updates)
  const heads = new Map<string, Head>()
  // One read of many keys per slice (an import names 100,000 paths: as many pending reads would all be kept alive at once).
  for (let i = 0; i < reads.heads.length; i += HEAD_READS) {
    const slice = reads.heads.slice(i, i + HEAD_READS)
    const values = await kv.getMany('paths', slice.map(pathKey))
    for (let j = 0; j < slice.length; j++) {
      const v = values[j]
      if (v !== undefined) heads.set(slice[j]!, readHead(v))
    }
  }
  let under: Map<string, string[]>
  if (reads.under.length > ONE_SCAN) {
    const dir = commonDirectory(reads.under)
    const live: string[] = []
    for await (const [key, value] of kv.entries('paths', { gt: pathKey(dir), lt: pathKey(dir === '/' ? '0' : dir + '0') })) {
      if (readHead(value).entry.evaluation !== null) live.push(keyPath(key))
    }
    under = groupUnder(reads.under, live)
  } else {
    under = new Map()
    for (const path of reads.under) {
      const live: string[] = []
      for await (const [key, value] of kv.entries('paths', { gt: pathKey(path + '/'), lt: pathKey(path + '0') })) {
        if (readHead(value).entry.evaluation !== null) live.push(keyPath(key))
      }
      under.set(path, live)
    }
  }
  const plan = planCommit({ head: (p) => heads.get(p), liveUnder: (p) => under.get(p) ?? [] }, updates, options, Date.now())
  const stagedBlocks = new Set<string>()
  for (const op of staged) if (op.type === 'put' && op.space === 'blocks') stagedBlocks.add(hex(op.key))
  // Checked once per block: the entries of a large import often share their evaluations and outputs.
  const present = new Set<string>()
  for (const e of plan.entries) await checkPresent(kv, stagedBlocks, present, e.path, e.entry)
  const ops = [...staged, ...commitOps(plan)]
  if (ops.length > 0) await kv.batch(ops, { sync: true })
  return plan.result
}

/**
 * A path must never point at data the store does not hold: the evaluation
 * and its output root must be in the store (or in this very batch). They can
 * be missing only when a garbage collection removed them after the caller
 * looked them up; the caller then runs again.
 */
async function checkPresent (kv: CommitKV, stagedBlocks: ReadonlySet<string>, present: Set<string>, path: string, u: Pick<PathUpdate, 'evaluation' | 'output'>): Promise<void> {
  for (const cid of pointsAt(u)) {
    const k = hex(cid.bytes)
    // A set of the batch's block keys: a bundle of many paths commits many entries with a large batch.
    if (stagedBlocks.has(k) || present.has(k)) continue
    present.add(k)
    if (await kv.get('blocks', cid.bytes) === undefined) {
      throw new DdsError(ErrorCodes.NOT_FOUND, `${path} cannot point at ${cid}: it is no longer in the store (collected meanwhile); run again`, { data: { path, cid: cid.toString() } })
    }
  }
}
