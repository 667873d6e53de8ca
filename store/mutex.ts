/**
 * Fair, named, in-process mutexes: waiters are served in arrival order.
 */
export class Mutexes {
  readonly #queues = new Map<string, Array<() => void>>()

  /** Wait for `name`; resolves with the function that releases it. `onWait` is called if it has to wait. */
  async acquire (name: string, onWait?: () => void): Promise<() => void> {
    let queue = this.#queues.get(name)
    if (queue === undefined) {
      queue = []
      this.#queues.set(name, queue)
      return this.#releaser(name)
    }
    const q = queue
    onWait?.()
    await new Promise<void>((resolve) => { q.push(resolve) })
    return this.#releaser(name)
  }

  #releaser (name: string): () => void {
    let done = false
    return () => {
      if (done) return
      done = true
      const queue = this.#queues.get(name)
      if (queue === undefined) return
      const next = queue.shift()
      if (next === undefined) this.#queues.delete(name)
      else next()
    }
  }
}
