/**
 * How a JS value becomes artifact bytes and back. Bytes and strings are kept as
 * they are, typed arrays as their bytes plus their type, and every other value
 * goes through cbor-x with one fixed, portable option set (no records
 * extension), after a walk that refuses what cannot round-trip.
 */
import { createRequire } from 'node:module'
import type { Encoder } from 'cbor-x'
import { DdsError, ErrorCodes } from './errors.js'

/** How the payload bytes of an artifact are to be read back. */
export type Encoding = 'utf8' | 'bytes' | 'buffer' | 'arraybuffer' | 'typed' | 'cbor-x/1'

export const TYPED_ARRAYS = {
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array
} as const
export type TypedArrayName = keyof typeof TYPED_ARRAYS
type AnyTypedArray = InstanceType<(typeof TYPED_ARRAYS)[TypedArrayName]>

const require = createRequire(import.meta.url)
let encoder: Encoder | undefined

/**
 * The one cbor-x encoder, made on first use: cbor-x loads a native addon
 * (cbor-extract) that costs a fresh process tens of milliseconds, and a hit on
 * a string, bytes or a typed array never needs it. `require` keeps the load
 * synchronous, so hits read with `getSync` stay synchronous.
 */
function cbor (): Encoder {
  if (encoder !== undefined) return encoder
  const { Encoder: Ctor } = require('cbor-x') as typeof import('cbor-x')
  // The option set is part of the on-disk format ('cbor-x/1'): never change it in place.
  encoder = new Ctor({
    useRecords: false,
    variableMapSize: true,
    mapsAsObjects: true,
    useTag259ForMaps: true,
    tagUint8Array: true,
    structuredClone: false,
    int64AsType: 'bigint',
    largeBigIntToFloat: false,
    bundleStrings: false,
    pack: false
  } as ConstructorParameters<typeof Encoder>[0])
  return encoder
}

/** The payload of a value: its bytes, how to decode them, and the typed array type when there is one. */
export interface Payload {
  enc: Encoding
  type?: TypedArrayName
  bytes: Uint8Array
}

function typedName (value: ArrayBufferView): TypedArrayName | undefined {
  for (const [name, ctor] of Object.entries(TYPED_ARRAYS)) {
    if (value.constructor === ctor) return name as TypedArrayName
  }
  return undefined
}

/**
 * Encode a value. Throws DDS_UNSERIALIZABLE naming the offending field
 * (`value.model.predict`) when it cannot be stored faithfully.
 */
export function encodeValue (value: unknown, label = 'value'): Payload {
  if (typeof value === 'string') return { enc: 'utf8', bytes: Buffer.from(value, 'utf8') }
  if (Buffer.isBuffer(value)) return { enc: 'buffer', bytes: value }
  if (value instanceof Uint8Array && value.constructor === Uint8Array) return { enc: 'bytes', bytes: value }
  if (value instanceof ArrayBuffer) return { enc: 'arraybuffer', bytes: new Uint8Array(value) }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const type = typedName(value)
    if (type !== undefined) {
      return { enc: 'typed', type, bytes: new Uint8Array(value.buffer, value.byteOffset, value.byteLength) }
    }
  }
  checkSerializable(value, label)
  let bytes: Uint8Array
  try {
    bytes = cbor().encode(value)
  } catch (err) {
    throw new DdsError(ErrorCodes.UNSERIALIZABLE, `${label} cannot be encoded: ${(err as Error).message}`, {
      cause: err,
      data: { field: label }
    })
  }
  return { enc: 'cbor-x/1', bytes }
}

/**
 * Decode payload bytes. `bytes` may be reused by the result (pass a copy if
 * the caller keeps using its buffer).
 */
export function decodeValue (enc: string, type: string | undefined, bytes: Uint8Array): unknown {
  switch (enc) {
    case 'utf8': return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
    case 'bytes': return bytes
    case 'buffer': return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    case 'arraybuffer':
      return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? bytes.buffer
        : bytes.slice().buffer
    case 'typed': {
      const ctor = type !== undefined && Object.hasOwn(TYPED_ARRAYS, type) ? TYPED_ARRAYS[type as TypedArrayName] : undefined
      if (ctor === undefined) throw new DdsError(ErrorCodes.INTEGRITY, `unknown typed array type ${JSON.stringify(type)}`, { data: { type } })
      if (bytes.byteLength % ctor.BYTES_PER_ELEMENT !== 0) {
        throw new DdsError(ErrorCodes.INTEGRITY, `${type} payload of ${bytes.byteLength} bytes is not a whole number of elements`, { data: { type } })
      }
      const aligned = bytes.byteOffset % ctor.BYTES_PER_ELEMENT === 0 ? bytes : bytes.slice()
      return new ctor(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / ctor.BYTES_PER_ELEMENT) as AnyTypedArray
    }
    case 'cbor-x/1':
      try {
        return cbor().decode(bytes)
      } catch (err) {
        throw new DdsError(ErrorCodes.INTEGRITY, `artifact payload does not decode: ${(err as Error).message}`, { cause: err })
      }
    default:
      throw new DdsError(ErrorCodes.FORMAT_VERSION, `unknown artifact encoding ${JSON.stringify(enc)}`, { data: { enc } })
  }
}


