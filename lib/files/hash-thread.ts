/**
 * sha256 off the main thread, for the large reads of a kept function: one
 * worker thread per process (started on the first large read, unref'd) hashes
 * the chunks the main thread copies into a shared ring of slots, in order, one
 * running hash per job. The digest stays plain sequential sha256, so it equals
 * what the hit check computes from the disk. Copying a chunk costs a tenth of
 * hashing it, and the reader's own thread is then free to read the next one.
 *
 * The main thread waits (Atomics.wait, with a timeout so that a failed worker
 * is noticed) only when the ring is full or for a digest. Every wait checks the
 * worker's state: a worker that failed leaves its callers to hash on their own
 * thread, or to say the digest is unknown.
 */
import { createHash } from 'node:crypto'
import type { MessagePort, Worker } from 'node:worker_threads'
import type { PendingDigest } from './recorder.js'
import { unrecorded } from './recorder.js'

/** Bytes a slot holds; a larger chunk takes several. */
const SLOT = 512 * 1024
/** Slots in the ring (a power of two: the index is a mask of a wrapping counter). */
const SLOTS = 8
const MASK = SLOTS - 1
/** Reads smaller than this are hashed where they are read: a hand-off costs more than it saves. */
export const OFF_THREAD_MIN = 2 * 1024 * 1024

// The control words, each an Int32 at the head of the shared buffer.
const STATE = 0
const WRITTEN = 1
const CONSUMED = 2
const RESULTS = 3
const WORKER_IDLE = 4
const MAIN_WAITING = 5
const CONTROL = 8
const STARTING = 0
const READY = 1
const FAILED = 2
// What a slot carries: bytes of a job, the end of a job (post its digest), a job given up.
const DATA = 0
const END = 1
const DROP = 2

const HEAD_BYTES = CONTROL * 4 + SLOTS * 3 * 4

/** A bounded wait, so that a worker that failed is noticed by the next check. */
const WAIT_MS = 100

/**
 * The worker's program, run with `eval`: it is the same text under tsx,
 * compiled output and a bundle, needs no file of its own, and loads no
 * loader (execArgv is empty).
 */
const WORKER_SOURCE = `'use strict'
const { workerData } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const { shared, port } = workerData
const ctrl = new Int32Array(shared, 0, ${CONTROL})
const head = new Int32Array(shared, ${CONTROL * 4}, ${SLOTS * 3})
const data = new Uint8Array(shared, ${HEAD_BYTES}, ${SLOTS * SLOT})
const jobs = new Map()
let seen = 0
try {
  Atomics.store(ctrl, ${STATE}, ${READY})
  for (;;) {
    let written = Atomics.load(ctrl, ${WRITTEN})
    while (written === seen) {
      Atomics.store(ctrl, ${WORKER_IDLE}, 1)
      if (Atomics.load(ctrl, ${WRITTEN}) === seen) Atomics.wait(ctrl, ${WRITTEN}, seen)
      Atomics.store(ctrl, ${WORKER_IDLE}, 0)
      written = Atomics.load(ctrl, ${WRITTEN})
    }
    while (seen !== written) {
      const i = (seen & ${MASK}) * 3
      const job = head[i], length = head[i + 1], what = head[i + 2]
      if (what === ${DATA}) {
        let h = jobs.get(job)
        if (h === undefined) jobs.set(job, h = createHash('sha256'))
        const from = (seen & ${MASK}) * ${SLOT}
        h.update(data.subarray(from, from + length))
      } else if (what === ${END}) {
        const h = jobs.get(job) ?? createHash('sha256')
        jobs.delete(job)
        port.postMessage([job, new Uint8Array(h.digest())])
        Atomics.add(ctrl, ${RESULTS}, 1)
        Atomics.notify(ctrl, ${RESULTS})
      } else {
        jobs.delete(job)
      }
      seen = (seen + 1) | 0
      Atomics.store(ctrl, ${CONSUMED}, seen)
      if (Atomics.load(ctrl, ${MAIN_WAITING}) === 1) Atomics.notify(ctrl, ${CONSUMED})
    }
  }
} catch (err) {
  Atomics.store(ctrl, ${STATE}, ${FAILED})
  Atomics.notify(ctrl, ${CONSUMED})
  Atomics.notify(ctrl, ${RESULTS})
  throw err
}
`

type WorkerThreads = typeof import('node:worker_threads')

