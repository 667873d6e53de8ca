/**
 * The local path commit: a read-modify-write of path heads, applied where the
 * database lives (in the process that holds it), one commit at a time. It
 * reads what the planner (store/commit-plan.ts) needs, lets it decide, and
 * appends the planned history entries with the operations staged before them
 * in one atomic batch. Re-applying the same commit changes nothing, so a
 * commit whose answer was lost can be retried; a commit sent with a token
 * records what it did in the same batch, and its retry is answered with that.
 */
import { DdsError, ErrorCodes } from './errors.js'
import { decodeHead, encodeHead, historyKey, keyPath, pathKey } from './keys.js'
import { decodeNode, toStoredHistoryEntry } from './records.js'
import { commitReads, commonDirectory, groupUnder, ONE_SCAN, planCommit, pointsAt, type CommitPlan, type Head } from './commit-plan.js'
import { hex } from './util.js'
import type { Backend, BatchOp, CommitKV, CommitOptions, CommitResult, PathUpdate } from './interface.js'

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
  const token = tokenKey(options.token)
  if (token !== undefined) {
    // A retry of a commit already applied: what it did then, not a second (empty) application.
    const done = doneResult(await kv.get('meta', token))
    if (done !== undefined) return done
  }
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
  if (token !== undefined && ops.length > 0) ops.push({ type: 'put', space: 'meta', key: token, value: new TextEncoder().encode(JSON.stringify({ time: Date.now(), result: plan.result })) })
  for (const old of Array.isArray(options.forget) ? options.forget.slice(0, FORGET_AT_ONCE) : []) {
    const key = tokenKey(old)
    if (key !== undefined && old !== options.token) ops.push({ type: 'del', space: 'meta', key })
  }
  if (ops.length > 0) await kv.batch(ops, { sync: true })
  return plan.result
}

/** Where the record of a commit with this token is kept; undefined for anything but 32 lowercase hex digits. */
export function tokenKey (token: unknown): Uint8Array | undefined {
  return typeof token === 'string' && /^[0-9a-f]{32}$/.test(token) ? new TextEncoder().encode(`${COMMIT_TOKEN}${token}`) : undefined
}

/** The key prefix of commit records in the meta space. */
export const COMMIT_TOKEN = 'commit/'

/** At most this many earlier records go with one commit. */
export const FORGET_AT_ONCE = 256

/** The result a commit record holds, when it is well-formed (a damaged one is ignored: applying again changes nothing). */
function doneResult (bytes: Uint8Array | undefined): CommitResult | undefined {
  if (bytes === undefined) return undefined
  try {
    const r = (JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as { result?: unknown }).result as CommitResult
    const ok = r !== null && typeof r === 'object' && Array.isArray(r.appended) && Array.isArray(r.skipped) &&
      r.appended.every((a) => a !== null && typeof a === 'object' && typeof a.path === 'string' && Number.isSafeInteger(a.seq)) &&
      r.skipped.every((x) => typeof x === 'string')
    return ok ? { appended: r.appended.map((a) => ({ path: a.path, seq: a.seq })), skipped: [...r.skipped] } : undefined
  } catch {
    return undefined
  }
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

/**
 * Deletions of the commit records written before `before` (ms since 1970):
 * a process leaves the records of its last commits behind, and their
 * retries are long over. `dds gc` runs this.
 *
 * @example
 * ops.push(...await staleCommitRecords(store.backend, Date.now() - 24 * 3600 * 1000))
 */
export async function staleCommitRecords (backend: Pick<Backend, 'entries'>, before: number): Promise<BatchOp[]> {
  const prefix = new TextEncoder().encode(COMMIT_TOKEN)
  const end = prefix.slice()
  end[end.length - 1]!++
  const ops: BatchOp[] = []
  for await (const [key, value] of backend.entries('meta', { gte: prefix, lt: end })) {
    let time: unknown
    try {
      time = (JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(value)) as { time?: unknown }).time
    } catch {
      time = undefined
    }
    if (typeof time !== 'number' || time < before) ops.push({ type: 'del', space: 'meta', key })
  }
  return ops
}
