/**
 * What a call hashes to: a function's code signature (one analysis engine per
 * process), its arguments' identities (by the stored identity of values read
 * from the store, when known), and the memo key from both.
 */
import type { CID } from 'multiformats/cid'
import { hex } from '../../store/util.js'
import { hashValueBlock, memoKey, valueDigest, type HashContext } from '../value-hash.js'
import { annotationsOf, identityGiven } from '../annotations.js'
import { SignatureEngine, type CodeSignature } from '../signature/index.js'
import { dataFunctionOf } from '../data-function.js'
import type { DdsEvent } from '../interface.js'
import type { Hashed } from './interface.js'
import type { AnalysisStore } from '../signature/interface.js'

/** One engine per process for the default instance and every `open()`: the analysis caches are per file. */
let sharedEngine: SignatureEngine | undefined
function engine (): SignatureEngine {
  sharedEngine ??= new SignatureEngine()
  return sharedEngine
}

/** Entries kept per small cache before it starts again (the caches only save recomputation). */
const CACHE_LIMIT = 4096
/** Strings longer than this are hashed every time: caching them would hold large keys. */
const SHORT_STRING = 256

/** A call's signature, its arguments' identities and its memo key. */
export interface Prepared {
  sig: CodeSignature
  hashed: Hashed[]
  key: Uint8Array
  keyHex: string
}

/**
 * Hashes calls for one instance: remembers the stored identity of the values
 * it read or wrote, so that passing one on hashes by that identity.
 *
 * @example
 * const hasher = new CallHasher((e) => {}, 100_000, new StoreAnalyses(store.backend))
 * const { key } = hasher.prepare('/a', (x: number) => x + 1, [1])
 */
export class CallHasher {
  readonly #identities = new WeakMap<object, CID>()
  readonly #hashing = new Set<Function>()
  readonly #inputCtx: HashContext
  readonly #capturedCtx: HashContext
  readonly #emit: (event: DdsEvent) => void
  readonly #analyses: AnalysisStore | undefined
  /** One hasher for captured values, the same on every call: the engine reuses a value's digest only for the same hasher. */
  readonly #hashValue: (value: unknown, label: string) => Uint8Array
  /** Identities of primitive arguments: a primitive's canonical form depends on its value alone. */
  readonly #primitives = new Map<string | number | boolean, Hashed>()
  /** Memo keys by code digest, then by the arguments' CIDs: a repeated call hashes nothing again. */
  readonly #keys = new WeakMap<Uint8Array, Map<string, { key: Uint8Array, keyHex: string }>>()

  constructor (emit: (event: DdsEvent) => void, maxCapturedElements: number, analyses?: AnalysisStore) {
    this.#emit = emit
    this.#analyses = analyses
    const identityOf = (v: object): CID | undefined => this.#identities.get(v)
    const hashFunction = (fn: Function, label: string): Uint8Array => this.#hashFunction(fn, label)
    this.#inputCtx = { mode: 'input', identityOf, givenIdentity: identityGiven, hashFunction }
    this.#capturedCtx = { mode: 'captured', identityOf, givenIdentity: identityGiven, hashFunction, maxElements: maxCapturedElements }
    this.#hashValue = (value, label) => valueDigest(value, label, this.#capturedCtx)
  }

  /** The code signature of a call (unless given: a map takes it once for all its inputs) and its memo key. */
  prepare (path: string, fn: Function, args: unknown[], given?: CodeSignature): Prepared {
    const sig = given ?? this.signature(fn, path)
    const hashed = args.map((a, i) => this.#hashArgument(a, i))
    const { key, keyHex } = this.#memoKey(sig.digest, hashed)
    return { sig, hashed, key, keyHex }
  }

  #hashArgument (a: unknown, i: number): Hashed {
    // -0 shares a Map key with 0 but hashes differently; long strings are not worth holding.
    const cacheable = typeof a === 'boolean' || (typeof a === 'number' && !Object.is(a, -0)) || (typeof a === 'string' && a.length <= SHORT_STRING)
    if (!cacheable) return hashValueBlock(a, `args[${i}]`, this.#inputCtx)
    const known = this.#primitives.get(a)
    if (known !== undefined) return known
    const h = hashValueBlock(a, `args[${i}]`, this.#inputCtx)
    if (this.#primitives.size >= CACHE_LIMIT) this.#primitives.clear()
    this.#primitives.set(a, h)
    return h
  }

  #memoKey (code: Uint8Array, hashed: Hashed[]): { key: Uint8Array, keyHex: string } {
    let byInputs = this.#keys.get(code)
    if (byInputs === undefined) {
      byInputs = new Map()
      this.#keys.set(code, byInputs)
    }
    const inputs = hashed.map((h) => h.cid)
    const id = inputs.join(' ')
    const known = byInputs.get(id)
    if (known !== undefined) return known
    const key = memoKey(code, inputs)
    const made = { key, keyHex: hex(key) }
    if (byInputs.size >= CACHE_LIMIT) byInputs.clear()
    byInputs.set(id, made)
    return made
  }

  /** `fn`'s code signature; its warnings are emitted (for `path`, when given). */
  signature (fn: Function, path?: string): CodeSignature {
    const ann = annotationsOf(fn)
    const sig = engine().signature(fn, {
      hashValue: this.#hashValue,
      ...(this.#analyses === undefined ? {} : { analyses: this.#analyses }),
      ...(ann?.version === undefined ? {} : { pin: ann.version }),
      ...(ann?.deps === undefined ? {} : { deps: ann.deps }),
      ...(ann?.ignore === undefined ? {} : { ignore: ann.ignore })
    })
    for (const message of sig.warnings) this.#emit({ type: 'warning', message, ...(path === undefined ? {} : { path }) })
    return sig
  }

  /** Remember that `value` is stored as `output` (objects and functions only: primitives hash by value). */
  remember (value: unknown, output: CID): void {
    if (value !== null && (typeof value === 'object' || typeof value === 'function')) this.#identities.set(value, output)
  }

  /** The stored identity of `value`, if it was read or written here. */
  identityOf (value: unknown): CID | undefined {
    return value !== null && typeof value === 'object' ? this.#identities.get(value) : undefined
  }

  #hashFunction (fn: Function, label: string): Uint8Array {
    const data = dataFunctionOf(fn)
    if (data !== undefined) {
      return valueDigest({ dataFunction: data.path, code: this.#hashFunction(data.fn, label) }, label, this.#capturedCtx)
    }
    // A function reached again while it is being hashed (recursion through values) counts once.
    if (this.#hashing.has(fn)) return new Uint8Array(32)
    this.#hashing.add(fn)
    try {
      return this.signature(fn).digest
    } finally {
      this.#hashing.delete(fn)
    }
  }
}
