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

/** Effects a kept function had that dds-ts cannot check afterwards. */
export type Effect = 'network' | 'process' | 'worker'

interface Entry {
  abs: string
  kind: FileKind
  st: Stats | undefined
  /** Undefined until known: computed when the function returns (a partial read, a stream not read to its end). */
  digest: Uint8Array | undefined
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

  /** Record a read of `abs`; `st` is its stat taken before the read, so a change during the read shows at the next check. */
  add (abs: string, kind: FileKind, st: Stats | undefined, digest: Uint8Array | undefined): void {
    if (this.has(abs, kind)) return
    this.#entries.set(abs, { abs, kind, st, digest })
  }

  /** Record that `abs` did not exist when it was read. */
  absent (abs: string, kind: FileKind): void {
    this.add(abs, kind, undefined, ABSENT)
  }

  /** Set the digest of a pending entry once its bytes have all passed. */
  settle (abs: string, digest: Uint8Array): void {
    const e = this.#entries.get(abs)
    if (e !== undefined && e.kind === 'file' && e.digest === undefined) e.digest = digest
  }

  /** Take over the files a nested keep read: the caller's result depends on them too. */
  adopt (refs: readonly FileRef[]): void {
    for (const r of refs) if (!this.#adopted.has(r.path)) this.#adopted.set(r.path, r)
  }

  /**
   * The dependencies, sorted by path. Pending digests are computed now, from
   * the disk: reads that stopped early or went through a descriptor.
   */
  finish (): FileRef[] {
    const out = new Map<string, FileRef>()
    for (const e of this.#entries.values()) {
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
