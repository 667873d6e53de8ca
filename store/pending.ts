/**
 * A batch being staged: blocks and index entries that will be written
 * together, atomically, with identical block puts added once.
 */
import type { BatchOp, Staged } from './interface.js'

/** Blocks and index entries waiting to be written in one batch. */
export class Pending implements Staged {
  readonly ops: BatchOp[] = []
  readonly #seen = new Set<string>()

  /** Add an operation unless an identical block put is already pending. */
  add (op: BatchOp, dedupKey?: string): void {
    if (dedupKey !== undefined) {
      if (this.#seen.has(dedupKey)) return
      this.#seen.add(dedupKey)
    }
    this.ops.push(op)
  }
}
