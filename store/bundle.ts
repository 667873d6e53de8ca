/**
 * Bundles: CARv1 files that move paths between stores.
 *
 * The root of a bundle is a `BundleManifest` node naming the exported paths
 * with their history entries (oldest first; only the head unless the history
 * was asked for). Every block those entries reach follows, each once: records,
 * code manifests, artifact roots and chunks, called and loaded evaluations,
 * and the stored argument blocks.
 *
 * A bundle is untrusted input. Import checks every block against its CID and
 * that the graph is complete before anything becomes visible: the first pass
 * hashes every block, writing the large ones that verify as blob files (a
 * file without an index entry is invisible, exactly as the chunks of a run
 * before its batch); the second reads the small blocks again (checked against
 * a checksum of their first reading, and the file against replacement) and
 * writes them; one last batch adds the large blocks' index entries, the memo
 * entries and the history entries. Every refusal is DDS_BUNDLE_INVALID with
 * `data.problem` saying what was wrong and, when a block is to blame,
 * `data.cid`; the paths, heads, history and memo entries stay as they were
 * (verified chunk files left by a refused import are removed by gc).
 * The manifest also counts the blocks, so that a bundle cut at a block
 * boundary is refused too.
 */
import { open as fsOpen, rename, rm, type FileHandle } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { crc32 } from 'node:zlib'
import { dirname, basename, join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { CarWriter } from '@ipld/car/writer'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { cidOf, matches, DAG_CBOR_CODE, RAW_CODE, SHA256_CODE, BLAKE3_CODE } from './hash.js'
import { dependenciesKey } from './memo-keys.js'
import { exportTags, importTags, readBundleTags } from './bundle-tags.js'
import { encodeNode, toBundleManifest, type BundleManifest, type EvaluationRecord, type HistoryEntry } from './records.js'
import { memoEntryOf } from './memo.js'
import { ancestors, validatePath } from './paths.js'
import { Pending, type Store, type PathUpdate } from './store.js'
import { entryLinks, required, walkStore, type Link } from './dag.js'
import { BlockIndex } from './block-index.js'
import type { BatchOp } from './interface.js'

/** The bundle format this code writes and reads. */
export const BUNDLE_FORMAT = 'dds-bundle/1'

// ---------------------------------------------------------------------- export

export interface ExportOptions {
  /** Export every history entry of each path (deletions included), not only its head. */
  history?: boolean
  /** Called as blocks are written; `total` (bytes of blocks) is known after a first, cheap walk. */
  onProgress?: (progress: { blocks: number, bytes: number, total: number }) => void
}

export interface ExportResult {
  /** CID of the bundle manifest (the CAR root). */
  root: CID
  manifest: BundleManifest
  /** Blocks written, manifest included, and their bytes. */
  blocks: number
  bytes: number
}

function entryOf (e: HistoryEntry): HistoryEntry {
  const out: HistoryEntry = { time: e.time, evaluation: e.evaluation, output: e.output }
  if (e.hit === true) out.hit = true
  if (e.imported === true) out.imported = true
  return out
}

/**
 * Write the paths (their heads, or with `history` their whole history) and
 * everything they reach to a CARv1 file. The file appears under its name only
 * once complete. Throws DDS_PATH_NOT_FOUND for a path with no value, and
 * DDS_NOT_FOUND when the store lacks a block the paths need.
 *
 * @example
 * const { root } = await exportBundle(store, ['/data/clean', '/models/clf'], 'models.car')
 */
export async function exportBundle (store: Store, paths: string[], file: string, options: ExportOptions = {}): Promise<ExportResult> {
  if (!Array.isArray(paths) || paths.length === 0) throw new TypeError('exportBundle() needs at least one path')
  if (typeof file !== 'string' || file === '') throw new TypeError('exportBundle() needs a file name')
  const manifest: BundleManifest = { format: BUNDLE_FORMAT, created: Date.now(), paths: Object.create(null) as Record<string, HistoryEntry[]> }
  for (const path of [...new Set(paths)].sort()) {
    validatePath(path)
    let entries: HistoryEntry[]
    if (options.history === true) {
      entries = []
      for await (const e of store.history(path)) entries.push(entryOf(e))
      entries.reverse()
    } else {
      const head = await store.head(path)
      entries = head === undefined ? [] : [entryOf(head)]
    }
    if (entries.length === 0) throw new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${path} holds no value`, { data: { path } })
    manifest.paths[path] = entries
  }
  const tags = await exportTags(store, manifest)
  if (tags.length > 0) manifest.tags = tags
  const roots: Link[] = Object.values(manifest.paths).flatMap((es) => es.flatMap(entryLinks))

  // A first walk, without reading the chunks, counts the blocks: the manifest
  // carries the count so that a bundle cut at a block boundary is refused.
  let total = 0
  const present = new Set<string>()
  for await (const v of walkStore(store, roots, { readLeaves: false })) {
    if (!v.present) continue
    const id = v.link.cid.toString()
    if (present.has(id)) continue
    present.add(id)
    total += v.bytes?.byteLength ?? v.link.size ?? 0
  }
  const onProgress = options.onProgress

  const manifestBytes = encodeNode({ ...manifest, blocks: present.size + 1 })
  const root = cidOf(manifestBytes, DAG_CBOR_CODE, store.hash)
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  const fh = await fsOpen(tmp, 'wx')
  let blocks = 0
  let bytes = 0
  try {
    const { writer, out } = CarWriter.create([root])
    const produce = async (): Promise<void> => {
      try {
        await writer.put({ cid: root, bytes: manifestBytes })
        blocks++
        bytes += manifestBytes.byteLength
        const written = new Set<string>([root.toString()])
        // Chunks are read a few ahead, in order, while earlier ones are written.
        const ahead: Array<{ link: Link, bytes: Uint8Array | Promise<Uint8Array | undefined> }> = []
        const emit = async (): Promise<void> => {
          const { link, bytes: pending } = ahead.shift() as (typeof ahead)[number]
          const data = await pending
          const id = link.cid.toString()
          if (data === undefined) throw new DdsError(ErrorCodes.NOT_FOUND, `${link.role} ${id} is missing from the store (run dds verify)`, { data: { cid: id, role: link.role } })
          if (link.size !== undefined && data.byteLength !== link.size) throw new DdsError(ErrorCodes.INTEGRITY, `chunk ${id} has ${data.byteLength} bytes, ${link.size} expected`, { data: { cid: id } })
          await writer.put({ cid: link.cid, bytes: data })
          blocks++
          bytes += data.byteLength
          onProgress?.({ blocks, bytes, total })
        }
        for await (const v of walkStore(store, roots, { readLeaves: false })) {
          const id = v.link.cid.toString()
          if (!v.present) {
            if (!required(v.link.role)) continue
            throw new DdsError(ErrorCodes.NOT_FOUND, `${v.link.role} ${id} is missing from the store (run dds verify)`, { data: { cid: id, role: v.link.role } })
          }
          if (v.error !== undefined) throw v.error
          if (written.has(id)) continue
          written.add(id)
          const data = v.bytes ?? store.getBlock(v.link.cid)
          if (data instanceof Promise) data.catch(() => {})
          ahead.push({ link: v.link, bytes: data })
          if (ahead.length >= 8) await emit()
        }
        while (ahead.length > 0) await emit()
      } finally {
        await writer.close()
      }
    }
    const consume = async (): Promise<void> => {
      // Small pieces (lengths, CIDs, records) are gathered into one write.
      let parts: Uint8Array[] = []
      let size = 0
      let position = 0
      const flush = async (): Promise<void> => {
        if (parts.length === 0) return
        await fh.writev(parts, position)
        position += size
        parts = []
        size = 0
      }
      for await (const chunk of out) {
        parts.push(chunk)
        size += chunk.byteLength
        if (size >= 1 << 20) await flush()
      }
      await flush()
    }
    // No fsync: like a copy, the file is named once complete; a bundle torn by a
    // power loss is refused on import (every block is checked), never trusted.
    await Promise.all([produce(), consume()])
    await fh.close()
    await rename(tmp, file)
  } catch (err) {
    await fh.close().catch(() => {})
    await rm(tmp, { force: true })
    throw err
  }
  return { root, manifest, blocks, bytes }
}

// ---------------------------------------------------------------------- reading CARv1

/** What was wrong with a bundle (`data.problem` of DDS_BUNDLE_INVALID). */
export type BundleProblem =
  | 'truncated' | 'count' | 'extra' | 'header' | 'too-large' | 'cid' | 'hash-mismatch' | 'duplicate'
  | 'root' | 'manifest' | 'path' | 'missing' | 'malformed' | 'wrong-size' | 'inconsistent' | 'changed' | 'tag'

function invalid (problem: BundleProblem, message: string, data: Record<string, unknown> = {}, cause?: unknown): DdsError {
  return new DdsError(ErrorCodes.BUNDLE_INVALID, `invalid bundle: ${message}`, { data: { problem, ...data }, ...(cause === undefined ? {} : { cause }) })
}

const HEADER_LIMIT = 64 * 1024
const READ_BUFFER = 1 << 20

/** A sequential reader of a CARv1 file that refuses what does not fit in the file or the limits. */
class CarFile {
  readonly #fh: FileHandle
  readonly size: number
  readonly #maxBlock: number
  #buf = new Uint8Array(READ_BUFFER)
  #start = 0 // file offset of #buf[0]
  #len = 0
  #pos = 0 // offset into #buf

  constructor (fh: FileHandle, size: number, maxBlock: number) {
    this.#fh = fh
    this.size = size
    this.#maxBlock = maxBlock
  }

  get offset (): number {
    return this.#start + this.#pos
  }

  async #fill (): Promise<boolean> {
    const rest = this.#len - this.#pos
    this.#buf.copyWithin(0, this.#pos, this.#len)
    this.#start += this.#pos
    this.#pos = 0
    this.#len = rest
    const { bytesRead } = await this.#fh.read(this.#buf, rest, this.#buf.byteLength - rest, this.#start + rest)
    this.#len += bytesRead
    return bytesRead > 0
  }

  /** A varint, or undefined at the end of the file. */
  async varint (): Promise<number | undefined> {
    let value = 0
    let shift = 1
    for (let i = 0; ; i++) {
      if (this.#pos === this.#len && !(await this.#fill())) {
        if (i === 0) return undefined
        throw invalid('truncated', `the file ends inside a length at byte ${this.offset}`, { offset: this.offset })
      }
      const b = this.#buf[this.#pos++] as number
      value += (b & 0x7f) * shift
      if ((b & 0x80) === 0) {
        if (i > 0 && b === 0) throw invalid('header', `a length at byte ${this.offset} is not minimally encoded`, { offset: this.offset })
        return value
      }
      shift *= 128
      if (i >= 7) throw invalid('too-large', `a length at byte ${this.offset} is absurd`, { offset: this.offset })
    }
  }

  /** The next `n` bytes, as a fresh array. */
  async exactly (n: number): Promise<Uint8Array> {
    if (this.offset + n > this.size) throw invalid('truncated', `a section at byte ${this.offset} needs ${n} bytes, the file has ${this.size - this.offset} left`, { offset: this.offset })
    // Every byte is filled below (or the read fails): no need to zero 1 GiB first.
    const out: Uint8Array = n >= 4096 ? Buffer.allocUnsafeSlow(n) : new Uint8Array(n)
    const have = Math.min(n, this.#len - this.#pos)
    out.set(this.#buf.subarray(this.#pos, this.#pos + have), 0)
    this.#pos += have
    let filled = have
    while (filled < n) {
      // Large sections are read straight into their own array.
      const { bytesRead } = await this.#fh.read(out, filled, n - filled, this.#start + this.#len)
      if (bytesRead === 0) throw invalid('truncated', `the file ends inside a section at byte ${this.#start + this.#len}`, { offset: this.#start + this.#len })
      filled += bytesRead
      this.#start += this.#len + bytesRead
      this.#len = 0
      this.#pos = 0
    }
    return out
  }

  async header (): Promise<CID> {
    const n = await this.varint()
    if (n === undefined || n === 0) throw invalid(n === undefined ? 'truncated' : 'header', 'the file has no CAR header')
    if (n > HEADER_LIMIT) throw invalid('header', `the CAR header claims ${n} bytes`)
    const bytes = await this.exactly(n)
    let header: unknown
    try {
      header = dagCbor.decode(bytes)
    } catch (err) {
      throw invalid('header', 'the CAR header is not dag-cbor (not a CAR file)', {}, err)
    }
    const h = header as { version?: unknown, roots?: unknown }
    if (header === null || typeof header !== 'object' || h.version !== 1) {
      throw invalid('header', h !== null && typeof h === 'object' && h.version === 2 ? 'CARv2 files are not bundles' : 'not a CARv1 header')
    }
    if (!Array.isArray(h.roots) || h.roots.length !== 1) throw invalid('root', 'a bundle has exactly one root')
    const root = CID.asCID(h.roots[0])
    if (root === null) throw invalid('root', 'the root is not a CID')
    return root
  }

  /** The next block (not yet verified), or undefined at the end. */
  async block (): Promise<{ cid: CID, bytes: Uint8Array, offset: number } | undefined> {
    const offset = this.offset
    const n = await this.varint()
    if (n === undefined) return undefined
    if (n > this.#maxBlock + 128) throw invalid('too-large', `a section at byte ${offset} claims ${n} bytes, more than the ${this.#maxBlock} allowed`, { offset })
    const section = await this.exactly(n)
    let cid: CID
    let bytes: Uint8Array
    try {
      const [c, rest] = CID.decodeFirst(section)
      // A decoded CID keeps a view of the whole section: copy it, so that keeping the CID does not keep the block.
      cid = CID.decode(c.bytes.slice())
      bytes = rest
    } catch (err) {
      throw invalid('cid', `the section at byte ${offset} does not start with a CID`, { offset }, err)
    }
    if (cid.version !== 1 || (cid.code !== RAW_CODE && cid.code !== DAG_CBOR_CODE) ||
        (cid.multihash.code !== SHA256_CODE && cid.multihash.code !== BLAKE3_CODE) || cid.multihash.size !== 32) {
      throw invalid('cid', `block ${cid} uses a CID version, codec or hash dds does not write`, { offset, cid: cid.toString() })
    }
    return { cid, bytes, offset }
  }
}

async function openFile (file: string): Promise<FileHandle> {
  try {
    return await fsOpen(file, 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new DdsError(ErrorCodes.NOT_FOUND, `bundle file ${file} does not exist`, { cause: err, data: { file } })
    throw err
  }
}

/** What changes when a file is written to or replaced. */
function identity (s: Stats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`
}

// ---------------------------------------------------------------------- import

export interface ImportOptions {
  /** Largest block accepted (default 64 MiB). */
  maxBlockSize?: number
  /** Called as the file is read: once for the verifying pass, once for the writing pass. */
  onProgress?: (progress: { phase: 'verify' | 'write', bytes: number, total: number }) => void
}

/** What happened to one path of a bundle. */
export interface ImportedPath {
  path: string
  /** History entries appended. */
  appended: number
  /** Entries not appended: the store's head is newer, or already the same evaluation. */
  skipped: number
  /** Set when the bundle's newest entry did not become the head: the store has a newer one, or the same. */
  kept?: 'newer' | 'same'
}

export interface ImportResult {
  root: CID
  manifest: BundleManifest
  /** Blocks in the bundle, blocks written (new to the store) and their bytes. */
  blocks: number
  written: number
  bytes: number
  /** Memo entries written. */
  memo: number
  paths: ImportedPath[]
}

/**
 * Import a bundle file into a store. Nothing becomes visible unless the whole
 * bundle is valid and complete: refusals are DDS_BUNDLE_INVALID (with
 * `data.problem`, and `data.cid` for a block at fault) and leave the paths,
 * heads, history and memo entries as they were. Entries keep their original
 * time and are marked `imported`; a path whose head in the store is newer
 * keeps it. Memo entries are written so that re-running the same code is a
 * cache hit.
 *
 * @example
 * const result = await importBundle(store, 'models.car')
 * for (const p of result.paths) if (p.kept === 'newer') console.warn(`${p.path}: kept the newer local head`)
 */
export async function importBundle (store: Store, file: string, options: ImportOptions = {}): Promise<ImportResult> {
  if (typeof file !== 'string' || file === '') throw new TypeError('importBundle() needs a file name')
  const maxBlock = options.maxBlockSize ?? 64 * 1024 * 1024
  if (!Number.isSafeInteger(maxBlock) || maxBlock <= 0) throw new RangeError('maxBlockSize must be a positive integer')
  // The file stays open for both passes, and its identity is checked after
  // the second, so that both passes read the same bytes.
  const fh = await openFile(file)
  try {
    return await importFrom(store, fh, maxBlock, options.onProgress)
  } finally {
    await fh.close()
  }
}

async function importFrom (store: Store, fh: FileHandle, maxBlock: number, onProgress: ImportOptions['onProgress']): Promise<ImportResult> {
  // The gc lock keeps a collection from sweeping blocks written here before the commit names them.
  const lock = await store.lock('gc', 'shared')
  try {
    return await importLocked(store, fh, maxBlock, onProgress)
  } finally {
    await lock.release()
  }
}

/** A block written as a file during the first pass, whose index entry waits for the commit. */
interface Staged { cid: CID, ops: BatchOp[], size: number }
/** A small block, read again (and checked against its first reading) in the second pass. */
interface Later { cid: CID, offset: number, size: number, crc: number }

async function importLocked (store: Store, fh: FileHandle, maxBlock: number, onProgress: ImportOptions['onProgress']): Promise<ImportResult> {
  // ---- pass 1: verify every block. Large blocks that verify are written as
  // blob files now (a file with no index entry is invisible, as when a run
  // writes its chunks); small ones are only remembered, by offset.
  const stats = await fh.stat()
  const index = new BlockIndex()
  const seen = new Set<string>()
  const staged: Staged[] = []
  const later: Later[] = []
  const files = store.backend.files !== undefined
  let root: CID
  let manifest: BundleManifest | undefined
  let blocks = 0
  let count: number | undefined
  {
    const car = new CarFile(fh, stats.size, maxBlock)
    root = await car.header()
    let lastReport = 0
    // A few files are written while the next blocks are read and hashed.
    const writing = new Set<Promise<void>>()
    try {
      for (let b = await car.block(); b !== undefined; b = await car.block()) {
        const { cid, bytes, offset } = b
        const id = cid.toString()
        if (!matches(cid, bytes)) throw invalid('hash-mismatch', `block ${id} does not match its CID`, { cid: id, offset })
        if (seen.has(id)) throw invalid('duplicate', `block ${id} appears twice`, { cid: id, offset })
        seen.add(id)
        index.add(cid, bytes)
        blocks++
        if (cid.equals(root)) ({ manifest, count } = readManifest(root, bytes))
        if (files && bytes.byteLength >= store.fileThreshold) {
          const p = (async () => {
            const pending = new Pending()
            await store.stageBlock(cid, bytes, pending)
            if (pending.ops.length > 0) staged.push({ cid, ops: pending.ops, size: bytes.byteLength })
          })()
          writing.add(p)
          p.then(() => writing.delete(p), () => {})
          if (writing.size >= 4) await Promise.race(writing)
        } else {
          later.push({ cid, offset: car.offset - bytes.byteLength, size: bytes.byteLength, crc: crc32(bytes) })
        }
        if (onProgress !== undefined && car.offset - lastReport >= 4 << 20) {
          lastReport = car.offset
          onProgress({ phase: 'verify', bytes: car.offset, total: car.size })
        }
      }
    } finally {
      await Promise.allSettled(writing)
    }
    await Promise.all(writing)
    onProgress?.({ phase: 'verify', bytes: car.size, total: car.size })
  }
  if (manifest === undefined) throw invalid('root', `the root block ${root.toString()} is not in the bundle`, { cid: root.toString() })
  const m = manifest

  const roots: Link[] = []
  for (const [path, entries] of Object.entries(m.paths)) {
    for (const e of entries) {
      if ((e.evaluation === null) !== (e.output === null)) throw invalid('inconsistent', `an entry of ${path} has an output without an evaluation, or the reverse`, { path })
      roots.push(...entryLinks(e))
    }
  }
  const { problems, reached } = index.check(roots, 'import')
  const first = problems[0]
  if (first !== undefined) {
    const cid = first.cid?.toString()
    throw invalid(first.problem as BundleProblem, `${first.message}${first.from === undefined ? '' : ` (linked from ${first.from.toString()})`}`, { ...(cid === undefined ? {} : { cid }), ...(first.role === undefined ? {} : { role: first.role }) })
  }
  if (count !== undefined && count !== blocks) throw invalid('count', `the bundle holds ${blocks} blocks, its manifest says ${count}`, { blocks, expected: count })
  for (const [path, entries] of Object.entries(m.paths)) {
    for (const e of entries) {
      if (e.evaluation === null || e.output === null) continue
      const record = index.record(e.evaluation)
      if (record === undefined || record.output.toString() !== e.output.toString()) {
        throw invalid('inconsistent', `an entry of ${path} names output ${e.output.toString()}, its evaluation produced another`, { path, cid: e.evaluation.toString() })
      }
    }
  }

  // An export writes exactly what its entries reach: anything else stands in for a block that is missing.
  for (const id of seen) {
    if (!reached.has(id) && id !== root.toString()) throw invalid('extra', `block ${id} is not reached from the manifest`, { cid: id })
  }

  // What the store has now decides which heads move and which memo entries to replace.
  const updates: PathUpdate[] = []
  const kept = new Map<string, 'newer' | 'same'>()
  const moving: CID[] = []
  for (const [path, entries] of Object.entries(m.paths)) {
    const last = entries[entries.length - 1] as HistoryEntry
    const head = await store.headEntry(path)
    if (head !== undefined && sameCid(head.evaluation, last.evaluation)) kept.set(path, 'same')
    else if (head !== undefined && head.time >= last.time) kept.set(path, 'newer')
    else if (last.evaluation !== null) {
      moving.push(last.evaluation)
      await checkOverlap(store, path, m)
    }
    for (const e of entries) {
      const u: PathUpdate = { path, evaluation: e.evaluation, output: e.output, time: e.time, imported: true }
      if (e.hit === true) u.hit = true
      updates.push(u)
    }
  }
  const replace = new Set<string>()
  const stack = [...moving]
  while (stack.length > 0) {
    const c = stack.pop() as CID
    if (replace.has(c.toString())) continue
    replace.add(c.toString())
    stack.push(...(index.record(c)?.calls ?? []))
  }

  // ---- pass 2: the small blocks, read again at their offsets (checked
  // against their first reading), written in batches.
  let written = 0
  let bytes = 0
  let pending = new Pending()
  let pendingBytes = 0
  let done = 0
  for (const l of later) {
    const id = l.cid.toString()
    if (!reached.has(id) || await store.hasBlock(l.cid)) continue
    const data = new Uint8Array(l.size)
    const { bytesRead } = await fh.read(data, 0, l.size, l.offset)
    if (bytesRead !== l.size || crc32(data) !== l.crc) throw invalid('changed', `block ${id} changed while the bundle was imported`, { cid: id })
    await store.stageBlock(l.cid, data, pending)
    written++
    bytes += l.size
    pendingBytes += l.size
    if (pending.ops.length >= 1024 || pendingBytes >= 32 << 20) {
      await store.write(pending)
      pending = new Pending()
      pendingBytes = 0
    }
    done += l.size
    if (onProgress !== undefined && done % (4 << 20) < l.size) onProgress({ phase: 'write', bytes: done, total: stats.size })
  }
  await store.write(pending)
  onProgress?.({ phase: 'write', bytes: stats.size, total: stats.size })
  if (identity(await fh.stat()) !== identity(stats)) throw invalid('changed', 'the bundle file changed while it was imported')

  // The index entries of the large blocks, the memo entries and the history
  // entries go in one batch. One memo key may answer several evaluations of
  // the bundle (same code and arguments, other loaded values): the newest
  // entries' evaluations come first and take the primary key; each also gets
  // its key with its loads.
  const final = new Pending()
  for (const st of staged) {
    if (!reached.has(st.cid.toString())) continue
    for (const op of st.ops) final.add(op)
    written++
    bytes += st.size
  }
  let memo = 0
  const claimed = new Set<string>()
  for (const cid of memoOrder(m, index, reached)) {
    const record = index.record(cid) as EvaluationRecord
    const id = cid.toString()
    const value = encodeNode(memoEntryOf(cid, record))
    const keys = [record.signature]
    const second = dependenciesKey(record.signature, record.loads, record.files)
    if (second !== undefined) keys.push(second)
    for (const [i, key] of keys.entries()) {
      const k = Buffer.from(key).toString('hex')
      if (claimed.has(k)) continue
      claimed.add(k)
      const existing = await store.lookupMemo(key)
      if (existing !== undefined && (existing.evaluation.equals(cid) || i > 0 || !replace.has(id))) continue
      final.add({ type: 'put', space: 'memo', key, value } satisfies BatchOp)
      memo++
    }
  }
  const result = await store.commit(updates, final, { onlyIfNewer: true })
  if (m.tags !== undefined) await importTags(store, m.tags)
  const paths: ImportedPath[] = Object.entries(m.paths).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([path, entries]) => {
    const appended = result.appended.filter((a) => a.path === path).length
    const k = kept.get(path)
    return { path, appended, skipped: entries.length - appended, ...(k === undefined ? {} : { kept: k }) }
  })
  return { root, manifest: m, blocks, written, bytes, memo, paths }
}

/** Evaluations to write memo entries for: newest history entries first, then what they call, then the rest. */
function memoOrder (m: BundleManifest, index: BlockIndex, reached: Set<string>): CID[] {
  const out: CID[] = []
  const seen = new Set<string>()
  const visit = (start: CID): void => {
    const stack = [start]
    while (stack.length > 0) {
      const c = stack.pop() as CID
      const id = c.toString()
      if (seen.has(id) || !reached.has(id)) continue
      const record = index.record(c)
      if (record === undefined) continue
      seen.add(id)
      out.push(c)
      for (let i = record.calls.length - 1; i >= 0; i--) stack.push(record.calls[i] as CID)
    }
  }
  const entries = Object.values(m.paths).flatMap((es) => es).sort((a, b) => b.time - a.time)
  for (const e of entries) if (e.evaluation !== null) visit(e.evaluation)
  for (const [cid] of index.records()) visit(cid)
  return out
}

function readManifest (root: CID, bytes: Uint8Array): { manifest: BundleManifest, count: number | undefined } {
  if (root.code !== DAG_CBOR_CODE) throw invalid('manifest', 'the root is not a bundle manifest', { cid: root.toString() })
  let m: BundleManifest
  let count: unknown
  let tagNode: unknown
  try {
    const node = dagCbor.decode(bytes)
    m = toBundleManifest(node)
    count = (node as { blocks?: unknown }).blocks
    tagNode = node
  } catch (err) {
    throw invalid('manifest', 'the root is not a bundle manifest', { cid: root.toString() }, err)
  }
  if (count !== undefined && (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1)) throw invalid('manifest', 'the block count of the manifest is not a count', { cid: root.toString() })
  for (const [path, entries] of Object.entries(m.paths)) {
    try {
      validatePath(path)
    } catch (err) {
      throw invalid('path', `the bundle names an invalid path ${JSON.stringify(path)}`, { path }, err)
    }
    if (entries.length === 0) throw invalid('manifest', `the bundle has no entry for ${path}`, { path })
    let t = -Infinity
    for (const e of entries) {
      if (!Number.isSafeInteger(e.time) || e.time < 0 || e.time < t) throw invalid('manifest', `the entries of ${path} are not in time order`, { path })
      t = e.time
    }
  }
  if (Object.keys(m.paths).length === 0) throw invalid('manifest', 'the bundle names no path')
  const tags = readBundleTags(tagNode, m)
  if (tags.length > 0) m.tags = tags
  return { manifest: m, count: count as number | undefined }
}

/** Refuse, before anything is written, a path that would be a directory of a live path or the reverse. */
async function checkOverlap (store: Store, path: string, m: BundleManifest): Promise<void> {
  const liveInBundle = (p: string): boolean | undefined => {
    const es = m.paths[p]
    return es === undefined ? undefined : (es[es.length - 1] as HistoryEntry).evaluation !== null
  }
  for (const a of ancestors(path)) {
    const inBundle = liveInBundle(a)
    if (inBundle === true || (inBundle === undefined && await store.head(a) !== undefined)) throw overlap(a, path)
  }
  for await (const e of store.paths({ prefix: path })) {
    if (e.path !== path && liveInBundle(e.path) !== false) throw overlap(path, e.path)
  }
}

function overlap (dir: string, path: string): DdsError {
  return new DdsError(ErrorCodes.OVERLAPPING_PATH, `paths ${dir} and ${path} overlap: delete one of them before importing`, { data: { path, other: dir } })
}

function sameCid (a: CID | null, b: CID | null): boolean {
  return a === null || b === null ? a === b : a.equals(b)
}
