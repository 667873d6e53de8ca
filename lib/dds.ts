/**
 * The run engine: keep, evaluate, load and dataFunction over one store.
 *
 * A top-level keep or evaluate is a run. Nested keeps share it through
 * AsyncLocalStorage: their path updates are collected and committed together,
 * in one batch, when the top-level call returns. Every computed result is
 * stored (blocks, then record and memo entry in one batch) as soon as it is
 * known, so a run that throws commits no path but a re-run resumes.
 *
 * This class composes the parts in lib/run/: hashing (signature and memo
 * key), claims, lookup (the hit path), compute (the miss path), commit, load.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from '../store/errors.js'
import type { Store } from '../store/store.js'
import { hex } from '../store/util.js'
import { validatePath } from '../store/paths.js'
import type { StoreFound } from '../store/location.js'
import { identity } from './value-hash.js'
import { unrecorded } from './files/index.js'
import { makeDataFunction } from './data-function.js'
import { StoreAnalyses } from './analyses.js'
import type { AnyFunction, Dds, DdsEvent, DdsOptions, Kept, LoadOptions, Reporter } from './interface.js'
import { ForceRules } from './force.js'
import type { EachOptions, ExecCall, Executor, RunOn } from './parallel/interface.js'
import { keepEachIn } from './parallel/each.js'
import { Executors } from './parallel/executors.js'
import type { Frame, InstanceOptions, Outcome, Run, RunContext } from './run/interface.js'
import { openFromOptions } from './run/options.js'
import { CallHasher, type Prepared } from './run/hashing.js'
import type { CodeSignature } from './signature/index.js'
import { claim, claimOf, newRun } from './run/claims.js'
import { adoptChildren, lookup, reuse } from './run/lookup.js'
import { compute, computeElsewhere } from './run/compute.js'
import { commitRun } from './run/commit.js'
import { loadValue } from './run/load.js'

export { makeDataFunction }

/**
 * Open a store and return the programming model bound to it.
 *
 * @example
 * const dds = await open({ store: '/tmp/my-store' })
 * const n = await dds.keep('/n', (x: number) => x * 2, 21) // 42, computed once
 * await dds.close()
 */
export async function open (options: DdsOptions = {}): Promise<DdsInstance> {
  const { store, owned, found, settings } = await openFromOptions(options)
  const instance = new DdsInstance(store, owned, settings)
  instance.announce(found)
  return instance
}

/** The programming model bound to one store. Create it with `open()`. */
export class DdsInstance implements Dds {
  readonly store: Store
  readonly #owned: boolean
  readonly #als = new AsyncLocalStorage<Frame>()
  readonly #inflight = new Map<string, Promise<Outcome>>()
  readonly #onEvent: ((e: DdsEvent) => void) | undefined
  readonly #reporter: Reporter | undefined
  readonly #hasher: CallHasher
  readonly #executors: Executors
  readonly #analyses: StoreAnalyses
  /** What the parts in lib/run/ share of this instance. */
  readonly #ctx: RunContext

  constructor (store: Store, owned: boolean, options: InstanceOptions = {}) {
    this.store = store
    this.#executors = new Executors(options.parallel ?? {})
    this.#owned = owned
    this.#onEvent = options.onEvent
    this.#reporter = options.reporter
    const emit = (e: DdsEvent): void => { this.#emit(e) }
    this.#analyses = new StoreAnalyses(store.backend)
    this.#hasher = new CallHasher(emit, options.maxCapturedElements ?? 100_000, this.#analyses)
    const hasher = this.#hasher
    this.#ctx = {
      store,
      force: new ForceRules(store.backend, options.force ?? []),
      als: this.#als,
      durations: new Map(),
      emit,
      remember: (value, output) => { hasher.remember(value, output) }
    }
  }

  /** Which store a function uses is not part of what it computes. */
  [identity] (): string {
    return 'dds-ts'
  }

