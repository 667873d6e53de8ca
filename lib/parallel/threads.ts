/**
 * A pool of worker threads for kept functions that miss, behind the executor
 * interface. It is node:worker_threads with a small queue rather than Piscina:
 * what the engine needs is exactly "one call per worker, and know which call a
 * dead worker was running", so that a crash rejects that one call with a coded
 * error and nothing else is lost or run twice; the pool is about 150 lines
 * and adds no dependency.
 */
import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { pathToFileURL } from 'node:url'
import { DdsError, ErrorCodes } from '../../store/errors.js'
import type { ExecCall, Executor } from './interface.js'
import { moduleOf } from './locate.js'
import { fromWire, type WireError } from './wire.js'

/** What the parent sends a worker thread for one call. */
export interface ThreadCall {
  id: number
  url: string
  exportName: string
  /** The caller's code signature digest: the worker refuses to run other code. */
  code: Uint8Array
  args: unknown[]
}

/** A worker thread's answer. */
export type ThreadReply = { id: number, ok: true, value: unknown } | { id: number, ok: false, error: WireError }

interface Task {
  call: ThreadCall
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

interface Slot {
  worker: Worker
  task: Task | undefined
}

/** The worker entry next to this file: `.ts` when running from source (tsx), `.js` when compiled. */
function entry (): string {
  return new URL(import.meta.url.endsWith('.ts') ? './thread-worker.ts' : './thread-worker.js', import.meta.url).href
}

/**
 * The modules this process preloaded with `--import` (a TypeScript loader such
 * as tsx's): a worker thread does not run them by itself, and without them it
 * could not load the `.ts` module a function comes from.
 */
function preloads (): string[] {
  const out: string[] = []
  const argv = process.execArgv
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--import' && argv[i + 1] !== undefined) out.push(argv[++i] as string)
    else if (a.startsWith('--import=')) out.push(a.slice('--import='.length))
  }
  return out.map((u) => /^[a-z]+:/.test(u) ? u : pathToFileURL(u).href)
}

/**
 * Run the preloads in a worker thread. tsx's CLI preload registers its hooks
 * on the main thread only, so in a worker its public API registers them.
 * Self-contained: it is also the worker's first script, as text.
 */
export async function runPreloads (preloads: string[]): Promise<void> {
  for (const u of preloads) {
    if (/\/tsx\/dist\/loader\.mjs$/.test(u)) {
      const api = await import(new URL('./esm/api/index.mjs', u).href) as { register: () => unknown }
      api.register()
    } else {
      await import(u)
    }
  }
}

/**
 * The worker's first script. A compiled entry starts at once (preloads such as
 * a TypeScript loader take seconds per thread, and run only when a call needs
 * them); an entry run from source needs them first.
 */
function boot (entryUrl: string): string {
  const first = entryUrl.endsWith('.ts') ? `await (${runPreloads.toString()})(workerData.preloads);` : ''
  return `const { workerData } = require('node:worker_threads');
(async () => { ${first} await import(workerData.entry) })().catch((err) => { process.nextTick(() => { throw err }) })`
}

/**
 * At most `size` worker threads, started on demand, each running one call at a
 * time. Idle workers do not keep the process alive.
 *
 * @example
 * const pool = new ThreadPool(4)
 * const value = await pool.run({ id: 1, url, exportName: 'fit', code, args: [rows] })
 * await pool.close()
 */
export class ThreadPool {
  readonly size: number
  readonly #slots = new Set<Slot>()
  readonly #queue: Task[] = []
  #ids = 0
  #closed = false

  constructor (size: number = availableParallelism()) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`threads must be a positive integer, got ${String(size)}`)
    this.size = size
  }

  /** A fresh call id. */
  nextId (): number {
    return ++this.#ids
  }

  /** Run one call on a worker; resolves with its result, rejects with its error or DDS_WORKER_CRASHED. */
  async run (call: ThreadCall): Promise<unknown> {
    if (this.#closed) throw new DdsError(ErrorCodes.STORE_CLOSED, 'the thread pool is closed')
    return await new Promise((resolve, reject) => {
      this.#queue.push({ call, resolve, reject })
      this.#dispatch()
    })
  }

  #dispatch (): void {
    while (this.#queue.length > 0) {
      let slot = [...this.#slots].find((s) => s.task === undefined)
      if (slot === undefined) {
        if (this.#slots.size >= this.size) return
        slot = this.#spawn()
      }
      const task = this.#queue.shift() as Task
      slot.task = task
      slot.worker.ref()
      try {
        // Arguments are copied (or shared, for SharedArrayBuffers): moving them would detach the caller's arrays.
        slot.worker.postMessage(task.call)
      } catch (err) {
        slot.task = undefined
        slot.worker.unref()
        task.reject(new DdsError(ErrorCodes.UNSERIALIZABLE, `an argument cannot be sent to a worker thread: ${(err as Error).message}`, { cause: err }))
      }
    }
  }

  #spawn (): Slot {
    const worker = new Worker(boot(entry()), { eval: true, workerData: { preloads: preloads(), entry: entry() } })
    const slot: Slot = { worker, task: undefined }
    let lastError: unknown
    worker.on('message', (reply: ThreadReply) => {
      const task = slot.task
      if (task === undefined || task.call.id !== reply.id) return
      slot.task = undefined
      worker.unref()
      if (reply.ok) task.resolve(reply.value)
      else task.reject(fromWire(reply.error))
      this.#dispatch()
    })
    worker.on('error', (err) => { lastError = err })
    worker.on('exit', (code) => {
      this.#slots.delete(slot)
      const task = slot.task
      slot.task = undefined
      if (task !== undefined) {
        const why = lastError instanceof Error ? `: ${lastError.message}` : ` with exit code ${code}`
        task.reject(new DdsError(ErrorCodes.WORKER_CRASHED,
          `the worker thread running ${task.call.exportName} died${why}; nothing was stored for this call`,
          { ...(lastError === undefined ? {} : { cause: lastError }), data: { fn: task.call.exportName, exitCode: code } }))
      }
      if (!this.#closed) this.#dispatch()
    })
    this.#slots.add(slot)
    return slot
  }

  /** Stop every worker; calls not finished are rejected. */
  async close (): Promise<void> {
    this.#closed = true
    for (const t of this.#queue.splice(0)) t.reject(new DdsError(ErrorCodes.STORE_CLOSED, 'the thread pool was closed before the call ran'))
    await Promise.all([...this.#slots].map(async (s) => { await s.worker.terminate() }))
  }
}

/**
 * The executor that runs calls on a thread pool: the function is loaded in the
 * worker from its module by its exported name, and its result comes back to
 * be stored by the caller.
 */
export function threadExecutor (size?: number): Executor {
  const pool = new ThreadPool(size)
  return {
    kind: 'value',
    run: async (call: ExecCall) => {
      const ref = await moduleOf(call.fn)
      return await pool.run({ id: pool.nextId(), url: ref.url, exportName: ref.exportName, code: call.code, args: call.args })
    },
    close: async () => { await pool.close() }
  }
}
