/**
 * What travels on the job queue: a job names the function by its module
 * (relative to the project root) and export, carries the caller's code
 * signature and memo key, and its arguments either by value (encoded as the
 * store encodes values) or, for values that came out of the store, by the CID
 * the caller hashed them by. Jobs come from whoever can write to the queue, so
 * a worker checks every field before acting on it.
 */
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from '../../store/errors.js'
import { validatePath } from '../../store/paths.js'
import { hex } from '../../store/util.js'
import { decodeValue, encodeValue } from '../../store/values.js'
import type { ExecCall } from './interface.js'
import type { ModuleRef } from './locate.js'
import { fromWire, toWire, type WireError } from './wire.js'

/** One argument on the queue. */
export type WireArg = { ref: string } | { enc: string, type?: string, data: string }

/** The data of one job (format 1). */
export interface JobData {
  v: 1
  path: string
  module: string
  exportName: string
  /** Code signature digest and memo key, hex. */
  code: string
  key: string
  args: WireArg[]
}

/** A job's id: one per memo key, so identical calls from any caller are one job. */
export function jobId (key: Uint8Array): string {
  return `keep-${hex(key)}`
}

/**
 * Most argument bytes a job carries by value (as base64 text). Redis holds
 * every job in memory and each worker decodes it whole, so bigger values cross
 * by reference: a value returned by `keep` or `load` travels as its CID.
 */
export const MAX_JOB_BYTES = 16 * 1024 * 1024
/** Most arguments a job carries (a kept function of a map takes one). */
export const MAX_JOB_ARGS = 64
/** Longest module path, CID text, encoding name or type name a job may hold. */
const MAX_FIELD = 1024

/** The job for one call. Throws DDS_VALUE_TOO_LARGE for arguments by value over `maxBytes`. */
export function encodeJob (call: ExecCall, ref: ModuleRef, maxBytes = MAX_JOB_BYTES): JobData {
  if (call.args.length > MAX_JOB_ARGS) {
    throw new DdsError(ErrorCodes.VALUE_TOO_LARGE, `${call.path}: a call on the queue takes at most ${MAX_JOB_ARGS} arguments, got ${call.args.length}`, { data: { path: call.path, args: call.args.length } })
  }
  let total = 0
  const args = call.args.map((a, i): WireArg => {
    const cid = call.identityOf(a)
    if (cid !== undefined) return { ref: cid.toString() }
    const p = encodeValue(a, `args[${i}]`)
    const data = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength).toString('base64')
    total += data.length
    if (total > maxBytes) {
      throw new DdsError(ErrorCodes.VALUE_TOO_LARGE,
        `${call.path}: args[${i}] makes the job larger than ${maxBytes} bytes; keep the value first (a value returned by keep or load crosses the queue by its CID)`,
        { data: { path: call.path, argument: i, limit: maxBytes } })
    }
    return { enc: p.enc, ...(p.type === undefined ? {} : { type: p.type }), data }
  })
  return { v: 1, path: call.path, module: ref.relative, exportName: ref.exportName, code: hex(call.code), key: hex(call.key), args }
}

function bad (why: string): DdsError {
  return new DdsError(ErrorCodes.QUEUE_FAILED, `refusing a malformed job: ${why}`, { data: { why } })
}

const HEX = /^[0-9a-f]{64,256}$/
const NAME = /^[A-Za-z_$][\w$]{0,255}$/

/** Limits a worker holds jobs to. */
export interface JobLimits {
  /** Most argument bytes by value (default MAX_JOB_BYTES). */
  maxBytes?: number
}

/**
 * Check a job's data from the queue; throws DDS_QUEUE_FAILED (`data.why`) for
 * anything malformed: a wrong shape, a module that is not a script of the
 * project itself (outside it, a dependency's, a hidden directory's), an export
 * name that is not a plain identifier, a payload over the limits.
 */
