/**
 * `verifyStore`: checks every block against its CID and every path, history
 * and memo entry against the DAG schema (store/dag.ts), and reports what it
 * found as problems with their evidence.
 */
import { CID } from 'multiformats/cid'
import { DdsError, isDdsError } from './errors.js'
import { decodeNode, toStoredHistoryEntry, toMemoEntry, type HistoryEntry, type MemoEntry } from './records.js'
import { entryLinks, type Link } from './dag.js'
import { BlockIndex, type Problem } from './block-index.js'
import { historyRange, keyPath, parseHistoryKey } from './keys.js'
import { segmentOf } from './blocks.js'
import { readHead } from './commit.js'
import { memoMismatch } from './memo.js'
import { validatePath } from './paths.js'
import { hex, sameCid } from './util.js'
import type { Store } from './store.js'

export type { Problem, ProblemKind } from './block-index.js'

/** One named step of `verifyStore`. */
export interface VerifyStep {
  name: 'blocks' | 'links' | 'paths' | 'memo'
  /** Blocks, links, history entries or memo entries checked. */
  checked: number
  problems: number
  ms: number
}

/** What `verifyStore` found. */
export interface VerifyReport {
  ok: boolean
  steps: VerifyStep[]
  problems: Problem[]
  blocks: number
  bytes: number
  /** Blob files with no index entry (left by interrupted writes; `gc` removes them). Not a problem. */
  orphanFiles: number
}

export interface VerifyOptions {
  /** Called as work advances (blocks re-hashed, bytes read). */
  onProgress?: (progress: { step: string, done: number, bytes: number, total?: number }) => void
}

/**
 * Check a whole store, in named steps:
 * - `blocks`: every block re-hashed against its CID (blob files included);
 * - `links`: every link an evaluation record or an artifact root requires
 *   resolves to a well-formed block (chunks of the right size);
 * - `paths`: every path's head is its last history entry, and every history
 *   entry reaches complete data;
 * - `memo`: every memo entry reaches complete data.
 *
 * @example
 * const report = await verifyStore(store)
 * if (!report.ok) for (const p of report.problems) console.error(p.problem, p.cid?.toString())
 */
