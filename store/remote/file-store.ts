/**
 * The object store in a shared directory (a network drive, an NFS or SMB
 * mount, or a local directory several processes share), for `file://`
 * remotes. What each operation relies on, and so what is guaranteed:
 *
 * - Every write goes to a fresh temporary file in the object's directory
 *   (`.tmp-<random>`), flushed, then put in place in one step: a reader
 *   never sees a partial object, and a killed writer leaves at most a
 *   temporary file, which no listing or read ever takes for an object.
 * - Create-only (`ifNoneMatch`) is `link(temp, name)`, which fails when the
 *   name exists: atomic on local file systems and on NFS (unlike O_EXCL on
 *   old NFS clients). A link whose answer was lost and was sent again by the
 *   NFS client reports "exists"; the temporary file's link count tells that
 *   it was ours.
 * - Compare-and-swap (`ifMatch`, on the content's SHA-256, the ETag of this
 *   store) and delete take a per-object lock file (created by `link` too),
 *   compare, then `rename` the temporary file over the object (atomic).
 *   The critical section is a read and a rename. A lock older than
 *   `staleLock` by the file server's clock was left by a writer that died
 *   inside it, and is broken. Two writers can both hold one object's lock
 *   only if a holder is frozen for longer than `staleLock`, or if three
 *   writers race to break the same stale lock within microseconds.
 * - The clock: a file written in the root (`.clock`) gets its modification
 *   time from the file server, so leases expire by the server's clock on
 *   NFS; on a local directory it is the local clock.
 * - Keys are `/`-separated; each segment is escaped (anything but letters,
 *   digits, `.`, `_` and `-`, and a leading `.`, becomes `%XX`), so no key
 *   names a file outside the directory or a temporary or lock file. An
 *   object's file is its escaped last segment followed by `~`, so that
 *   `head/f` (a file) and `head/f/g` (in a directory) can both exist.
 * - Symbolic links planted in the directory are refused (DDS_REMOTE_UNSAFE):
 *   an object's file is opened with O_NOFOLLOW, and its directory must
 *   resolve to itself under the root, so no read or write follows a link
 *   out of the share.
 */
import { createHash, randomBytes } from 'node:crypto'
import { constants, createReadStream, promises as fs } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { DdsError, ErrorCodes } from '../errors.js'
import { hex, sleep } from '../util.js'
import type { Condition, ObjectBytes, ObjectInfo, ObjectStore, PutResult } from './interface.js'

const NOFOLLOW = constants.O_NOFOLLOW ?? 0
const READ = constants.O_RDONLY | NOFOLLOW
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW
/** Default age of a lock taken to be abandoned. */
export const DEFAULT_STALE_LOCK = 10_000
/** How long a conditional write waits for an object's lock before answering "conflict". */
const LOCK_PATIENCE = 250
/** How long the file server's clock is trusted before it is read again. */
const CLOCK_REFRESH = 5_000
const SUFFIX = '~'

interface FsError { code?: string }

function code (err: unknown): string | undefined {
  return (err as FsError)?.code
}

/** Escape one key segment into a file name (no `/`, no leading `.`, no `~`). */
export function escapeSegment (segment: string): string {
  const out = Buffer.from(segment, 'utf8').toString('latin1').replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
  return out.startsWith('.') ? `%2E${out.slice(1)}` : out
}

function unescapeSegment (name: string): string {
  return Buffer.from(name.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8')
}

/**
 * The directory and file of the object `key` under `root` (TypeError for a
 * key with an empty segment).
 *
 * @example
 * objectFile('/mnt/team/dds', 'head/a/b') // { dir: '/mnt/team/dds/head/a', file: '/mnt/team/dds/head/a/b~', name: 'b~' }
 */
export function objectFile (root: string, key: string): { dir: string, file: string, name: string } {
  if (typeof key !== 'string' || key === '') throw new TypeError('an object key must be a non-empty string')
  const segments = key.split('/')
  const last = segments.pop() as string
  if (last === '' || segments.includes('')) throw new TypeError(`object key ${JSON.stringify(key)} has an empty segment`)
  const dir = join(root, ...segments.map(escapeSegment))
  const name = escapeSegment(last) + SUFFIX
  return { dir, file: join(dir, name), name }
}

/**
 * The lock file of the object `name` (its file name) in `dir`: a dot file,
 * so never taken for an object.
 */
export function lockFile (dir: string, name: string): string {
  return join(dir, `.lock-${createHash('sha256').update(name).digest('hex').slice(0, 24)}`)
}

function etagOf (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 32)
}

