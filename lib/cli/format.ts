/**
 * How stored things are printed: times, durations, functions, hashes, the
 * canonical forms of arguments, and artifact values as (streamed) JSON.
 */
import { CID } from 'multiformats/cid'
import type { FileRef, FunctionInfo } from '../../store/records.js'

export function iso (ms: number): string {
  return new Date(ms).toISOString()
}

/** Milliseconds with 0.1 ms precision, as a plain number. */
export function ms (duration: number): number {
  return Math.round(duration * 10) / 10
}

export function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** `name` or `(anonymous)`. */
/** The digest of a recorded file as printed: hex, or `absent` when the path did not exist. */
export function fileDigest (f: FileRef | undefined): string | undefined {
  if (f === undefined) return undefined
  return f.digest.byteLength === 0 ? 'absent' : hex(f.digest)
}

/** A recorded file as JSON. */
export function fileJson (f: FileRef): Record<string, unknown> {
  return { path: f.path, kind: f.kind, digest: fileDigest(f), size: f.size, mtime: iso(f.mtime) }
}

export function fnName (fn: FunctionInfo): string {
  return fn.name === '' ? '(anonymous)' : fn.name
}

/** `src/clean.ts:12:3`, or undefined when the function has no file. */
export function fnSource (fn: FunctionInfo): string | undefined {
  if (fn.file === undefined) return undefined
  return `${fn.file}${fn.line === undefined ? '' : `:${fn.line}`}${fn.line === undefined || fn.column === undefined ? '' : `:${fn.column}`}`
}

/** A function as JSON. */
export function fnJson (fn: FunctionInfo): Record<string, unknown> {
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

/**
 * An artifact value as JSON text, in pieces, so that a large value is never
 * one giant string: Map as an object (or a list of pairs when a key is not a
 * string), Set and typed arrays as lists, Date as an ISO string, BigInt as an
 * exact integer literal, undefined/NaN/Infinity as null, bytes as numbers.
 */
export function * jsonPieces (value: unknown, indent = ''): Generator<string> {
  const inner = indent + '  '
  if (value === null || value === undefined) { yield 'null'; return }
  switch (typeof value) {
    case 'string': yield JSON.stringify(value); return
    case 'number': yield Number.isFinite(value) ? JSON.stringify(value) : 'null'; return
    case 'boolean': yield String(value); return
    case 'bigint': yield value.toString(); return
    case 'object': break
    default: yield 'null'; return
  }
  if (value instanceof Date) { yield Number.isNaN(value.getTime()) ? 'null' : JSON.stringify(value.toISOString()); return }
  if (value instanceof RegExp) { yield JSON.stringify(String(value)); return }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    const view = value instanceof ArrayBuffer ? new Uint8Array(value) : value
    const xs = view as unknown as ArrayLike<number | bigint>
    yield '['
    for (let i = 0; i < xs.length; i += 4096) {
      const part: string[] = []
      for (let j = i; j < Math.min(xs.length, i + 4096); j++) {
        const x = xs[j] as number | bigint
        part.push(typeof x === 'bigint' ? x.toString() : Number.isFinite(x) ? String(x) : 'null')
      }
      yield (i === 0 ? '' : ', ') + part.join(', ')
    }
    yield ']'
    return
  }
  if (value instanceof Map) {
    if ([...value.keys()].every((k) => typeof k === 'string')) {
      yield * object([...value.entries()] as Array<[string, unknown]>, indent)
    } else {
      yield * array([...value.entries()], indent)
    }
    return
  }
  if (value instanceof Set) { yield * array([...value], indent); return }
  if (Array.isArray(value)) { yield * array(value, indent); return }
  yield * object(Object.entries(value), indent)

  function * array (xs: unknown[], ind: string): Generator<string> {
    if (xs.length === 0) { yield '[]'; return }
    if (xs.every((x) => x === null || typeof x !== 'object')) {
      yield '['
      for (let i = 0; i < xs.length; i++) {
        if (i > 0) yield ', '
        yield * jsonPieces(xs[i], ind)
      }
      yield ']'
      return
    }
    yield '[\n'
    for (let i = 0; i < xs.length; i++) {
      yield inner
      yield * jsonPieces(xs[i], inner)
      yield i < xs.length - 1 ? ',\n' : '\n'
    }
    yield `${ind}]`
  }
  function * object (entries: Array<[string, unknown]>, ind: string): Generator<string> {
    if (entries.length === 0) { yield '{}'; return }
    yield '{\n'
    for (let i = 0; i < entries.length; i++) {
      const [k, v] = entries[i] as [string, unknown]
      yield `${inner}${JSON.stringify(k)}: `
      yield * jsonPieces(v, inner)
      yield i < entries.length - 1 ? ',\n' : '\n'
    }
    yield `${ind}}`
  }
}

/** Bytes as `12.3 MiB`. */
export function size (n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let u = 0
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++ }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u] as string}`
}
