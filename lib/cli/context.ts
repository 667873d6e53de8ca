/**
 * What every command gets: its parsed options, the store (opened on demand),
 * stdout for data (with backpressure) and stderr for diagnostics.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { ParseArgsConfig } from 'node:util'
import { DdsError, ErrorCodes, openStore, defaultLocation, type Store } from '../../store/index.js'
import { parseTarget, type SourceOptions, type Target } from '../inspect.js'

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
  /** Where the queries read paths and histories: the store, or (`--remote`) its remote. */
  source: SourceOptions = {}
  /** True when the store was named (`--store`, `$DDS_STORE`) rather than found. */
  readonly named: boolean
  #store: Store | undefined

  constructor (command: string, args: string[], values: Context['values']) {
    this.command = command
    this.args = args
    this.values = values
    this.json = values.json === true
    const store = values.store
    this.named = (typeof store === 'string' && store !== '') || (process.env.DDS_STORE ?? '') !== ''
    this.location = typeof store === 'string' && store !== '' ? store : defaultLocation()
    this.stdout = process.stdout
    this.stderr = process.stderr
  }

  /**
   * Open the store. Without `create`, a directory that does not exist is an
   * error rather than a new store. With `read` (the commands that only read),
   * a store that cannot be opened for writing is read from a private copy.
   */
  async store (options: { create?: boolean, read?: boolean } = {}): Promise<Store> {
    if (this.#store !== undefined) return this.#store
    if (options.create !== true && !existsSync(this.location)) {
      throw new DdsError(ErrorCodes.STORE_UNAVAILABLE, `there is no store at ${resolve(this.location)} (use --store DIR or DDS_STORE)`, { data: { location: resolve(this.location) } })
    }
    // A store found rather than named is said, so that a wrong working directory is seen at once.
    if (!this.named) this.note(`store ${resolve(this.location)}`)
    this.#store = await openStore({ location: this.location, ...(options.read === true ? { readOnly: 'fallback' as const } : {}) })
    const why = this.#store.backend.readOnly
    if (why !== undefined) this.note(`store ${resolve(this.location)} cannot be written (${why}): reading a copy of its index`)
    return this.#store
  }

  /**
   * Read the remote instead of the local store: a store in memory in front
   * of the remote (blocks it reads are fetched, checked and kept in memory),
   * whose remote paths and histories the queries list.
   */
  async useRemote (url: string): Promise<void> {
    await this.close()
    this.#store = await openStore({ backend: 'memory', remote: url })
    this.source = { remote: true }
  }

  /** Parse a PATH, PATH@SEQ or CID argument (a malformed one is a usage mistake). */
  target (arg: string): Target {
    try {
      return parseTarget(arg)
    } catch (err) {
      if (err instanceof TypeError) throw new UsageError(err.message)
      throw err
    }
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

  /** An option read by `parse` (a size, an age); what it throws is a usage mistake naming the option. */
  parsed (name: string, parse: (text: string) => number): number | undefined {
    const v = this.string(name)
    if (v === undefined) return undefined
    try {
      return parse(v)
    } catch (err) {
      throw new UsageError(`--${name}: ${(err as Error).message}`)
    }
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
