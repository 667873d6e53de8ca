/**
 * Bundles: CARv1 files that move paths between stores. This file imports;
 * bundle-export.ts writes them, bundle-car.ts reads the file, bundle-checks.ts
 * says what a valid bundle is, bundle-plan.ts decides what an import changes
 * (paths and memo answers) and bundle-sign.ts signs and trusts.
 *
 * The root of a bundle is a `BundleManifest` node (or a signed envelope of
 * one) naming the exported paths with their history entries (oldest first;
 * only the head unless the history was asked for). Every block those entries
 * reach follows, each once: records, code manifests, artifact roots and
 * chunks, called and loaded evaluations, and the stored argument blocks.
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
 * `data.cid` (DDS_BUNDLE_UNTRUSTED for a signature a store does not accept);
 * the paths, heads, history and memo entries stay as they were (verified
 * files left by a refused import, chunk files or a segment, are removed by gc). The manifest also
 * counts the blocks, so that a bundle cut at a block boundary is refused too.
 */
import type { FileHandle } from 'node:fs/promises'
import { crc32 } from 'node:zlib'
import type { CID } from 'multiformats/cid'
import { matches } from './hash.js'
import { Pending, type Store } from './store.js'
import { BlockIndex } from './block-index.js'
import { CarFile, identity, invalid, openFile } from './bundle-car.js'
import { checkGraph, readRoot } from './bundle-checks.js'
import { appendedPerPath, importCommitOptions, memoOps, planImport } from './bundle-plan.js'
import { checkSigner, formatPublicKey, trustedKeys, type SignedEnvelope } from './bundle-sign.js'
import { importTags } from './bundle-tags.js'
import type { BundleManifest } from './records.js'
import type { BatchOp } from './interface.js'

export { exportBundle, BUNDLE_FORMAT, type ExportOptions, type ExportResult } from './bundle-export.js'
export type { BundleProblem } from './bundle-car.js'

export interface ImportOptions {
  /** Largest block accepted (default 64 MiB). */
  maxBlockSize?: number
  /** Import values and history only: no memo answer (re-running the code here runs it). */
  dataOnly?: boolean
  /**
   * Public keys (`dds-ed25519 HEX`) trusted besides those of the store's
   * trusted-keys file. With any trusted key, only bundles signed by one are imported.
   */
  trustedKeys?: string[]
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
  /** The signer's public key (`dds-ed25519 HEX`) of a signed bundle. */
  signer?: string
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
 * `data.problem`, and `data.cid` for a block at fault), or DDS_BUNDLE_UNTRUSTED
 * when the store trusts keys and the bundle is not signed by one, and leave
 * the paths, heads, history and memo entries as they were. Entries keep their
 * original time and are marked `imported`; a path whose head in the store is
 * newer keeps it. Memo answers are added for the evaluations of the imported
 * entries (and what they called) under keys this store does not answer yet,
 * so that re-running the same code is a cache hit; none with `dataOnly`.
 *
 * @example
 * const result = await importBundle(store, 'models.car')
 * for (const p of result.paths) if (p.kept === 'newer') console.warn(`${p.path}: kept the newer local head`)
 */
export async function importBundle (store: Store, file: string, options: ImportOptions = {}): Promise<ImportResult> {
  if (typeof file !== 'string' || file === '') throw new TypeError('importBundle() needs a file name')
  const maxBlock = options.maxBlockSize ?? 64 * 1024 * 1024
  if (!Number.isSafeInteger(maxBlock) || maxBlock <= 0) throw new RangeError('maxBlockSize must be a positive integer')
  if (options.trustedKeys !== undefined && (!Array.isArray(options.trustedKeys) || options.trustedKeys.some((k) => typeof k !== 'string'))) throw new TypeError('trustedKeys must be a list of public keys (strings)')
  const trusted = await trustedKeys(store.location, options.trustedKeys)
  // The file stays open for both passes, and its identity is checked after
  // the second, so that both passes read the same bytes.
  const fh = await openFile(file)
  try {
    // The gc lock keeps a collection from sweeping blocks written here before the commit names them.
    const lock = await store.lock('gc', 'shared')
    try {
      return await importLocked(store, fh, { maxBlock, trusted, dataOnly: options.dataOnly === true, onProgress: options.onProgress })
    } finally {
      await lock.release()
    }
  } finally {
    await fh.close()
  }
}

