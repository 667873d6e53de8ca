/**
 * Deterministic, structural hashing of JS values (arguments and captured
 * values). A value is turned into a canonical IPLD form (type envelopes for
 * what dag-cbor would merge or refuse), encoded with dag-cbor (sorted keys,
 * shortest integers) and hashed. Binary data is hashed directly and linked,
 * values produced by `keep` by the CID of their stored content.
 */
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from '../store/errors.js'
import { cidOf, DAG_CBOR_CODE, RAW_CODE, sha256Digest } from '../store/hash.js'
import { hasLoneSurrogate, MAX_DEPTH, TYPED_ARRAYS } from '../store/values.js'

/** Version of the canonical form; part of every memo key. */
export const VALUE_HASH_VERSION = 1
/** Reserved key of type envelopes; user objects holding it are escaped. */
const TAG = '$dds'

/**
 * A method an object (or its class) can define to declare its identity: the
 * value it returns is hashed instead of the object.
 *
 * @example
 * class Warehouse { [identity] () { return `warehouse:${this.name}` } }
 */
export const identity: unique symbol = Symbol.for('dds-ts.identity')

export interface HashContext {
  /** `'input'` refuses class instances; `'captured'` hashes them by class and fields. */
  mode: 'input' | 'captured'
  /** The stored identity (artifact CID) of a value produced by keep or load. */
  identityOf?: (value: object) => CID | undefined
  /** A user-given identity (`identify(value, id)`). */
  givenIdentity?: (value: object) => string | undefined
  /** The hash of a function (its code signature). */
  hashFunction?: (fn: Function, label: string) => Uint8Array
  /** Most elements (array items, object keys, map and set entries) visited before refusing. */
  maxElements?: number
}

function rawLink (bytes: Uint8Array): CID {
  return cidOf(bytes, RAW_CODE)
}

// Uint8Array is a type of its own here (the store keeps it under 'bytes'); the order is part of no format.
const TYPED: ReadonlyArray<[string, Function]> = [['Uint8Array', Uint8Array], ...Object.entries(TYPED_ARRAYS)]

function unhashable (label: string, why: string, hint: string): DdsError {
  return new DdsError(ErrorCodes.UNHASHABLE, `${label} ${why}; ${hint}`, { data: { argument: label } })
}

const IDENTIFY_HINT = "pass it by a given identity with identify(value, 'id'), or create it inside the kept function"

/**
 * The canonical IPLD form of a value. Throws DDS_UNHASHABLE naming the field
 * (`args[1].conn`) when the value cannot be hashed deterministically.
 */