export async function verifyStore (store: Store, options: VerifyOptions = {}): Promise<VerifyReport> {
  const problems: Problem[] = []
  const steps: VerifyStep[] = []
  const index = new BlockIndex()
  const progress = options.onProgress

  // blocks
  let t0 = performance.now()
  let blocks = 0
  let bytes = 0
  let found = 0
  const known = new Set<string>()
  for await (const key of store.backend.keys('blocks')) {
    blocks++
    let cid: CID
    try {
      cid = CID.decode(key)
    } catch {
      problems.push({ step: 'blocks', problem: 'malformed', space: 'blocks', key: hex(key), message: `the block index holds a key that is not a CID (${hex(key).slice(0, 32)})` })
      found++
      continue
    }
    known.add(cid.toString())
    const segment = await segmentOf(store.backend, cid)
    if (segment !== undefined) known.add(segment)
    let data: Uint8Array | undefined
    try {
      data = await store.getBlock(cid, { verify: 'full' })
    } catch (err) {
      if (!isDdsError(err)) throw err
      problems.push({ step: 'blocks', problem: 'integrity', cid, message: err.message })
      found++
      continue
    }
    if (data === undefined) continue
    bytes += data.byteLength
    index.add(cid, data)
    progress?.({ step: 'blocks', done: blocks, bytes })
  }
  let orphanFiles = 0
  const files = store.backend.files
  if (files !== undefined) {
    for await (const f of files.list()) if (!known.has(f.name)) orphanFiles++
  }
  steps.push({ name: 'blocks', checked: blocks, problems: found, ms: performance.now() - t0 })

  // links: every node in the role its own shape says it has
  t0 = performance.now()
  const roots: Link[] = []
  for (const [cid] of index.records()) roots.push({ cid, role: 'evaluation' })
  for (const cid of index.artifacts()) roots.push({ cid, role: 'artifact' })
  const linked = index.check(roots, 'links')
  // Blocks that failed the hash check are absent from the index: do not report them twice.
  const linkProblems = linked.problems.filter((p) => !(p.problem === 'missing' && p.cid !== undefined && known.has(p.cid.toString())))
  problems.push(...linkProblems)
  steps.push({ name: 'links', checked: linked.reached.size, problems: linkProblems.length, ms: performance.now() - t0 })

  // Path and memo entries are checked in one walk: their closures share most blocks.
  interface Root { link: Link, step: 'paths' | 'memo', path?: string, seq?: number, memo?: string }
  const entryRoots: Root[] = []

  // paths: read from the key spaces directly, so that one undecodable entry is reported and the walk goes on
  t0 = performance.now()
  let checked = 0
  let pathProblems = 0
  const pathProblem = (p: Omit<Problem, 'step'>): void => { problems.push({ step: 'paths', ...p }); pathProblems++ }
  for await (const [key, value] of store.backend.entries('paths')) {
    let path: string
    let head: (HistoryEntry & { seq: number }) | undefined
    try {
      path = keyPath(key)
      validatePath(path)
    } catch (err) {
      if (!isDdsError(err)) throw err
      pathProblem({ problem: 'malformed', space: 'paths', key: hex(key), message: `a path key is not a valid path: ${err.message}` })
      continue
    }
    try {
      const h = readHead(value)
      head = { seq: h.seq, ...h.entry }
    } catch (err) {
      if (!isDdsError(err)) throw err
      pathProblem({ problem: 'malformed', space: 'paths', key: hex(key), path, message: `the head of ${path} cannot be read: ${err.message}` })
    }
    let last: (HistoryEntry & { seq: number }) | undefined
    for await (const [hkey, hvalue] of store.backend.entries('history', { ...historyRange(path), reverse: true })) {
      checked++
      let entry: HistoryEntry & { seq: number }
      try {
        entry = { seq: parseHistoryKey(hkey).seq, ...toStoredHistoryEntry(decodeNode(hvalue, 'history entry')) }
      } catch (err) {
        if (!isDdsError(err)) throw err
        pathProblem({ problem: 'malformed', space: 'history', key: hex(hkey), path, message: `a history entry of ${path} cannot be read: ${err.message}` })
        continue
      }
      last ??= entry
      for (const link of entryLinks(entry)) entryRoots.push({ link, step: 'paths', path, seq: entry.seq })
      if (entry.evaluation !== null && entry.output !== null) {
        const record = index.record(entry.evaluation)
        const named = entry.output.toString()
        if (record !== undefined && record.output.toString() !== named) {
          pathProblem({ problem: 'inconsistent', cid: entry.evaluation, path, seq: entry.seq, message: `${path}@${entry.seq} names output ${named}, its evaluation produced ${record.output.toString()}` })
        }
      }
    }
    if (head !== undefined && (last === undefined || last.seq !== head.seq || !sameEntry(last, head))) {
      pathProblem({ problem: 'inconsistent', space: 'paths', key: hex(key), path, seq: head.seq, message: `the head of ${path} is not its last history entry` })
    }
  }
  const pathsMs = performance.now() - t0

  // memo: each entry must decode, agree with its evaluation record (memoMismatch) and reach complete data
  t0 = performance.now()
  let memoChecked = 0
  let memoProblems = 0
  for await (const [key, value] of store.backend.entries('memo')) {
    memoChecked++
    const memo = hex(key)
    let entry: MemoEntry
    try {
      entry = toMemoEntry(decodeNode(value, 'memo entry'))
    } catch (err) {
      if (!(err instanceof DdsError)) throw err
      problems.push({ step: 'memo', problem: 'malformed', space: 'memo', key: memo, memo, message: `memo entry ${memo} cannot be read: ${err.message}` })
      memoProblems++
      continue
    }
    const record = index.record(entry.evaluation)
    const why = record === undefined ? undefined : memoMismatch(key, entry, record)
    if (why !== undefined) {
      problems.push({ step: 'memo', problem: 'inconsistent', space: 'memo', key: memo, memo, cid: entry.evaluation, message: `memo entry ${memo} does not agree with its evaluation: ${why}` })
      memoProblems++
      continue
    }
    entryRoots.push({ link: { cid: entry.evaluation, role: 'evaluation' }, step: 'memo', memo })
    entryRoots.push({ link: { cid: entry.output, role: 'artifact' }, step: 'memo', memo })
  }
  const { incomplete } = index.check(entryRoots.map((r) => r.link), 'entries')
  for (const r of entryRoots) {
    if (!incomplete(r.link)) continue
    const what = r.path !== undefined ? `${r.path}@${r.seq ?? 0}` : `memo entry ${r.memo ?? ''}`
    const { link: _link, ...where } = r
    problems.push({ ...where, ...(r.memo === undefined ? {} : { space: 'memo' as const, key: r.memo }), problem: 'incomplete', cid: r.link.cid, role: r.link.role, message: `${what} reaches missing or corrupt data (${r.link.role} ${r.link.cid.toString()})` })
    if (r.step === 'paths') pathProblems++
    else memoProblems++
  }
  steps.push({ name: 'paths', checked, problems: pathProblems, ms: pathsMs })
  steps.push({ name: 'memo', checked: memoChecked, problems: memoProblems, ms: performance.now() - t0 })

  return { ok: problems.length === 0, steps, problems, blocks, bytes, orphanFiles }
}

function sameEntry (a: HistoryEntry, b: HistoryEntry): boolean {
  return a.time === b.time && sameCid(a.evaluation, b.evaluation) && sameCid(a.output, b.output) && (a.hit === true) === (b.hit === true)
}
