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

/** The job for one call. */
export function encodeJob (call: ExecCall, ref: ModuleRef): JobData {
  const args = call.args.map((a, i): WireArg => {
    const cid = call.identityOf(a)
    if (cid !== undefined) return { ref: cid.toString() }
    const p = encodeValue(a, `args[${i}]`)
    return { enc: p.enc, ...(p.type === undefined ? {} : { type: p.type }), data: Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength).toString('base64') }
  })
  return { v: 1, path: call.path, module: ref.relative, exportName: ref.exportName, code: hex(call.code), key: hex(call.key), args }
}

function bad (why: string): DdsError {
  return new DdsError(ErrorCodes.QUEUE_FAILED, `refusing a malformed job: ${why}`, { data: { why } })
}

const HEX64 = /^[0-9a-f]{64,}$/
const NAME = /^[A-Za-z_$][\w$]*$/

/** Check a job's data from the queue; throws DDS_QUEUE_FAILED for anything malformed. */
export function checkJob (data: unknown): JobData {
  if (data === null || typeof data !== 'object') throw bad('not an object')
  const d = data as Record<string, unknown>
  if (d.v !== 1) throw bad(`unknown job format ${String(d.v)}`)
  if (typeof d.path !== 'string') throw bad('no path')
  validatePath(d.path)
  if (typeof d.module !== 'string' || d.module === '' || d.module.startsWith('/') || d.module.split(/[\\/]/).some((s) => s === '..' || s === '') || /[\0\r\n]/.test(d.module)) {
    throw bad(`module ${JSON.stringify(d.module)} is not a relative path inside the project`)
  }
  if (!/\.(m|c)?(j|t)sx?$/.test(d.module)) throw bad(`module ${JSON.stringify(d.module)} is not a script`)
  if (typeof d.exportName !== 'string' || !NAME.test(d.exportName)) throw bad('bad export name')
  if (typeof d.code !== 'string' || !HEX64.test(d.code) || typeof d.key !== 'string' || !HEX64.test(d.key)) throw bad('bad code or key')
  if (!Array.isArray(d.args)) throw bad('no arguments')
  for (const a of d.args as unknown[]) {
    if (a === null || typeof a !== 'object') throw bad('bad argument')
    const x = a as Record<string, unknown>
    if (typeof x.ref === 'string') continue
    if (typeof x.enc !== 'string' || typeof x.data !== 'string' || (x.type !== undefined && typeof x.type !== 'string')) throw bad('bad argument')
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
