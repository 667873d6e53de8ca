/**
 * What every command gets: its parsed options, the store (opened on demand),
 * stdout for data (with backpressure) and stderr for diagnostics.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { ParseArgsConfig } from 'node:util'
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes, isDdsError } from '../../store/errors.js'
import { openStore, defaultLocation, type Store } from '../../store/store.js'
import { parseCID, DAG_CBOR_CODE } from '../../store/hash.js'
import { validatePath } from '../../store/paths.js'
import { decodeNode, toArtifactRoot, toEvaluationRecord, type EvaluationRecord, type PathEntry } from '../../store/records.js'

/** One command of the `dds` tool. */
export interface Command {
  /** `dds show PATH|CID` */
  usage: string
  /** What it does, a few lines. */
  description: string
  /** Its own options, beyond --store, --json and --help. */
  options?: NonNullable<ParseArgsConfig['options']>
  /** One line per option of its own: `['-o, --output FILE', 'where to write']`. */
  optionHelp?: Array<[string, string]>
  /** A command line and what it prints. */
  example: string
  /** Fewest and most positional arguments. */
  positionals: [number, number]
  run: (ctx: Context) => Promise<number | undefined | void>
}

/** A mistake in the command line: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export class Context {
  readonly command: string
  readonly args: string[]
  readonly values: Record<string, string | boolean | Array<string | boolean> | undefined>
  readonly json: boolean
  readonly location: string
  readonly stdout: NodeJS.WriteStream
  readonly stderr: NodeJS.WriteStream
  #store: Store | undefined

  constructor (command: string, args: string[], values: Context['values']) {
    this.command = command
    this.args = args
    this.values = values
    this.json = values.json === true
    const store = values.store
    this.location = typeof store === 'string' && store !== '' ? store : defaultLocation()
    this.stdout = process.stdout
    this.stderr = process.stderr
  }

  /** Open the store. Without `create`, a directory that does not exist is an error rather than a new store. */
  async store (options: { create?: boolean } = {}): Promise<Store> {
    if (this.#store !== undefined) return this.#store
    if (options.create !== true && !existsSync(this.location)) {
      throw new DdsError(ErrorCodes.STORE_UNAVAILABLE, `there is no store at ${resolve(this.location)} (use --store DIR or DDS_STORE)`, { data: { location: resolve(this.location) } })
    }
    this.#store = await openStore({ location: this.location })
    return this.#store
  }

  async close (): Promise<void> {
    const s = this.#store
    this.#store = undefined
    if (s !== undefined) await s.close()
  }

  string (name: string): string | undefined {
    const v = this.values[name]
    return typeof v === 'string' ? v : undefined
  }

  flag (name: string): boolean {
    return this.values[name] === true
  }

  /** A non-negative integer option. */
  integer (name: string, min = 0): number | undefined {
    const v = this.string(name)
    if (v === undefined) return undefined
    if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} takes an integer >= ${min}, got ${JSON.stringify(v)}`)
    return Number(v)
  }

  /** Write data to stdout, waiting when the pipe is full. */
  async write (chunk: string | Uint8Array): Promise<void> {
    if (!this.stdout.write(chunk)) await waitDrain(this.stdout)
  }

  /** One tab-separated line of data. */
  async line (fields: Array<string | number | undefined | null>): Promise<void> {
    await this.write(fields.map(cell).join('\t') + '\n')
  }

  /** A JSON document of data. */
  async writeJson (value: unknown): Promise<void> {
    await this.write(JSON.stringify(value, null, 2) + '\n')
  }

  /** A diagnostic line on stderr. */
  note (message: string): void {
    this.stderr.write(`dds ${this.command}: ${message}\n`)
  }
}

function waitDrain (stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off('drain', ok)
      stream.off('error', done)
      if (err !== undefined) reject(err)
      else resolve()
    }
    const ok = (): void => { done() }
    stream.once('drain', ok)
    stream.once('error', done)
  })
}

/** A TSV cell: no tab or newline may break the line (absent values are "-"). */
function cell (v: string | number | undefined | null): string {
  if (v === undefined || v === null) return '-'
  const s = String(v)
  return s === '' ? '-' : s.replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
}

// ------------------------------------------------------------------ naming evaluations and artifacts

/** A path, `PATH@SEQ` (a history entry), or a CID, as typed on the command line. */
export type Target =
  | { kind: 'path', path: string, seq?: number }
  | { kind: 'cid', cid: CID }

/** Parse a PATH, PATH@SEQ or CID argument. */
export function parseTarget (arg: string): Target {
  if (arg.startsWith('/')) {
    const at = arg.lastIndexOf('@')
    if (at === -1) return { kind: 'path', path: validatePath(arg) }
    const seq = arg.slice(at + 1)
    if (!/^\d+$/.test(seq)) throw new UsageError(`${JSON.stringify(arg)}: the history entry after @ must be a sequence number`)
    return { kind: 'path', path: validatePath(arg.slice(0, at)), seq: Number(seq) }
  }
  return { kind: 'cid', cid: parseCID(arg) }
}

/** The history entry a path target names: its head, or entry `seq`. DDS_PATH_NOT_FOUND when it holds no value there. */
export async function entryOf (store: Store, target: { path: string, seq?: number }): Promise<PathEntry> {
  let entry: PathEntry | undefined
  if (target.seq === undefined) entry = await store.head(target.path)
  else {
    for await (const e of store.history(target.path)) {
      if (e.seq === target.seq) { entry = e; break }
      if (e.seq < target.seq) break
    }
  }
  if (entry === undefined || entry.evaluation === null) {
    const where = target.seq === undefined ? '' : ` at history entry ${target.seq}`
    throw new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${target.path} holds no value${where}`, { data: { path: target.path, ...(target.seq === undefined ? {} : { seq: target.seq }) } })
  }
  return entry
}

