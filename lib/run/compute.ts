/**
 * The miss path: compute a call under its lease (here, or through a queue's
 * workers), then store the value, its evaluation record and memo entries in
 * one batch.
 */
import { hostname } from 'node:os'
import { DdsError, ErrorCodes, isDdsError } from '../../store/errors.js'
import { Pending } from '../../store/store.js'
import { hex } from '../../store/util.js'
import type { LeaseHolder } from '../../store/interface.js'
import { dependenciesKey } from '../value-hash.js'
import { effectWarnings, passedAs, recording, startRecording } from '../files/index.js'
import { annotationsOf } from '../annotations.js'
import type { CodeSignature } from '../signature/index.js'
import { recordName } from '../data-function.js'
import type { DdsEvent } from '../interface.js'
import type { ExecCall, Executor } from '../parallel/interface.js'
import { lookup, reuse } from './lookup.js'
import type { Frame, Hashed, Outcome, Run, RunContext } from './interface.js'

/** A function that ran at least this long (ms) hands a shared store over before running again. */
const LONG_RUN_MS = 50
/** Arguments whose canonical form is at most this size are stored for display. */
const INPUT_BLOCK_LIMIT = 4096

/** What a call to compute is: its path, function, arguments, signature and memo key. */
export interface Call {
  path: string
  fn: Function
  args: unknown[]
  sig: CodeSignature
  inputs: Hashed[]
  key: Uint8Array
  keyHex: string
}

/**
 * Compute a miss under the call's lease (another process may be computing it:
 * wait, then look again), and store the result. `elsewhere` runs the call on
 * another executor instead of in this frame.
 *
 * @example
 * const outcome = await compute(ctx, run, parent, { path, fn, args, sig, inputs, key, keyHex })
 */
export async function compute (ctx: RunContext, run: Run, parent: Frame | undefined, call: Call, elsewhere?: () => Promise<unknown>): Promise<Outcome> {
  const { path, fn, args, sig, inputs, key, keyHex } = call
  const { store } = ctx
  const lock = await store.lock(`compute:${keyHex}`, 'exclusive', { onWait: (holders) => { ctx.emit(waiting(path, holders)) } })
  try {
    const again = await lookup(ctx, run, key, fn, path)
    const reused = again === undefined ? undefined : await reuse(ctx, run, path, again)
    if (reused !== undefined) return reused
    ctx.emit({ type: 'miss', path })
    const files = startRecording(store.location)
    const frame: Frame = { run, path, keyHex, parent, loads: new Map(), calls: [], files }
    // Other processes using the store through this one should not wait for a long
    // computation: hand the store over first when this code took long before.
    const codeHex = hex(sig.digest)
    if ((ctx.durations.get(codeHex) ?? 0) >= LONG_RUN_MS) await store.backend.yieldIfShared?.()
    const started = Date.now()
    const t0 = performance.now()
    let value: unknown
    try {
      value = elsewhere === undefined ? await ctx.als.run(frame, () => recording(files, () => fn(...args.map(passedAs)))) : await elsewhere()
    } catch (err) {
      ctx.emit({ type: 'failed', path, duration: performance.now() - t0 })
      throw err
    }
    const duration = performance.now() - t0
    ctx.durations.set(codeHex, duration)
    for (const message of effectWarnings(files, path, annotationsOf(fn))) ctx.emit({ type: 'warning', message, path })

    // Garbage collection must not remove a block between staging and the batch that references it.
    const guard = await store.lock('gc', 'shared')
    try {
      const named = { ...call, sig: { ...sig, fn: { ...sig.fn, name: recordName(fn, sig.fn.name) } } }
      const stored = await storeResult(ctx, value, frame, named, started, duration)
      ctx.force.ran(path)
      return stored
    } finally {
      await guard.release()
    }
  } finally {
    await lock.release()
  }
}

/**
 * A miss computed and stored by a queue's worker: no lease is taken here
 * (the worker takes it, so identical calls run once across machines); the
 * result is then found in the shared store like any other.
 *
 * @example
 * const outcome = await computeElsewhere(ctx, run, path, key, queueExecutor, execCall)
 */
export async function computeElsewhere (ctx: RunContext, run: Run, path: string, key: Uint8Array, via: Executor, call: ExecCall): Promise<Outcome> {
  ctx.emit({ type: 'miss', path })
  await via.run(call)
  ctx.force.ran(path)
  const hit = await lookup(ctx, run, key, call.fn, path)
  const found = hit === undefined ? undefined : await reuse(ctx, run, path, hit, 'computed')
  if (found === undefined) {
    throw new DdsError(ErrorCodes.QUEUE_FAILED, `the queue reported ${path} computed, but its result is not in the store (do the workers share this store?)`, { data: { path } })
  }
  return found
}

/** Stage the value, the small arguments, the evaluation record and its memo keys, and write them in one batch. */
async function storeResult (ctx: RunContext, value: unknown, frame: Frame, call: Call, started: number, duration: number): Promise<Outcome> {
  const { path, sig, inputs, key } = call
  const { store } = ctx
  const pending = new Pending()
  let art
  try {
    art = await store.stageArtifact(value, pending, 'value')
  } catch (err) {
    if (isDdsError(err, ErrorCodes.UNSERIALIZABLE)) {
      throw new DdsError(ErrorCodes.UNSERIALIZABLE, `cannot store the value returned for ${path}: ${err.message}`, { cause: err, data: { ...err.data, path } })
    }
    throw err
  }
  // Small arguments are kept as blocks under their identity, so `dds show` can print them.
  for (const h of inputs) {
    if (h.bytes !== undefined && h.bytes.byteLength <= INPUT_BLOCK_LIMIT) await store.stageBlock(h.cid, h.bytes, pending)
  }
  const loads = [...frame.loads.values()]
  const files = frame.files?.finish() ?? []
  const keys = [key]
  const second = dependenciesKey(key, loads, files)
  if (second !== undefined) keys.push(second)
  const { evaluation } = await store.stageEvaluation(sig.manifest, {
    kind: 'keep', path, fn: sig.fn, signature: key, inputs: inputs.map((h) => h.cid), loads, ...(files.length > 0 ? { files } : {}), calls: frame.calls, output: art.cid, started, duration
  }, keys, pending)
  await store.write(pending)
  ctx.remember(value, art.cid)
  ctx.emit({ type: 'computed', path, evaluation, duration })
  return { value, evaluation, output: art.cid, loads, files, hit: false }
}

/** The waiting event for a lock held by `holders` (none: another call of this process). */
function waiting (path: string, holders: LeaseHolder[]): DdsEvent {
  const h = holders[0]
  if (h === undefined) return { type: 'waiting', path, by: 'call' }
  const mine = h.pid === process.pid && h.host === hostname()
  return mine ? { type: 'waiting', path, by: 'call' } : { type: 'waiting', path, by: 'process', holder: { pid: h.pid, host: h.host } }
}
