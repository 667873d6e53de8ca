/**
 * Stored things as JSON-ready data: times as ISO strings, durations rounded,
 * hashes as hex, functions as plain objects, data-model values with CIDs as
 * strings, and a short readable rendering of an argument's canonical form.
 */
import { CID } from 'multiformats/cid'
import type { FileRef, FunctionInfo } from '../../store/records.js'
import { hex } from '../../store/util.js'
import type { FileView, FunctionView } from './interface.js'

/** Milliseconds since the epoch as ISO 8601 (UTC). */
export function iso (ms: number): string {
  return new Date(ms).toISOString()
}

/** Milliseconds with 0.1 ms precision, as a plain number. */
export function ms (duration: number): number {
  return Math.round(duration * 10) / 10
}

/** A function as JSON. */
export function fnJson (fn: FunctionInfo): FunctionView {
  return { name: fn.name, file: fn.file ?? null, line: fn.line ?? null, column: fn.column ?? null }
}

/** Data model values (decoded dag-cbor) as JSON: CIDs as strings, bytes as hex. */
export function plain (v: unknown): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v)
  if (typeof v === 'bigint') return v.toString()
  if (v === undefined) return null
  const c = CID.asCID(v)
  if (c !== null) return c.toString()
  if (v instanceof Uint8Array) return hex(v)
  if (Array.isArray(v)) return v.map(plain)
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v as object)) out[k] = plain(x)
  return out
}

const TAG = '$dds'
const SHORT = 200

/**
 * A readable, JavaScript-like rendering of an argument's canonical form (the
 * `$dds` envelopes of value hashing turned back into `Map(2) {...}`,
 * `Float64Array <cid>`, `undefined`...), cut at about 200 characters.
 */
export function showCanonical (value: unknown, limit = SHORT): string {
  let out = ''
  const emit = (s: string): boolean => {
    out += s
    return out.length < limit
  }
  const visit = (v: unknown): boolean => {
    if (v === null) return emit('null')
    if (typeof v === 'string') return emit(JSON.stringify(v))
    if (typeof v === 'number' || typeof v === 'boolean') return emit(String(v))
    if (typeof v === 'bigint') return emit(`${v}`)
    const c = CID.asCID(v)
    if (c !== null) return emit(`<${c.toString()}>`)
    if (v instanceof Uint8Array) return emit(`<${v.byteLength} bytes>`)
    if (Array.isArray(v)) return list('[', ']', v)
    if (typeof v !== 'object') return emit(String(v))
    const o = v as Record<string, unknown>
    const tag = o[TAG]
    if (typeof tag === 'string') {
      switch (tag) {
        case 'undefined': case 'NaN': case 'Infinity': case '-Infinity': case '-0': return emit(tag)
        case 'bigint': return emit(`${String(o.v)}n`)
        case 'Date': return emit(typeof o.v === 'number' ? `Date(${new Date(o.v).toISOString()})` : 'Date(invalid)')
        case 'RegExp': return emit(`/${String(o.source)}/${String(o.flags)}`)
        case 'Map': {
          const e = Array.isArray(o.e) ? o.e as unknown[] : []
          if (!emit(`Map(${e.length}) {`)) return false
          for (let i = 0; i < e.length; i++) {
            const pair = e[i] as unknown[]
            if (i > 0 && !emit(', ')) return false
            if (!visit(pair[0]) || !emit(' => ') || !visit(pair[1])) return false
          }
          return emit('}')
        }
        case 'Set': {
          const e = Array.isArray(o.e) ? o.e as unknown[] : []
          return emit(`Set(${e.length}) `) && list('{', '}', e)
        }
        case 'fn': return emit('[function]')
        case 'id': return emit(`identity(${JSON.stringify(o.id)})`)
        case 'artifact': return emit(`artifact <${String(CID.asCID(o.cid) ?? o.cid)}>`)
        case 'instance': return emit('[class instance ') && visit(o.fields) && emit(']')
        case 'object': return visit(o.v)
        default: {
          const h = CID.asCID(o.h)
          return emit(h === null ? `[${tag}]` : `${tag} <${h.toString()}>`)
        }
      }
    }
    if (!emit('{ ')) return false
    let first = true
    for (const [k, x] of Object.entries(o)) {
      if (!first && !emit(', ')) return false
      first = false
      if (!emit(/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)) || !emit(': ') || !visit(x)) return false
    }
    return emit(first ? '}' : ' }')
  }
  const list = (open: string, close: string, xs: unknown[]): boolean => {
    if (!emit(open)) return false
    for (let i = 0; i < xs.length; i++) {
      if (i > 0 && !emit(', ')) return false
      if (!visit(xs[i])) return false
    }
    return emit(close)
  }
  visit(value)
  return out.length > limit ? out.slice(0, limit - 1) + '…' : out
}

/** The digest of a recorded file as printed: hex, or `absent` when the path did not exist. */
export function fileDigest (f: FileRef | undefined): string | undefined {
  if (f === undefined) return undefined
  return f.digest.byteLength === 0 ? 'absent' : hex(f.digest)
}

/** A file an evaluation read, as data. */
export function fileView (f: FileRef): FileView {
  return { path: f.path, kind: f.kind, digest: fileDigest(f) as string, size: f.size, mtime: iso(f.mtime) }
}
