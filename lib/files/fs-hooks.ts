/**
 * The wrappers around node:fs that record what a kept function reads. They
 * are installed once, on the first keep, on the module objects (and synced
 * into ESM named imports), and cost one AsyncLocalStorage lookup when no
 * kept function is running. A read is hashed as its bytes pass (readFile,
 * a stream read to its end, a listing; large files on the hashing thread,
 * see whole-read.ts and hash-thread.ts); a file opened through a descriptor
 * is hashed when the function returns. The stat of a file is taken before
 * it is read, so a change during the read shows at the next check.
 */
import fs, { type Stats } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FileKind } from '../../store/records.js'
import { isData, isMissing, listingDigest, sha256, statDigest, statOf } from './digest.js'
import { raw } from './raw.js'
import { StreamDigest } from './hash-thread.js'
import { activeRecorder, type Recorder } from './recorder.js'
import { readsInChunks, readWhole, readWholeSync, type WholeRead } from './whole-read.js'

type Fn = (...args: any[]) => any
type Target = { rec: Recorder, abs: string }
type ReadOptions = { encoding?: BufferEncoding | null, flag?: string, signal?: AbortSignal } | BufferEncoding | null | undefined

/** Set while a wrapper calls an original synchronously: node:fs calls its own exports (readFileSync calls openSync). */
let depth = 0

function pathOf (p: unknown): string | undefined {
  if (typeof p === 'string') return p
  if (p instanceof URL) return p.protocol === 'file:' ? fileURLToPath(p) : undefined
  if (Buffer.isBuffer(p)) return p.toString()
  return undefined
}

/** The recorder and absolute path when a call on `p` is a data read to record now. */
function target (p: unknown, kind: FileKind): Target | undefined {
  if (depth > 0) return undefined
  const rec = activeRecorder()
  if (rec === undefined) return undefined
  const s = pathOf(p)
  if (s === undefined) return undefined
  const abs = resolve(s)
  if (rec.has(abs, kind) || !isData(abs, rec.excluded)) return undefined
  return { rec, abs }
}

function inner<T> (fn: () => T): T {
  depth++
  try { return fn() } finally { depth-- }
}

function encodingOf (options: ReadOptions): BufferEncoding | undefined {
  if (typeof options === 'string') return options
  return options?.encoding ?? undefined
}

/** The options of a read without its encoding: the wrapper hashes bytes and decodes them itself. */
function bytesOptions (options: ReadOptions): { flag?: string, signal?: AbortSignal } {
  if (options === null || typeof options !== 'object') return {}
  return { ...(options.flag === undefined ? {} : { flag: options.flag }), ...(options.signal === undefined ? {} : { signal: options.signal }) }
}

function decoded (buf: Buffer, options: ReadOptions): Buffer | string {
  const enc = encodingOf(options)
  return enc === undefined ? buf : buf.toString(enc)
}

function readsFile (flags: unknown): boolean {
  if (flags === undefined || flags === null) return true
  if (typeof flags === 'string') return flags.startsWith('r')
  return typeof flags === 'number' && (flags & 3) !== fs.constants.O_WRONLY
}

function namesOf (entries: unknown[]): string[] {
  return entries.map((e) => typeof e === 'string' ? e : Buffer.isBuffer(e) ? e.toString() : (e as { name: string }).name)
}

function isRecursive (options: unknown): boolean {
  return options !== null && typeof options === 'object' && (options as { recursive?: unknown }).recursive === true
}

function readFileSync (this: unknown, p: unknown, options?: ReadOptions): Buffer | string {
  const t = target(p, 'file')
  if (t === undefined) return (raw.readFileSync as Fn).apply(fs, arguments as unknown as unknown[])
  const st = statOf(t.abs)
  let r: WholeRead
  try {
    // A large file is read in chunks and hashed on the hashing thread as it comes.
    r = readsInChunks(st)
      ? readWholeSync(t.abs, bytesOptions(options).flag)
      : inner(() => { const buf = raw.readFileSync(p as string, bytesOptions(options)); return { buf, digest: sha256(buf) } })
  } catch (err) {
    if (isMissing(err)) t.rec.absent(t.abs, 'file')
    throw err
  }
  t.rec.add(t.abs, 'file', st, r.digest)
  return decoded(r.buf, options)
}

