/**
 * Where a store's leader listens and what lets a process in: the store's
 * secret, the announcement of the leader's socket, the private directory the
 * socket lives in, and the proofs both ends of a connection exchange.
 *
 * Threat: another local user. The socket directory is private to the user
 * (0700, owner checked, as tmux does), so nobody else can listen at the name
 * followers use or connect to it; where that directory is taken by someone
 * else, the leader makes a fresh one (mkdtemp) and announces the socket in the
 * store (the file `leader`), so a squatted name never makes the store
 * unavailable. Both ends then prove they know a secret kept in the store
 * (the file `secret`, mode 0600): a fake leader and a fake follower both fail.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { constants } from 'node:fs'
import { link, lstat, mkdir, mkdtemp, open, rename, rmdir, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { DdsError, ErrorCodes } from './errors.js'
import { hex } from './util.js'
import { fsFailure, openFailure } from './open-errors.js'

const SECRET_FILE = 'secret'
const SECRET_BYTES = 32
const POINTER_FILE = 'leader'
/** Longest socket path accepted by every supported system (sun_path is 104-108 bytes). */
const MAX_SOCKET_PATH = 100

function uid (): number {
  return process.getuid?.() ?? 0
}

function unavailable (location: string, message: string, cause?: unknown): DdsError {
  return new DdsError(ErrorCodes.STORE_UNAVAILABLE, message, { cause, data: { location } })
}

/**
 * Read a small regular file without following a link and without blocking
 * on a FIFO; undefined when absent. Returns the bytes and the file's owner.
 */
async function readSmall (path: string, max: number): Promise<{ bytes: Buffer, uid: number, mode: number } | undefined> {
  let fh
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  try {
    const s = await fh.stat()
    if (!s.isFile()) throw new Error(`${path} is not a regular file`)
    if (s.size > max) throw new Error(`${path} is larger than ${max} bytes`)
    const bytes = Buffer.alloc(s.size)
    const { bytesRead } = await fh.read(bytes, 0, s.size, 0)
    return { bytes: bytes.subarray(0, bytesRead), uid: s.uid, mode: s.mode }
  } finally {
    await fh.close()
  }
}

/**
 * The store's secret, created on first use: written whole under a fresh name
 * (mode 0600) and linked into place, so that two processes creating it at
 * once agree on one and nobody reads half of one.
 */
export async function storeSecret (location: string): Promise<Buffer> {
  const path = join(location, SECRET_FILE)
  for (let attempt = 0; attempt < 3; attempt++) {
    let found
    try {
      found = await readSmall(path, SECRET_BYTES)
    } catch (err) {
      throw fsFailure(err) === undefined ? unavailable(location, `cannot read the secret of store ${location} (${(err as Error).message})`, err) : openFailure(location, err, 'read the secret of')
    }
    if (found !== undefined) {
      if (found.bytes.byteLength !== SECRET_BYTES) throw unavailable(location, `the secret of store ${location} (${path}) is not ${SECRET_BYTES} bytes; remove it to make a new one`)
      if ((found.mode & 0o077) !== 0) throw unavailable(location, `the secret of store ${location} (${path}) is readable by others; run chmod 600 on it`)
      return found.bytes
    }
    const temp = join(location, `.${SECRET_FILE}-${process.pid}-${hex(randomBytes(6))}`)
    try {
      const fh = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
      try {
        await fh.writeFile(randomBytes(SECRET_BYTES))
        await fh.sync()
      } finally {
        await fh.close()
      }
      await link(temp, path).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err })
    } catch (err) {
      throw openFailure(location, err, 'create the secret of')
    } finally {
      await unlink(temp).catch(() => {})
    }
  }
  throw unavailable(location, `the secret of store ${location} keeps disappearing`)
}

/** Why a directory cannot hold this user's sockets, or undefined when it can. */
async function notPrivate (dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir, { mode: 0o700 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return (err as Error).message
  }
  const s = await lstat(dir)
  if (!s.isDirectory()) return `${dir} is not a directory`
  if (s.uid !== uid()) return `${dir} belongs to user ${s.uid}`
  if ((s.mode & 0o077) !== 0) return `${dir} is open to other users (mode ${(s.mode & 0o777).toString(8)})`
  return undefined
}

