/**
 * The record of what one kept function reads while it runs. Each computing
 * keep runs its function inside its own recorder (an AsyncLocalStorage
 * context, so concurrent and nested keeps record separately); the run
 * engine's own reads (signatures, the store) run outside any recorder.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { Stats } from 'node:fs'
import type { FileKind, FileRef } from '../../store/records.js'
import { ABSENT, digestNow, recordedPath, statOf } from './digest.js'

/** A digest still being computed (a stream hashed as it passes), taken when the function returns; undefined when it cannot be known. */
export interface PendingDigest {
  result: () => Uint8Array | undefined
}

/** Effects a kept function had that dds-ts cannot check afterwards. */
export type Effect = 'network' | 'process' | 'worker'

interface Entry {
  abs: string
  kind: FileKind
  st: Stats | undefined
  /** Undefined until known: computed when the function returns (a partial read, a stream not read to its end). */
  digest: Uint8Array | undefined
  /** Where the digest comes from when it is not known yet. */
  pending: PendingDigest | undefined
}

/** A stat says less than a listing or a read of the same path, and is replaced by them. */
const RANK: Record<FileKind, number> = { stat: 0, dir: 1, tree: 2, file: 2 }

/** What one kept function read. */
export class Recorder {
  readonly #entries = new Map<string, Entry>()
  readonly #adopted = new Map<string, FileRef>()
  /** Effects seen, in the order they first happened. */
  readonly effects = new Set<Effect>()
  /** Directories whose files are never recorded (the store's). */
  readonly excluded: readonly string[]

  constructor (excluded: readonly string[] = []) {
    this.excluded = excluded
  }

  /** True when `abs` is recorded already as `kind` or something that says more. */
  has (abs: string, kind: FileKind): boolean {
    const e = this.#entries.get(abs)
    return e !== undefined && RANK[e.kind] >= RANK[kind]
  }

  /**
   * Record a read of `abs`; `st` is its stat taken before the read, so a
   * change during the read shows at the next check. Without a digest, the
   * digest is `pending`'s result when the function returns, else the file's
   * content then.
   */
  add (abs: string, kind: FileKind, st: Stats | undefined, digest: Uint8Array | undefined, pending?: PendingDigest): void {
    if (this.has(abs, kind)) return
    this.#entries.set(abs, { abs, kind, st, digest, pending })
  }

  /** Record that `abs` did not exist when it was read. */
  absent (abs: string, kind: FileKind): void {
    this.add(abs, kind, undefined, ABSENT)
  }

  /** Take over the files a nested keep read: the caller's result depends on them too. */
  adopt (refs: readonly FileRef[]): void {
    for (const r of refs) if (!this.#adopted.has(r.path)) this.#adopted.set(r.path, r)
  }

  /**
   * The dependencies, sorted by path. Pending digests are taken now (streams
   * read to their end), or computed from the disk: reads that stopped early or
   * went through a descriptor.
   */
  finish (): FileRef[] {
    const out = new Map<string, FileRef>()
    for (const e of this.#entries.values()) {
      if (e.digest === undefined && e.pending !== undefined) e.digest = e.pending.result()
      const st = e.digest === undefined ? e.st ?? statOf(e.abs) : e.st
      const digest = e.digest ?? digestNow(e.abs, e.kind, st)
      const path = recordedPath(e.abs)
      out.set(path, st === undefined || digest.byteLength === 0
        ? { path, kind: e.kind, digest: ABSENT, size: -1, mtime: 0, ino: 0, dev: 0 }
        : { path, kind: e.kind, digest, size: st.size, mtime: st.mtimeMs, ino: st.ino, dev: st.dev })
    }
    for (const r of this.#adopted.values()) if (!out.has(r.path)) out.set(r.path, r)
    return [...out.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  }
}

const current = new AsyncLocalStorage<Recorder>()

/** The recorder of the kept function running in this async context, if any. */
export function activeRecorder (): Recorder | undefined {
  return current.getStore()
}

/** Run `fn` recording what it reads into `recorder`. */
export function recording<T> (recorder: Recorder, fn: () => T): T {
  return current.run(recorder, fn)
}

/** Run `fn` outside any recorder (the engine's own work inside a kept function). */
export function unrecorded<T> (fn: () => T): T {
  return current.getStore() === undefined ? fn() : current.exit(fn)
}
