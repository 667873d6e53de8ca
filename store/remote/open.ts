/**
 * Opening a remote by its URL's scheme: `s3://` (S3-compatible object
 * storage) or `file://` (a shared directory). Each kind is loaded only when
 * used, so a store without a remote, or with a file:// one, never loads the
 * AWS SDK.
 */
import type { Remote, RemoteOptions } from './interface.js'

/** A remote as a URL, as options, or as an open `Remote`. */
export type RemoteSpec = string | RemoteOptions | Remote

/** True for an open remote (rather than a URL or options). */
export function isRemote (spec: unknown): spec is Remote {
  return typeof spec === 'object' && spec !== null && typeof (spec as Remote).getBlock === 'function' && typeof (spec as Remote).append === 'function'
}

/**
 * Open the remote a URL or options name (TypeError for another scheme).
 *
 * @example
 * const remote = await openRemoteUrl({ url: 'file:///mnt/team/dds' })
 */
export async function openRemoteUrl (spec: string | RemoteOptions): Promise<Remote> {
  const options: RemoteOptions = typeof spec === 'string' ? { url: spec } : spec
  if (options === null || typeof options !== 'object' || typeof options.url !== 'string') {
    throw new TypeError('remote must be a URL (s3://bucket/prefix, file:///directory), remote options with a url, or a Remote')
  }
  if (options.url.startsWith('s3://')) {
    const { openS3Remote } = await import('./s3-remote.js')
    return await openS3Remote(options)
  }
  if (options.url.startsWith('file:')) {
    const { openFileRemote } = await import('./file-remote.js')
    return await openFileRemote(options)
  }
  throw new TypeError(`remote must be an s3:// or file:// URL, got ${JSON.stringify(options.url)}`)
}
