/**
 * The job queue across machines, on BullMQ and Redis (optional dependencies,
 * loaded on first use). The caller's side is an executor: a call that misses
 * becomes a job whose id is its memo key (identical calls from any number of
 * callers are one job), and when a worker reports it done the engine finds the
 * result in the shared store. The worker's side (`dds worker --queue URL`)
 * loads the function from its module, refuses code that hashes differently
 * from the caller's, computes and stores the result without committing any
 * path. A worker that dies holding a job loses its lock, and BullMQ's stall
 * check hands the job to another worker.
 */
import { realpathSync } from 'node:fs'
import { resolve, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from '../../store/errors.js'
import type { ExecCall, Executor } from './interface.js'
import { moduleOf } from './locate.js'
import { MAX_JOB_BYTES, checkJob, decodeArgs, encodeJob, failureOf, failureText, jobId, type JobData } from './queue-wire.js'
import { dynamicImport } from '../../store/dynamic-import.js'

// The few BullMQ shapes used here: typed locally so the package stays optional.
interface BullJob { data: unknown, isFailed: () => Promise<boolean>, isCompleted: () => Promise<boolean>, remove: () => Promise<void>, waitUntilFinished: (events: BullQueueEvents) => Promise<unknown> }
interface BullClosable { close: () => Promise<void>, waitUntilReady: () => Promise<unknown>, on: (event: 'error', listener: (err: Error) => void) => unknown }
interface BullQueue extends BullClosable { add: (name: string, data: JobData, opts: Record<string, unknown>) => Promise<BullJob>, getJob: (id: string) => Promise<BullJob | undefined> }
type BullQueueEvents = BullClosable
interface BullWorker extends BullClosable { disconnect: () => Promise<void> }
interface BullModule {
  Queue: new (name: string, opts: Record<string, unknown>) => BullQueue
  QueueEvents: new (name: string, opts: Record<string, unknown>) => BullQueueEvents
  Worker: new (name: string, processor: (job: BullJob) => Promise<unknown>, opts: Record<string, unknown>) => BullWorker
}

/** The BullMQ queue all dds callers and workers of one Redis database share. */
export const QUEUE_NAME = 'dds-keeps'
/** How long a caller waits for Redis to answer before giving up. */
const CONNECT_MS = 10_000

async function bullmq (): Promise<BullModule> {
  try {
    return await dynamicImport('bullmq') as BullModule
  } catch (err) {
    throw new DdsError(ErrorCodes.DEPENDENCY_MISSING, "runOn: 'queue' and dds worker need the optional packages bullmq and ioredis: npm install bullmq ioredis", { cause: err, data: { package: 'bullmq' } })
  }
}

/** ioredis connection options for a `redis://[user:password@]host[:port][/db]` URL. */
export function connectionOf (url: string): Record<string, unknown> {
  let u: URL
  try { u = new URL(url) } catch { throw new TypeError(`the queue must be a redis:// URL, got ${JSON.stringify(url)}`) }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new TypeError(`the queue must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`)
  const db = u.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d+$/.test(db)) throw new TypeError(`the queue URL's path must be a database number, got ${JSON.stringify(u.pathname)}`)
  return {
    host: u.hostname === '' ? '127.0.0.1' : u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? 6379 : Number(u.port),
    ...(db === '' ? {} : { db: Number(db) }),
    ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ's blocking commands need ioredis to retry for ever rather than fail a request.
    maxRetriesPerRequest: null
  }
}

async function ready (what: BullClosable, url: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([what.waitUntilReady(), new Promise((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`no answer within ${CONNECT_MS} ms`)) }, CONNECT_MS)
    })])
  } catch (err) {
    await what.close().catch(() => {})
    throw new DdsError(ErrorCodes.QUEUE_FAILED, `cannot reach the queue at ${url}: ${(err as Error).message}`, { cause: err, data: { url } })
  } finally {
    clearTimeout(timer)
  }
}

