/**
 * The path commit: a read-modify-write of path heads, applied where the
 * database lives (in the process that holds it), one commit at a time.
 * Appends history entries for several paths and the operations staged before
 * them in one atomic batch. Re-applying the same commit changes nothing, so a
 * commit whose answer was lost can be retried.
 */
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { decodeHead, encodeHead, historyKey, keyPath, pathKey } from './keys.js'
import { decodeNode, encodeNode, toHistoryEntry, type HistoryEntry } from './records.js'
import { ancestors, validatePath } from './paths.js'
import type { BatchOp, CommitKV, CommitOptions, CommitResult, PathUpdate } from './interface.js'

export type { PathUpdate, CommitOptions, CommitResult, CommitKV } from './interface.js'

type StagedOp = BatchOp

/**
 * Apply a commit. The caller serialises commits on one database (an
 * in-process mutex in the process that holds it).
 */
export async function applyCommit (kv: CommitKV, updates: PathUpdate[], staged: StagedOp[], options: CommitOptions = {}): Promise<CommitResult> {
  for (const u of updates) validatePath(u.path)
  const ops: StagedOp[] = [...staged]
  const result: CommitResult = { appended: [], skipped: [] }
  const heads = new Map<string, { seq: number, entry: HistoryEntry | undefined }>()
  const headOf = async (path: string): Promise<{ seq: number, entry: HistoryEntry | undefined }> => {
    const known = heads.get(path)
    if (known !== undefined) return known
    const v = await kv.get('paths', pathKey(path))
    let h: { seq: number, entry: HistoryEntry | undefined } = { seq: 0, entry: undefined }
    if (v !== undefined) {
      const d = decodeHead(v)
      h = { seq: d.seq, entry: toHistoryEntry(decodeNode(d.entry, 'history entry')) }
    }
    heads.set(path, h)
    return h
  }
  const latest = (p: string): PathUpdate | undefined => {
    let found: PathUpdate | undefined
    for (const u of updates) if (u.path === p) found = u
    return found
  }
  checkBatchOverlap(updates, latest)
  for (const u of updates) {
    const head = await headOf(u.path)
    const time = u.time ?? Date.now()
    if (options.force !== true && head.entry !== undefined && sameCid(head.entry.evaluation, u.evaluation)) {
      result.skipped.push(u.path)
      continue
    }
    if (options.onlyIfNewer === true && head.entry !== undefined && head.entry.time >= time) {
      result.skipped.push(u.path)
      continue
    }
    if (u.evaluation !== null) {
      await checkOverlap(kv, u.path, latest, headOf)
      await checkPresent(kv, staged, u)
    }
    const entry: HistoryEntry = { time, evaluation: u.evaluation, output: u.evaluation === null ? null : u.output }
    if (u.hit === true) entry.hit = true
    if (u.imported === true) entry.imported = true
    const bytes = encodeNode(entry)
    const seq = head.seq + 1
    heads.set(u.path, { seq, entry })
    ops.push({ type: 'put', space: 'history', key: historyKey(u.path, seq), value: bytes })
    ops.push({ type: 'put', space: 'paths', key: pathKey(u.path), value: encodeHead(seq, bytes) })
    result.appended.push({ path: u.path, seq })
  }
  if (ops.length > 0) await kv.batch(ops, { sync: true })
  return result
}

async function checkOverlap (
  kv: CommitKV,
  path: string,
  latest: (p: string) => PathUpdate | undefined,
  headOf: (p: string) => Promise<{ seq: number, entry: HistoryEntry | undefined }>
): Promise<void> {
  for (const a of ancestors(path)) {
    const u = latest(a)
    const alive = u !== undefined ? u.evaluation !== null : ((await headOf(a)).entry?.evaluation ?? null) !== null
    if (alive) throw overlapError(a, path)
  }
  for await (const [key, value] of kv.entries('paths', { gt: pathKey(path + '/'), lt: pathKey(path + '0') })) {
    const p = keyPath(key)
    const u = latest(p)
    const alive = u !== undefined ? u.evaluation !== null : toHistoryEntry(decodeNode(decodeHead(value).entry, 'history entry')).evaluation !== null
    if (alive) throw overlapError(path, p)
  }
}

/**
 * A path must never point at data the store does not hold: the evaluation
 * and its output root must be in the store (or in this very batch). They can
 * be missing only when a garbage collection removed them after the caller
 * looked them up; the caller then runs again.
 */
async function checkPresent (kv: CommitKV, staged: StagedOp[], u: PathUpdate): Promise<void> {
  for (const cid of [u.evaluation, u.output]) {
    if (cid === null) continue
    if (staged.some((op) => op.type === 'put' && op.space === 'blocks' && bytesEqual(op.key, cid.bytes))) continue
    if (await kv.get('blocks', cid.bytes) === undefined) {
      throw new DdsError(ErrorCodes.NOT_FOUND, `${u.path} cannot point at ${cid}: it is no longer in the store (collected meanwhile); run again`, { data: { path: u.path, cid: cid.toString() } })
    }
  }
}

function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

function checkBatchOverlap (updates: PathUpdate[], latest: (p: string) => PathUpdate | undefined): void {
  for (const u of updates) {
    if (latest(u.path) !== u || u.evaluation === null) continue
    for (const a of ancestors(u.path)) {
      const other = latest(a)
      if (other !== undefined && other.evaluation !== null) throw overlapError(a, u.path)
    }
  }
}

function overlapError (dir: string, path: string): DdsError {
  return new DdsError(ErrorCodes.OVERLAPPING_PATH,
    `paths ${dir} and ${path} overlap: ${dir} would be a directory of ${path} (delete one of them first)`,
    { data: { path, other: dir } })
}

/** True when two optional CIDs are both absent or equal. */
export function sameCid (a: CID | null | undefined, b: CID | null | undefined): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null)
  return a.equals(b)
}