/** The hashing thread of this process, seen from the main thread. */
export class HashThread {
  readonly #ctrl: Int32Array
  readonly #head: Int32Array
  readonly #data: Uint8Array
  readonly #port: MessagePort
  readonly #receive: WorkerThreads['receiveMessageOnPort']
  readonly #results = new Map<number, Uint8Array>()
  #written = 0
  #nextJob = 1
  #gone = false

  constructor (wt: WorkerThreads) {
    const shared = new SharedArrayBuffer(HEAD_BYTES + SLOTS * SLOT)
    this.#ctrl = new Int32Array(shared, 0, CONTROL)
    this.#head = new Int32Array(shared, CONTROL * 4, SLOTS * 3)
    this.#data = new Uint8Array(shared, HEAD_BYTES, SLOTS * SLOT)
    const { port1, port2 } = new wt.MessageChannel()
    this.#port = port1
    this.#receive = wt.receiveMessageOnPort
    // Started outside the kept function's context: this thread is dds-ts's, not an effect of the function.
    const worker: Worker = unrecorded(() => new wt.Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { shared, port: port2 },
      transferList: [port2]
    }))
    worker.unref()
    port1.unref()
    const gone = (): void => { this.#gone = true }
    worker.on('error', gone)
    worker.on('exit', gone)
  }

  /** True once the worker runs its loop (it takes tens of milliseconds to start). */
  get ready (): boolean {
    return Atomics.load(this.#ctrl, STATE) === READY && !this.#gone
  }

  /** True when the worker failed or exited: nothing more will be hashed. */
  get broken (): boolean {
    return this.#gone || Atomics.load(this.#ctrl, STATE) === FAILED
  }

  /** A new job id. */
  begin (): number {
    const job = this.#nextJob
    this.#nextJob = (this.#nextJob + 1) | 0 || 1
    return job
  }

  /** Copy as much of `bytes` as the free slots hold, without waiting; returns how many bytes were taken. */
  offer (job: number, bytes: Uint8Array): number {
    let taken = 0
    while (taken < bytes.byteLength && this.#free() > 0) {
      const end = Math.min(taken + SLOT, bytes.byteLength)
      this.#put(job, bytes.subarray(taken, end), DATA)
      taken = end
    }
    return taken
  }

  /** Copy all of `bytes` into the ring, waiting for free slots; false when the worker failed. */
  push (job: number, bytes: Uint8Array): boolean {
    for (let taken = 0; taken < bytes.byteLength;) {
      if (!this.#room()) return false
      const end = Math.min(taken + SLOT, bytes.byteLength)
      this.#put(job, bytes.subarray(taken, end), DATA)
      taken = end
    }
    return true
  }

  /** Close a job: its digest is posted once the worker reaches this slot. False when the worker failed. */
  end (job: number): boolean {
    if (!this.#room()) return false
    this.#put(job, undefined, END)
    return true
  }

  /** Give a job up (a read that failed): the worker forgets its running hash. */
  drop (job: number): void {
    this.#results.delete(job)
    if (this.#room()) this.#put(job, undefined, DROP)
  }

  /** The digest of an ended job, waiting for it; undefined when the worker failed first. */
  result (job: number): Uint8Array | undefined {
    for (;;) {
      const posted = Atomics.load(this.#ctrl, RESULTS)
      for (let m = this.#receive(this.#port); m !== undefined; m = this.#receive(this.#port)) {
        const [id, digest] = m.message as [number, Uint8Array]
        this.#results.set(id, digest)
      }
      const digest = this.#results.get(job)
      if (digest !== undefined) {
        this.#results.delete(job)
        return digest
      }
      if (this.broken) return undefined
      Atomics.wait(this.#ctrl, RESULTS, posted, WAIT_MS)
    }
  }

  #free (): number {
    return SLOTS - ((this.#written - Atomics.load(this.#ctrl, CONSUMED)) | 0)
  }

  /** Wait for a free slot; false when the worker failed. */
  #room (): boolean {
    while (this.#free() === 0) {
      if (this.broken) return false
      const consumed = Atomics.load(this.#ctrl, CONSUMED)
      Atomics.store(this.#ctrl, MAIN_WAITING, 1)
      if (this.#free() === 0) Atomics.wait(this.#ctrl, CONSUMED, consumed, WAIT_MS)
      Atomics.store(this.#ctrl, MAIN_WAITING, 0)
    }
    return true
  }

  #put (job: number, bytes: Uint8Array | undefined, what: number): void {
    const i = this.#written & MASK
    if (bytes !== undefined) this.#data.set(bytes, i * SLOT)
    this.#head[i * 3] = job
    this.#head[i * 3 + 1] = bytes?.byteLength ?? 0
    this.#head[i * 3 + 2] = what
    this.#written = (this.#written + 1) | 0
    Atomics.store(this.#ctrl, WRITTEN, this.#written)
    if (Atomics.load(this.#ctrl, WORKER_IDLE) === 1) Atomics.notify(this.#ctrl, WRITTEN)
  }
}

/** undefined: not started yet; null: could not be started (hash on the reading thread). */
let thread: HashThread | null | undefined

/** The process's hashing thread, started on first use; undefined when it cannot run. */
export function hashThread (): HashThread | undefined {
  if (thread === undefined) {
    try {
      thread = new HashThread(process.getBuiltinModule('node:worker_threads'))
    } catch {
      thread = null
    }
  }
  return thread === null || thread.broken ? undefined : thread
}

/**
 * The digest of a buffer being filled front to back that no one else sees
 * until it is full (a whole-file read): the filled part is handed to the
 * hashing thread as it grows, without waiting; the rest when the read is done.
 * When the thread is not up by then (its first read), the buffer is hashed
 * here instead, from the bytes, which nothing has changed. A small buffer
 * (or one in a process that cannot start the thread) is hashed here as it fills.
 */
export class FillDigest {
  readonly #thread: HashThread | undefined
  readonly #job: number
  readonly #hash: ReturnType<typeof createHash> | undefined
  #sent = 0

  constructor (size: number) {
    this.#thread = size >= OFF_THREAD_MIN ? hashThread() : undefined
    this.#job = this.#thread?.begin() ?? 0
    this.#hash = this.#thread === undefined ? createHash('sha256') : undefined
  }

  /** `buf` holds its final bytes up to `end`. */
  filled (buf: Uint8Array, end: number): void {
    if (this.#sent >= end) return
    if (this.#thread === undefined) {
      this.#hash?.update(buf.subarray(this.#sent, end))
      this.#sent = end
    } else {
      this.#sent += this.#thread.offer(this.#job, buf.subarray(this.#sent, end))
    }
  }

  /** The sha256 of `bytes`, the whole buffer as read (`filled` was told of a prefix of it). */
  digest (bytes: Uint8Array): Uint8Array {
    const th = this.#thread
    if (th === undefined) {
      const h = this.#hash as ReturnType<typeof createHash>
      if (this.#sent < bytes.byteLength) h.update(bytes.subarray(this.#sent))
      return new Uint8Array(h.digest())
    }
    if (th.ready && th.push(this.#job, bytes.subarray(this.#sent)) && th.end(this.#job)) {
      const d = th.result(this.#job)
      if (d !== undefined) return d
    } else {
      th.drop(this.#job)
    }
    return new Uint8Array(createHash('sha256').update(bytes).digest())
  }

  /** The read failed: forget what was handed over. */
  drop (): void {
    this.#thread?.drop(this.#job)
  }
}

/**
 * The digest of a stream's chunks, each copied (or hashed) as it passes, so
 * that a consumer changing a chunk afterwards changes nothing. On the hashing
 * thread when it is up at the stream's start, else here. Its result is taken
 * when the kept function returns: undefined when the stream had not ended
 * (or the worker failed), so that the recorder hashes the file from the disk.
 */
export class StreamDigest implements PendingDigest {
  readonly #thread: HashThread | undefined
  readonly #job: number
  readonly #hash: ReturnType<typeof createHash> | undefined
  #digest: Uint8Array | undefined
  #ended = false
  #closed = false
  #lost = false

  constructor (size: number) {
    const th = size >= OFF_THREAD_MIN ? hashThread() : undefined
    this.#thread = th?.ready === true ? th : undefined
    this.#job = this.#thread?.begin() ?? 0
    this.#hash = this.#thread === undefined ? createHash('sha256') : undefined
  }

  update (chunk: Uint8Array): void {
    if (this.#closed || this.#ended || this.#lost) return
    if (this.#thread === undefined) this.#hash?.update(chunk)
    else if (!this.#thread.push(this.#job, chunk)) this.#lost = true
  }

  end (): void {
    if (this.#closed || this.#ended) return
    this.#ended = true
    if (this.#thread === undefined) this.#digest = new Uint8Array((this.#hash as ReturnType<typeof createHash>).digest())
    else if (!this.#lost && !this.#thread.end(this.#job)) this.#lost = true
  }

  result (): Uint8Array | undefined {
    if (this.#closed) return undefined
    this.#closed = true
    if (!this.#ended || this.#lost) {
      this.#thread?.drop(this.#job)
      return undefined
    }
    return this.#thread === undefined ? this.#digest : this.#thread.result(this.#job)
  }
}
