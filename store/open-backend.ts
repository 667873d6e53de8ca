/**
 * Which backend a store opens, and the fallback to reading a store that
 * cannot be written: with `readOnly: 'fallback'`, a store that refuses to be
 * opened for writing for a reason a private copy gets around (permission,
 * read-only filesystem, full disk, held by a process out of reach) is opened
 * read-only instead (store/snapshot.ts), and the backend's `readOnly` says why.
 */
import { isDdsError, ErrorCodes } from './errors.js'
import { findStore } from './location.js'
import type { Backend, OpenFailure } from './interface.js'
import type { SharedOptions } from './shared.js'

/** How a store's backend is chosen and opened. */
export interface BackendOptions {
  /** Store directory (LevelDB backend). Default: `$DDS_STORE`, else the nearest `.dds` (see `findStore`). */
  location?: string
  /** `'classic'` (LevelDB, default), `'memory'`, or a backend instance. */
  backend?: 'classic' | 'memory' | Backend
  /** LevelDB tuning, file durability and how long to wait for a store held by another process. */
  classic?: SharedOptions
  /**
   * Read a LevelDB store without writing anything under its directory (a
   * private copy of its index; blob files read in place; writes refused with
   * DDS_STORE_UNAVAILABLE). `true`: always; `'fallback'`: only when it cannot
   * be opened for writing (permission, read-only filesystem, full disk,
   * locked). `backend.readOnly` then holds the reason.
   */
  readOnly?: boolean | 'fallback'
}

/** An open backend and how to let go of it. */
export interface OpenedBackend<T> {
  backend: Backend
  release: () => Promise<void>
  /** What `prepare` returned for it. */
  prepared: T
}

/** The reasons a read-only copy gets around. */
const COPY_HELPS: ReadonlySet<unknown> = new Set<OpenFailure>(['permission', 'read-only', 'disk-full', 'locked'])

/**
 * Open the backend `options` choose and run `prepare` on it (the store's
 * first reads and, on a new store, writes): the failures that make a
 * fallback worth it only show there, since a shared LevelDB opens on first use.
 *
 * @example
 * const { backend, release } = await openBackend({ location: '.dds', readOnly: 'fallback' }, async () => {})
 * backend.readOnly // undefined, or 'permission' when it was opened read-only
 */
export async function openBackend<T> (options: BackendOptions, prepare: (backend: Backend) => Promise<T>): Promise<OpenedBackend<T>> {
  const kind = options.backend ?? 'classic'
  const location = kind === 'classic' ? options.location ?? findStore().location : undefined
  if (location !== undefined && options.readOnly === true) return await openCopy(location, 'read-only', options, prepare)
  let opened: { backend: Backend, release: () => Promise<void> }
  try {
    opened = await chosen(kind, location, options)
  } catch (err) {
    if (location !== undefined && copyHelps(options, err)) return await copyInstead(location, err, options, prepare)
    throw err
  }
  try {
    return { ...opened, prepared: await prepare(opened.backend) }
  } catch (err) {
    await opened.release()
    if (location !== undefined && copyHelps(options, err)) return await copyInstead(location, err, options, prepare)
    throw err
  }
}

async function chosen (kind: NonNullable<BackendOptions['backend']>, location: string | undefined, options: BackendOptions): Promise<{ backend: Backend, release: () => Promise<void> }> {
  if (kind === 'classic') {
    const { openShared } = await import('./shared.js')
    return await openShared(location as string, options.classic)
  }
  if (kind === 'memory') {
    const { openMemory } = await import('./backend.js')
    const b = await openMemory()
    return { backend: b, release: async () => { await b.close() } }
  }
  if (typeof kind === 'object' && kind !== null && typeof kind.get === 'function') {
    return { backend: kind, release: async () => { await kind.close() } }
  }
  throw new TypeError(`backend must be 'classic', 'memory' or a Backend, got ${String(kind)}`)
}

function copyHelps (options: BackendOptions, err: unknown): boolean {
  return options.readOnly === 'fallback' && isDdsError(err, ErrorCodes.STORE_UNAVAILABLE) && COPY_HELPS.has(err.data.reason)
}

/**
 * Read a copy after `err` refused writing. When the copy cannot be read
 * either, its own reason is the error (it says why reading fails), else the
 * first error stands (there is no store to read).
 */
async function copyInstead<T> (location: string, err: unknown, options: BackendOptions, prepare: (backend: Backend) => Promise<T>): Promise<OpenedBackend<T>> {
  const reason = (err as { data: { reason: OpenFailure } }).data.reason
  try {
    return await openCopy(location, reason, options, prepare)
  } catch (copyErr) {
    if (isDdsError(copyErr) && copyErr.data.reason !== undefined) throw copyErr
    throw err
  }
}

async function openCopy<T> (location: string, reason: OpenFailure, options: BackendOptions, prepare: (backend: Backend) => Promise<T>): Promise<OpenedBackend<T>> {
  const { openSnapshot } = await import('./snapshot.js')
  const backend = await openSnapshot(location, reason, options.classic)
  const release = async (): Promise<void> => { await backend.close() }
  try {
    return { backend, release, prepared: await prepare(backend) }
  } catch (err) {
    await release()
    throw err
  }
}