/** The caller's side: calls that miss become jobs, and their results are found in the shared store. */
export async function queueExecutor (url: string): Promise<Executor> {
  const { Queue, QueueEvents } = await bullmq()
  const connection = connectionOf(url)
  const queue = new Queue(QUEUE_NAME, { connection })
  const events = new QueueEvents(QUEUE_NAME, { connection })
  // Connection trouble is reported through the calls waiting on it, not as an unhandled 'error'.
  queue.on('error', () => {})
  events.on('error', () => {})
  await ready(queue, url)
  await ready(events, url)
  return {
    kind: 'stored',
    run: async (call: ExecCall) => {
      const ref = await moduleOf(call.fn)
      const id = jobId(call.key)
      // A finished job kept from earlier would answer at once: a failure is tried again, and a success
      // whose result this store cannot find (the store or remote was replaced) is computed again.
      const old = await queue.getJob(id)
      if (old !== undefined && (await old.isFailed() || await old.isCompleted())) await old.remove().catch(() => {})
      const job = await queue.add('keep', encodeJob(call, ref), { jobId: id, attempts: 1, removeOnComplete: { age: 3600 }, removeOnFail: { age: 600 } })
      try {
        return await job.waitUntilFinished(events)
      } catch (err) {
        throw failureOf((err as Error).message, call.path)
      }
    },
    close: async () => { await Promise.allSettled([events.close(), queue.close()]) }
  }
}

/** What a queue worker computes with: `DdsInstance` satisfies it. */
export interface WorkerEngine {
  computeFor: (path: string, fn: (...args: any[]) => unknown, args: unknown[], expected: { code: Uint8Array, key: Uint8Array }, known: Array<[unknown, CID]>) => Promise<{ evaluation: CID, hit: boolean }>
  store: { readArtifact: (cid: CID) => Promise<unknown> }
}

/** Options of a queue worker. */
export interface QueueWorkerOptions {
  url: string
  engine: WorkerEngine
  /** The project root that job modules are relative to (default: the working directory). */
  root?: string
  /** Jobs run at once (default 1). */
  concurrency?: number
  /** How long a job's lock lives without renewal (ms, default 30,000): a dead worker's job is retried elsewhere after it. */
  lockMs?: number
  /** Told about every job this worker finishes or refuses. */
  onJob?: (report: { path: string, status: 'computed' | 'hit' | 'failed', ms: number, error?: Error }) => void
  /** Called when a well-formed job starts (`onJob` follows when it ends). */
  onStart?: (path: string) => void
  /**
   * The only modules jobs may name, as paths relative to `root`: a directory
   * (`src/`) allows every module under it, a file itself (default: every module
   * of the project outside node_modules and hidden directories). Loading a
   * module runs its top-level code, so a worker that anyone else can reach
   * through Redis should allow only the modules of its kept functions.
   */
  modules?: string[]
  /** Most argument bytes a job may carry by value (default 16 MiB). */
  maxJobBytes?: number
}

