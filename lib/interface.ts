/**
 * Public types of the programming model.
 */
import type { CID } from 'multiformats/cid'
import type { Store, StoreOptions } from '../store/store.js'
import type { StoreFound } from '../store/location.js'
import type { EachOptions, RunOn } from './parallel/interface.js'

/** Any function that can be kept. */
export type AnyFunction = (...args: any[]) => unknown

/** What a kept function resolves to: its return value, awaited. */
export type Kept<F extends AnyFunction> = Awaited<ReturnType<F>>

/** Options of `open` and `configure`. */
export interface DdsOptions extends Omit<StoreOptions, 'location'> {
  /**
   * Store directory, or an open store. Default: `$DDS_STORE`, else the nearest
   * `.dds` in the working directory or its parents (up to a repository root),
   * else `.dds` beside the nearest `package.json`, else in the working directory.
   */
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
  /**
   * Print what ran, what was reused, durations, waits and warnings to stderr
   * (or the given stream), with a progress line for a long step on a terminal.
   * Default: on when `$DDS_LOG` is `1` (or `true`), else off.
   */
  log?: boolean | ReporterOptions
  /** Most elements of a value read by a function (closure or module binding) that are hashed (default 100,000). */
  maxCapturedElements?: number
  /**
   * Path globs (`'/weather/*'`, `'/data/**'`) whose keeps run their function
   * once in this process although the store has an answer. Default: `$DDS_FORCE`
   * (comma-separated globs).
   */
  force?: string | string[]
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
  /** The store's retention budget was applied after a run: bytes freed, history entries dropped, whether the store now fits. */
  | { type: 'gc', freed: number, history: number, met: boolean }
  /** A computation threw (nothing is stored for it). */
  | { type: 'failed', path: string, duration: number }
  /**
   * An identical call is being computed elsewhere, by another process
   * (`holder` names it) or by another call in this process: this one waits for
   * its result instead of computing it again.
   */
  | { type: 'waiting', path: string, by: 'process' | 'call', holder?: { pid: number, host: string } }
  /** The store was opened: where it is, why there, and whether it can be written. */
  | { type: 'store', location: string | undefined, backend: string, found: StoreFound, readOnly: boolean }
  /** A `keepEach` map finished one more input (`hits` of the `done` were cache hits). */
  | { type: 'progress', path: string, done: number, total: number, hits: number }

/**
 * The ready reporter: prints events as lines (`computed  /path  5.4 ms`,
 * `reused    /path`, `waiting   /path  ...`, `warning: ...`) and, on a
 * terminal, a progress line for the step running now.
 */
export interface Reporter {
  /** Print what the event says (a DdsEvent handler). */
  event (event: DdsEvent): void
  /** Redraw the progress line (a timer calls it while a step runs on a terminal). */
  tick (): void
  /** Erase the progress line and stop its timer. */
  close (): void
}

/** Options of the ready reporter (`log`, `createReporter()`). */
export interface ReporterOptions {
  /** Where to print (default `process.stderr`). The progress line is drawn only when it is a terminal. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean }
}

/** Escape hatches for a function whose code cannot or should not be analysed. */
export interface FunctionAnnotations {
  /** A version set by hand: the function's own code is not analysed, this string stands for it. */
  version?: string
  /** Extra dependencies, hashed by value and added to the signature. */
  deps?: unknown[]
  /** Free names the function uses that must not count (not followed, not hashed). */
  ignore?: string[]
  /** A result older than this is computed again (ms, or `'90s'`, `'15m'`, `'6h'`, `'2d'`): for what no check can see, such as the network. */
  ttl?: string | number
  /** The result changes on every run: computed each time it is kept (what depends on it still hits when the value is the same). */
  volatile?: boolean
  /** Run it once per path in this process even when the store has an answer (later keeps in the process hit as usual). */
  force?: boolean
  /** Run the function, when it misses, on the thread pool or the job queue; it must be exported from its module. */
  runOn?: RunOn
}

/** Options of `load`. */
export interface LoadOptions {
  /** Load the value this tag names (see `dds tag`) instead of the path's current one. */
  tag?: string
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
  /** The value at `path` (inside a run: as written earlier in the run), or at a tag (`/p@v1`, or `{ tag }`). Throws DDS_PATH_NOT_FOUND, DDS_TAG_NOT_FOUND. */
  load<T = unknown>(path: string, options?: LoadOptions): Promise<T>
  /** A zero-argument function that is `keep(path, fn)`. */
  dataFunction<F extends () => unknown>(path: string, fn: F): () => Promise<Kept<F>>
  /** Close the store. */
  close(): Promise<void>
}