async function readRecorded (t: Target, options: ReadOptions): Promise<Buffer | string> {
  let r
  try {
    r = await readWhole(t.abs, bytesOptions(options))
  } catch (err) {
    if (isMissing(err)) t.rec.absent(t.abs, 'file')
    throw err
  }
  t.rec.add(t.abs, 'file', r.st, r.digest)
  return decoded(r.buf, options)
}

function readFile (this: unknown, p: unknown, options: unknown, callback?: unknown): void {
  const cb = (typeof options === 'function' ? options : callback) as Fn | undefined
  const t = target(p, 'file')
  if (t === undefined || typeof cb !== 'function') return (raw.readFile as Fn).apply(fs, arguments as unknown as unknown[])
  // The callback runs outside the promise chain, so that what it throws is thrown, as with fs.readFile.
  readRecorded(t, (typeof options === 'function' ? undefined : options) as ReadOptions)
    .then((out) => { process.nextTick(cb, null, out) }, (err: unknown) => { process.nextTick(cb, err) })
}

async function readFilePromise (p: unknown, options?: ReadOptions): Promise<Buffer | string> {
  const t = target(p, 'file')
  if (t === undefined) return await (raw.promises.readFile as Fn)(p, options)
  return await readRecorded(t, options)
}

function createReadStream (this: unknown, p: unknown, options?: unknown): fs.ReadStream {
  const t = target(p, 'file')
  const stream = (raw.createReadStream as Fn).apply(fs, arguments as unknown as unknown[]) as fs.ReadStream
  if (t === undefined) return stream
  const st = statOf(t.abs)
  const o = (options !== null && typeof options === 'object' ? options : {}) as { start?: unknown, end?: unknown, fd?: unknown, fs?: unknown }
  if (o.start !== undefined || o.end !== undefined || o.fd !== undefined || o.fs !== undefined) {
    t.rec.add(t.abs, 'file', st, undefined)
    return stream
  }
  // Hash what the stream pushes, before its consumer sees it (no listener:
  // adding one would change how the stream flows); a large file's chunks are
  // copied to the hashing thread, so the next read starts sooner.
  const digest = new StreamDigest(st?.size ?? 0)
  t.rec.add(t.abs, 'file', st, undefined, digest)
  const push = stream.push
  stream.push = function (chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null) digest.end()
    else if (chunk !== undefined) digest.update(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk as Uint8Array)
    return push.call(this, chunk, encoding)
  }
  return stream
}

function recordOpen (p: unknown, flags: unknown): void {
  if (!readsFile(flags)) return
  const t = target(p, 'file')
  if (t !== undefined) t.rec.add(t.abs, 'file', statOf(t.abs), undefined)
}

function openSync (this: unknown, p: unknown, flags?: unknown): number {
  recordOpen(p, flags)
  return (raw.openSync as Fn).apply(fs, arguments as unknown as unknown[])
}

function open (this: unknown, p: unknown, flags?: unknown): void {
  recordOpen(p, typeof flags === 'function' ? undefined : flags)
  return (raw.open as Fn).apply(fs, arguments as unknown as unknown[])
}

async function openPromise (p: unknown, flags?: unknown, mode?: unknown): Promise<fs.promises.FileHandle> {
  recordOpen(p, flags)
  return await (raw.promises.open as Fn)(p, flags, mode)
}