  #emit (event: DdsEvent): void {
    try { this.#reporter?.event(event) } catch { /* a closed stream is not the run's failure */ }
    if (this.#onEvent === undefined) return
    try { this.#onEvent(event) } catch { /* a listener's failure is not the run's */ }
  }

  /** Say which store this instance uses (a `store` event; the reporter prints it). */
  announce (found: StoreFound = 'given'): void {
    const b = this.store.backend
    this.#emit({ type: 'store', location: b.location, backend: b.kind, found, readOnly: b.readOnly !== undefined })
  }

  async close (): Promise<void> {
    this.#reporter?.close()
    await this.#executors.close()
    await this.#analyses.settle()
    if (this.#owned) await this.store.close()
  }

  async keep<F extends AnyFunction>(path: string, fn: F, ...args: Parameters<F>): Promise<Kept<F>> {
    // Inside a kept function, what the engine reads (sources, the store) is not what the function read.
    return await unrecorded(async () => (await this.#keep(path, fn, args, undefined)).value as Kept<F>)
  }

  /**
   * Keep `fn(input)` for every input at its own child path (`path/0`, `path/1`,
   * ... or `path/key(input)`), at most `concurrency` at a time; the results in
   * input order. At top level the map is one run; inside a run it is part of it.
   */
  async keepEach<F extends (input: any) => unknown>(path: string, fn: F, inputs: Iterable<Parameters<F>[0]>, options: EachOptions<Parameters<F>[0]> = {}): Promise<Array<Kept<F>>> {
    // The signature is taken once for the whole map (values fn captures are read when the map starts), not per input.
    let sig: CodeSignature | undefined
    const host = {
      keepOne: async (p: string, f: Function, input: unknown, runOn: RunOn | undefined) => {
        sig ??= this.#hasher.signature(f, path)
        return await this.#keep(p, f as AnyFunction, [input], runOn, sig)
      },
      emit: (e: DdsEvent) => { this.#emit(e) }
    }
    return await this.evaluate(async () => await keepEachIn(host, path, fn, inputs, options)) as Array<Kept<F>>
  }

  /** One keep; `mapped` is the signature of a map's function, whose child paths were checked already. */
  async #keep (path: string, fn: AnyFunction, args: unknown[], runOn: RunOn | undefined, mapped?: CodeSignature): Promise<Outcome> {
    if (mapped === undefined) {
      validatePath(path)
      if (typeof fn !== 'function') throw new TypeError(`keep(${JSON.stringify(path)}): the second argument must be a function, got ${typeof fn}`)
    }
    const parent = this.#als.getStore()
    const run: Run = parent?.run ?? newRun()
    // The head the commit compares with is read while the call is looked up: a process that reaches the
    // store through another (or a remote) waits for one round trip less. A head read this early is one the
    // commit could have seen: an update by another process after it is ordered after this run.
    const ahead = parent === undefined ? { path, head: this.store.headEntry(path) } : undefined
    ahead?.head.catch(() => {})

    const prepared = this.#hasher.prepare(path, fn, args, mapped)
    claim(run, parent, path, claimOf(prepared.sig, prepared.hashed, prepared.keyHex))
    // Most calls run here: no promise to wait for on the hit path.
    const via = this.#executors.elsewhere(fn, runOn) ? await this.#executors.for(fn, runOn) : undefined
    const outcome = await this.#resolve(run, parent, path, fn, args, prepared, via)

    if (!run.updates.has(path)) {
      run.updates.set(path, { path, evaluation: outcome.evaluation, output: outcome.output, hit: outcome.hit })
    }
    run.written.set(path, { evaluation: outcome.evaluation, output: outcome.output, value: { v: outcome.value } })
    if (parent !== undefined) {
      parent.calls.push(outcome.evaluation)
      for (const l of outcome.loads) if (!parent.loads.has(l.path)) parent.loads.set(l.path, l)
      parent.files?.adopt(outcome.files)
    } else {
      await commitRun(this.#ctx, run, ahead)
    }
    return outcome
  }

  /**
   * For a queue's worker: compute and store `fn(...args)` as `keep(path, ...)`
   * would, without committing any path (the caller's run does). `known` are
   * arguments read from the store by the identity the caller hashed them by.
   * A call whose code or inputs hash differently here is refused: its result
   * would be stored under a signature it was not computed with.
   */
  async computeFor (path: string, fn: AnyFunction, args: unknown[], expected: { code: Uint8Array, key: Uint8Array }, known: Array<[unknown, CID]> = []): Promise<{ evaluation: CID, hit: boolean }> {
    validatePath(path)
    for (const [value, cid] of known) this.#hasher.remember(value, cid)
    const prepared = this.#hasher.prepare(path, fn, args)
    const { sig, hashed, keyHex } = prepared
    if (hex(sig.digest) !== hex(expected.code) || keyHex !== hex(expected.key)) {
      const what = hex(sig.digest) !== hex(expected.code) ? 'code' : 'arguments'
      throw new DdsError(ErrorCodes.CODE_MISMATCH, `refusing ${path}: the ${what} of ${sig.fn.name || 'the function'} here hash differently from the caller's (a different version of ${sig.fn.file ?? 'its module'}?)`,
        { data: { path, what, fn: sig.fn.name, file: sig.fn.file } })
    }
    const run = newRun()
    claim(run, undefined, path, claimOf(sig, hashed, keyHex))
    const o = await this.#resolve(run, undefined, path, fn, args, prepared)
    return { evaluation: o.evaluation, hit: o.hit }
  }

  /** The code signature digest of `fn` as this instance hashes it (a worker compares it with its caller's). */
  codeDigest (fn: Function): Uint8Array {
    return this.#hasher.signature(fn).digest
  }

  /** A call's outcome: shared with an identical call in flight, a hit, or computed (here or by `via`). */
  async #resolve (run: Run, parent: Frame | undefined, path: string, fn: Function, args: unknown[], prepared: Prepared, via?: Executor): Promise<Outcome> {
    const { sig, hashed, key, keyHex } = prepared
    const ctx = this.#ctx
    const shared = this.#inflight.get(keyHex)
    if (shared !== undefined) {
      this.#emit({ type: 'waiting', path, by: 'call' })
      const o = await shared
      await adoptChildren(ctx, run, o.evaluation)
      return { ...o, hit: true }
    }
    const hit = await lookup(ctx, run, key, fn, path)
    const reused = hit === undefined ? undefined : await reuse(ctx, run, path, hit)
    if (reused !== undefined) return reused
    const hasher = this.#hasher
    const call: ExecCall = { path, fn, args, code: sig.digest, key, fnInfo: sig.fn, identityOf: (v) => hasher.identityOf(v) }
    const promise = via?.kind === 'stored'
      ? computeElsewhere(ctx, run, path, key, via, call)
      : compute(ctx, run, parent, { path, fn, args, sig, inputs: hashed, key, keyHex }, via === undefined ? undefined : async () => await via.run(call))
    this.#inflight.set(keyHex, promise)
    try {
      return await promise
    } finally {
      this.#inflight.delete(keyHex)
    }
  }

  async evaluate<F extends AnyFunction>(fn: F, ...args: Parameters<F>): Promise<Kept<F>> {
    if (typeof fn !== 'function') throw new TypeError(`evaluate(): the first argument must be a function, got ${typeof fn}`)
    const parent = this.#als.getStore()
    // Inside a run, evaluate is a plain call that shares the run.
    if (parent !== undefined) return await (fn(...args) as Kept<F>)
    const run = newRun()
    const frame: Frame = { run, path: null, keyHex: null, parent: undefined, loads: new Map(), calls: [] }
    const value = await this.#als.run(frame, () => fn(...args))
    await commitRun(this.#ctx, run)
    return value as Kept<F>
  }

  async load<T = unknown>(target: string, options: LoadOptions = {}): Promise<T> {
    return await loadValue(this.#ctx, this.#als.getStore(), target, options) as T
  }

  dataFunction<F extends () => unknown>(path: string, fn: F): () => Promise<Kept<F>> {
    return makeDataFunction(path, fn, (p, f) => this.keep(p, f as AnyFunction) as Promise<Kept<F>>)
  }
}
