/**
 * "Last used": when each evaluation's memo answer was last served, for the
 * retention budget (store/gc-budget.ts). A hit only adds the evaluation's CID
 * to an in-memory set (the memo part hands out the same entry object per key,
 * so repeated hits add nothing); the set goes to the database as one blind
 * batch with the next commit, after a few seconds, or at close. A time is
 * therefore that of the flush, not of the hit: seconds late, which retention
 * measured in days does not notice, and never early.
 */
import { CID } from 'multiformats/cid'
import { decodeTime, encodeTime, usedEvaluation, usedKey, usedRange } from './keys.js'
import type { Backend, BatchOp } from './interface.js'

/** How long hits wait in memory at most before they are written (ms). */
export const USAGE_FLUSH_MS = 5000

interface Timer { unref: () => void }
type TimerFactory = (fn: () => void, ms: number) => Timer

/** The hits of one store instance not written yet. */
export class UsageLog {
  readonly #backend: Backend
  readonly #intervalMs: number
  readonly #setTimer: TimerFactory
  #hits = new Set<CID>()
  #timer: Timer | undefined
  #writing: Promise<void> = Promise.resolve()
  /** Called with a flush's error (the store reports it; a hit never fails for it). */
  onError: ((err: unknown) => void) | undefined

  /** `setTimer` is `setTimeout` but for tests, which fire the timer themselves instead of waiting. */
  constructor (backend: Backend, intervalMs = USAGE_FLUSH_MS, setTimer: TimerFactory = setTimeout) {
    this.#backend = backend
    this.#intervalMs = intervalMs
    this.#setTimer = setTimer
  }

  /** Note a served answer: a set insertion, nothing else on the hit path. */
  note (evaluation: CID): void {
    this.#hits.add(evaluation)
    if (this.#timer === undefined) {
      const timer = this.#setTimer(() => { void this.flush() }, this.#intervalMs)
      // The timer must not keep a finished script alive: close writes what is left.
      timer.unref()
      this.#timer = timer
    }
  }

  /** The puts recording the pending hits as used at `now`, taking them out of the set (for a batch written anyway). */
  drain (now = Date.now()): BatchOp[] {
    if (this.#hits.size === 0) return []
    const hits = this.#hits
    this.#hits = new Set()
    this.#clear()
    if (this.#backend.readOnly !== undefined) return []
    const value = encodeTime(now)
    const seen = new Set<string>()
    const ops: BatchOp[] = []
    for (const cid of hits) {
      const id = cid.toString()
      if (seen.has(id)) continue
      seen.add(id)
      ops.push({ type: 'put', space: 'meta', key: usedKey(cid.bytes), value })
    }
    return ops
  }

  /** Write the pending hits now (one batch); errors go to `onError`. */
  async flush (): Promise<void> {
    const ops = this.drain()
    if (ops.length === 0) return
    this.#writing = this.#writing.then(async () => {
      try {
        await this.#backend.batch(ops)
      } catch (err) {
        this.onError?.(err)
      }
    })
    await this.#writing
  }

  /** Stop the timer (the store flushes before it closes). */
  stop (): void {
    this.#clear()
  }

  #clear (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer as ReturnType<typeof setTimeout>)
    this.#timer = undefined
  }
}

/**
 * When each evaluation was last served from the memo index, by CID string.
 * Evaluations never served since they ran have no entry (their run's end is
 * their last use). A malformed stored key or time is skipped: it only makes
 * its evaluation look older.
 */
export async function lastUses (backend: Backend): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for await (const [key, value] of backend.entries('meta', usedRange())) {
    try {
      out.set(CID.decode(usedEvaluation(key)).toString(), decodeTime(value))
    } catch {
      // Malformed: skipped.
    }
  }
  return out
}

/** The deletions of the last-use keys of evaluations not in `keep` (gc drops them with the memo entries). */
export async function staleUses (backend: Backend, keep: Set<string>): Promise<BatchOp[]> {
  const ops: BatchOp[] = []
  for await (const key of backend.keys('meta', usedRange())) {
    let id: string | undefined
    try {
      id = CID.decode(usedEvaluation(key)).toString()
    } catch {
      id = undefined
    }
    if (id === undefined || !keep.has(id)) ops.push({ type: 'del', space: 'meta', key })
  }
  return ops
}