function recordListing (t: Target, options: unknown, entries: unknown[] | undefined, st: Stats | undefined): void {
  if (entries === undefined) { t.rec.absent(t.abs, 'dir'); return }
  // A recursive listing's names are relative paths: listed again, the same way the check lists, when the function returns.
  if (isRecursive(options)) t.rec.add(t.abs, 'tree', st, undefined)
  else t.rec.add(t.abs, 'dir', st, listingDigest(namesOf(entries)))
}

function readdirSync (this: unknown, p: unknown, options?: unknown): unknown[] {
  const t = target(p, isRecursive(options) ? 'tree' : 'dir')
  if (t === undefined) return (raw.readdirSync as Fn).apply(fs, arguments as unknown as unknown[])
  const st = statOf(t.abs)
  let entries: unknown[]
  try {
    entries = inner(() => (raw.readdirSync as Fn).apply(fs, [p, options]))
  } catch (err) {
    if (isMissing(err)) recordListing(t, options, undefined, st)
    throw err
  }
  recordListing(t, options, entries, st)
  return entries
}

function readdir (this: unknown, p: unknown, options: unknown, callback?: unknown): void {
  const cb = (typeof options === 'function' ? options : callback) as Fn | undefined
  const opts = typeof options === 'function' ? undefined : options
  const t = target(p, isRecursive(opts) ? 'tree' : 'dir')
  if (t === undefined || typeof cb !== 'function') return (raw.readdir as Fn).apply(fs, arguments as unknown as unknown[])
  const st = statOf(t.abs)
  ;(raw.readdir as Fn)(p, opts ?? {}, (err: unknown, entries: unknown[]) => {
    if (err !== null && err !== undefined) {
      if (isMissing(err)) recordListing(t, opts, undefined, st)
      cb(err)
      return
    }
    recordListing(t, opts, entries, st)
    cb(null, entries)
  })
}

async function readdirPromise (p: unknown, options?: unknown): Promise<unknown[]> {
  const t = target(p, isRecursive(options) ? 'tree' : 'dir')
  if (t === undefined) return await (raw.promises.readdir as Fn)(p, options)
  const st = statOf(t.abs)
  let entries: unknown[]
  try {
    entries = await (raw.promises.readdir as Fn)(p, options)
  } catch (err) {
    if (isMissing(err)) recordListing(t, options, undefined, st)
    throw err
  }
  recordListing(t, options, entries, st)
  return entries
}

/** A stat, lstat or exists call: the function saw whether the path exists, its type and size. */
function recordStat (p: unknown): void {
  const t = target(p, 'stat')
  if (t === undefined) return
  const st = statOf(t.abs)
  t.rec.add(t.abs, 'stat', st, statDigest(st))
}

function statLike (original: Fn): Fn {
  return function (this: unknown, p: unknown) {
    recordStat(p)
    return original.apply(fs, arguments as unknown as unknown[])
  }
}

function statPromise (original: Fn): Fn {
  return async function (p: unknown, options?: unknown) {
    recordStat(p)
    return await original(p, options)
  }
}

let installed = false

/** Wrap the node:fs functions (once per process). */
export function installFsHooks (): void {
  if (installed) return
  installed = true
  const f = fs as unknown as Record<string, unknown>
  f.readFileSync = readFileSync
  f.readFile = readFile
  f.createReadStream = createReadStream
  f.openSync = openSync
  f.open = open
  f.readdirSync = readdirSync
  f.readdir = readdir
  f.statSync = statLike(raw.statSync as Fn)
  f.stat = statLike(raw.stat as Fn)
  f.lstatSync = statLike(raw.lstatSync as Fn)
  f.lstat = statLike(raw.lstat as Fn)
  f.existsSync = statLike(raw.existsSync as Fn)
  const p = fs.promises as unknown as Record<string, unknown>
  p.readFile = readFilePromise
  p.open = openPromise
  p.readdir = readdirPromise
  p.stat = statPromise(raw.promises.stat as Fn)
  p.lstat = statPromise(raw.promises.lstat as Fn)
  syncBuiltinESMExports()
}
