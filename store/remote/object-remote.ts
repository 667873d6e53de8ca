/**
 * A remote over any object store: the parts (blocks and packs, memo
 * answers, path logs, leases) composed behind the `Remote` contract, and the
 * checks at open (the probe, the format marker). Which object store it uses
 * is decided by the URL (see open.ts).
 */
import type { CID } from 'multiformats/cid'
import type { CommitOptions, CommitResult, Lock, PathsOptions } from '../interface.js'
import type { ArtifactRoot, BundleTag, PathEntry } from '../records.js'
import { RemoteBlocks } from './blocks.js'
import { Layout } from './layout.js'
import { takeLease } from './leases.js'
import { RemoteMemo } from './memo.js'
import { PathLogs } from './path-logs.js'
import { RemoteTags } from './tags.js'
import { checkFormat, probe } from './probe.js'
import type { MemoPack, ObjectStore, PackChunk, Remote, RemoteHead, RemoteUpdate } from './interface.js'

/** A remote store in one object store, under one prefix. Open it with `openObjectRemote`. */
export class ObjectRemote implements Remote {
  readonly url: string
  readonly objects: ObjectStore
  readonly leaseTtl: number
  readonly layout: Layout
  readonly #blocks: RemoteBlocks
  readonly #memo: RemoteMemo
  readonly #logs: PathLogs
  readonly #tags: RemoteTags

  constructor (objects: ObjectStore, options: { url: string, prefix: string, leaseTtl: number }) {
    this.objects = objects
    this.url = options.url
    this.leaseTtl = options.leaseTtl
    this.layout = new Layout(options.prefix)
    const place = { objects, layout: this.layout, url: this.url }
    this.#blocks = new RemoteBlocks(place)
    this.#memo = new RemoteMemo(place)
    this.#logs = new PathLogs(place)
    this.#tags = new RemoteTags(place)
  }

  /** The object key of a name relative to the prefix (for tools and tests). */
  key (rel: string): string { return this.layout.key(rel) }
  /** The object key of a block (for tools and tests). */
  blockKey (cid: CID): string { return this.layout.block(cid) }
  /** The object key of an artifact's pack (for tools and tests). */
  packKey (cid: CID): string { return this.layout.pack(cid) }
  /** The object key of a memo answer (for tools and tests). */
  memoKey (key: Uint8Array): string { return this.layout.memo(key) }

  async hasBlock (cid: CID): Promise<boolean> { return await this.#blocks.hasBlock(cid) }
  async getBlock (cid: CID): Promise<Uint8Array | undefined> { return await this.#blocks.getBlock(cid) }
  async putBlock (cid: CID, bytes: Uint8Array): Promise<void> { await this.#blocks.putBlock(cid, bytes) }
  async putPack (root: CID, payload: () => AsyncIterable<Uint8Array>, size: number): Promise<void> { await this.#blocks.putPack(root, payload, size) }
  async readPack (root: CID, artifact: ArtifactRoot, onChunk: (chunk: PackChunk) => Promise<void>, options?: { into?: Uint8Array }): Promise<void> {
    await this.#blocks.readPack(root, artifact, onChunk, options)
  }

  async getMemo (key: Uint8Array): Promise<MemoPack | undefined> { return await this.#memo.getMemo(key) }
  async putMemo (pack: MemoPack): Promise<void> { await this.#memo.putMemo(pack) }

  async head (path: string): Promise<RemoteHead | undefined> { return await this.#logs.head(path) }
  history (path: string, options?: { limit?: number }): AsyncIterable<PathEntry> { return this.#logs.history(path, options) }
  paths (options?: PathsOptions): AsyncIterable<PathEntry> { return this.#logs.paths(options) }
  async append (updates: RemoteUpdate[], options?: CommitOptions): Promise<CommitResult> { return await this.#logs.append(updates, options) }

  async tags (): Promise<BundleTag[]> { return await this.#tags.tags() }
  async putTag (tag: BundleTag): Promise<void> { await this.#tags.putTag(tag) }

  async lease (name: string): Promise<Lock> { return await takeLease(this.objects, this.layout, name, this.leaseTtl) }

  async close (): Promise<void> {
    await this.objects.close()
  }
}

/**
 * Open a remote over an object store: probe that it enforces conditional
 * writes (DDS_REMOTE_UNSAFE otherwise) and check the format marker
 * (DDS_FORMAT_VERSION). The object store is closed when this fails.
 *
 * @example
 * const remote = await openObjectRemote(objects, { url: 'file:///mnt/team/dds', prefix: '', leaseTtl: 30_000 })
 */
export async function openObjectRemote (objects: ObjectStore, options: { url: string, prefix: string, leaseTtl: number }): Promise<ObjectRemote> {
  try {
    const remote = new ObjectRemote(objects, options)
    await probe(objects, remote.layout, options.url)
    await checkFormat(objects, remote.layout, options.url)
    return remote
  } catch (err) {
    await objects.close()
    throw err
  }
}
