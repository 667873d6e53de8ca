/**
 * What the Merkle DAG of a store requires, and `verifyStore`, which checks it.
 *
 * A block is reached in a role: an evaluation record links its code manifest,
 * its output artifact, the evaluations it called, the evaluations and artifacts
 * it loaded (all required) and its inputs (optional: only small arguments are
 * stored, for display). An artifact root links its chunks, each of a known
 * size. The same rules serve export (what a bundle must carry), import (what a
 * bundle must be complete for), gc (what is reachable) and verify.
 */
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes, isDdsError } from './errors.js'
import { DAG_CBOR_CODE, RAW_CODE } from './hash.js'
import { decodeNode, toArtifactRoot, toCodeManifest, toEvaluationRecord, type EvaluationRecord, type HistoryEntry } from './records.js'
import type { Store } from './store.js'

/** How a block is reached, which decides what it must be and what it links. */
export type Role = 'evaluation' | 'manifest' | 'artifact' | 'chunk' | 'input'

/** A link to a block in a role; `size` is the byte size a chunk must have. */
export interface Link {
  cid: CID
  role: Role
  size?: number
}

/** Roles whose blocks must be present; `input` blocks are kept only for small arguments. */
export function required (role: Role): boolean {
  return role !== 'input'
}

function malformed (cid: CID, role: Role, detail: string): DdsError {
  return new DdsError(ErrorCodes.INTEGRITY, `block ${cid} is not a valid ${role}: ${detail}`, { data: { cid: cid.toString(), role } })
}

/** The links of an evaluation record, by role. */
export function recordLinks (record: EvaluationRecord): Link[] {
  const out: Link[] = [{ cid: record.code, role: 'manifest' }, { cid: record.output, role: 'artifact' }]
  for (const c of record.calls) out.push({ cid: c, role: 'evaluation' })
  for (const l of record.loads) {
    if (l.evaluation !== null) out.push({ cid: l.evaluation, role: 'evaluation' })
    out.push({ cid: l.output, role: 'artifact' })
  }
  for (const c of record.inputs) out.push({ cid: c, role: 'input' })
  return out
}

/** The links of a history entry (nothing for a deletion). */
export function entryLinks (entry: HistoryEntry): Link[] {
  const out: Link[] = []
  if (entry.evaluation !== null) out.push({ cid: entry.evaluation, role: 'evaluation' })
  if (entry.output !== null) out.push({ cid: entry.output, role: 'artifact' })
  return out
}

/** Every CID inside a decoded dag-cbor value, without recursion (values may be hostile). */
function allLinks (root: unknown): CID[] {
  const out: CID[] = []
  const stack: unknown[] = [root]
  while (stack.length > 0) {
    const v = stack.pop()
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) continue
    const c = CID.asCID(v)
    if (c !== null) {
      out.push(c)
      continue
    }
    if (Array.isArray(v)) for (const x of v) stack.push(x)
    else for (const x of Object.values(v)) stack.push(x)
  }
  return out
}

/**
 * The links of a block read in a role. Throws DDS_INTEGRITY when the block is
 * not what the role requires (wrong codec, not decodable, wrong shape).
 *
 * @example
 * linksOf(cid, bytes, 'artifact') // [{ cid: chunk0, role: 'chunk', size: 1048576 }, ...]
 */
export function linksOf (cid: CID, bytes: Uint8Array, role: Role): Link[] {
  if (role === 'chunk') {
    if (cid.code !== RAW_CODE) throw malformed(cid, role, 'not a raw block')
    return []
  }
  if (role === 'input') {
    if (cid.code !== DAG_CBOR_CODE) return []
    return allLinks(decode(cid, bytes, role)).map((c) => ({ cid: c, role: 'input' as const }))
  }
  if (cid.code !== DAG_CBOR_CODE) throw malformed(cid, role, 'not a dag-cbor block')
  return nodeLinks(cid, decode(cid, bytes, role), role)
}

function decode (cid: CID, bytes: Uint8Array, role: Role): unknown {
  try {
    return decodeNode(bytes, role)
  } catch (err) {
    // Hostile nesting can exhaust the decoder's stack; that is a malformed block too.
    throw malformed(cid, role, err instanceof Error ? err.message : 'not dag-cbor')
  }
}