interface Settings {
  maxBlock: number
  trusted: Uint8Array[]
  dataOnly: boolean
  onProgress: ImportOptions['onProgress']
}

/** A block written as a file during the first pass, whose index entry waits for the commit. */
interface Staged { cid: CID, ops: BatchOp[], size: number }
/** A small block, read again (and checked against its first reading) in the second pass. */
interface Later { cid: CID, offset: number, size: number, crc: number }

async function importLocked (store: Store, fh: FileHandle, settings: Settings): Promise<ImportResult> {
  const { onProgress } = settings
  const now = Date.now()
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
  let envelope: SignedEnvelope | undefined
  let manifest: BundleManifest | undefined
  let count: number | undefined
  let blocks = 0
  {
    const car = new CarFile(fh, stats.size, settings.maxBlock)
    root = await car.header()
    let lastReport = 0
    // A few blocks are written (to one segment, when the store keeps them) while the next are read and hashed.
    const writing = new Set<Promise<void>>()
    const sink = files ? store.chunkSink() : undefined
    try {
      for (let b = await car.block(); b !== undefined; b = await car.block()) {
        const { cid, bytes, offset } = b
        const id = cid.toString()
        if (!matches(cid, bytes)) throw invalid('hash-mismatch', `block ${id} does not match its CID`, { cid: id, offset })
        if (seen.has(id)) throw invalid('duplicate', `block ${id} appears twice`, { cid: id, offset })
        seen.add(id)
        let isManifest = false
        if (cid.equals(root)) {
          isManifest = true
          const r = readRoot(root, bytes, now)
          if (r.kind === 'envelope') {
            // Checked at once: an untrusted bundle is refused before its blocks are written.
            envelope = r.envelope
            await checkSigner(envelope, settings.trusted)
            continue
          }
          manifest = r.manifest
          count = r.count
        } else if (envelope?.manifest.equals(cid) === true) {
          isManifest = true
          const r = readRoot(cid, bytes, now)
          if (r.kind !== 'manifest') throw invalid('manifest', 'a signed envelope signs another envelope', { cid: id })
          manifest = r.manifest
          count = r.count
        }
        // A signed bundle's envelope comes first: a store that trusts keys refuses the rest unread.
        if (blocks === 0 && envelope === undefined) await checkSigner(undefined, settings.trusted)
        // The manifest is not indexed: no block it reaches can link back to it (its CID hashes
        // theirs), and decoding a manifest of many paths a second time costs as much as the first.
        if (!isManifest) index.add(cid, bytes)
        blocks++
        if (files && bytes.byteLength >= store.fileThreshold) {
          const p = (async () => {
            const pending = new Pending()
            if (sink === undefined) await store.stageBlock(cid, bytes, pending)
            else await sink.stage(cid, bytes, pending)
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
      // Left behind by a refused import, a segment names no index entry: gc removes it.
      if (sink !== undefined) await sink.close().catch(() => {})
    }
    await Promise.all(writing)
    onProgress?.({ phase: 'verify', bytes: car.size, total: car.size })
  }
  if (manifest === undefined) throw invalid('root', `the root block ${root.toString()} is not in the bundle`, { cid: root.toString() })
  const m = manifest
  const manifestId = (envelope?.manifest ?? root).toString()
  const reached = checkGraph(m, index, seen, new Set([root.toString(), manifestId]), blocks, count)

  // What the store has now decides which heads move and which memo answers are added.
  const { updates, kept } = await planImport(store, m)

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

  // The index entries of the large blocks, the memo answers and the history entries go in one batch.
  const final = new Pending()
  for (const st of staged) {
    if (!reached.has(st.cid.toString())) continue
    for (const op of st.ops) final.add(op)
    written++
    bytes += st.size
  }
  const memo = settings.dataOnly ? [] : await memoOps(store, m, index)
  for (const op of memo) final.add(op)
  const result = await store.commit(updates, final, importCommitOptions)
  if (m.tags !== undefined) await importTags(store, m.tags)
  const appended = appendedPerPath(result)
  const paths: ImportedPath[] = Object.entries(m.paths).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([path, entries]) => {
    const n = appended.get(path) ?? 0
    const k = kept.get(path)
    return { path, appended: n, skipped: entries.length - n, ...(k === undefined ? {} : { kept: k }) }
  })
  return { root, manifest: m, ...(envelope === undefined ? {} : { signer: formatPublicKey(envelope.key) }), blocks, written, bytes, memo: memo.length, paths }
}