export function checkJob (data: unknown, limits: JobLimits = {}): JobData {
  const maxBytes = limits.maxBytes ?? MAX_JOB_BYTES
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw bad('not an object')
  const d = data as Record<string, unknown>
  if (d.v !== 1) throw bad(`unknown job format ${String(d.v).slice(0, 40)}`)
  if (typeof d.path !== 'string' || d.path.length > MAX_FIELD) throw bad('no path')
  validatePath(d.path)
  if (typeof d.module !== 'string' || d.module === '' || d.module.length > MAX_FIELD || d.module.startsWith('/') || /[\0\r\n:]/.test(d.module)) {
    throw bad(`module ${JSON.stringify(String(d.module).slice(0, 80))} is not a relative path inside the project`)
  }
  // '..' and '.' climb or stay; node_modules and hidden directories (.git, .dds) hold no module of the project's own.
  if (d.module.split(/[\\/]/).some((s) => s === '' || s.startsWith('.') || s === 'node_modules')) {
    throw bad(`module ${JSON.stringify(d.module)} is not a module of the project itself`)
  }
  if (!/\.(m|c)?(j|t)sx?$/.test(d.module)) throw bad(`module ${JSON.stringify(d.module)} is not a script`)
  if (typeof d.exportName !== 'string' || !NAME.test(d.exportName)) throw bad('bad export name')
  if (typeof d.code !== 'string' || !HEX.test(d.code) || typeof d.key !== 'string' || !HEX.test(d.key)) throw bad('bad code or key')
  if (!Array.isArray(d.args)) throw bad('no arguments')
  if (d.args.length > MAX_JOB_ARGS) throw bad(`${d.args.length} arguments, more than ${MAX_JOB_ARGS}`)
  let total = 0
  for (const a of d.args as unknown[]) {
    if (a === null || typeof a !== 'object' || Array.isArray(a)) throw bad('bad argument')
    const x = a as Record<string, unknown>
    if (typeof x.ref === 'string') {
      if (x.ref.length > MAX_FIELD) throw bad('bad argument reference')
      continue
    }
    if (typeof x.enc !== 'string' || x.enc.length > MAX_FIELD || typeof x.data !== 'string' || (x.type !== undefined && (typeof x.type !== 'string' || x.type.length > MAX_FIELD))) throw bad('bad argument')
    total += x.data.length
    if (total > maxBytes) throw bad(`arguments of more than ${maxBytes} bytes`)
  }
  return d as unknown as JobData
}

/** A job's arguments, and those read from the store with the CID they are hashed by. */
export async function decodeArgs (args: WireArg[], read: (cid: CID) => Promise<unknown>): Promise<{ values: unknown[], known: Array<[unknown, CID]> }> {
  const values: unknown[] = []
  const known: Array<[unknown, CID]> = []
  for (const a of args) {
    if ('ref' in a) {
      let cid: CID
      try { cid = CID.parse(a.ref) } catch (err) { throw new DdsError(ErrorCodes.CID_INVALID, `a job argument names an invalid CID ${JSON.stringify(a.ref)}`, { cause: err }) }
      const v = await read(cid)
      values.push(v)
      known.push([v, cid])
    } else {
      try {
        values.push(decodeValue(a.enc, a.type, Buffer.from(a.data, 'base64')))
      } catch (err) {
        throw bad(`an argument cannot be decoded (${(err as Error).message})`)
      }
    }
  }
  return { values, known }
}

const MARK = 'dds-error:'

/** A worker's failure as the text the queue keeps (a job's failed reason). */
export function failureText (err: unknown): string {
  return MARK + JSON.stringify(toWire(err))
}

/** The error a job's failed reason stands for (a coded error when the worker sent one). */
export function failureOf (reason: string, path: string): Error {
  if (reason.startsWith(MARK)) {
    try { return fromWire(JSON.parse(reason.slice(MARK.length)) as WireError) } catch { /* not ours after all */ }
  }
  return new DdsError(ErrorCodes.QUEUE_FAILED, `the job for ${path} failed on the queue: ${reason}`, { data: { path } })
}
