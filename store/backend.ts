/**
 * The narrow interface every storage backend implements, and the two embedded
 * backends: `classic-level` (LevelDB in a directory, large blocks as files beside
 * it) and `memory-level` (everything in memory).
 *
 * A backend knows nothing of CIDs, artifacts or evaluations: it stores bytes
 * under bytes in a few key spaces, applies atomic batches, hands out named locks
 * and, when it has a directory, keeps large immutable blobs as files.
 */
import { rm } from 'node:fs/promises'
import { realpathSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { AbstractLevel, AbstractSublevel } from 'abstract-level'
import { fsFailure, openFailure } from './open-errors.js'
import { DirectoryBlobs } from './blob-files.js'
import { Mutexes } from './mutex.js'
import { definedRange } from './util.js'
import { applyCommit } from './commit.js'
import { applyLease } from './leases.js'
import {
  SPACES, type Backend, type BatchOp, type BlobFiles, type CommitOptions, type CommitResult,
  type LeaseRequest, type LeaseResult, type PathUpdate, type RangeOptions, type Space
} from './interface.js'
import { dynamicImport } from './dynamic-import.js'

export { SPACES, NOT_SYNC } from './interface.js'
export { DirectoryBlobs }
export type { Space, PutOp, DelOp, BatchOp, RangeOptions, Lock, BlobFiles, Backend } from './interface.js'

type Sub = AbstractSublevel<AbstractLevel<Uint8Array | string | Buffer, Uint8Array, Uint8Array>, Uint8Array | string | Buffer, Uint8Array, Uint8Array>
type AnyLevel = AbstractLevel<Uint8Array | string | Buffer, Uint8Array, Uint8Array>

const VIEW = { keyEncoding: 'view', valueEncoding: 'view' } as const

/** A backend over any abstract-level database, with sublevels for the key spaces. */
export class LevelBackend implements Backend {
  readonly kind: 'classic' | 'memory'
  readonly location: string | undefined
  readonly files: BlobFiles | undefined
  readonly #db: AnyLevel
  readonly #subs: Map<Space, Sub>
  readonly #locks = new Mutexes()
  readonly getSync: ((space: Space, key: Uint8Array) => Uint8Array | undefined) | undefined

  constructor (kind: 'classic' | 'memory', db: AnyLevel, location: string | undefined, files: BlobFiles | undefined) {
    this.kind = kind
    this.#db = db
    this.location = location
    this.files = files
    this.#subs = new Map(SPACES.map((s) => [s, db.sublevel<Uint8Array, Uint8Array>(s, VIEW) as unknown as Sub]))
    if ((db.supports as unknown as { getSync?: boolean }).getSync === true) {
      this.getSync = (space, key) => this.#sub(space).getSync(key)
    }
  }

  #sub (space: Space): Sub {
    const sub = this.#subs.get(space)
    if (sub === undefined) throw new TypeError(`unknown key space '${space}'`)
    return sub
  }

  async open (): Promise<void> {
    await this.#db.open()
    // Sublevels open on their first asynchronous operation; synchronous reads need them open now.
    for (const sub of this.#subs.values()) await sub.open()
  }

  async get (space: Space, key: Uint8Array): Promise<Uint8Array | undefined> {
    // A local read of a small value: the synchronous path skips a thread-pool round trip.
    if (this.getSync !== undefined) return this.getSync(space, key)
    return await this.#sub(space).get(key)
  }

  async getMany (space: Space, keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return await this.#sub(space).getMany(keys)
  }

  async batch (ops: BatchOp[], options: { sync?: boolean } = {}): Promise<void> {
    if (ops.length === 0) return
    // A chained batch on the root database, each key prefixed as its sublevel
    // prefixes it (`prefixKey`, abstract-level's public API): the array form
    // copies and re-checks every operation, and the `sublevel` option of a
    // chained put resolves encodings and prefixes per operation, 2x and 4x
    // slower for the hundreds of thousands of entries of a large import.
    const batch = this.#db.batch()
    try {
      for (const op of ops) {
        const key = this.#sub(op.space).prefixKey(op.key, 'view', false)
        if (op.type === 'put') batch.put(key, op.value)
        else batch.del(key)
      }
    } catch (err) {
      await batch.close()
      throw err
    }
    try {
      await batch.write({ sync: options.sync === true } as never)
    } catch (err) {
      // A full disk or a filesystem gone read-only is said as such, not as LevelDB's IO error.
      if (this.location !== undefined && fsFailure(err) !== undefined) throw openFailure(this.location, err, 'write to')
      throw err
    }
  }

  async * entries (space: Space, range: RangeOptions = {}): AsyncIterable<[Uint8Array, Uint8Array]> {
    const it = this.#sub(space).iterator(definedRange(range, true))
    try {
      while (true) {
        const batch = await it.nextv(256)
        if (batch.length === 0) break
        for (const entry of batch) yield entry as [Uint8Array, Uint8Array]
      }
    } finally {
      await it.close()
    }
  }

  async * keys (space: Space, range: RangeOptions = {}): AsyncIterable<Uint8Array> {
    const it = this.#sub(space).keys(definedRange(range, true))
    try {
      while (true) {
        const batch = await it.nextv(1024)
        if (batch.length === 0) break
        yield * batch
      }
    } finally {
      await it.close()
    }
  }

  async commit (updates: PathUpdate[], staged: BatchOp[], options: CommitOptions = {}): Promise<CommitResult> {
    const release = await this.#locks.acquire('commit')
    try {
      return await applyCommit(this, updates, staged, options)
    } finally {
      release()
    }
  }

  async lease (request: LeaseRequest): Promise<LeaseResult> {
    const release = await this.#locks.acquire('lease')
    try {
      return await applyLease(this, request)
    } finally {
      release()
    }
  }

  /** Flush the memtable, so that the next open has no log to replay. */
  async flush (): Promise<void> {
    const db = this.#db as unknown as { compactRange?: (a: Uint8Array, b: Uint8Array) => Promise<void> }
    if (typeof db.compactRange === 'function') {
      const k = new Uint8Array([0xff, 0xff, 0xff, 0xfe])
      await db.compactRange(k, k).catch(() => {})
    }
  }

  get status (): string {
    return this.#db.status
  }

  async close (): Promise<void> {
    await this.#db.close()
  }
}

function rangeOf (range: RangeOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (range.gt !== undefined) out.gt = range.gt
  if (range.gte !== undefined) out.gte = range.gte
  if (range.lt !== undefined) out.lt = range.lt
  if (range.lte !== undefined) out.lte = range.lte
  if (range.reverse === true) out.reverse = true
  if (range.limit !== undefined) out.limit = range.limit
  return out
}

export interface ClassicOptions {
  /** LevelDB write buffer in bytes (default 16 MiB). */
  writeBufferSize?: number
  /** fsync each blob file once written (default false: a process crash loses nothing; power loss may). */
  syncFiles?: boolean
}

/** The canonical key of a store directory (created if missing). */
export function canonicalLocation (location: string): string {
  const abs = resolve(location)
  try {
    mkdirSync(abs, { recursive: true })
    return realpathSync(abs)
  } catch (err) {
    throw openFailure(abs, err)
  }
}

/** Thrown by `openLevelExclusive` when another process holds the database. */
export class LockedError extends Error {
  constructor (location: string, cause: unknown) {
    super(`store ${location} is locked by another process`, { cause })
    this.name = 'LockedError'
  }
}

/** Where `openLevelExclusive` finds the database and the blobs when not in the store directory (a read-only copy). */
export interface LevelPlace {
  /** The LevelDB directory (default `<store>/db`). */
  database?: string
  /** The blob files (default `<store>/blobs`). */
  files?: BlobFiles
}

/**
 * Open the LevelDB of a store directory for this process alone. Callers must
 * make sure no other instance of this process has it open (a failed second
 * open in one process drops the process's lock on the directory).
 */
export async function openLevelExclusive (dir: string, options: ClassicOptions = {}, where: LevelPlace = {}): Promise<LevelBackend> {
  // Each engine is loaded by the first open that needs it: classic-level's native
  // binding costs a fresh process milliseconds, and a classic store never needs memory-level.
  const level = await import('classic-level')
  // Inlined in the bundle, the CommonJS module is only a default export.
  const ClassicLevel = level.ClassicLevel ?? level.default.ClassicLevel
  const files = where.files ?? new DirectoryBlobs(dir, { sync: options.syncFiles === true })
  const db = new ClassicLevel<Uint8Array, Uint8Array>(where.database ?? join(dir, 'db'), {
    keyEncoding: 'view',
    valueEncoding: 'view',
    writeBufferSize: options.writeBufferSize ?? 16 * 1024 * 1024
  }) as unknown as AnyLevel
  const backend = new LevelBackend('classic', db, dir, files)
  try {
    await backend.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    if (cause?.code === 'LEVEL_LOCKED') throw new LockedError(dir, err)
    throw openFailure(dir, err)
  }
  return backend
}

/** A fresh in-memory backend. */
export async function openMemory (): Promise<LevelBackend> {
  const { MemoryLevel } = await dynamicImport('memory-level') as typeof import('memory-level')
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }) as unknown as AnyLevel
  const backend = new LevelBackend('memory', db, undefined, undefined)
  await backend.open()
  return backend
}
