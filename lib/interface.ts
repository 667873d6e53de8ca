/**
 * Public types of the programming model.
 */
import type { CID } from 'multiformats/cid'
import type { Store, StoreOptions } from '../store/store.js'
import type { EachOptions, RunOn } from './parallel/interface.js'

/** Any function that can be kept. */
export type AnyFunction = (...args: any[]) => unknown

/** What a kept function resolves to: its return value, awaited. */
export type Kept<F extends AnyFunction> = Awaited<ReturnType<F>>

/** Options of `open` and `configure`. */
export interface DdsOptions extends Omit<StoreOptions, 'location'> {
  /** Store directory, or an open store. Default: `$DDS_STORE`, else `.dds` in the working directory. */
  store?: string | Store
  /**
   * A team's shared store on S3-compatible storage (`s3://bucket/prefix`, or
   * remote options): the local store becomes a cache in front of it. Default:
   * `$DDS_REMOTE` when set. Endpoint and credentials come from
   * `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`.
   */
  remote?: StoreOptions['remote']
  /** Receives what happens (cache hits, runs, commits, warnings). The library itself never prints. */
  onEvent?: (event: DdsEvent) => void
  /** Most elements of a value read by a function (closure or module binding) that are hashed (default 100,000). */
  maxCapturedElements?: number
  /** Size of the pool of worker threads for `runOn: 'threads'` (default: `os.availableParallelism()`). */
  threads?: number
  /** Redis URL of the job queue for `runOn: 'queue'` (default: `$DDS_QUEUE`), served by `dds worker --queue URL`. */
  queue?: string
}

/** Something that happened during a run, for logging and tests. */
export type DdsEvent =
  | { type: 'hit', path: string, evaluation: CID }
  | { type: 'miss', path: string }
  | { type: 'computed', path: string, evaluation: CID, duration: number }
  | { type: 'commit', paths: string[], entries: Array<{ path: string, seq: number, evaluation: CID | null }> }
  | { type: 'warning', message: string, path?: string }
  /** A `keepEach` map finished one more input (`hits` of the `done` were cache hits). */
  | { type: 'progress', path: string, done: number, total: number, hits: number }

/** Escape hatches for a function whose code cannot or should not be analysed. */
export interface FunctionAnnotations {
  /** A version set by hand: the function's own code is not analysed, this string stands for it. */
  version?: string
  /** Extra dependencies, hashed by value and added to the signature. */
  deps?: unknown[]
  /** Free names the function uses that must not count (not followed, not hashed). */
  ignore?: string[]
  /** Run the function, when it misses, on the thread pool or the job queue; it must be exported from its module. */
  runOn?: RunOn
}

/**
 * The programming model, bound to one store.
 *
 * @example
 * const dds = await open({ store: '.dds' })
 * const clean = await dds.keep('/data/clean', cleanRows, rows)
 * await dds.close()
 */
export interface Dds {
  /** The store this instance writes to. */
  readonly store: Store
  /** `fn(...args)` (awaited), stored at `path`; runs `fn` only when its code or inputs changed. */
  keep<F extends AnyFunction>(path: string, fn: F, ...args: Parameters<F>): Promise<Kept<F>>
  /** `fn(input)` kept for every input at its own child path, at most `concurrency` at a time; the results in order. */
  keepEach<F extends (input: any) => unknown>(path: string, fn: F, inputs: Iterable<Parameters<F>[0]>, options?: EachOptions<Parameters<F>[0]>): Promise<Array<Kept<F>>>
  /** Run `fn(...args)` with caching for every keep inside, committing their paths together. */
  evaluate<F extends AnyFunction>(fn: F, ...args: Parameters<F>): Promise<Kept<F>>
  /** The value at `path` (inside a run: as written earlier in the run). Throws DDS_PATH_NOT_FOUND. */
  load<T = unknown>(path: string): Promise<T>
  /** A zero-argument function that is `keep(path, fn)`. */
  dataFunction<F extends () => unknown>(path: string, fn: F): () => Promise<Kept<F>>
  /** Close the store. */
  close(): Promise<void>
}
