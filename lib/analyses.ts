/**
 * The store's side of persisted code analyses: records kept in the meta key
 * space under `analysis/<digest>`, read synchronously (a signature is
 * computed synchronously) and written in the background. What a record says
 * is checked by the signature engine (lib/signature/persisted.ts) before use.
 */
import type { Backend } from '../store/interface.js'
import { NOT_SYNC } from '../store/interface.js'
import type { AnalysisStore } from './signature/interface.js'

/**
 * Persisted analyses of one store.
 *
 * @example
 * const analyses = new StoreAnalyses(store.backend)
 * engine.signature(fn, { hashValue, analyses })
 * await analyses.settle()
 */
export class StoreAnalyses implements AnalysisStore {
  readonly #backend: Backend
  readonly #pending = new Set<Promise<void>>()

  constructor (backend: Backend) {
    this.#backend = backend
  }

  /** A record, when the backend can answer now (a local database); a follower process or a remote-only backend misses. */
  get (key: Uint8Array): Uint8Array | undefined {
    try {
      const v = this.#backend.getSync?.('meta', key)
      return v === NOT_SYNC ? undefined : v
    } catch {
      // An unreadable record is a miss: the analysis is computed again.
      return undefined
    }
  }

  /** Write a record in the background; a read-only store keeps nothing. */
  put (key: Uint8Array, value: Uint8Array): void {
    if (this.#backend.readOnly !== undefined) return
    const p: Promise<void> = this.#backend.batch([{ type: 'put', space: 'meta', key, value }])
      // A record not written is a later miss, not this run's failure.
      .catch(() => {})
      .finally(() => { this.#pending.delete(p) })
    this.#pending.add(p)
  }

  /** Wait for the writes under way (before the store closes). */
  async settle (): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending])
  }
}