/** The private directory of this user's sockets by default: `$XDG_RUNTIME_DIR/dds` or `<tmp>/dds-<uid>`. */
export function privateSocketDirectory (): string {
  const runtime = process.env.XDG_RUNTIME_DIR
  return runtime !== undefined && runtime !== '' ? join(runtime, 'dds') : join(tmpdir(), `dds-${uid()}`)
}

/** The file name of a store's socket (short: socket paths are limited to about 100 bytes). */
export function socketName (location: string): string {
  return `${createHash('sha256').update(location).digest('hex').slice(0, 24)}.sock`
}

/** A place the leader of a store can listen at, and whether its directory is to be removed with it. */
export interface LeaderSocket {
  path: string
  /** A directory made for this socket alone (the fallback), removed when the leader steps down. */
  ownDirectory: boolean
}

/**
 * Choose where to listen: the user's private directory, or, when that is
 * taken, unsafe or too deep for a socket path, a fresh private directory.
 * Any stale file at the name is removed (only the holder of the database calls this).
 */
export async function leaderSocket (location: string): Promise<LeaderSocket> {
  const name = socketName(location)
  const dir = privateSocketDirectory()
  const path = join(dir, name)
  if (path.length <= MAX_SOCKET_PATH && await notPrivate(dir).catch((err: Error) => err.message) === undefined) {
    await unlink(path).catch(() => {})
    return { path, ownDirectory: false }
  }
  let fresh: string
  try {
    fresh = await mkdtemp(join(tmpdir(), `dds-${uid()}-`))
  } catch (err) {
    throw unavailable(location, `no private directory for the socket of store ${location}`, err)
  }
  return { path: join(fresh, name), ownDirectory: true }
}

/** Tell the other processes where the leader listens (replacing the file atomically). */
export async function announce (location: string, socket: string): Promise<void> {
  const temp = join(location, `.${POINTER_FILE}-${process.pid}-${hex(randomBytes(6))}`)
  await writeFile(temp, `${socket}\n`, { mode: 0o644, flag: 'wx' })
  await rename(temp, join(location, POINTER_FILE))
}

/** Undo `announce` and remove the socket (only while still holding the database). */
export async function retire (location: string, socket: LeaderSocket): Promise<void> {
  if (await announced(location) === socket.path) await unlink(join(location, POINTER_FILE)).catch(() => {})
  await unlink(socket.path).catch(() => {})
  if (socket.ownDirectory) await rmdir(dirname(socket.path)).catch(() => {})
}

/** The socket the leader announced, or undefined. */
export async function announced (location: string): Promise<string | undefined> {
  const found = await readSmall(join(location, POINTER_FILE), 4096).catch(() => undefined)
  if (found === undefined) return undefined
  const path = found.bytes.toString('utf8').trim()
  return path.startsWith('/') && basename(path).endsWith('.sock') ? path : undefined
}

/**
 * True when the socket file at `path` was made by a user allowed to lead the
 * store: this user, or the owner of the store's secret.
 */
export async function trustedSocketOwner (location: string, path: string): Promise<boolean> {
  try {
    const s = await lstat(path)
    if (!s.isSocket()) return false
    if (s.uid === uid()) return true
    return (await lstat(join(location, SECRET_FILE))).uid === s.uid
  } catch {
    return false
  }
}

/** A fresh nonce for one side of a handshake. */
export function nonce (): Buffer {
  return randomBytes(32)
}

/**
 * What one side sends to prove it knows the secret: an HMAC over both
 * nonces, labelled by the side, so an answer can never be replayed or
 * reflected to the other side.
 */
export function proof (secret: Uint8Array, side: 'leader' | 'follower', clientNonce: Uint8Array, serverNonce: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`dds-ts ${side}\0`).update(clientNonce).update(serverNonce).digest()
}

/** True when `given` is the proof expected (in constant time). */
export function proofMatches (secret: Uint8Array, side: 'leader' | 'follower', clientNonce: Uint8Array, serverNonce: Uint8Array, given: unknown): boolean {
  if (!(given instanceof Uint8Array) || given.byteLength !== 32) return false
  return timingSafeEqual(proof(secret, side, clientNonce, serverNonce), given)
}
