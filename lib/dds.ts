/**
 * The run engine: keep, evaluate, load and dataFunction over one store.
 *
 * A top-level keep or evaluate is a run. Nested keeps share it through
 * AsyncLocalStorage: their path updates are collected and committed together,
 * in one batch, when the top-level call returns. Every computed result is
 * stored (blocks, then record and memo entry in one batch) as soon as it is
 * known, so a run that throws commits no path but a re-run resumes.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { hostname } from 'node:os'
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes, isDdsError } from '../store/errors.js'
import { openStore, Pending, Store, type PathUpdate } from '../store/store.js'
import { isNoop } from '../store/commit-plan.js'
import { hex } from '../store/util.js'
import { validatePath, ancestors, overlapError } from '../store/paths.js'
import { findStore, type StoreFound } from '../store/location.js'
import type { LeaseHolder } from '../store/interface.js'
import type { FileRef, LoadRef, MemoEntry, PathEntry } from '../store/records.js'
import { dependenciesKey, hashValueBlock, identity, memoKey, valueDigest, type HashContext } from './value-hash.js'
import { effectWarnings, filesHold, filesNow, fresh, passedAs, recording, startRecording, unrecorded, type Recorder } from './files/index.js'
import { annotationsOf, identityGiven } from './annotations.js'
import { SignatureEngine, type CodeSignature } from './signature/index.js'
import { StoreAnalyses } from './analyses.js'
import { dataFunctionOf, makeDataFunction, recordName } from './data-function.js'
import { createReporter, logFromEnv } from './reporter.js'
import type { AnyFunction, Dds, DdsEvent, DdsOptions, Kept, LoadOptions, Reporter } from './interface.js'
import { ForceRules, forceFromEnv } from './force.js'
import { isTaggedLoad, loadTarget, taggedOutput, taggedValue } from './tagged.js'
import type { EachOptions, ExecCall, Executor, RunOn } from './parallel/interface.js'
import { keepEachIn } from './parallel/each.js'
import { Executors, type ParallelOptions } from './parallel/executors.js'

interface Written {
  evaluation: CID
  output: CID
  value?: { v: unknown }
}

/** What a keep claimed a path with: enough to say how a conflicting keep differs. */
interface Claim {
  keyHex: string
  /** Where the function is defined (name, file, line, column). */
  site: string
  code: string
  inputs: string[]
}

interface Run {
  /** Path -> the keep that claimed it in this run. */
  claims: Map<string, Claim>
  updates: Map<string, PathUpdate>
  written: Map<string, Written>
}

interface Frame {
  run: Run
  path: string | null
  keyHex: string | null
  parent: Frame | undefined
  loads: Map<string, LoadRef>
  calls: CID[]
  /** What the function reads (a computing keep only). */
  files?: Recorder
}

interface Outcome {
  value: unknown
  evaluation: CID
  output: CID
  loads: LoadRef[]
  files: FileRef[]
  hit: boolean
}

type Hashed = { cid: CID, bytes: Uint8Array | undefined }
/** A function that ran at least this long (ms) hands a shared store over before running again. */
const LONG_RUN_MS = 50
/** Arguments whose canonical form is at most this size are stored for display. */
const INPUT_BLOCK_LIMIT = 4096

/** The remote named by `$DDS_REMOTE` (`s3://bucket/prefix`), if set. */
function defaultRemote (): string | undefined {
  const env = process.env.DDS_REMOTE
  return env === undefined || env === '' ? undefined : env
}

export { makeDataFunction }

/** One engine per process for the default instance and every `open()`: the analysis caches are per file. */
let sharedEngine: SignatureEngine | undefined
function engine (): SignatureEngine {
  sharedEngine ??= new SignatureEngine()
  return sharedEngine
}

/**
 * Open a store and return the programming model bound to it.
 *
 * @example
 * const dds = await open({ store: '/tmp/my-store' })
 * const n = await dds.keep('/n', (x: number) => x * 2, 21) // 42, computed once
 * await dds.close()
 */
