/**
 * The leases part: named locks held across every process using a store, as
 * leases in the database (released when the holding process dies), with an
 * in-process queue in front so that waiters of one process do not poll.
 */
import { newHolder } from './leases.js'
import { Mutexes } from './mutex.js'
import { sleep } from './util.js'
import type { Backend, LeaseMode, LeaseProvider, Lock, LockOptions } from './interface.js'

const LEASE_TTL = 60_000

/** The local locks of a store. */
export class LocalLocks implements LeaseProvider {
  readonly #backend: Backend
  readonly #check: () => void
  readonly #locks = new Mutexes()

  constructor (backend: Backend, check: () => void) {
    this.#backend = backend
    this.#check = check
  }

  /** Take a named lock; waits for it, saying so once through `onWait`. */
  async lock (name: string, mode: LeaseMode = 'exclusive', options: LockOptions = {}): Promise<Lock> {
    this.#check()
    // Waiters of this process queue here instead of polling the database.
    let told = false
    const local = mode === 'exclusive' ? await this.#locks.acquire(name, () => { told = true; options.onWait?.([]) }) : () => {}
    const holder = newHolder(mode, LEASE_TTL)
    try {
      let delay = 1
      while (true) {
        const r = await this.#backend.lease({ op: 'acquire', name, holder })
        if (r.granted) break
        // Said once, so that whoever waits can tell the user who it waits for.
        if (!told) options.onWait?.(r.holders)
        told = true
        await sleep(delay + Math.random() * delay)
        delay = Math.min(50, delay * 1.5)
      }
    } catch (err) {
      local()
      throw err
    }
    let released = false
    return {
      release: async () => {
        if (released) return
        released = true
        try {
          await this.#backend.lease({ op: 'release', name, holder })
        } finally {
          local()
        }
      }
    }
  }
}
