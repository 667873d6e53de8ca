/**
 * Large blocks as immutable files under `<store>/blobs/<last two characters>/<name>`,
 * opened as untrusted: the directory may hold what someone planted there (a
 * symbolic link to another file or to `/dev/zero`, a FIFO, a device). Every
 * open refuses to follow a final symbolic link, does not block on a FIFO, and
 * accepts regular files only (DDS_INTEGRITY otherwise); a read takes at most
 * the size the caller expects, plus one byte to see that a file is too long.
 * A write replaces anything that is not a regular file, and rewrites a
 * regular one in place (see `write`).
 */
import { lstat, mkdir, rmdir, open as fsOpen, readdir, stat, unlink, type FileHandle } from 'node:fs/promises'
import { mkdirSync, constants, type Stats } from 'node:fs'
import { dirname, join } from 'node:path'
import { DdsError, ErrorCodes } from './errors.js'
import type { BlobFiles, BlobReadHandle, BlobWriteHandle } from './interface.js'
import { fsFailure, openFailure } from './open-errors.js'

const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK

function kindOf (s: Stats): string {
  if (s.isSymbolicLink()) return 'a symbolic link'
  if (s.isFIFO()) return 'a FIFO'
  if (s.isDirectory()) return 'a directory'
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device'
  if (s.isSocket()) return 'a socket'
  return 'not a regular file'
}

function notRegular (file: string, what: string): DdsError {
  return new DdsError(ErrorCodes.INTEGRITY, `blob file ${file} is ${what}, not a regular file`, { data: { file, problem: 'not-regular', what } })
}

/** Blobs as files in a store directory. */
export class DirectoryBlobs implements BlobFiles {
  readonly directory: string
  readonly #sync: boolean
  /** Sub-directories checked (or made) once by this process. */
  readonly #checked = new Set<string>()

  constructor (storeDir: string, options: { sync?: boolean, create?: boolean } = {}) {
    this.directory = join(storeDir, 'blobs')
    this.#sync = options.sync === true
    // A store opened read-only may lack the directory: its reads then find nothing.
    if (options.create === false) return
    try {
      mkdirSync(this.directory, { recursive: true })
    } catch (err) {
      throw openFailure(storeDir, err)
    }
  }