export async function open (options: DdsOptions = {}): Promise<DdsInstance> {
  const { store, onEvent, maxCapturedElements, remote, log, threads, queue, force, ...storeOptions } = options
  let s: Store
  let owned = true
  let found: StoreFound = 'given'
  if (store instanceof Store) {
    s = store
    owned = false
  } else {
    const team = remote ?? defaultRemote()
    let location = store
    if (location === undefined && (storeOptions.backend ?? 'classic') === 'classic') {
      const where = findStore()
      location = where.location
      found = where.found
    }
    s = await openStore({ ...storeOptions, ...(location === undefined ? {} : { location }), ...(team === undefined ? {} : { remote: team }) })
  }
  const wanted = log ?? logFromEnv()
  const reporter = wanted === false ? undefined : createReporter(wanted === true ? {} : wanted)
  const instance = new DdsInstance(s, owned, {
    ...(onEvent === undefined ? {} : { onEvent }),
    ...(reporter === undefined ? {} : { reporter }),
    ...(maxCapturedElements === undefined ? {} : { maxCapturedElements }),
    force: force === undefined ? forceFromEnv() : typeof force === 'string' ? [force] : force,
    parallel: { ...(threads === undefined ? {} : { threads }), ...(queue === undefined ? {} : { queue }) }
  })
  instance.announce(found)
  return instance
}

/** The programming model bound to one store. Create it with `open()`. */
export class DdsInstance implements Dds {
  readonly store: Store
  readonly #owned: boolean
  readonly #als = new AsyncLocalStorage<Frame>()
  readonly #inflight = new Map<string, Promise<Outcome>>()
  readonly #identities = new WeakMap<object, CID>()
  readonly #onEvent: ((e: DdsEvent) => void) | undefined
  readonly #reporter: Reporter | undefined
  readonly #maxCaptured: number
  readonly #hashing = new Set<Function>()
  /** How long each function (by code signature) last ran, in ms. */
  readonly #durations = new Map<string, number>()
  readonly #inputCtx: HashContext
  readonly #capturedCtx: HashContext
  readonly #executors: Executors
  readonly #force: ForceRules
  readonly #analyses: StoreAnalyses