export function canonicalize (root: unknown, label: string, ctx: HashContext): unknown {
  const ancestors = new Set<object>()
  const max = ctx.maxElements ?? Number.POSITIVE_INFINITY
  let count = 0
  const tick = (at: string): void => {
    if (++count > max) {
      throw new DdsError(ErrorCodes.VALUE_TOO_LARGE,
        `${label} has more than ${max} elements, over the bound for values read by a function; pass it as an argument or keep it at a path and load it`,
        { data: { argument: label, field: at, limit: max } })
    }
  }
  const visit = (value: unknown, at: string): unknown => {
    switch (typeof value) {
      case 'string':
        // UTF-8 would merge different lone surrogates into one U+FFFD: hash such a string by its UTF-16 code units.
        return hasLoneSurrogate(value) ? { [TAG]: 'utf16', v: Buffer.from(value, 'utf16le') } : value
      case 'boolean':
        return value
      case 'undefined':
        return { [TAG]: 'undefined' }
      case 'number':
        if (Object.is(value, -0)) return { [TAG]: '-0' }
        if (Number.isNaN(value)) return { [TAG]: 'NaN' }
        if (!Number.isFinite(value)) return { [TAG]: value > 0 ? 'Infinity' : '-Infinity' }
        return value
      case 'bigint':
        return { [TAG]: 'bigint', v: value.toString() }
      case 'symbol':
        throw unhashable(at, 'is a symbol', 'symbols have no stable identity across processes')
      case 'function': {
        if (ctx.hashFunction === undefined) throw unhashable(at, 'is a function', IDENTIFY_HINT)
        const given = ctx.givenIdentity?.(value)
        if (given !== undefined) return { [TAG]: 'id', id: given }
        return { [TAG]: 'fn', sig: ctx.hashFunction(value, at) }
      }
    }
    if (value === null) return null
    const obj = value as object
    const stored = ctx.identityOf?.(obj)
    if (stored !== undefined) return { [TAG]: 'artifact', cid: stored }
    const given = ctx.givenIdentity?.(obj)
    if (given !== undefined) return { [TAG]: 'id', id: given }
    const declare = (obj as { [identity]?: unknown })[identity]
    if (typeof declare === 'function') return { [TAG]: 'declared', v: visit(declare.call(obj), `${at}[identity]()`) }
    if (ArrayBuffer.isView(obj)) {
      const bytes = new Uint8Array(obj.buffer, obj.byteOffset, obj.byteLength)
      if (obj instanceof DataView) return { [TAG]: 'DataView', h: rawLink(bytes) }
      if (Buffer.isBuffer(obj)) return { [TAG]: 'Buffer', h: rawLink(bytes) }
      for (const [name, ctor] of TYPED) {
        if (obj.constructor === ctor) return { [TAG]: name, h: rawLink(bytes) }
      }
      return instance(obj, at)
    }
    if (obj instanceof ArrayBuffer) return { [TAG]: 'ArrayBuffer', h: rawLink(new Uint8Array(obj)) }
    if (obj instanceof Date && obj.constructor === Date) {
      const t = obj.getTime()
      return { [TAG]: 'Date', v: Number.isNaN(t) ? 'invalid' : t }
    }
    if (obj instanceof RegExp && obj.constructor === RegExp) return { [TAG]: 'RegExp', source: obj.source, flags: obj.flags }
    if (obj instanceof Promise) throw unhashable(at, 'is a Promise', 'await it and pass the result')
    if (obj instanceof WeakMap || obj instanceof WeakSet || obj instanceof WeakRef) {
      throw unhashable(at, `is a ${obj.constructor.name}`, 'its contents cannot be enumerated')
    }
    if (ancestors.has(obj)) throw unhashable(at, 'refers back to one of its ancestors (a cycle)', IDENTIFY_HINT)
    if (ancestors.size >= MAX_DEPTH) throw unhashable(at, `is nested more than ${MAX_DEPTH} levels deep`, IDENTIFY_HINT)
    ancestors.add(obj)
    try {
      if (Array.isArray(obj) && Object.getPrototypeOf(obj) === Array.prototype) {
        const out: unknown[] = new Array(obj.length)
        for (let i = 0; i < obj.length; i++) {
          tick(at)
          out[i] = visit(obj[i], `${at}[${i}]`)
        }
        return out
      }
      if (obj instanceof Map && obj.constructor === Map) {
        const entries: Array<[Uint8Array, unknown, unknown]> = []
        let i = 0
        for (const [k, v] of obj) {
          tick(at)
          const ck = visit(k, `${at}.keys()[${i}]`)
          const cv = visit(v, `${at}.get(${keyLabel(k)})`)
          entries.push([dagCbor.encode(ck), ck, cv])
          i++
        }
        entries.sort((a, b) => compareBytes(a[0], b[0]))
        return { [TAG]: 'Map', e: entries.map(([, k, v]) => [k, v]) }
      }
      if (obj instanceof Set && obj.constructor === Set) {
        const items: Array<[Uint8Array, unknown]> = []
        let i = 0
        for (const v of obj) {
          tick(at)
          const cv = visit(v, `${at}.values()[${i++}]`)
          items.push([dagCbor.encode(cv), cv])
        }
        items.sort((a, b) => compareBytes(a[0], b[0]))
        return { [TAG]: 'Set', e: items.map(([, v]) => v) }
      }
      const proto = Object.getPrototypeOf(obj)
      if (proto === Object.prototype || proto === null) return plain(obj as Record<string, unknown>, at)
      if ((obj as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'Module') return plain(obj as Record<string, unknown>, at)
      return instance(obj, at)
    } finally {
      ancestors.delete(obj)
    }
  }
  const plain = (obj: Record<string, unknown>, at: string): unknown => {
    if (Object.getOwnPropertySymbols(obj).some((s) => Object.prototype.propertyIsEnumerable.call(obj, s))) {
      throw unhashable(at, 'has symbol keys', 'symbol-keyed fields have no stable identity')
    }
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(obj)) {
      tick(at)
      if (hasLoneSurrogate(key)) throw unhashable(fieldLabel(at, key), 'is a key with a lone surrogate (not valid Unicode)', 'use a Map, whose keys are hashed faithfully')
      // Own data properties only: defineProperty keeps '__proto__' an ordinary key.
      Object.defineProperty(out, key, { value: visit(obj[key], fieldLabel(at, key)), enumerable: true, writable: true, configurable: true })
    }
    return Object.hasOwn(out, TAG) ? { [TAG]: 'object', v: out } : out
  }
  const instance = (obj: object, at: string): unknown => {
    const ctor = (obj as { constructor?: unknown }).constructor
    const name = typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'anonymous class'
    if (ctx.mode === 'input' || typeof ctor !== 'function' || ctx.hashFunction === undefined || isNative(ctor)) {
      throw unhashable(at, `is an instance of ${name}, which has no declared identity`, IDENTIFY_HINT)
    }
    const sig = ctx.hashFunction(ctor, `${at}.constructor`)
    const fields = plain(Object.assign(Object.create(null), obj) as Record<string, unknown>, at)
    return { [TAG]: 'instance', class: sig, fields }
  }
  return visit(root, label)
}

