/**
 * The block index: the blocks of a store or a bundle as far as their links
 * go (sizes and parsed links, not bytes), and the check that what a set of
 * roots reaches is present, well formed and of the right sizes, with the
 * problems it finds. Used by verify and bundle import.
 */
import { CID } from 'multiformats/cid'
import { DdsError, isDdsError } from './errors.js'
import { DAG_CBOR_CODE } from './hash.js'
import { toEvaluationRecord, type EvaluationRecord } from './records.js'
import { decode, malformed, nodeLinks, required, type Link, type Role } from './dag.js'

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
  /** The key space of an entry that `verify --repair` may drop or rebuild (see store/repair.ts). */
  space?: 'blocks' | 'paths' | 'history' | 'memo'
  /** The stored key of that entry, hex. */
  key?: string
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
