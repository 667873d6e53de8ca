/**
 * The local protocol between the process that holds a store's database and
 * the other processes using the store: length-prefixed dag-cbor frames over a
 * unix socket. Requests carry an id; answers carry the id and a result or a
 * coded error. Every request is safe to send again after a lost answer.
 */
import net from 'node:net'
import * as dagCbor from '@ipld/dag-cbor'
import { DdsError, ErrorCodes, type ErrorCode } from './errors.js'
import type { LevelBackend } from './backend.js'
import type { BatchOp, RangeOptions, Space } from './interface.js'
import { stripUndefined } from './records.js'

const MAX_FRAME = 256 * 1024 * 1024

/** Thrown by a call whose connection closed before the answer came. */
export class ConnectionLost extends Error {
  constructor () {
    super('the process holding the store went away')
    this.name = 'ConnectionLost'
  }
}

function frame (message: unknown): Uint8Array {
  const body = dagCbor.encode(stripUndefined(message))
  const out = new Uint8Array(4 + body.byteLength)
  new DataView(out.buffer).setUint32(0, body.byteLength)
  out.set(body, 4)
  return out
}

/** Split a byte stream into frames. */
function reader (onMessage: (m: Record<string, unknown>) => void, onError: (err: Error) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0)
  return (chunk) => {
    buf = buf.byteLength === 0 ? chunk : Buffer.concat([buf, chunk])
    while (buf.byteLength >= 4) {
      const len = buf.readUInt32BE(0)
      if (len > MAX_FRAME) {
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
      onMessage(msg as Record<string, unknown>)
    }
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

  /** Connect, or throw (ENOENT, ECONNREFUSED) when nobody serves the socket. */
  static async connect (path: string): Promise<RpcClient> {
    return await new Promise((resolve, reject) => {
      const socket = net.connect(path)
      socket.once('connect', () => {
        socket.removeListener('error', reject)
        resolve(new RpcClient(socket))
      })
      socket.once('error', reject)
    })
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
    this.#socket.write(frame({ id, op, ...args }))
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
  readonly #sockets = new Set<net.Socket>()
  #inflight = 0
  #idle: Array<() => void> = []

  constructor (backend: LevelBackend) {
    this.#backend = backend
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
    this.#sockets.add(socket)
    socket.on('close', () => { this.#sockets.delete(socket) })
    socket.on('error', () => { socket.destroy() })
    socket.on('data', reader((m) => { void this.#handle(socket, m) }, () => { socket.destroy() }))
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
    if (!socket.destroyed) socket.write(frame(answer))
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
      case 'commit': return await b.commit(fromWireUpdates(m.updates), m.staged as BatchOp[], (m.options ?? {}) as Record<string, boolean>)
      case 'lease': return await b.lease(m.request as never)
      default: throw new DdsError(ErrorCodes.STORE_UNAVAILABLE, `unknown request ${String(m.op)}`)
    }
  }

  /** Stop accepting, let requests in progress finish, then drop every connection. */
  async close (): Promise<void> {
    // The close callback only fires once every connection is gone: do not wait for it.
    this.#server.close()
    if (this.#inflight > 0) await new Promise<void>((resolve) => { this.#idle.push(resolve) })
    for (const s of this.#sockets) s.destroy()
    this.#sockets.clear()
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