  constructor (store: Store, owned: boolean, options: { onEvent?: (e: DdsEvent) => void, reporter?: Reporter, maxCapturedElements?: number, parallel?: ParallelOptions, force?: string[] } = {}) {
    this.store = store
    this.#force = new ForceRules(store.backend, options.force ?? [])
    this.#analyses = new StoreAnalyses(store.backend)
    this.#executors = new Executors(options.parallel ?? {})
    this.#owned = owned
    this.#onEvent = options.onEvent
    this.#reporter = options.reporter
    this.#maxCaptured = options.maxCapturedElements ?? 100_000
    const identityOf = (v: object): CID | undefined => this.#identities.get(v)
    const hashFunction = (fn: Function, label: string): Uint8Array => this.#hashFunction(fn, label)
    this.#inputCtx = { mode: 'input', identityOf, givenIdentity: identityGiven, hashFunction }
    this.#capturedCtx = { mode: 'captured', identityOf, givenIdentity: identityGiven, hashFunction, maxElements: this.#maxCaptured }
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


  // ------------------------------------------------------------------ signatures

  #hashFunction (fn: Function, label: string): Uint8Array {
    const data = dataFunctionOf(fn)
    if (data !== undefined) {
      return valueDigest({ dataFunction: data.path, code: this.#hashFunction(data.fn, label) }, label, this.#capturedCtx)
    }
    // A function reached again while it is being hashed (recursion through values) counts once.
    if (this.#hashing.has(fn)) return new Uint8Array(32)
    this.#hashing.add(fn)
    try {
      return this.#signature(fn).digest
    } finally {
      this.#hashing.delete(fn)
    }
  }

  #signature (fn: Function, path?: string): CodeSignature {
    const ann = annotationsOf(fn)
    const sig = engine().signature(fn, {
      hashValue: (value, label) => valueDigest(value, label, this.#capturedCtx),
      analyses: this.#analyses,
      ...(ann?.version === undefined ? {} : { pin: ann.version }),
      ...(ann?.deps === undefined ? {} : { deps: ann.deps }),
      ...(ann?.ignore === undefined ? {} : { ignore: ann.ignore })
    })
    for (const message of sig.warnings) this.#emit({ type: 'warning', message, ...(path === undefined ? {} : { path }) })
    return sig
  }

  // ------------------------------------------------------------------ keep

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
    const host = {
      keepOne: async (p: string, f: Function, input: unknown, runOn: RunOn | undefined) => await this.#keep(p, f as AnyFunction, [input], runOn),
      emit: (e: DdsEvent) => { this.#emit(e) }
    }
    return await this.evaluate(async () => await keepEachIn(host, path, fn, inputs, options)) as Array<Kept<F>>
  }

  async #keep (path: string, fn: AnyFunction, args: unknown[], runOn: RunOn | undefined): Promise<Outcome> {
    validatePath(path)
    if (typeof fn !== 'function') throw new TypeError(`keep(${JSON.stringify(path)}): the second argument must be a function, got ${typeof fn}`)
    const parent = this.#als.getStore()
    const run: Run = parent?.run ?? { claims: new Map(), updates: new Map(), written: new Map() }
    // With a remote, the head the commit compares with is read while the call is looked up.
    const ahead = parent === undefined && this.store.remote !== undefined ? { path, head: this.store.headEntry(path) } : undefined
    ahead?.head.catch(() => {})

    const { sig, hashed, key, keyHex } = this.#prepare(path, fn, args)
    this.#claim(run, parent, path, claimOf(sig, hashed, keyHex))
    const via = await this.#executors.for(fn, runOn)
    const outcome = await this.#resolve(run, parent, path, fn, args, sig, hashed, key, keyHex, via)

    if (!run.updates.has(path)) {
      run.updates.set(path, { path, evaluation: outcome.evaluation, output: outcome.output, hit: outcome.hit })
    }
    run.written.set(path, { evaluation: outcome.evaluation, output: outcome.output, value: { v: outcome.value } })
    if (parent !== undefined) {
      parent.calls.push(outcome.evaluation)
      for (const l of outcome.loads) if (!parent.loads.has(l.path)) parent.loads.set(l.path, l)
      parent.files?.adopt(outcome.files)
    } else {
      await this.#commit(run, ahead)
    }
    return outcome
  }

  /** The code signature of a call and its memo key. */
  #prepare (path: string, fn: Function, args: unknown[]): { sig: CodeSignature, hashed: Hashed[], key: Uint8Array, keyHex: string } {
    const sig = this.#signature(fn, path)
    const hashed = args.map((a, i) => hashValueBlock(a, `args[${i}]`, this.#inputCtx))
    const key = memoKey(sig.digest, hashed.map((h) => h.cid))
    return { sig, hashed, key, keyHex: hex(key) }
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
    for (const [value, cid] of known) this.#remember(value, cid)
    const { sig, hashed, key, keyHex } = this.#prepare(path, fn, args)
    if (hex(sig.digest) !== hex(expected.code) || keyHex !== hex(expected.key)) {
      const what = hex(sig.digest) !== hex(expected.code) ? 'code' : 'arguments'
      throw new DdsError(ErrorCodes.CODE_MISMATCH, `refusing ${path}: the ${what} of ${sig.fn.name || 'the function'} here hash differently from the caller's (a different version of ${sig.fn.file ?? 'its module'}?)`,
        { data: { path, what, fn: sig.fn.name, file: sig.fn.file } })
    }
    const run: Run = { claims: new Map(), updates: new Map(), written: new Map() }
    this.#claim(run, undefined, path, claimOf(sig, hashed, keyHex))
    const o = await this.#resolve(run, undefined, path, fn, args, sig, hashed, key, keyHex)
    return { evaluation: o.evaluation, hit: o.hit }
  }

  /** The code signature digest of `fn` as this instance hashes it (a worker compares it with its caller's). */
  codeDigest (fn: Function): Uint8Array {
    return this.#signature(fn).digest
  }

  /** Claim `path` for this run: one signature per path, no overlapping paths, no cycles. */
  #claim (run: Run, parent: Frame | undefined, path: string, claim: Claim): void {
    const { keyHex } = claim
    const prev = run.claims.get(path)
    if (prev !== undefined && prev.keyHex !== keyHex) throw conflict(path, prev, claim)
    for (let f = parent; f !== undefined; f = f.parent) {
      if (f.path === path || f.keyHex === keyHex) {
        throw new DdsError(ErrorCodes.CIRCULAR_CALL, `keep(${JSON.stringify(path)}) is called while computing ${f.path ?? 'itself'}`, { data: { path, within: f.path } })
      }
    }
    if (prev === undefined) {
      for (const a of ancestors(path)) {
        if (run.claims.has(a)) throw overlapError(a, path)
      }
      for (const other of run.claims.keys()) {
        if (other.startsWith(path + '/')) throw overlapError(path, other)
      }
      run.claims.set(path, claim)
    }
  }

  async #resolve (run: Run, parent: Frame | undefined, path: string, fn: Function, args: unknown[], sig: CodeSignature, inputs: Hashed[], key: Uint8Array, keyHex: string, via?: Executor): Promise<Outcome> {
    const shared = this.#inflight.get(keyHex)
    if (shared !== undefined) {
      this.#emit({ type: 'waiting', path, by: 'call' })
      const o = await shared
      await this.#adoptChildren(run, o.evaluation)
      return { ...o, hit: true }
    }
    const hit = await this.#lookup(run, key, fn, path)
    const reused = hit === undefined ? undefined : await this.#reuse(run, path, hit)
    if (reused !== undefined) return reused
    const call: ExecCall = { path, fn, args, code: sig.digest, key, fnInfo: sig.fn, identityOf: (v) => v !== null && typeof v === 'object' ? this.#identities.get(v) : undefined }
    const promise = via?.kind === 'stored'
      ? this.#computeElsewhere(run, path, key, via, call)
      : this.#compute(run, parent, path, fn, args, sig, inputs, key, keyHex, via === undefined ? undefined : async () => await via.run(call))
    this.#inflight.set(keyHex, promise)
    try {
      return await promise
    } finally {
      this.#inflight.delete(keyHex)
    }
  }

  /** A cache hit: the stored value, and the paths its nested keeps wrote join the run. */
  async #reuse (run: Run, path: string, hit: MemoEntry, event: 'hit' | 'computed' = 'hit'): Promise<Outcome | undefined> {
    let value: unknown
    try {
      value = await this.store.readArtifact(hit.output)
    } catch (err) {
      // A stored answer that cannot be read (collected, or damaged) is a miss: computing again gives the right value.
      if (!isDdsError(err, ErrorCodes.NOT_FOUND) && !isDdsError(err, ErrorCodes.INTEGRITY)) throw err
      this.#emit({ type: 'warning', message: `the stored value for ${path} cannot be read (${err.code}: ${err.message}); computing it again`, path })
      return undefined
    }
    this.#remember(value, hit.output)
    if (hit.nested) await this.#adoptChildren(run, hit.evaluation)
    if (event === 'hit') this.#emit({ type: 'hit', path, evaluation: hit.evaluation })
    else this.#emit({ type: 'computed', path, evaluation: hit.evaluation, duration: (await this.store.getEvaluation(hit.evaluation)).duration })
    return { value, evaluation: hit.evaluation, output: hit.output, loads: hit.loads, files: hit.files ?? [], hit: event === 'hit' }
  }

  /** The memo entry for a key whose recorded loads and files still hold and that is fresh, if any. */
  async #lookup (run: Run, key: Uint8Array, fn: Function, path: string): Promise<MemoEntry | undefined> {
    const ann = annotationsOf(fn)
    if (ann?.volatile === true) return undefined
    const entry = await this.store.lookupMemo(key)
    if (entry === undefined || await this.#force.refuses(path, fn, entry.evaluation)) return undefined
    if (await this.#loadsHold(run, entry.loads) && filesHold(entry.files)) return await this.#fresh(entry, fn)
    // The loaded paths or read files changed: maybe an earlier evaluation saw exactly the current values.
    const current: Array<{ path: string, output: CID }> = []
    for (const l of entry.loads) {
      const now = await this.#currentOutput(run, l.path)
      if (now === undefined) return undefined
      current.push({ path: l.path, output: now })
    }
    const second = dependenciesKey(key, current, entry.files === undefined ? undefined : filesNow(entry.files))
    const alt = second === undefined ? undefined : await this.store.lookupMemo(second)
    if (alt !== undefined && !await this.#force.refuses(path, fn, alt.evaluation) && await this.#loadsHold(run, alt.loads) && filesHold(alt.files)) return await this.#fresh(alt, fn)
    return undefined
  }

  /** The entry, unless the function's time to live has passed since it was computed. */
  async #fresh (entry: MemoEntry, fn: Function): Promise<MemoEntry | undefined> {
    const ann = annotationsOf(fn)
    if (ann?.ttl === undefined) return entry
    const record = await this.store.getEvaluation(entry.evaluation)
    return fresh(ann, record.started) ? entry : undefined
  }

  async #loadsHold (run: Run, loads: LoadRef[]): Promise<boolean> {
    for (const l of loads) {
      const now = await this.#currentOutput(run, l.path)
      if (now === undefined || !now.equals(l.output)) return false
    }
    return true
  }

  async #currentOutput (run: Run, path: string): Promise<CID | undefined> {
    if (isTaggedLoad(path)) return await taggedOutput(this.store.backend, path)
    const w = run.written.get(path)
    if (w !== undefined) return w.output
    const head = await this.store.head(path)
    return head?.output ?? undefined
  }

