/**
 * The remote store: a team's shared store on S3-compatible object storage
 * or in a shared directory. Everything here loads the S3 client on first
 * use of an s3:// remote, not at import.
 */
import type { Store } from '../store.js'
import type { Remote, RemoteOptions } from './interface.js'
import type { SyncResult } from './sync.js'
import type { RemoteLink } from './link.js'

export type { Remote, RemoteOptions, S3Options, FileOptions, MemoPack, PackChunk } from './interface.js'
export type { SyncResult } from './sync.js'

function linkOf (store: Store): RemoteLink {
  const link = store.link
  if (link === undefined) throw new TypeError('the store has no remote: open it with { remote }')
  return link
}

/**
 * Open a remote on its own (to list or read it without a local store):
 * `s3://bucket/prefix` or `file:///shared/directory`. Probes that it
 * enforces conditional writes (DDS_REMOTE_UNSAFE otherwise).
 *
 * @example
 * const remote = await openRemote('s3://team/dds')
 * for await (const e of remote.paths()) console.log(e.path, e.seq)
 * await remote.close()
 */
export async function openRemote (spec: string | RemoteOptions): Promise<Remote> {
  const { openRemoteUrl } = await import('./open.js')
  return await openRemoteUrl(spec)
}

/**
 * Send paths and everything they reach from a store to its remote.
 *
 * @example
 * const store = await openStore({ location: '.dds', remote: 's3://team/dds' })
 * await pushPaths(store, ['/models/clf'])
 */
export async function pushPaths (store: Store, paths: string[]): Promise<SyncResult> {
  const { push } = await import('./sync.js')
  const { pushTags } = await import('./sync-tags.js')
  const link = linkOf(store)
  const result = await push(link, paths)
  return { ...result, tags: await pushTags(link, store.backend, paths) }
}

/**
 * Bring paths and everything they reach from a store's remote into the store.
 *
 * @example
 * await pullPaths(store, ['/models/clf'])
 */
export async function pullPaths (store: Store, paths: string[], options: { onProgress?: (p: { blocks: number }) => void } = {}): Promise<SyncResult> {
  const { pull } = await import('./sync.js')
  const { pullTags } = await import('./sync-tags.js')
  const link = linkOf(store)
  const result = await pull(link, paths, options)
  const tags = await pullTags(link, store.backend, paths)
  return { ...result, tags: tags.added, refusedTags: tags.refused }
}
