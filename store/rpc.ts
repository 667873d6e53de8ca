/**
 * The local protocol between the process that holds a store's database and
 * the other processes using the store: length-prefixed dag-cbor frames over a
 * unix socket. Requests carry an id; answers carry the id and a result or a
 * coded error. Every request is safe to send again after a lost answer.
 *
 * A connection starts with a mutual challenge: each side sends a fresh nonce
 * and proves it knows the store's secret (local-socket.ts) before any request
 * is read or sent. Until then a peer may send only a few small frames.
 */
import net from 'node:net'
import * as dagCbor from '@ipld/dag-cbor'
import { DdsError, ErrorCodes, type ErrorCode } from './errors.js'
import type { LevelBackend } from './backend.js'
import type { BatchOp, CommitOptions, RangeOptions, Space } from './interface.js'
import { stripUndefined } from './records.js'
import { nonce, proof, proofMatches } from './local-socket.js'

const MAX_FRAME = 256 * 1024 * 1024
/** Largest frame before the peer is authenticated (a nonce and a proof fit many times over). */
const MAX_HELLO = 1024
/** A peer that has not proven itself within this long is dropped (it holds nothing of ours meanwhile). */
const HANDSHAKE_MS = 10_000

/** Thrown by `RpcClient.connect` when the process at the socket does not prove it knows the store's secret. */
export class NotAuthenticated extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'NotAuthenticated'
  }
}

/** Thrown by a call whose connection closed before the answer came. */
export class ConnectionLost extends Error {
  constructor () {
    super('the process holding the store went away')
    this.name = 'ConnectionLost'
  }
}

/**
 * Write a frame, gathering the frames written in the same turn of the event
 * loop into one write: a hit asks for a head and the forced answers a few
 * microtasks apart, and the other side then wakes once for both.
 */
function send (socket: net.Socket, message: unknown): void {
  if (socket.writableCorked === 0) {
    socket.cork()
    process.nextTick(() => { socket.uncork() })
  }
  socket.write(frame(message))
}

function frame (message: unknown): Uint8Array {
  const body = dagCbor.encode(stripUndefined(message))
  const out = new Uint8Array(4 + body.byteLength)
  new DataView(out.buffer).setUint32(0, body.byteLength)
  out.set(body, 4)
  return out
}

/** Split a byte stream into frames of at most `max()` bytes. */
function reader (onMessage: (m: Record<string, unknown>) => void, onError: (err: Error) => void, max: () => number = () => MAX_FRAME): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0)
  return (chunk) => {
    buf = buf.byteLength === 0 ? chunk : Buffer.concat([buf, chunk])
    while (buf.byteLength >= 4) {
      const len = buf.readUInt32BE(0)
      if (len > max()) {
        onError(new Error('frame too large'))
        return
      }
      if (buf.byteLength < 4 + len) break
      const body = buf.subarray(4, 4 + len)
      buf = buf.subarray(4 + len)
      let msg: unknown
      try {
        msg = dagCbor.decode(body)
      } catch (err) {
        onError(err as Error)
        return
      }
      if (msg === null || typeof msg !== 'object') {
        onError(new Error('a frame that is not a map'))
        return
      }
      onMessage(msg as Record<string, unknown>)
    }
  }
}

/** The frames a socket receives, one at a time (for the handshake). */
function nextFrames (socket: net.Socket): { next: () => Promise<Record<string, unknown>>, stop: () => void } {
  const queue: Array<Record<string, unknown>> = []
  let waiting: { resolve: (m: Record<string, unknown>) => void, reject: (e: Error) => void } | undefined
  let failure: Error | undefined
  const fail = (err: Error): void => {
    failure ??= err
    waiting?.reject(failure)
    waiting = undefined
  }
  const onData = reader((m) => {
    if (waiting !== undefined) {
      waiting.resolve(m)
      waiting = undefined
    } else {
      queue.push(m)
    }
  }, fail, () => MAX_HELLO)
  const onClose = (): void => { fail(new NotAuthenticated('the connection closed during the handshake')) }
  socket.on('data', onData)
  socket.on('close', onClose)
  socket.on('error', onClose)
  return {
    next: async () => {
      const m = queue.shift()
      if (m !== undefined) return m
      if (failure !== undefined) throw failure
      return await new Promise((resolve, reject) => { waiting = { resolve, reject } })
    },
    stop: () => {
      socket.off('data', onData)
      socket.off('close', onClose)
      socket.off('error', onClose)
    }
  }
}