  #path (name: string): string {
    if (!/^[a-z0-9]{8,}$/.test(name)) throw new TypeError(`invalid blob name ${JSON.stringify(name)}`)
    return join(this.directory, name.slice(-2), name)
  }

  /** The sub-directory of a blob must be a real directory: a symbolic link there would lead reads and writes elsewhere. */
  async #checkDir (name: string, create: boolean): Promise<boolean> {
    const dir = join(this.directory, name.slice(-2))
    if (this.#checked.has(dir)) return true
    let s: Stats
    try {
      s = await lstat(dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      if (!create) return false
      await mkdir(dir, { recursive: true })
      s = await lstat(dir)
    }
    if (!s.isDirectory()) throw notRegular(dir, kindOf(s))
    this.#checked.add(dir)
    return true
  }

  /** Open a blob as a regular file (with its size), or undefined when there is none. */
  async #open (name: string, flags: number): Promise<{ fh: FileHandle, size: number } | undefined> {
    const file = this.#path(name)
    if (!await this.#checkDir(name, (flags & constants.O_CREAT) !== 0)) return undefined
    let fh: FileHandle
    try {
      fh = await fsOpen(file, flags, 0o644)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return undefined
      // ELOOP: a symbolic link under O_NOFOLLOW; ENXIO: a FIFO nobody reads, opened to write without blocking.
      if (code === 'ELOOP' || code === 'ENXIO' || code === 'EISDIR') throw notRegular(file, kindOf(await lstat(file)))
      throw err
    }
    const s = await fh.stat()
    if (!s.isFile()) {
      await fh.close()
      throw notRegular(file, kindOf(s))
    }
    return { fh, size: s.size }
  }

  /**
   * Write the blob `name`. Written in place, without truncating first: a file
   * is named by the hash of its content, so a second writer (or one finishing
   * a crashed writer's partial file) only ever writes the same bytes at the
   * same places. Readers trust a file only once its index entry exists, which
   * is written after the file is complete. (A write to a temporary name and a
   * rename costs twice as much on a chunk of 1 MiB.) What is not a regular
   * file is removed first (the link itself, never its target), and a regular
   * file longer than its content (damaged) is cut to size.
   */
  async write (name: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.#write(name, bytes)
    } catch (err) {
      // A full disk, a read-only filesystem or a store of another user: said as such, with the file.
      if (fsFailure(err) !== undefined) throw openFailure(dirname(this.directory), err, 'write to')
      throw err
    }
  }

  async #write (name: string, bytes: Uint8Array): Promise<void> {
    let opened: { fh: FileHandle, size: number } | undefined
    try {
      opened = await this.#open(name, WRITE_FLAGS)
    } catch (err) {
      if (!(err instanceof DdsError) || err.data.problem !== 'not-regular' || err.data.file !== this.#path(name)) throw err
      // The entry itself goes (a link, never its target; a directory only when empty).
      if (err.data.what === 'a directory') await rmdir(this.#path(name))
      else await unlink(this.#path(name))
      opened = await this.#open(name, WRITE_FLAGS | constants.O_EXCL)
    }
    if (opened === undefined) throw new Error(`blob file ${this.#path(name)} vanished while being created`)
    const { fh } = opened
    try {
      let off = 0
      while (off < bytes.byteLength) {
        const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off, off)
        off += bytesWritten
      }
      if (opened.size > bytes.byteLength) await fh.truncate(bytes.byteLength)
      if (this.#sync) await fh.datasync()
    } finally {
      await fh.close()
    }
  }

  /** At most `maxBytes + 1` bytes of the blob (so that a file longer than expected shows), or undefined when absent. */
  async read (name: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const opened = await this.#open(name, READ_FLAGS)
    if (opened === undefined) return undefined
    const { fh } = opened
    try {
      const out = new Uint8Array(Math.min(maxBytes + 1, opened.size))
      const n = await readFully(fh, out)
      return out.subarray(0, n)
    } finally {
      await fh.close()
    }
  }

  /**
   * Read the blob into `target` from `offset` up to its end; returns the bytes
   * read, -1 when absent, or the file's size, reading nothing, when that is
   * more than the room left (a damaged file cannot make a read overrun).
   */
  async readInto (name: string, target: Uint8Array, offset: number): Promise<number> {
    const opened = await this.#open(name, READ_FLAGS)
    if (opened === undefined) return -1
    const { fh, size } = opened
    try {
      if (size > target.byteLength - offset) return size
      return await readFully(fh, target.subarray(offset))
    } finally {
      await fh.close()
    }
  }

  /**
   * A new blob written at positions (a segment holding the chunks of one
   * write). Its name is fresh, so an existing entry there (a file, a planted
   * link) is refused rather than written through (O_EXCL, O_NOFOLLOW).
   */
  async create (name: string): Promise<BlobWriteHandle> {
    const failed = (err: unknown): never => {
      if (fsFailure(err) !== undefined) throw openFailure(dirname(this.directory), err, 'write to')
      throw err
    }
    let opened: { fh: FileHandle, size: number } | undefined
    try {
      opened = await this.#open(name, WRITE_FLAGS | constants.O_EXCL)
    } catch (err) {
      failed(err)
    }
    if (opened === undefined) throw new Error(`blob file ${this.#path(name)} vanished while being created`)
    const { fh } = opened
    const sync = this.#sync
    return {
      async writeAt (bytes: Uint8Array, position: number): Promise<void> {
        try {
          let off = 0
          while (off < bytes.byteLength) {
            const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off, position + off)
            off += bytesWritten
          }
        } catch (err) {
          failed(err)
        }
      },
      async close (): Promise<void> {
        try {
          if (sync) await fh.datasync()
        } catch (err) {
          failed(err)
        } finally {
          await fh.close()
        }
      }
    }
  }

  /** Open a blob for positioned reads (a regular file only, as `read`), or undefined when absent. */
  async openRead (name: string): Promise<BlobReadHandle | undefined> {
    const opened = await this.#open(name, READ_FLAGS)
    if (opened === undefined) return undefined
    const { fh, size } = opened
    return {
      size,
      readAt: async (target: Uint8Array, position: number): Promise<number> => await readFully(fh, target, position),
      close: async (): Promise<void> => { await fh.close() }
    }
  }

  async has (name: string): Promise<boolean> {
    try {
      await stat(this.#path(name))
      return true
    } catch {
      return false
    }
  }

  async remove (name: string): Promise<void> {
    await unlink(this.#path(name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err
    })
  }

  async * list (): AsyncIterable<{ name: string, size: number, mtimeMs: number }> {
    let dirs: string[]
    try {
      dirs = await readdir(this.directory)
    } catch {
      return
    }
    for (const d of dirs.sort()) {
      let names: string[]
      try {
        names = await readdir(join(this.directory, d))
      } catch {
        continue
      }
      for (const name of names.sort()) {
        try {
          const s = await lstat(join(this.directory, d, name))
          yield { name, size: s.size, mtimeMs: s.mtimeMs }
        } catch {
          // removed meanwhile
        }
      }
    }
  }
}

/** Fill `target` from `position` in the file, stopping at its end; returns the bytes read. */
async function readFully (fh: FileHandle, target: Uint8Array, position = 0): Promise<number> {
  let total = 0
  while (total < target.byteLength) {
    const { bytesRead } = await fh.read(target, total, target.byteLength - total, position + total)
    if (bytesRead === 0) break
    total += bytesRead
  }
  return total
}
