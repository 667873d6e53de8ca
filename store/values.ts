/**
 * The built-in codecs: how a JS value becomes artifact bytes and back. Bytes
 * and strings are kept as they are, typed arrays as their bytes plus their
 * type, and every other value goes through cbor-x with one fixed, portable
 * option set (no records extension), after a walk that refuses what cannot
 * round-trip. Each is a codec value (store/interface.ts); store/codecs.ts
 * puts them in a registry with Arrow's and the user's.
 */
import { createRequire } from 'node:module'
import type { Encoder } from 'cbor-x'
import { DdsError, ErrorCodes } from './errors.js'
import type { Codec, EncodedForm } from './interface.js'

/** The names of the built-in codecs: how the payload bytes of an artifact are to be read back. */
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

/**
 * How deep a stored or hashed value may nest. Deeper values are refused with a
 * coded error before a recursive walk or codec overflows the stack.
 */
export const MAX_DEPTH = 1000

const LONE_SURROGATE = /\p{Surrogate}/u

/**
 * True when a string holds a surrogate that is not half of a pair: UTF-8 (and
 * so dag-cbor and the artifact encoding) has no form for it, and would turn
 * `'x\udfff'` and `'x\ud800'` into the same bytes.
 *
 * @example
 * hasLoneSurrogate('x\ud800') // true
 */