function nodeLinks (cid: CID, node: unknown, role: Role): Link[] {
  try {
    switch (role) {
      case 'evaluation':
        return recordLinks(toEvaluationRecord(node))
      case 'manifest':
        toCodeManifest(node)
        return []
      case 'artifact': {
        const root = toArtifactRoot(node)
        const chunks = root.chunks ?? []
        const chunkSize = root.chunkSize ?? 0
        return chunks.map((c, i) => ({ cid: c, role: 'chunk' as const, size: i < chunks.length - 1 ? chunkSize : root.size - chunkSize * (chunks.length - 1) }))
      }
      default:
        return allLinks(node).map((c) => ({ cid: c, role: 'input' as const }))
    }
  } catch (err) {
    if (isDdsError(err)) throw malformed(cid, role, err.message)
    throw err
  }
}

/** What was wrong with a block or an entry. */
export type ProblemKind =
  /** A required block is absent. */
  | 'missing'
  /** A block does not hash to its CID, or its stored form is unreadable. */
  | 'integrity'
  /** A block is not what its role requires (codec, encoding, shape). */
  | 'malformed'
  /** A chunk does not have the size its artifact root says. */
  | 'wrong-size'
  /** A path's head is not its last history entry, or an entry's output is not its evaluation's output. */
  | 'inconsistent'
  /** A path entry or memo entry reaches a missing, corrupt or malformed block. */
  | 'incomplete'

/** One problem found, with its evidence. */
export interface Problem {
  /** The verify step that found it. */
  step: string
  problem: ProblemKind
  cid?: CID
  role?: Role
  /** The block that links to `cid`. */
  from?: CID
  path?: string
  seq?: number
  /** Memo key, hex. */
  memo?: string
  message: string
}

interface Node {
  size: number
  /** Links per role that parsed; an error for a role that did not. */
  roles: Map<Role, Link[] | DdsError>
}

/**
 * The blocks of a store or a bundle as far as their links go: sizes and parsed
 * links, without their bytes. Checks that what a set of roots reaches is
 * present, well formed and of the right sizes, without recursion.
 */
export class BlockIndex {
  readonly #nodes = new Map<string, Node>()
  readonly #records = new Map<string, EvaluationRecord>()
  readonly #artifacts = new Set<string>()

  get size (): number {
    return this.#nodes.size
  }

  has (cid: CID): boolean {
    return this.#nodes.has(cid.toString())
  }

  /** Record a block (its bytes must already be verified against its CID). */
  add (cid: CID, bytes: Uint8Array): void {
    const roles = new Map<Role, Link[] | DdsError>()
    if (cid.code === DAG_CBOR_CODE) {
      let node: unknown
      try {
        node = decode(cid, bytes, 'input')
      } catch (err) {
        const e = err as DdsError
        for (const r of ['evaluation', 'manifest', 'artifact', 'chunk', 'input'] as const) roles.set(r, e)
        this.#nodes.set(cid.toString(), { size: bytes.byteLength, roles })
        return
      }
      for (const r of ['evaluation', 'manifest', 'artifact', 'input'] as const) {
        try {
          roles.set(r, nodeLinks(cid, node, r))
        } catch (err) {
          if (!isDdsError(err)) throw err
          roles.set(r, err)
        }
      }
      roles.set('chunk', malformed(cid, 'chunk', 'not a raw block'))
      if (!(roles.get('evaluation') instanceof DdsError)) this.#records.set(cid.toString(), toEvaluationRecord(node))
      if (!(roles.get('artifact') instanceof DdsError)) this.#artifacts.add(cid.toString())
    } else {
      roles.set('chunk', [])
      roles.set('input', [])
      for (const r of ['evaluation', 'manifest', 'artifact'] as const) roles.set(r, malformed(cid, r, 'not a dag-cbor block'))
    }
    this.#nodes.set(cid.toString(), { size: bytes.byteLength, roles })
  }

  /** The evaluation record of a block that parsed as one. */
  record (cid: CID): EvaluationRecord | undefined {
    return this.#records.get(cid.toString())
  }