async function node (store: Store, cid: CID): Promise<unknown> {
  const bytes = await store.getBlock(cid)
  if (bytes === undefined) throw new DdsError(ErrorCodes.NOT_FOUND, `${cid.toString()} is not in the store`, { data: { cid: cid.toString() } })
  if (cid.code !== DAG_CBOR_CODE) return undefined
  return decodeNode(bytes)
}

function shaped<T> (fn: (v: unknown) => T, v: unknown): T | undefined {
  try {
    return fn(v)
  } catch (err) {
    if (isDdsError(err)) return undefined
    throw err
  }
}

/** The evaluation a target names (a path's head or entry, or an evaluation CID). */
export async function evaluationOf (store: Store, target: Target): Promise<{ evaluation: CID, record: EvaluationRecord, entry?: PathEntry }> {
  if (target.kind === 'path') {
    const entry = await entryOf(store, target)
    const evaluation = entry.evaluation as CID
    return { evaluation, record: await store.getEvaluation(evaluation), entry }
  }
  const record = shaped(toEvaluationRecord, await node(store, target.cid))
  if (record === undefined) throw new DdsError(ErrorCodes.NOT_FOUND, `${target.cid.toString()} is not an evaluation`, { data: { cid: target.cid.toString() } })
  return { evaluation: target.cid, record }
}

/** The artifact a target names: a path's value, an evaluation's output, or an artifact CID. */
export async function artifactOf (store: Store, target: Target): Promise<CID> {
  if (target.kind === 'path') return (await entryOf(store, target)).output as CID
  const v = await node(store, target.cid)
  if (shaped(toArtifactRoot, v) !== undefined) return target.cid
  const record = shaped(toEvaluationRecord, v)
  if (record !== undefined) return record.output
  throw new DdsError(ErrorCodes.NOT_FOUND, `${target.cid.toString()} is neither an artifact nor an evaluation`, { data: { cid: target.cid.toString() } })
}

/** What is stored under an argument's identity: its canonical form (small arguments), or the artifact of a kept value passed as such. */
export async function inputValue (store: Store, cid: CID): Promise<{ value: unknown } | { artifact: true } | undefined> {
  if (cid.code !== DAG_CBOR_CODE) return undefined
  try {
    const bytes = await store.getBlock(cid)
    if (bytes === undefined) return undefined
    const value = decodeNode(bytes)
    try {
      toArtifactRoot(value)
      return { artifact: true }
    } catch {}
    return { value }
  } catch (err) {
    if (isDdsError(err)) return undefined
    throw err
  }
}