export function hasLoneSurrogate (s: string): boolean {
  return LONE_SURROGATE.test(s)
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

/** A built-in codec: synchronous both ways, always whole bytes. */
interface BuiltinCodec extends Codec {
  readonly name: Encoding
  encode (value: any, label: string): { bytes: Uint8Array, type?: TypedArrayName }
  decode (bytes: Uint8Array, form: EncodedForm): unknown
}

const utf8: BuiltinCodec = {
  name: 'utf8',
  accepts: (v) => typeof v === 'string',
  encode: (v: string, label: string) => {
    // UTF-8 has no form for a lone surrogate: it would come back as U+FFFD, another string.
    if (hasLoneSurrogate(v)) throw unserializable(label, 'holds a lone surrogate (not valid Unicode), which cannot be stored faithfully')
    return { bytes: Buffer.from(v, 'utf8') }
  },
  decode: (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')
}

const buffer: BuiltinCodec = {
  name: 'buffer',
  accepts: (v) => Buffer.isBuffer(v),
  encode: (v: Buffer) => ({ bytes: v }),
  decode: (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)
}

const bytes: BuiltinCodec = {
  name: 'bytes',
  accepts: (v) => v instanceof Uint8Array && v.constructor === Uint8Array,
  encode: (v: Uint8Array) => ({ bytes: v }),
  decode: (b) => b
}

const arraybuffer: BuiltinCodec = {
  name: 'arraybuffer',
  accepts: (v) => v instanceof ArrayBuffer,
  encode: (v: ArrayBuffer) => ({ bytes: new Uint8Array(v) }),
  decode: (b) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer
}

const typed: BuiltinCodec = {
  name: 'typed',
  accepts: (v) => ArrayBuffer.isView(v) && !(v instanceof DataView) && typedName(v) !== undefined,
  encode: (v: AnyTypedArray) => ({ type: typedName(v), bytes: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) }),
  decode: (b, { type }) => {
    const ctor = type !== undefined && Object.hasOwn(TYPED_ARRAYS, type) ? TYPED_ARRAYS[type as TypedArrayName] : undefined
    if (ctor === undefined) throw new DdsError(ErrorCodes.INTEGRITY, `unknown typed array type ${JSON.stringify(type)}`, { data: { type } })
    if (b.byteLength % ctor.BYTES_PER_ELEMENT !== 0) {
      throw new DdsError(ErrorCodes.INTEGRITY, `${type} payload of ${b.byteLength} bytes is not a whole number of elements`, { data: { type } })
    }
    const aligned = b.byteOffset % ctor.BYTES_PER_ELEMENT === 0 ? b : b.slice()
    return new ctor(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / ctor.BYTES_PER_ELEMENT) as AnyTypedArray
  }
}

const cborX: BuiltinCodec = {
  name: 'cbor-x/1',
  accepts: () => true,
  encode: (v: unknown, label: string) => {
    checkSerializable(v, label)
    try {
      return { bytes: cbor().encode(v) }
    } catch (err) {
      throw new DdsError(ErrorCodes.UNSERIALIZABLE, `${label} cannot be encoded: ${(err as Error).message}`, {
        cause: err,
        data: { field: label }
      })
    }
  },
  decode: (b) => {
    let value: unknown
    try {
      value = cbor().decode(b)
    } catch (err) {
      throw new DdsError(ErrorCodes.INTEGRITY, `artifact payload does not decode: ${(err as Error).message}`, { cause: err })
    }
    // Stored and imported bytes may hold what cbor-x can decode but dds-ts never writes
    // (shared references making cycles, Error objects, records, values nested too deep).
    try {
      checkSerializable(value, 'payload')
    } catch (err) {
      if (!(err instanceof DdsError)) throw err
      throw new DdsError(ErrorCodes.INTEGRITY, `artifact payload holds what dds-ts does not write: ${err.message}`, { cause: err, data: err.data })
    }
    return value
  }
}

/** The built-in codecs for exact types, in the order they are tried (before user codecs). */
export const EXACT_CODECS: readonly Codec[] = [utf8, buffer, bytes, arraybuffer, typed]
/** The built-in codec of everything else: CBOR after a walk that refuses what cannot round-trip. It accepts every value, so it is tried last. */
export const CBOR_CODEC: Codec = cborX
const BUILTIN = new Map<string, BuiltinCodec>([utf8, buffer, bytes, arraybuffer, typed, cborX].map((c) => [c.name, c]))

/**
 * Encode a value with the built-in codecs. Throws DDS_UNSERIALIZABLE naming
 * the offending field (`value.model.predict`) when it cannot be stored faithfully.
 */
export function encodeValue (value: unknown, label = 'value'): Payload {
  for (const codec of BUILTIN.values()) {
    if (codec.accepts(value)) {
      const { bytes, type } = codec.encode(value, label)
      return type === undefined ? { enc: codec.name, bytes } : { enc: codec.name, type, bytes }
    }
  }
  /* c8 ignore next */
  throw new Error('unreachable: the CBOR codec accepts every value')
}

/**
 * Decode payload bytes written by a built-in codec. `bytes` may be reused by
 * the result (pass a copy if the caller keeps using its buffer).
 */
export function decodeValue (enc: string, type: string | undefined, bytes: Uint8Array): unknown {
  const codec = BUILTIN.get(enc)
  if (codec === undefined) throw new DdsError(ErrorCodes.FORMAT_VERSION, `unknown artifact encoding ${JSON.stringify(enc)}`, { data: { enc } })
  return codec.decode(bytes, type === undefined ? {} : { type })
}

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
      case 'string':
        if (hasLoneSurrogate(value)) throw unserializable(at, 'holds a lone surrogate (not valid Unicode), which cannot be stored faithfully')
        return
      case 'number': case 'boolean': case 'bigint': case 'undefined':
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
    if (ancestors.size >= MAX_DEPTH) throw unserializable(at, `is nested more than ${MAX_DEPTH} levels deep`)
    ancestors.add(obj)
    try {
      if (Array.isArray(obj)) {
        if (Object.getPrototypeOf(obj) !== Array.prototype) throw unserializable(at, `is ${describe(obj)}, which has no codec`)
        for (let i = 0; i < obj.length; i++) {
          // A hole would come back as undefined, an element that is there.
          if (!(i in obj)) throw unserializable(`${at}[${i}]`, 'is a hole in a sparse array, which would come back as undefined; fill it')
          visit(obj[i], `${at}[${i}]`)
        }
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
      const proto = Object.getPrototypeOf(obj)
      if (proto === null) throw unserializable(at, 'is an object without a prototype, which would come back with one; copy it into a plain object or a Map')
      if (proto !== Object.prototype) {
        throw unserializable(at, `is ${describe(obj)}, which has no codec; return plain data (objects, arrays, Map, Set, typed arrays)`)
      }
      if (Object.getOwnPropertySymbols(obj).length > 0) throw unserializable(at, 'has symbol keys, which cannot be stored')
      for (const key of Object.keys(obj)) {
        if (key === '__proto__') throw unserializable(`${at}.__proto__`, 'is a "__proto__" key, which cannot be stored safely')
        if (hasLoneSurrogate(key)) throw unserializable(`${at}[${JSON.stringify(key)}]`, 'is a key with a lone surrogate (not valid Unicode), which cannot be stored faithfully')
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