  /**
   * A miss computed and stored by a queue's worker: no lease is taken here
   * (the worker takes it, so identical calls run once across machines); the
   * result is then found in the shared store like any other.
   */
  async #computeElsewhere (run: Run, path: string, key: Uint8Array, via: Executor, call: ExecCall): Promise<Outcome> {
    this.#emit({ type: 'miss', path })
    await via.run(call)
    this.#force.ran(path)
    const hit = await this.#lookup(run, key, call.fn, path)
    const found = hit === undefined ? undefined : await this.#reuse(run, path, hit, 'computed')
    if (found === undefined) {
      throw new DdsError(ErrorCodes.QUEUE_FAILED, `the queue reported ${path} computed, but its result is not in the store (do the workers share this store?)`, { data: { path } })
    }
    return found
  }

  async #compute (run: Run, parent: Frame | undefined, path: string, fn: Function, args: unknown[], sig: CodeSignature, inputs: Hashed[], key: Uint8Array, keyHex: string, elsewhere?: () => Promise<unknown>): Promise<Outcome> {
    // Another process may be computing the same call: wait for it, then look again.
    const lock = await this.store.lock(`compute:${keyHex}`, 'exclusive', { onWait: (holders) => { this.#emit(waiting(path, holders)) } })
    try {
      const again = await this.#lookup(run, key, fn, path)
      const reused = again === undefined ? undefined : await this.#reuse(run, path, again)
      if (reused !== undefined) return reused
      this.#emit({ type: 'miss', path })
      const files = startRecording(this.store.location)
      const frame: Frame = { run, path, keyHex, parent, loads: new Map(), calls: [], files }
      // Other processes using the store through this one should not wait for a long
      // computation: hand the store over first when this code took long before.
      const codeHex = hex(sig.digest)
      if ((this.#durations.get(codeHex) ?? 0) >= LONG_RUN_MS) await this.store.backend.yieldIfShared?.()
      const started = Date.now()
      const t0 = performance.now()
      let value: unknown
      try {
        value = elsewhere === undefined ? await this.#als.run(frame, () => recording(files, () => fn(...args.map(passedAs)))) : await elsewhere()
      } catch (err) {
        this.#emit({ type: 'failed', path, duration: performance.now() - t0 })
        throw err
      }
      const duration = performance.now() - t0
      this.#durations.set(codeHex, duration)
      for (const message of effectWarnings(files, path, annotationsOf(fn))) this.#emit({ type: 'warning', message, path })

      const pending = new Pending()
      // Garbage collection must not remove a block between staging and the batch that references it.
      const guard = await this.store.lock('gc', 'shared')
      try {
        const stored = await this.#store(value, path, frame, { ...sig, fn: { ...sig.fn, name: recordName(fn, sig.fn.name) } }, inputs, key, started, duration, pending)
        this.#force.ran(path)
        return stored
      } finally {
        await guard.release()
      }
    } finally {
      await lock.release()
    }
  }

  async #store (value: unknown, path: string, frame: Frame, sig: CodeSignature, inputs: Hashed[], key: Uint8Array, started: number, duration: number, pending: Pending): Promise<Outcome> {
    let art
    try {
      art = await this.store.stageArtifact(value, pending, 'value')
    } catch (err) {
      if (isDdsError(err, ErrorCodes.UNSERIALIZABLE)) {
        throw new DdsError(ErrorCodes.UNSERIALIZABLE, `cannot store the value returned for ${path}: ${err.message}`, { cause: err, data: { ...err.data, path } })
      }
      throw err
    }
    // Small arguments are kept as blocks under their identity, so `dds show` can print them.
    for (const h of inputs) {
      if (h.bytes !== undefined && h.bytes.byteLength <= INPUT_BLOCK_LIMIT) await this.store.stageBlock(h.cid, h.bytes, pending)
    }
    const loads = [...frame.loads.values()]
    const files = frame.files?.finish() ?? []
    const keys = [key]
    const second = dependenciesKey(key, loads, files)
    if (second !== undefined) keys.push(second)
    const { evaluation } = await this.store.stageEvaluation(sig.manifest, {
      kind: 'keep', path, fn: sig.fn, signature: key, inputs: inputs.map((h) => h.cid), loads, ...(files.length > 0 ? { files } : {}), calls: frame.calls, output: art.cid, started, duration
    }, keys, pending)
    await this.store.write(pending)
    this.#remember(value, art.cid)
    this.#emit({ type: 'computed', path, evaluation, duration })
    return { value, evaluation, output: art.cid, loads, files, hit: false }
  }

  /** After a hit, the paths its nested keeps wrote are part of this run too. */
  async #adoptChildren (run: Run, evaluation: CID, seen = new Set<string>()): Promise<void> {
    const id = evaluation.toString()
    if (seen.has(id)) return
    seen.add(id)
    const record = await this.store.getEvaluation(evaluation)
    for (const child of record.calls) {
      const rec = await this.store.getEvaluation(child)
      if (rec.path !== null && !run.updates.has(rec.path) && !run.claims.has(rec.path)) {
        run.updates.set(rec.path, { path: rec.path, evaluation: child, output: rec.output, hit: true })
        run.written.set(rec.path, { evaluation: child, output: rec.output })
      }
      await this.#adoptChildren(run, child, seen)
    }
  }

  #remember (value: unknown, output: CID): void {
    if (value !== null && (typeof value === 'object' || typeof value === 'function')) this.#identities.set(value, output)
  }

  async #commit (run: Run, ahead?: { path: string, head: Promise<PathEntry | undefined> }): Promise<void> {
    // Paths already pointing at their evaluation need no commit (the common case of a hit).
    const updates: PathUpdate[] = []
    for (const u of run.updates.values()) {
      const head = ahead?.path === u.path ? await ahead.head : await this.store.headEntry(u.path)
      if (!isNoop(head, u, u.time ?? Date.now())) updates.push(u)
    }
    if (updates.length === 0) return
    const result = await this.store.commit(updates)
    if (result.appended.length > 0) {
      const byPath = new Map(updates.map((u) => [u.path, u.evaluation]))
      this.#emit({ type: 'commit', paths: result.appended.map((a) => a.path), entries: result.appended.map((a) => ({ ...a, evaluation: byPath.get(a.path) ?? null })) })
    }
  }

  // ------------------------------------------------------------------ evaluate, load, dataFunction

  async evaluate<F extends AnyFunction>(fn: F, ...args: Parameters<F>): Promise<Kept<F>> {
    if (typeof fn !== 'function') throw new TypeError(`evaluate(): the first argument must be a function, got ${typeof fn}`)
    const parent = this.#als.getStore()
    // Inside a run, evaluate is a plain call that shares the run.
    if (parent !== undefined) return await (fn(...args) as Kept<F>)
    const run: Run = { claims: new Map(), updates: new Map(), written: new Map() }
    const frame: Frame = { run, path: null, keyHex: null, parent: undefined, loads: new Map(), calls: [] }
    const value = await this.#als.run(frame, () => fn(...args))
    await this.#commit(run)
    return value as Kept<F>
  }

  async load<T = unknown>(target: string, options: LoadOptions = {}): Promise<T> {
    const { path, tag } = loadTarget(target, options)
    const frame = this.#als.getStore()
    if (tag !== undefined) {
      const t = await taggedValue(this.store.backend, path, tag)
      const v = await this.store.readArtifact(t.output)
      this.#remember(v, t.output)
      if (frame !== undefined && !frame.loads.has(t.key)) frame.loads.set(t.key, { path: t.key, evaluation: t.evaluation, output: t.output })
      return v as T
    }
    const w = frame?.run.written.get(path)
    if (frame !== undefined && w !== undefined) {
      if (!frame.loads.has(path)) frame.loads.set(path, { path, evaluation: w.evaluation, output: w.output })
      if (w.value === undefined) {
        const v = await this.store.readArtifact(w.output)
        this.#remember(v, w.output)
        w.value = { v }
      }
      return w.value.v as T
    }
    const head = await this.store.head(path)
    if (head === undefined || head.output === null) {
      throw new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${path} holds no value`, { data: { path } })
    }
    const value = await this.store.readArtifact(head.output)
    this.#remember(value, head.output)
    if (frame !== undefined && !frame.loads.has(path)) frame.loads.set(path, { path, evaluation: head.evaluation, output: head.output })
    return value as T
  }

  dataFunction<F extends () => unknown>(path: string, fn: F): () => Promise<Kept<F>> {
    return makeDataFunction(path, fn, (p, f) => this.keep(p, f as AnyFunction) as Promise<Kept<F>>)
  }
}

/** The waiting event for a lock held by `holders` (none: another call of this process). */
function waiting (path: string, holders: LeaseHolder[]): DdsEvent {
  const h = holders[0]
  if (h === undefined) return { type: 'waiting', path, by: 'call' }
  const mine = h.pid === process.pid && h.host === hostname()
  return mine ? { type: 'waiting', path, by: 'call' } : { type: 'waiting', path, by: 'process', holder: { pid: h.pid, host: h.host } }
}

/** DDS_PATH_CONFLICT, saying whether the function, its code or the arguments differ. */
function conflict (path: string, prev: Claim, next: Claim): DdsError {
  const differs = prev.code === next.code ? 'arguments' : prev.site === next.site ? 'code' : 'function'
  const args: number[] = []
  if (differs === 'arguments') {
    for (let i = 0; i < Math.max(prev.inputs.length, next.inputs.length); i++) if (prev.inputs[i] !== next.inputs[i]) args.push(i)
  }
  const what = differs === 'function'
    ? 'a different function'
    : differs === 'code' ? 'the same function with different code (captured values changed)' : `different arguments (${args.map((i) => `args[${i}]`).join(', ')})`
  return new DdsError(ErrorCodes.PATH_CONFLICT, `path ${path} is kept twice in one run, the second time with ${what}`,
    { data: { path, differs, ...(differs === 'arguments' ? { arguments: args } : {}) } })
}

/** What a path's claim compares: the memo key, where the function is, its code, and its arguments. */
function claimOf (sig: CodeSignature, hashed: Hashed[], keyHex: string): Claim {
  return { keyHex, site: `${sig.fn.name}@${sig.fn.file ?? ''}:${sig.fn.line ?? ''}:${sig.fn.column ?? ''}`, code: hex(sig.digest), inputs: hashed.map((h) => String(h.cid)) }
}
