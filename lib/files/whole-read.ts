/**
 * Reading a whole data file inside a kept function while computing its
 * digest, in the synchronous and the promise form: the bytes are read in
 * chunks, and each chunk read is hashed as the next one is read (the digest
 * of a large file on the hashing thread, see hash-thread.ts). The digest is
 * of exactly the bytes returned, and is complete before they are returned,
 * so neither a change of the file afterwards nor a change of the buffer by
 * the caller can alter it.
 */
import { constants as bufferConstants } from 'node:buffer'
import type { Stats } from 'node:fs'
import { sha256 } from './digest.js'
import { FillDigest, OFF_THREAD_MIN } from './hash-thread.js'
import { raw } from './raw.js'

/** Bytes one read asks for. */
const CHUNK = 1 << 20
/** The largest file read in chunks here; larger ones go to node:fs, which refuses them with its own error. */
const MAX_WHOLE = Math.min(bufferConstants.MAX_LENGTH, 2 ** 31 - 1)

/** What a whole read returns: the bytes and their sha256. */
export interface WholeRead {
  buf: Buffer
  digest: Uint8Array
}

type ReadSync = (fd: number, buf: Uint8Array, offset: number, length: number, position: null) => number

/** True when a file of this stat is read here in chunks (else by node:fs and hashed after). */
export function readsInChunks (st: Stats | undefined): boolean {
  return st !== undefined && st.isFile() && st.size >= OFF_THREAD_MIN && st.size <= MAX_WHOLE
}

/**
 * `readFileSync(abs, { flag })` and the sha256 of what it returned. A file
 * that is not a regular file of a known size (a pipe, a file reporting size
 * 0) is read by node:fs as it would be. Like node:fs, it reads the size the
 * open file had; a file cut short while it is read gives what was there.
 * `read` is the read call (node's readSync).
 */
export function readWholeSync (abs: string, flag: string | undefined, read: ReadSync = raw.readSync as ReadSync): WholeRead {
  const fd = raw.openSync(abs, flag ?? 'r')
  try {
    const st = raw.fstatSync(fd)
    if (!st.isFile() || st.size === 0 || st.size > MAX_WHOLE) {
      const buf = raw.readFileSync(fd)
      return { buf, digest: sha256(buf) }
    }
    const buf = Buffer.allocUnsafe(st.size)
    const digest = new FillDigest(st.size)
    let done = 0
    try {
      while (done < st.size) {
        const n = read(fd, buf, done, Math.min(CHUNK, st.size - done), null)
        if (n === 0) break
        done += n
        digest.filled(buf, done)
      }
    } catch (err) {
      digest.drop()
      throw err
    }
    const out = done < st.size ? buf.subarray(0, done) : buf
    return { buf: out, digest: digest.digest(out) }
  } finally {
    raw.closeSync(fd)
  }
}

/**
 * `fs.promises.readFile(abs, { flag, signal })`, the sha256 of what it
 * returned and the stat of the open file (taken before the read). The next
 * chunk is read in the thread pool while this one is handed over (or hashed).
 */
export async function readWhole (abs: string, o: { flag?: string, signal?: AbortSignal }): Promise<WholeRead & { st: Stats }> {
  const fh = await raw.promises.open(abs, o.flag ?? 'r')
  try {
    const st = await fh.stat()
    if (!st.isFile() || st.size === 0 || st.size > MAX_WHOLE || o.signal !== undefined) {
      const buf = await fh.readFile(o.signal === undefined ? {} : { signal: o.signal })
      return { buf, digest: sha256(buf), st }
    }
    const buf = Buffer.allocUnsafe(st.size)
    const digest = new FillDigest(st.size)
    let done = 0
    try {
      let next = fh.read(buf, 0, Math.min(CHUNK, st.size), 0)
      for (;;) {
        const { bytesRead } = await next
        if (bytesRead === 0) break
        done += bytesRead
        if (done >= st.size) break
        next = fh.read(buf, done, Math.min(CHUNK, st.size - done), done)
        digest.filled(buf, done)
      }
    } catch (err) {
      digest.drop()
      throw err
    }
    const out = done < st.size ? buf.subarray(0, done) : buf
    return { buf: out, digest: digest.digest(out), st }
  } finally {
    await fh.close()
  }
}
