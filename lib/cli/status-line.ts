/**
 * The status line of a long-running command on a terminal (`dds worker`):
 * the jobs running now with their elapsed time and the counts so far, redrawn
 * in place on stderr below the command's output lines. Off a terminal it
 * draws nothing, so logs and pipes get the lines only.
 */
import { duration } from '../reporter.js'

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']

/** A per-worker status: which jobs run, how many ended how. */
export class StatusLine {
  readonly #stream: NodeJS.WritableStream & { isTTY?: boolean }
  readonly #running = new Map<number, { path: string, since: number }>()
  readonly #counts = new Map<string, number>()
  #next = 0
  #frame = 0
  #drawn = false
  #timer: NodeJS.Timeout | undefined

  constructor (stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr) {
    this.#stream = stream
  }

  get tty (): boolean {
    return this.#stream.isTTY === true
  }

  /** A job started: returns its handle for `end`. */
  start (path: string): number {
    const id = this.#next++
    this.#running.set(id, { path, since: performance.now() })
    this.#schedule()
    this.draw()
    return id
  }

  /** The job ended with `status`; print `text` (its output line) above the status. */
  end (id: number | undefined, status: string, print: () => void): void {
    if (id !== undefined) this.#running.delete(id)
    this.#counts.set(status, (this.#counts.get(status) ?? 0) + 1)
    this.erase()
    print()
    this.draw()
    this.#schedule()
  }

  /** What the line says now (without control characters). */
  text (): string {
    const now = performance.now()
    const jobs = [...this.#running.values()].map((j) => `${j.path} ${duration(now - j.since)}`)
    const done = [...this.#counts.values()].reduce((a, b) => a + b, 0)
    const counts = [...this.#counts.entries()].map(([k, v]) => `${v} ${k}`).join(', ')
    const head = jobs.length === 0 ? 'idle' : `${jobs.length} running: ${jobs.join(', ')}`
    return done === 0 ? head : `${head}  ·  ${counts}`
  }

  draw (): void {
    if (!this.tty) return
    const spin = SPINNER[this.#frame++ % SPINNER.length] ?? ''
    this.#stream.write(`\r${spin} ${this.text()}\x1b[K`)
    this.#drawn = true
  }

  erase (): void {
    if (this.#drawn) this.#stream.write('\r\x1b[K')
    this.#drawn = false
  }

  close (): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    this.erase()
  }

  #schedule (): void {
    if (!this.tty || this.#timer !== undefined) return
    this.#timer = setInterval(() => { this.draw() }, 100)
    this.#timer.unref()
  }
}

