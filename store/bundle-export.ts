/**
 * Writing a bundle: the paths' entries and every block they reach, each once,
 * to a CARv1 file that appears under its name only once complete. With a
 * signing key the root is the envelope that signs the manifest (see
 * bundle-sign.ts); the manifest's block count leaves the envelope out, so the
 * same checks apply to signed and unsigned bundles.
 */
import { open as fsOpen, rename, rm } from 'node:fs/promises'
import { dirname, basename, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { CarWriter } from '@ipld/car/writer'
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { cidOf, DAG_CBOR_CODE } from './hash.js'
import { encodeNode, type BundleManifest, type HistoryEntry } from './records.js'
import { validatePath } from './paths.js'
import { entryLinks, required, walkStore, type Link } from './dag.js'
import { signManifest } from './bundle-sign.js'
import { exportTags } from './bundle-tags.js'
import type { Store } from './store.js'

/** The bundle format this code writes and reads. */
export const BUNDLE_FORMAT = 'dds-bundle/1'


export interface ExportOptions {
  /** Export every history entry of each path (deletions included), not only its head. */
  history?: boolean
  /** Sign the bundle with this ed25519 secret key (32 bytes, see readSecretKey): its root becomes a signed envelope. */
  signWith?: Uint8Array
  /** Called as blocks are written; `total` (bytes of blocks) is known after a first, cheap walk. */
  onProgress?: (progress: { blocks: number, bytes: number, total: number }) => void
}

export interface ExportResult {
  /** CID of the CAR root: the manifest, or the envelope that signs it. */
  root: CID
  /** CID of the manifest (the root unless signed). */
  manifestCid: CID
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
  const manifestCid = cidOf(manifestBytes, DAG_CBOR_CODE, store.hash)
  const envelopeBytes = options.signWith === undefined ? undefined : await signManifest(manifestCid, options.signWith)
  const root = envelopeBytes === undefined ? manifestCid : cidOf(envelopeBytes, DAG_CBOR_CODE, store.hash)
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  const fh = await fsOpen(tmp, 'wx')
  let blocks = 0
  let bytes = 0
  try {
    const { writer, out } = CarWriter.create([root])
    const produce = async (): Promise<void> => {
      try {
        // The envelope comes first: an import checks the signature before it reads on.
        if (envelopeBytes !== undefined) {
          await writer.put({ cid: root, bytes: envelopeBytes })
          blocks++
          bytes += envelopeBytes.byteLength
        }
        await writer.put({ cid: manifestCid, bytes: manifestBytes })
        blocks++
        bytes += manifestBytes.byteLength
        const written = new Set<string>([root.toString(), manifestCid.toString()])
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
  return { root, manifestCid, manifest, blocks, bytes }
}