  /** Every evaluation record the index holds, with its CID. */
  * records (): Iterable<[CID, EvaluationRecord]> {
    for (const [k, r] of this.#records) yield [CID.parse(k), r]
  }

  /** Every block that parsed as an artifact root. */
  * artifacts (): Iterable<CID> {
    for (const k of this.#artifacts) yield CID.parse(k)
  }

  /**
   * Walk what `roots` reach. Returns the problems (each broken link once) and
   * the CIDs of every present block reached, which is what a bundle must write.
   */
  check (roots: Link[], step = 'links'): { problems: Problem[], reached: Set<string>, incomplete: (link: Link) => boolean } {
    const problems: Problem[] = []
    const reached = new Set<string>()
    const seen = new Set<string>()
    // Reverse edges, to mark every root that reaches a bad block as incomplete.
    const parents = new Map<string, string[]>()
    const bad = new Set<string>()
    const stack: Array<{ link: Link, from: string | undefined, fromCid: CID | undefined }> = roots.map((link) => ({ link, from: undefined, fromCid: undefined }))
    while (stack.length > 0) {
      const { link, from, fromCid } = stack.pop() as { link: Link, from: string | undefined, fromCid: CID | undefined }
      const id = link.cid.toString()
      const key = `${link.role}:${id}`
      if (from !== undefined) {
        const ps = parents.get(key)
        if (ps === undefined) parents.set(key, [from])
        else ps.push(from)
      }
      const node = this.#nodes.get(id)
      if (node !== undefined && link.size !== undefined && node.size !== link.size && from !== undefined) {
        // The size belongs to the edge: the parent says it, so the parent is broken.
        bad.add(from)
        problems.push({ step, problem: 'wrong-size', cid: link.cid, role: link.role, ...(fromCid === undefined ? {} : { from: fromCid }), message: `chunk ${id} has ${node.size} bytes, ${link.size} expected` })
      }
      if (seen.has(key)) continue
      seen.add(key)
      if (node === undefined) {
        if (required(link.role)) {
          bad.add(key)
          problems.push({ step, problem: 'missing', cid: link.cid, role: link.role, ...(fromCid === undefined ? {} : { from: fromCid }), message: `${link.role} ${id} is missing` })
        }
        continue
      }
      reached.add(id)
      const links = node.roles.get(link.role)
      if (links === undefined || links instanceof DdsError) {
        bad.add(key)
        problems.push({ step, problem: 'malformed', cid: link.cid, role: link.role, ...(fromCid === undefined ? {} : { from: fromCid }), message: links?.message ?? `${id} is not a ${link.role}` })
        continue
      }
      for (const child of links) stack.push({ link: child, from: key, fromCid: link.cid })
    }
    const tainted = new Set<string>()
    const queue = [...bad]
    while (queue.length > 0) {
      const k = queue.pop() as string
      if (tainted.has(k)) continue
      tainted.add(k)
      for (const p of parents.get(k) ?? []) queue.push(p)
    }
    return { problems, reached, incomplete: (link) => tainted.has(`${link.role}:${link.cid.toString()}`) }
  }
}

/** A block reached by `walkStore`, with its bytes when they were read. */
export interface Visit {
  link: Link
  /** The block's bytes; undefined when absent, or for leaves with `readLeaves: false`. */
  bytes?: Uint8Array
  present: boolean
  /** Set when the block is present but not what its role requires. */
  error?: DdsError
}

/**
 * Walk the blocks `roots` reach in a store, depth first, each block once (by
 * role), parents before children. Absent and malformed blocks are reported as
 * visits, not thrown; a block that does not match its CID throws DDS_INTEGRITY.
 *
 * @example
 * for await (const v of walkStore(store, [{ cid: evaluation, role: 'evaluation' }])) console.log(v.link.cid.toString())
 */
export async function * walkStore (store: Store, roots: Link[], options: { seen?: Set<string>, readLeaves?: boolean, verify?: 'fast' | 'full' } = {}): AsyncIterable<Visit> {
  const seen = options.seen ?? new Set<string>()
  const readLeaves = options.readLeaves !== false
  const stack = [...roots].reverse()
  while (stack.length > 0) {
    const link = stack.pop() as Link
    const key = `${link.role}:${link.cid.toString()}`
    if (seen.has(key)) continue
    seen.add(key)
    const leaf = link.role === 'chunk' || (link.role === 'input' && link.cid.code !== DAG_CBOR_CODE)
    if (leaf && !readLeaves) {
      yield { link, present: await store.hasBlock(link.cid) }
      continue
    }
    const bytes = await store.getBlock(link.cid, options.verify === undefined ? {} : { verify: options.verify })
    if (bytes === undefined) {
      yield { link, present: false }
      continue
    }
    if (link.size !== undefined && bytes.byteLength !== link.size) {
      yield { link, bytes, present: true, error: new DdsError(ErrorCodes.INTEGRITY, `chunk ${link.cid.toString()} has ${bytes.byteLength} bytes, ${link.size} expected`, { data: { cid: link.cid.toString() } }) }
      continue
    }
    let children: Link[]
    try {
      children = linksOf(link.cid, bytes, link.role)
    } catch (err) {
      if (!isDdsError(err)) throw err
      yield { link, bytes, present: true, error: err }
      continue
    }
    yield { link, bytes, present: true }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as Link)
  }
}

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
  for await (const cid of store.blockCIDs()) {
    blocks++
    known.add(cid.toString())
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

  // paths
  t0 = performance.now()
  let checked = 0
  let pathProblems = 0
  for await (const head of store.paths({ deleted: true })) {
    let last: (HistoryEntry & { seq: number }) | undefined
    for await (const entry of store.history(head.path)) {
      last ??= entry
      checked++
      for (const link of entryLinks(entry)) entryRoots.push({ link, step: 'paths', path: head.path, seq: entry.seq })
      if (entry.evaluation !== null && entry.output !== null) {
        const record = index.record(entry.evaluation)
        const named = entry.output.toString()
        if (record !== undefined && record.output.toString() !== named) {
          problems.push({ step: 'paths', problem: 'inconsistent', cid: entry.evaluation, path: head.path, seq: entry.seq, message: `${head.path}@${entry.seq} names output ${named}, its evaluation produced ${record.output.toString()}` })
          pathProblems++
        }
      }
    }
    if (last === undefined || last.seq !== head.seq || !sameEntry(last, head)) {
      problems.push({ step: 'paths', problem: 'inconsistent', path: head.path, seq: head.seq, message: `the head of ${head.path} is not its last history entry` })
      pathProblems++
    }
  }
  const pathsMs = performance.now() - t0

  // memo
  t0 = performance.now()
  let memoChecked = 0
  for await (const { key, entry } of store.memoEntries()) {
    memoChecked++
    const memo = Buffer.from(key).toString('hex')
    entryRoots.push({ link: { cid: entry.evaluation, role: 'evaluation' }, step: 'memo', memo })
    entryRoots.push({ link: { cid: entry.output, role: 'artifact' }, step: 'memo', memo })
  }
  const { incomplete } = index.check(entryRoots.map((r) => r.link), 'entries')
  let memoProblems = 0
  for (const r of entryRoots) {
    if (!incomplete(r.link)) continue
    const what = r.path !== undefined ? `${r.path}@${r.seq ?? 0}` : `memo entry ${r.memo ?? ''}`
    const { link: _link, ...where } = r
    problems.push({ ...where, problem: 'incomplete', cid: r.link.cid, role: r.link.role, message: `${what} reaches missing or corrupt data (${r.link.role} ${r.link.cid.toString()})` })
    if (r.step === 'paths') pathProblems++
    else memoProblems++
  }
  steps.push({ name: 'paths', checked, problems: pathProblems, ms: pathsMs })
  steps.push({ name: 'memo', checked: memoChecked, problems: memoProblems, ms: performance.now() - t0 })

  return { ok: problems.length === 0, steps, problems, blocks, bytes, orphanFiles }
}

function sameEntry (a: HistoryEntry, b: HistoryEntry): boolean {
  const eq = (x: CID | null, y: CID | null): boolean => (x === null || y === null ? x === y : x.equals(y))
  return a.time === b.time && eq(a.evaluation, b.evaluation) && eq(a.output, b.output) && (a.hit === true) === (b.hit === true)
}