function isNative (fn: Function): boolean {
  try {
    return /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(fn))
  } catch {
    return true
  }
}

function fieldLabel (at: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`
}

function keyLabel (k: unknown): string {
  if (typeof k === 'string') return JSON.stringify(k)
  if (typeof k === 'number' || typeof k === 'boolean' || typeof k === 'bigint') return String(k)
  return '…'
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.byteLength - b.byteLength
}

/**
 * The identity of a value: the CID (dag-cbor, sha2-256) of its canonical form.
 *
 * @example
 * hashValue({ b: 1, a: 2 }, 'args[0]', { mode: 'input' }).equals(hashValue({ a: 2, b: 1 }, 'args[0]', { mode: 'input' })) // true
 */
export function hashValue (value: unknown, label: string, ctx: HashContext): CID {
  return hashValueBlock(value, label, ctx).cid
}

/**
 * The identity of a value with the dag-cbor bytes it was hashed from
 * (undefined when the value is an artifact identity, which needs no bytes).
 */
export function hashValueBlock (value: unknown, label: string, ctx: HashContext): { cid: CID, bytes: Uint8Array | undefined } {
  const canonical = canonicalize(value, label, ctx)
  // A value that already is an identity needs no second hash.
  if (isArtifactEnvelope(canonical)) return { cid: canonical.cid, bytes: undefined }
  const bytes = dagCbor.encode(canonical)
  return { cid: cidOf(bytes, DAG_CBOR_CODE), bytes }
}

function isArtifactEnvelope (v: unknown): v is { cid: CID } {
  return v !== null && typeof v === 'object' && (v as Record<string, unknown>)[TAG] === 'artifact'
}

/** The 32-byte digest of a value's canonical form. */
export function valueDigest (value: unknown, label: string, ctx: HashContext): Uint8Array {
  return hashValue(value, label, ctx).multihash.digest
}

/** The memo key of a call: code signature digest plus argument identities. */
export function memoKey (code: Uint8Array, inputs: CID[]): Uint8Array {
  return sha256Digest(dagCbor.encode({ v: VALUE_HASH_VERSION, code, inputs }))
}

export { loadsKey, dependenciesKey } from '../store/memo-keys.js'