/** The follower's side of the handshake: check the leader's proof, give ours, wait to be let in. */
async function followerHandshake (socket: net.Socket, secret: Uint8Array): Promise<void> {
  const frames = nextFrames(socket)
  const timer = setTimeout(() => { socket.destroy() }, HANDSHAKE_MS)
  try {
    const mine = nonce()
    socket.write(frame({ nonce: mine }))
    const challenge = await frames.next()
    const theirs = challenge.nonce
    if (!(theirs instanceof Uint8Array) || theirs.byteLength !== 32 || !proofMatches(secret, 'leader', mine, theirs, challenge.proof)) {
      throw new NotAuthenticated('the process at the socket does not know the store\'s secret')
    }
    socket.write(frame({ proof: proof(secret, 'follower', mine, theirs) }))
    const welcome = await frames.next()
    if (welcome.welcome !== true) throw new NotAuthenticated('the process at the socket did not let this process in')
  } finally {
    clearTimeout(timer)
    frames.stop()
  }
}

/** A connection to the process holding the database. */
export class RpcClient {
  readonly #socket: net.Socket
  readonly #pending = new Map<number, { resolve: (v: unknown) => void, reject: (e: unknown) => void }>()
  #next = 1
  #closed = false
  readonly closed: Promise<void>

  private constructor (socket: net.Socket) {
    this.#socket = socket
    socket.setNoDelay(true)
    // An idle connection must not keep the process alive.
    socket.unref()
    let done: () => void = () => {}
    this.closed = new Promise((resolve) => { done = resolve })
    socket.on('data', reader((m) => { this.#answer(m) }, () => { socket.destroy() }))
    const close = (): void => {
      if (this.#closed) return
      this.#closed = true
      for (const p of this.#pending.values()) p.reject(new ConnectionLost())
      this.#pending.clear()
      done()
    }
    socket.on('close', close)
    socket.on('error', close)
  }

  /**
   * Connect and authenticate both ends with the store's secret. Throws
   * (ENOENT, ECONNREFUSED) when nobody serves the socket, NotAuthenticated
   * when the process there does not know the secret or refuses ours.
   */
  static async connect (path: string, secret: Uint8Array): Promise<RpcClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(path)
      s.once('connect', () => {
        s.removeListener('error', reject)
        resolve(s)
      })
      s.once('error', reject)
    })
    try {
      await followerHandshake(socket, secret)
    } catch (err) {
      socket.destroy()
      throw err
    }
    return new RpcClient(socket)
  }

  get isClosed (): boolean {
    return this.#closed
  }

  #answer (m: Record<string, unknown>): void {
    const id = m.id as number
    const p = this.#pending.get(id)
    if (p === undefined) return
    this.#pending.delete(id)
    if (this.#pending.size === 0) this.#socket.unref()
    if (m.err !== undefined && m.err !== null) {
      const e = m.err as { code?: string, message?: string, data?: Record<string, unknown> }
      p.reject(e.code !== undefined && e.code !== null
        ? new DdsError(e.code as ErrorCode, e.message ?? 'error', { data: e.data ?? {} })
        : new Error(e.message ?? 'remote error'))
    } else {
      p.resolve(m.ok)
    }
  }

  async call (op: string, args: Record<string, unknown>): Promise<unknown> {
    if (this.#closed) throw new ConnectionLost()
    const id = this.#next++
    const promise = new Promise<unknown>((resolve, reject) => { this.#pending.set(id, { resolve, reject }) })
    // Keep the process alive while an answer is awaited.
    this.#socket.ref()
    send(this.#socket, { id, op, ...args })
    return await promise
  }

  close (): void {
    this.#socket.destroy()
  }
}

const PAGE = 512

/** Serve a database to other processes. */
export class RpcServer {
  readonly #server: net.Server
  readonly #backend: LevelBackend
  readonly #secret: Uint8Array
  /** Authenticated connections. */
  readonly #sockets = new Set<net.Socket>()
  /** Connections still proving themselves. */
  readonly #strangers = new Set<net.Socket>()
  #inflight = 0
  #idle: Array<() => void> = []

  constructor (backend: LevelBackend, secret: Uint8Array) {
    this.#backend = backend
    this.#secret = secret
    this.#server = net.createServer((socket) => { this.#accept(socket) })
    this.#server.unref()
  }

  /** The number of connected processes. */
  get connections (): number {
    return this.#sockets.size
  }

  async listen (path: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(path, () => {
        this.#server.removeListener('error', reject)
        resolve()
      })
    })
  }

  #accept (socket: net.Socket): void {
    socket.setNoDelay(true)
    socket.unref()
    this.#strangers.add(socket)
    const timer = setTimeout(() => { socket.destroy() }, HANDSHAKE_MS)
    timer.unref()
    socket.on('close', () => {
      clearTimeout(timer)
      this.#strangers.delete(socket)
      this.#sockets.delete(socket)
    })
    socket.on('error', () => { socket.destroy() })
    let state: 'hello' | 'proof' | 'ready' = 'hello'
    let theirs: Uint8Array = new Uint8Array(0)
    let mine: Uint8Array = new Uint8Array(0)
    socket.on('data', reader((m) => {
      if (state === 'ready') {
        void this.#handle(socket, m)
      } else if (state === 'hello') {
        if (!(m.nonce instanceof Uint8Array) || m.nonce.byteLength !== 32) {
          socket.destroy()
          return
        }
        theirs = m.nonce
        mine = nonce()
        state = 'proof'
        socket.write(frame({ nonce: mine, proof: proof(this.#secret, 'leader', theirs, mine) }))
      } else if (proofMatches(this.#secret, 'follower', theirs, mine, m.proof)) {
        state = 'ready'
        clearTimeout(timer)
        this.#strangers.delete(socket)
        this.#sockets.add(socket)
        socket.write(frame({ welcome: true }))
      } else {
        socket.destroy()
      }
    }, () => { socket.destroy() }, () => state === 'ready' ? MAX_FRAME : MAX_HELLO))
  }

  async #handle (socket: net.Socket, m: Record<string, unknown>): Promise<void> {
    this.#inflight++
    let answer: Record<string, unknown>
    try {
      answer = { id: m.id, ok: await this.#dispatch(m) }
    } catch (err) {
      const e = err as DdsError
      answer = { id: m.id, err: { code: err instanceof DdsError ? e.code : null, message: String(e.message), data: err instanceof DdsError ? jsonable(e.data) : {} } }
    } finally {
      this.#inflight--
    }
    if (!socket.destroyed) send(socket, answer)
    if (this.#inflight === 0) for (const f of this.#idle.splice(0)) f()
  }

  async #dispatch (m: Record<string, unknown>): Promise<unknown> {
    const b = this.#backend
    const space = m.space as Space
    switch (m.op) {
      case 'ping': return 'pong'
      case 'get': return (await b.get(space, m.key as Uint8Array)) ?? null
      case 'getMany': return (await b.getMany(space, m.keys as Uint8Array[])).map((v) => v ?? null)
      case 'batch': await b.batch(m.ops as BatchOp[], { sync: m.sync === true }); return null
      case 'page': {
        const range = fromWire(m.range)
        const limit = Math.min(PAGE, typeof m.limit === 'number' ? m.limit : PAGE)
        const out: unknown[] = []
        if (m.keysOnly === true) {
          for await (const k of b.keys(space, { ...range, limit })) out.push(k)
        } else {
          for await (const kv of b.entries(space, { ...range, limit })) out.push(kv)
        }
        return out
      }
      case 'commit': return await b.commit(fromWireUpdates(m.updates), m.staged as BatchOp[], commitOptions(m.options))
      case 'lease': return await b.lease(m.request as never)
      default: throw new DdsError(ErrorCodes.STORE_UNAVAILABLE, `unknown request ${String(m.op)}`)
    }
  }

  /** Stop accepting, let requests in progress finish, then drop every connection. */
  async close (): Promise<void> {
    // The close callback only fires once every connection is gone: do not wait for it.
    this.#server.close()
    if (this.#inflight > 0) await new Promise<void>((resolve) => { this.#idle.push(resolve) })
    for (const s of [...this.#sockets, ...this.#strangers]) s.destroy()
    this.#sockets.clear()
    this.#strangers.clear()
  }
}

function jsonable (data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(data)) {
    if (v === undefined) continue
    out[k] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null ? v : String(v)
  }
  return out
}

function fromWire (range: unknown): RangeOptions {
  const r = (range ?? {}) as Record<string, unknown>
  const out: RangeOptions = {}
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (r[k] instanceof Uint8Array) out[k] = r[k] as Uint8Array
  if (r.reverse === true) out.reverse = true
  return out
}

function fromWireUpdates (u: unknown): never {
  return (u as Array<Record<string, unknown>>).map((x) => {
    const out: Record<string, unknown> = { ...x }
    for (const k of ['hit', 'time', 'imported']) if (out[k] === null) delete out[k]
    return out
  }) as never
}

/** The commit options a peer sent, each of its type (anything else is dropped). */
function commitOptions (v: unknown): CommitOptions {
  if (v === null || typeof v !== 'object') return {}
  const o = v as Record<string, unknown>
  const out: CommitOptions = {}
  if (o.force === true) out.force = true
  if (o.onlyIfNewer === true) out.onlyIfNewer = true
  if (typeof o.token === 'string') out.token = o.token
  if (Array.isArray(o.forget)) out.forget = o.forget.filter((x): x is string => typeof x === 'string')
  return out
}