/** Whether `module` (relative, `/`-separated) is one of `allowed`: a directory (ending in `/`) or a file. */
export function allowedModule (module: string, allowed: readonly string[] | undefined): boolean {
  if (allowed === undefined) return true
  return allowed.some((a) => {
    const p = a.replace(/\\/g, '/').replace(/^\.\//, '')
    return p.endsWith('/') ? module.startsWith(p) : module === p
  })
}

async function functionOf (root: string, job: JobData, allowed: readonly string[] | undefined): Promise<(...args: unknown[]) => unknown> {
  if (!allowedModule(job.module, allowed)) {
    throw new DdsError(ErrorCodes.QUEUE_FAILED, `refusing a job whose module ${job.module} is not one this worker allows (${(allowed ?? []).join(', ')})`, { data: { module: job.module, why: 'module not allowed' } })
  }
  const file = resolve(root, job.module)
  // A symbolic link inside the project may point anywhere: what counts is where the file really is.
  let real: string
  try { real = realpathSync(file) } catch (err) {
    throw new DdsError(ErrorCodes.NOT_EXPORTED, `cannot load ${job.module} in this worker: no such module`, { cause: err, data: { module: job.module } })
  }
  if (!real.startsWith(root + sep)) throw new DdsError(ErrorCodes.QUEUE_FAILED, `refusing a job whose module ${job.module} is outside ${root}`, { data: { module: job.module, why: 'module outside the project' } })
  let mod: Record<string, unknown>
  try {
    mod = await dynamicImport(pathToFileURL(real).href) as Record<string, unknown>
  } catch (err) {
    throw new DdsError(ErrorCodes.NOT_EXPORTED, `cannot load ${job.module} in this worker (${(err as Error).message})`, { cause: err, data: { module: job.module } })
  }
  const fn = Object.hasOwn(mod, job.exportName) ? mod[job.exportName] : undefined
  if (typeof fn !== 'function') throw new DdsError(ErrorCodes.NOT_EXPORTED, `${job.module} exports no function ${job.exportName} in this worker`, { data: { module: job.module, fn: job.exportName } })
  return fn as (...args: unknown[]) => unknown
}

/** A worker started by {@link startQueueWorker}. */
export interface QueueWorker {
  /**
   * Stop taking jobs, let the running ones finish, and leave the queue
   * cleanly. When `cut` settles first (a second signal, a grace period
   * over), the connections are dropped instead; the queue hands the jobs
   * still running to another worker (whatever they stored makes them hits
   * there). True when it closed cleanly.
   */
  close: (cut?: Promise<unknown>) => Promise<boolean>
}

/**
 * A worker on the queue: takes jobs, computes and stores them with `engine`,
 * until closed.
 *
 * @example
 * const w = await startQueueWorker({ url: 'redis://127.0.0.1:6379', engine: await open({ store: '.dds' }) })
 * await w.close()
 */
export async function startQueueWorker (options: QueueWorkerOptions): Promise<QueueWorker> {
  const { Worker } = await bullmq()
  // Compared with real paths of modules, so a root reached through a symbolic link still contains its files.
  const root = realpathSync(resolve(options.root ?? process.cwd()))
  const maxBytes = options.maxJobBytes ?? MAX_JOB_BYTES
  if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxJobBytes must be a positive integer, got ${String(options.maxJobBytes)}`)
  const lockDuration = options.lockMs ?? 30_000
  if (!Number.isInteger(lockDuration) || lockDuration < 100) throw new RangeError(`lockMs must be an integer of at least 100, got ${String(options.lockMs)}`)
  const concurrency = options.concurrency ?? 1
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${String(options.concurrency)}`)
  const processor = async (job: BullJob): Promise<unknown> => {
    const t0 = performance.now()
    let path = '(malformed job)'
    try {
      const data = checkJob(job.data, { maxBytes })
      path = data.path
      options.onStart?.(path)
      const fn = await functionOf(root, data, options.modules)
      const { values, known } = await decodeArgs(data.args, async (cid) => await options.engine.store.readArtifact(cid))
      const r = await options.engine.computeFor(data.path, fn, values, { code: Buffer.from(data.code, 'hex'), key: Buffer.from(data.key, 'hex') }, known)
      options.onJob?.({ path, status: r.hit ? 'hit' : 'computed', ms: performance.now() - t0 })
      return { evaluation: r.evaluation.toString(), hit: r.hit }
    } catch (err) {
      options.onJob?.({ path, status: 'failed', ms: performance.now() - t0, error: err as Error })
      throw new Error(failureText(err))
    }
  }
  const worker = new Worker(QUEUE_NAME, processor, {
    connection: connectionOf(options.url),
    concurrency,
    lockDuration,
    stalledInterval: Math.max(50, Math.floor(lockDuration / 2)),
    // A job whose worker died is handed to another this many times before it fails.
    maxStalledCount: 2
  })
  worker.on('error', () => {})
  await ready(worker, options.url)
  return {
    close: async (cut?: Promise<unknown>) => {
      const closing = worker.close()
      if (cut === undefined) {
        await closing
        return true
      }
      const clean = await Promise.race([closing.then(() => true), cut.then(() => false)])
      if (!clean) {
        // Redis gone or too slow: drop the connections (a hung quit then fails) rather than wait for them.
        const bounded = async (p: Promise<unknown>): Promise<void> => { await Promise.race([p.catch(() => {}), sleep(1000)]) }
        await bounded(worker.disconnect())
        await bounded(closing)
      }
      return clean
    }
  }
}

/** Resolve after `ms` without keeping the process alive. */
async function sleep (ms: number): Promise<void> {
  await new Promise<void>((resolve) => { setTimeout(resolve, ms).unref() })
}
