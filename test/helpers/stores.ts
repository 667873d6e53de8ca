/**
 * The backends every shared suite runs against, and a backend wrapper that
 * fails on demand (to prove that failed writes leave nothing visible).
 */
import type { Test } from 'tap'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { openStore, type Store, type StoreOptions } from '../../store/store.js'
import { DdsError } from '../../store/errors.js'
import {
  NOT_SYNC, type Backend, type BatchOp, type BlobFiles, type CommitOptions, type CommitResult,
  type LeaseRequest, type LeaseResult, type PathUpdate, type RangeOptions, type Space
} from '../../store/interface.js'

export interface BackendCase {
  name: 'classic' | 'memory'
  open: (dir: string, options?: Omit<StoreOptions, 'backend' | 'location'>) => Promise<Store>
}

export const classic: BackendCase = {
  name: 'classic',
  open: async (dir, options = {}) => await openStore({ ...options, location: dir, backend: 'classic' })
}

export const memory: BackendCase = {
  name: 'memory',
  open: async (_dir, options = {}) => await openStore({ ...options, backend: 'memory' })
}

/** Pick the backend from `DDS_TEST_BACKEND` or a test file's own choice. */
export function backendCase (name: string): BackendCase {
  if (name === 'classic') return classic
  if (name === 'memory') return memory
  throw new Error(`unknown backend ${name}`)
}

/** A backend that forwards to another and throws where told to. */
export class FailingBackend implements Backend {
  readonly kind: string
  readonly location: string | undefined
  readonly inner: Backend
  /** Throw on the next batch that contains an operation of this space. */
  failBatchWith: Space | undefined
  /** Throw on the n-th blob write from now (1-based). */
  failFileWriteAt = 0
  #fileWrites = 0
  readonly files: BlobFiles | undefined
  readonly getSync: ((space: Space, key: Uint8Array) => Uint8Array | undefined | typeof NOT_SYNC) | undefined

  /** True when the wrapped files offer no segments (each large block its own file, as stores of the first layout). */
  readonly perBlockFiles: boolean

  constructor (inner: Backend, options: { perBlockFiles?: boolean } = {}) {
    this.inner = inner
    this.perBlockFiles = options.perBlockFiles === true
    this.kind = `failing-${inner.kind}`
    this.location = inner.location
    this.getSync = inner.getSync === undefined ? undefined : (space, key) => (inner.getSync as NonNullable<Backend['getSync']>)(space, key)
    const innerFiles = inner.files
    this.files = innerFiles === undefined
      ? undefined
      : {
          directory: innerFiles.directory,
          write: async (name, bytes) => {
            this.#fileWrites++
            if (this.failFileWriteAt !== 0 && this.#fileWrites === this.failFileWriteAt) {
              this.failFileWriteAt = 0
              throw Object.assign(new Error('injected write failure'), { code: 'EIO' })
            }
            await innerFiles.write(name, bytes)
          },
          ...(innerFiles.create === undefined || innerFiles.openRead === undefined || this.perBlockFiles
            ? {}
            : {
                create: async (name: string) => {
                  const h = await (innerFiles.create as NonNullable<BlobFiles['create']>)(name)
                  return {
                    writeAt: async (bytes: Uint8Array, position: number) => {
                      this.#fileWrites++
                      if (this.failFileWriteAt !== 0 && this.#fileWrites === this.failFileWriteAt) {
                        this.failFileWriteAt = 0
                        throw Object.assign(new Error('injected write failure'), { code: 'EIO' })
                      }
                      await h.writeAt(bytes, position)
                    },
                    close: async () => { await h.close() }
                  }
                },
                openRead: async (name: string) => await (innerFiles.openRead as NonNullable<BlobFiles['openRead']>)(name)
              }),
          read: async (name, maxBytes) => await innerFiles.read(name, maxBytes),
          readInto: async (name, target, offset) => await innerFiles.readInto(name, target, offset),
          has: async (name) => await innerFiles.has(name),
          remove: async (name) => { await innerFiles.remove(name) },
          list: () => innerFiles.list()
        }
  }

  resetFileCount (): void { this.#fileWrites = 0 }

  async get (space: Space, key: Uint8Array): Promise<Uint8Array | undefined> { return await this.inner.get(space, key) }
  async getMany (space: Space, keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>> { return await this.inner.getMany(space, keys) }
  async batch (ops: BatchOp[], options?: { sync?: boolean }): Promise<void> {
    if (this.failBatchWith !== undefined && ops.some((op) => op.space === this.failBatchWith)) {
      this.failBatchWith = undefined
      throw Object.assign(new Error('injected batch failure'), { code: 'EIO' })
    }
    await this.inner.batch(ops, options)
  }

  entries (space: Space, range?: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> { return this.inner.entries(space, range) }
  keys (space: Space, range?: RangeOptions): AsyncIterable<Uint8Array> { return this.inner.keys(space, range) }
  async commit (updates: PathUpdate[], staged: BatchOp[], options?: CommitOptions): Promise<CommitResult> {
    if (this.failBatchWith !== undefined && (this.failBatchWith === 'paths' || this.failBatchWith === 'history' || staged.some((op) => op.space === this.failBatchWith))) {
      this.failBatchWith = undefined
      throw Object.assign(new Error('injected batch failure'), { code: 'EIO' })
    }
    return await this.inner.commit(updates, staged, options)
  }

  async lease (request: LeaseRequest): Promise<LeaseResult> { return await this.inner.lease(request) }
  async close (): Promise<void> { await this.inner.close() }
}

/** Drain an async iterable into an array. */
export async function collect<T> (it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/** The DdsError `fn` rejects with (anything else, or no rejection, fails the test). */
export async function refusal (fn: () => Promise<unknown>): Promise<DdsError> {
  try {
    await fn()
  } catch (err) {
    if (err instanceof DdsError) return err
    throw err
  }
  throw new Error('not refused')
}

const testDirs = new WeakMap<Test, string>()
/** One temporary directory per test (tap empties it on every testdir() call, so it is made once). */
export function testDir (t: Test): string {
  let dir = testDirs.get(t)
  if (dir === undefined) {
    dir = t.testdir()
    testDirs.set(t, dir)
  }
  return dir
}

/** Where a large block's bytes are on disk: its own file, or its range in a segment. */
export async function blockPlace (store: Store, cid: CID): Promise<{ file: string, position: number, size: number, segment: boolean }> {
  const { parseFileMarker, parseSegmentMarker, BLOCK_FILE, BLOCK_SEGMENT } = await import('../../store/keys.js')
  const raw = await store.backend.get('blocks', cid.bytes)
  const dir = store.backend.files?.directory
  if (raw === undefined || dir === undefined) throw new Error(`block ${cid.toString()} is not kept as a file`)
  const at = (name: string): string => join(dir, name.slice(-2), name)
  if (raw[0] === BLOCK_FILE) return { file: at(cid.toString()), position: 0, size: parseFileMarker(raw).size, segment: false }
  if (raw[0] === BLOCK_SEGMENT) {
    const m = parseSegmentMarker(raw)
    return { file: at(m.segment), position: m.position, size: m.size, segment: true }
  }
  throw new Error(`block ${cid.toString()} is inline`)
}