/** The objects of one shared directory. Build it with `openDirectory`. */
export class DirectoryObjectStore implements ObjectStore {
  readonly label: string
  /** The directory, with every symbolic link resolved. */
  readonly root: string
  readonly #staleLock: number
  #skew = 0
  #skewAt = -Infinity

  constructor (root: string, label: string, options: { staleLock?: number } = {}) {
    this.root = root
    this.label = label
    this.#staleLock = options.staleLock ?? DEFAULT_STALE_LOCK
  }

  #unavailable (operation: string, key: string, err: unknown): DdsError {
    return new DdsError(ErrorCodes.REMOTE_UNAVAILABLE, `remote ${this.label}: ${operation} ${key} failed: ${(err as Error)?.message ?? String(err)}`,
      { cause: err, data: { remote: this.label, operation, key, errno: code(err) ?? null } })
  }

  #unsafe (key: string, detail: string): DdsError {
    return new DdsError(ErrorCodes.REMOTE_UNSAFE, `remote ${this.label}: ${key} ${detail}; refused, so that nothing is read or written outside the shared directory`,
      { data: { remote: this.label, key, detail } })
  }

  #where (key: string): { dir: string, file: string, name: string } {
    return objectFile(this.root, key)
  }

  /** Fail unless `dir` is itself under the root (no symbolic link on the way); false when it does not exist. */
  async #checkDir (key: string, dir: string): Promise<boolean> {
    let real: string
    try {
      real = await fs.realpath(dir)
    } catch (err) {
      if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return false
      throw this.#unavailable('resolve', key, err)
    }
    if (real !== dir) throw this.#unsafe(key, `is in a directory that is a symbolic link (to ${real})`)
    return true
  }

  async #makeDir (key: string, dir: string): Promise<void> {
    if (await this.#checkDir(key, dir)) return
    try {
      await fs.mkdir(dir, { recursive: true })
    } catch (err) {
      if (code(err) !== 'EEXIST') throw this.#unavailable('mkdir', key, err)
    }
    if (!await this.#checkDir(key, dir)) throw this.#unavailable('mkdir', key, new Error(`${dir} vanished`))
  }

  /** Open an object's file for reading, or undefined when it does not exist. */
  async #open (key: string): Promise<fs.FileHandle | undefined> {
    const { dir, file } = this.#where(key)
    if (!await this.#checkDir(key, dir)) return undefined
    let fh: fs.FileHandle
    try {
      fh = await fs.open(file, READ)
    } catch (err) {
      if (code(err) === 'ENOENT') return undefined
      if (code(err) === 'ELOOP') throw this.#unsafe(key, 'is a symbolic link')
      throw this.#unavailable('open', key, err)
    }
    return fh
  }

  async #info (key: string, fh: fs.FileHandle): Promise<ObjectInfo> {
    const st = await fh.stat()
    if (!st.isFile()) throw this.#unsafe(key, 'is not a regular file')
    return { size: st.size, lastModified: st.mtimeMs }
  }

  async get (key: string): Promise<ObjectBytes | undefined> {
    const fh = await this.#open(key)
    if (fh === undefined) return undefined
    try {
      const info = await this.#info(key, fh)
      const bytes = new Uint8Array(await fh.readFile())
      return { ...info, size: bytes.byteLength, bytes, etag: etagOf(bytes) }
    } catch (err) {
      if (err instanceof DdsError) throw err
      throw this.#unavailable('read', key, err)
    } finally {
      await fh.close()
    }
  }

  async stream (key: string, range?: { start: number, end: number }): Promise<{ info: ObjectInfo, body: AsyncIterable<Uint8Array> } | undefined> {
    const fh = await this.#open(key)
    if (fh === undefined) return undefined
    let info: ObjectInfo
    try {
      info = await this.#info(key, fh)
    } catch (err) {
      await fh.close()
      throw err instanceof DdsError ? err : this.#unavailable('stat', key, err)
    }
    if (range !== undefined && range.end <= range.start) {
      await fh.close()
      return { info, body: Readable.from([]) }
    }
    const body = createReadStream('', { fd: fh, autoClose: true, ...(range === undefined ? {} : { start: range.start, end: range.end - 1 }) })
    return { info, body }
  }

  async head (key: string): Promise<ObjectInfo | undefined> {
    const fh = await this.#open(key)
    if (fh === undefined) return undefined
    try {
      return await this.#info(key, fh)
    } finally {
      await fh.close()
    }
  }

  /** Write bytes (or a stream of `size` bytes) to a fresh temporary file next to the object, flushed. */
  async #temp (key: string, dir: string, body: Uint8Array | { source: () => AsyncIterable<Uint8Array>, size: number }): Promise<string> {
    await this.#makeDir(key, dir)
    const temp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`)
    try {
      const fh = await fs.open(temp, CREATE)
      try {
        if (body instanceof Uint8Array) {
          await fh.writeFile(body)
        } else {
          let written = 0
          for await (const chunk of body.source()) {
            for (let off = 0; off < chunk.byteLength;) off += (await fh.write(chunk, off)).bytesWritten
            written += chunk.byteLength
          }
          if (written !== body.size) throw new RangeError(`the upload sent ${written} bytes, ${body.size} announced`)
        }
        await fh.datasync()
      } finally {
        await fh.close()
      }
    } catch (err) {
      await fs.unlink(temp).catch(() => {})
      if (err instanceof RangeError || err instanceof DdsError) throw err
      throw this.#unavailable('write', key, err)
    }
    return temp
  }

  /** `link` that tells a lost answer sent again from a real "exists". */
  async #link (temp: string, target: string): Promise<boolean> {
    try {
      await fs.link(temp, target)
      return true
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err
      const st = await fs.stat(temp).catch(() => undefined)
      return st !== undefined && st.nlink > 1
    }
  }

  async put (key: string, body: Uint8Array, condition?: Condition): Promise<PutResult> {
    const { dir, file, name } = this.#where(key)
    const temp = await this.#temp(key, dir, body)
    const etag = etagOf(body)
    try {
      if (condition === undefined) {
        await fs.rename(temp, file)
        return { ok: true, etag }
      }
      if ('ifNoneMatch' in condition) return await this.#link(temp, file) ? { ok: true, etag } : { ok: false, conflict: false }
      const release = await this.#lock(key, dir, name, LOCK_PATIENCE)
      if (release === undefined) return { ok: false, conflict: true }
      try {
        const current = await this.get(key)
        if (current === undefined || current.etag !== condition.ifMatch) return { ok: false, conflict: false }
        await fs.rename(temp, file)
        return { ok: true, etag }
      } finally {
        await release()
      }
    } catch (err) {
      if (err instanceof DdsError) throw err
      throw this.#unavailable('write', key, err)
    } finally {
      await fs.unlink(temp).catch(() => {})
    }
  }

  async upload (key: string, source: () => AsyncIterable<Uint8Array>, size: number): Promise<void> {
    const { dir, file } = this.#where(key)
    const temp = await this.#temp(key, dir, { source, size })
    try {
      await fs.rename(temp, file)
    } catch (err) {
      await fs.unlink(temp).catch(() => {})
      throw this.#unavailable('rename', key, err)
    }
  }

  async delete (key: string): Promise<void> {
    const { dir, file, name } = this.#where(key)
    if (!await this.#checkDir(key, dir)) return
    const release = await this.#lock(key, dir, name, Infinity)
    try {
      await fs.unlink(file)
    } catch (err) {
      if (code(err) !== 'ENOENT') throw this.#unavailable('delete', key, err)
    } finally {
      await release?.()
    }
  }

  /**
   * Take the lock of one object: undefined when another writer holds it
   * longer than `patience` ms. A lock older than `staleLock` is broken.
   */
  async #lock (key: string, dir: string, name: string, patience: number): Promise<(() => Promise<void>) | undefined> {
    const lock = lockFile(dir, name)
    const token = `${hostname()} ${process.pid} ${randomBytes(8).toString('hex')}`
    const mine = await this.#temp(key, dir, new TextEncoder().encode(token))
    const started = Date.now()
    let delay = 1
    try {
      for (;;) {
        if (await this.#link(mine, lock)) {
          return async () => {
            // Only our own lock: it may have been broken while we were frozen.
            const there = await fs.readFile(lock, 'utf8').catch(() => undefined)
            if (there === token) await fs.unlink(lock).catch(() => {})
          }
        }
        const st = await fs.lstat(lock).catch(() => undefined)
        if (st !== undefined && st.mtimeMs + this.#staleLock < await this.serverNow()) {
          await this.#breakLock(lock, st.ino)
          continue
        }
        if (Date.now() - started > patience) return undefined
        await sleep(delay + Math.random() * delay)
        delay = Math.min(20, delay * 2)
      }
    } catch (err) {
      throw err instanceof DdsError ? err : this.#unavailable('lock', key, err)
    } finally {
      await fs.unlink(mine).catch(() => {})
    }
  }

  /** Remove an abandoned lock, and put back a live one moved away by mistake in a race of breakers. */
  async #breakLock (lock: string, ino: number): Promise<void> {
    const aside = `${lock}.stale-${randomBytes(6).toString('hex')}`
    try {
      await fs.rename(lock, aside)
    } catch (err) {
      if (code(err) === 'ENOENT') return
      throw err
    }
    const st = await fs.lstat(aside)
    if (st.ino !== ino) await fs.link(aside, lock).catch(() => {})
    await fs.unlink(aside).catch(() => {})
  }

  async * list (prefix: string): AsyncIterable<string> {
    const segments = prefix.split('/')
    segments.pop()
    const base = segments.join('/')
    if (segments.includes('')) return
    const dir = join(this.root, ...segments.map(escapeSegment))
    if (!await this.#checkDir(prefix, dir)) return
    const keys: string[] = []
    const walk = async (at: string, rel: string): Promise<void> => {
      let entries
      try {
        entries = await fs.readdir(at, { withFileTypes: true })
      } catch (err) {
        if (code(err) === 'ENOENT') return
        throw this.#unavailable('list', prefix, err)
      }
      for (const e of entries) {
        // Temporary and lock files start with a dot; planted links are not objects.
        if (e.name.startsWith('.') || e.isSymbolicLink()) continue
        if (e.isDirectory()) await walk(join(at, e.name), `${rel}${unescapeSegment(e.name)}/`)
        else if (e.isFile() && e.name.endsWith(SUFFIX)) keys.push(rel + unescapeSegment(e.name.slice(0, -SUFFIX.length)))
      }
    }
    await walk(dir, base === '' ? '' : `${base}/`)
    keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    for (const k of keys) if (k.startsWith(prefix)) yield k
  }

  /** The file server's clock: the modification time it gives a file written now. */
  async serverNow (): Promise<number> {
    const now = Date.now()
    if (now - this.#skewAt > CLOCK_REFRESH) {
      const before = Date.now()
      try {
        const fh = await fs.open(join(this.root, '.clock'), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | NOFOLLOW)
        try {
          await fh.write(hex(randomBytes(4)))
          await fh.datasync()
          const st = await fh.stat()
          this.#skew = st.mtimeMs - (before + Date.now()) / 2
          this.#skewAt = now
        } finally {
          await fh.close()
        }
      } catch (err) {
        throw this.#unavailable('clock', '.clock', err)
      }
    }
    return Date.now() + this.#skew
  }

  async close (): Promise<void> {}
}
