/**
 * The codec registry of a store: the built-in codecs for exact types
 * (strings, bytes, typed arrays), the user's codecs in the order given,
 * Arrow's, and CBOR for everything else, tried in that order to encode; by
 * name (and version) to decode. A name is looked up once per read, with no
 * allocation, so a cache hit pays nothing for the registry.
 */
import { DdsError, ErrorCodes } from './errors.js'
import type { Codec } from './interface.js'
import { CBOR_CODEC, EXACT_CODECS } from './values.js'
import { arrowCodec } from './arrow.js'

const NAME = /^[\w.@/+-]{1,64}$/

/** The codecs a store encodes with and reads by name. */
export class Codecs {
  /** In the order they are tried to encode. */
  readonly #order: readonly Codec[]
  readonly #byName = new Map<string, Codec>()

  /** Throws TypeError for a malformed codec, RangeError for one whose name is taken. */
  constructor (user: readonly Codec[] = [], arrow: Codec = arrowCodec()) {
    if (!Array.isArray(user)) throw new TypeError('codecs must be an array of codecs')
    for (const c of [...EXACT_CODECS, arrow, CBOR_CODEC]) this.#byName.set(c.name, c)
    for (const c of user) {
      checkCodec(c)
      if (this.#byName.has(c.name)) throw new RangeError(`codec name ${JSON.stringify(c.name)} is already taken${isBuiltin(c.name, arrow) ? ' by a built-in codec' : ''}`)
      this.#byName.set(c.name, c)
    }
    this.#order = [...EXACT_CODECS, ...user, arrow, CBOR_CODEC]
  }

  /** The codec that stores `value`: the first that accepts it (CBOR accepts every value). */
  encoderFor (value: unknown): Codec {
    for (const c of this.#order) if (c.accepts(value)) return c
    return CBOR_CODEC
  }

  /** The codec an artifact was stored with; DDS_CODEC_MISSING names it when this store has no such codec. */
  decoderFor (name: string, version: number | string | undefined, artifact?: string): Codec {
    const c = this.#byName.get(name)
    if (c !== undefined && c.version === version) return c
    const label = version === undefined ? name : `${name}@${String(version)}`
    const had = c === undefined ? '' : ` (this store has ${c.version === undefined ? 'it without a version' : `version ${String(c.version)}`})`
    throw new DdsError(ErrorCodes.CODEC_MISSING,
      `${artifact === undefined ? 'an artifact' : `artifact ${artifact}`} was stored by codec ${label}, which this store was not opened with${had}: pass it in open({ codecs }) or configure({ codecs })`,
      { data: { codec: name, ...(version === undefined ? {} : { version }), ...(artifact === undefined ? {} : { artifact }) } })
  }
}

function isBuiltin (name: string, arrow: Codec): boolean {
  return name === arrow.name || name === CBOR_CODEC.name || EXACT_CODECS.some((c) => c.name === name)
}

function checkCodec (c: Codec): void {
  if (c === null || typeof c !== 'object') throw new TypeError('a codec must be an object { name, accepts, encode, decode }')
  if (typeof c.name !== 'string' || !NAME.test(c.name)) {
    throw new TypeError(`codec name must be 1-64 letters, digits or ._@/+-, got ${JSON.stringify(c.name)}`)
  }
  for (const fn of ['accepts', 'encode', 'decode'] as const) {
    if (typeof c[fn] !== 'function') throw new TypeError(`codec ${c.name}: ${fn} must be a function`)
  }
  const v = c.version
  if (v !== undefined && !(typeof v === 'string' && v.length > 0 && v.length <= 64) && !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) {
    throw new TypeError(`codec ${c.name}: version must be a non-negative integer or a short string`)
  }
}
