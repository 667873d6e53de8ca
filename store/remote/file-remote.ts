/**
 * Opening a `file:///shared/directory` remote: the directory made sure of
 * (created when missing, unless told not to), every symbolic link on the way
 * to it resolved once, and the remote's algorithms (object-remote.ts) over
 * its files (file-store.ts).
 */
import { promises as fs } from 'node:fs'
import { isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DdsError, ErrorCodes } from '../errors.js'
import { DirectoryObjectStore } from './file-store.js'
import { checkLeaseTtl } from './leases.js'
import { openObjectRemote, type ObjectRemote } from './object-remote.js'
import type { RemoteOptions } from './interface.js'

/**
 * The directory a `file://` URL names (TypeError unless it is an absolute
 * `file:` URL without query or fragment).
 *
 * @example
 * parseFileUrl('file:///mnt/team/dds') // '/mnt/team/dds'
 */
export function parseFileUrl (url: string): string {
  if (typeof url !== 'string') throw new TypeError(`remote must be a file:// URL, got ${typeof url}`)
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TypeError(`remote must look like file:///absolute/directory, got ${JSON.stringify(url)}`)
  }
  if (parsed.protocol !== 'file:' || parsed.search !== '' || parsed.hash !== '' || !url.startsWith('file://')) {
    throw new TypeError(`remote must look like file:///absolute/directory, got ${JSON.stringify(url)}`)
  }
  let dir: string
  try {
    dir = fileURLToPath(parsed)
  } catch (err) {
    throw new TypeError(`remote ${JSON.stringify(url)}: ${(err as Error).message}`)
  }
  if (!isAbsolute(dir)) throw new TypeError(`remote ${JSON.stringify(url)} must name an absolute directory`)
  return dir
}

/**
 * Open the remote in the shared directory `options.url` (`file://`): probe
 * that its conditional writes hold, check the format marker.
 *
 * @example
 * const remote = await openFileRemote({ url: 'file:///mnt/team/dds' })
 */
export async function openFileRemote (options: RemoteOptions): Promise<ObjectRemote> {
  if (options === null || typeof options !== 'object') throw new TypeError('remote options must be an object')
  const dir = parseFileUrl(options.url)
  const leaseTtl = checkLeaseTtl(options.leaseTtl)
  const file = options.file ?? {}
  if (file.staleLock !== undefined && (!Number.isSafeInteger(file.staleLock) || file.staleLock < 1000)) throw new RangeError('file.staleLock must be an integer of at least 1000 ms')
  const unavailable = (detail: string, cause?: unknown): DdsError => new DdsError(ErrorCodes.REMOTE_UNAVAILABLE, `remote ${options.url}: ${detail}`,
    { cause, data: { remote: options.url, directory: dir } })
  if (file.createDirectory !== false) {
    try {
      await fs.mkdir(dir, { recursive: true })
    } catch (err) {
      throw unavailable(`cannot create the directory ${dir}: ${(err as Error).message}`, err)
    }
  }
  let root: string
  try {
    root = await fs.realpath(dir)
    if (!(await fs.stat(root)).isDirectory()) throw new Error('not a directory')
  } catch (err) {
    throw unavailable(`${dir} is not a usable directory: ${(err as Error).message}`, err)
  }
  const objects = new DirectoryObjectStore(root, options.url, file.staleLock === undefined ? {} : { staleLock: file.staleLock })
  return await openObjectRemote(objects, { url: options.url, prefix: '', leaseTtl })
}