const PLAIN_PROTOS = new Set<unknown>([Object.prototype, null])

function unserializable (label: string, why: string): DdsError {
  return new DdsError(ErrorCodes.UNSERIALIZABLE, `${label} ${why}`, { data: { field: label } })
}

function describe (value: object): string {
  const name = (value as { constructor?: { name?: string } }).constructor?.name
  return typeof name === 'string' && name !== '' ? `an instance of class ${name}` : 'an object with a custom prototype'
}

/**
 * Walk a value and throw DDS_UNSERIALIZABLE at the first field that would not
 * round-trip through the artifact encoding.
 */
export function checkSerializable (root: unknown, label = 'value'): void {
  const ancestors = new Set<object>()
  const visit = (value: unknown, at: string): void => {
    switch (typeof value) {
      case 'string': case 'number': case 'boolean': case 'bigint': case 'undefined':
        return
      case 'function':
        throw unserializable(at, 'is a function; functions cannot be stored')
      case 'symbol':
        throw unserializable(at, 'is a symbol; symbols cannot be stored')
    }
    if (value === null) return
    const obj = value as object
    if (ArrayBuffer.isView(obj)) {
      if (obj instanceof DataView) throw unserializable(at, 'is a DataView; store its buffer or a typed array instead')
      if (Buffer.isBuffer(obj) || obj.constructor === Uint8Array || typedName(obj) !== undefined) return
      throw unserializable(at, `is ${describe(obj)}, which has no codec`)
    }
    if (obj instanceof ArrayBuffer || obj instanceof Date || obj instanceof RegExp) {
      const ctor = obj.constructor
      if (ctor === ArrayBuffer || ctor === Date || ctor === RegExp) return
      throw unserializable(at, `is ${describe(obj)}, which has no codec`)
    }
    if (ancestors.has(obj)) throw unserializable(at, 'refers back to one of its ancestors (a cycle); cyclic values cannot be stored')
    ancestors.add(obj)
    try {
      if (Array.isArray(obj)) {
        if (Object.getPrototypeOf(obj) !== Array.prototype) throw unserializable(at, `is ${describe(obj)}, which has no codec`)
        for (let i = 0; i < obj.length; i++) visit(obj[i], `${at}[${i}]`)
        return
      }
      if (obj instanceof Map) {
        if (obj.constructor !== Map) throw unserializable(at, `is ${describe(obj)}, which has no codec`)
        let i = 0
        for (const [k, v] of obj) {
          visit(k, `${at}.keys()[${i}]`)
          visit(v, `${at}.get(${keyLabel(k)})`)
          i++
        }
        return
      }
      if (obj instanceof Set) {
        if (obj.constructor !== Set) throw unserializable(at, `is ${describe(obj)}, which has no codec`)
        let i = 0
        for (const v of obj) visit(v, `${at}.values()[${i++}]`)
        return
      }
      if (obj instanceof Promise) throw unserializable(at, 'is a Promise; await it before returning')
      if (!PLAIN_PROTOS.has(Object.getPrototypeOf(obj))) {
        throw unserializable(at, `is ${describe(obj)}, which has no codec; return plain data (objects, arrays, Map, Set, typed arrays)`)
      }
      if (Object.getOwnPropertySymbols(obj).length > 0) throw unserializable(at, 'has symbol keys, which cannot be stored')
      for (const key of Object.keys(obj)) {
        if (key === '__proto__') throw unserializable(`${at}.__proto__`, 'is a "__proto__" key, which cannot be stored safely')
        visit((obj as Record<string, unknown>)[key], /^[A-Za-z_$][\w$]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`)
      }
    } finally {
      ancestors.delete(obj)
    }
  }
  visit(root, label)
}

function keyLabel (k: unknown): string {
  if (typeof k === 'string') return JSON.stringify(k)
  if (typeof k === 'number' || typeof k === 'boolean' || typeof k === 'bigint') return String(k)
  return '…'
}
