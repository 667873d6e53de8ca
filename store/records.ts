/**
 * The dag-cbor nodes of the Merkle DAG: artifact roots, evaluation records,
 * code manifests, memo entries, path history entries and bundle manifests.
 * Decoders check the shape, since nodes may come from untrusted bundles.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { decodeDirect } from './direct-decode.js'
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'

/** The root node of an artifact: its codec and either its bytes or its chunks. */
export interface ArtifactRoot {
  /** The codec's name (`utf8`, `typed`, `cbor-x/1`, `arrow-ipc`, a user codec's). */
  enc: string
  /** The codec's version, when it has one (absent for the built-in codecs but Arrow's). */
  v?: number | string
  /** The codec's subtype (the typed array type). */
  type?: string
  /** Payload size in bytes. */
  size: number
  /** The whole payload, for artifacts up to the inline limit. */
  data?: Uint8Array
  /** Chunk size in bytes (every chunk but the last has this size). */
  chunkSize?: number
  /** Raw blocks holding the payload, in order. */
  chunks?: CID[]
}

/** Where a function comes from. */
export interface FunctionInfo {
  name: string
  /** Source file relative to its project root (`src/clean.ts`), when known. */
  file?: string
  line?: number
  column?: number
}

/** A path read by a function during its run, and the value it had. */
export interface LoadRef {
  path: string
  /** The evaluation the path pointed at. */
  evaluation: CID | null
  /** The artifact root it held. */
  output: CID
}

/**
 * A file or directory a function read during its run, as it was then. Paths
 * inside the project are relative to its root (POSIX separators), others
 * absolute. `size`, `mtime`, `ino` and `dev` make the cheap check; `digest`
 * decides when that check fails.
 */
export interface FileRef {
  path: string
  /** `file`: content read; `dir`: names listed; `tree`: names listed recursively; `stat`: type and size looked at. */
  kind: FileKind
  /** sha256 of the content (file), of the sorted names (dir, tree), of type and size (stat); empty when the path did not exist. */
  digest: Uint8Array
  /** Size in bytes, -1 when the path did not exist. */
  size: number
  /** Modification time, ms since the epoch. */
  mtime: number
  ino: number
  dev: number
}

/** What was done with a path: see {@link FileRef.kind}. */
export type FileKind = 'file' | 'dir' | 'tree' | 'stat'

/** One run of a function (or the record a cache hit points at). */
export interface EvaluationRecord {
  kind: 'keep' | 'evaluate'
  /** The path it was kept at. */
  path: string | null
  fn: FunctionInfo
  /** The code manifest. */
  code: CID
  /** The memo key this evaluation answers. */
  signature: Uint8Array
  /** Identity of each argument. */
  inputs: CID[]
  loads: LoadRef[]
  /** Files read during the run (nested keeps included); absent when none. */
  files?: FileRef[]
  /** Evaluations made by nested keeps during the run. */
  calls: CID[]
  /** The artifact root of the result. */
  output: CID
  /** Start time, ms since the epoch. */
  started: number
  /** Duration in milliseconds. */
  duration: number
}

/** What a code signature is made of; the basis of "why did it re-run". */
export interface CodeManifest {
  /** Signature algorithm version. */
  algorithm: string
  /** The function the manifest is about (`src/a.ts#train`). */
  entry: string
  /** Canonical hash of each reached declaration (`src/a.ts#helper`). */
  declarations: Record<string, Uint8Array>
  /** Hash of each runtime value read (`src/config.ts#N`, `closure:factor`). */
  values: Record<string, Uint8Array>
  /** Imported packages by name, with version. */
  packages: Record<string, string>
  /** Names the analysis could not resolve or read, reported, not hashed. */
  unavailable: string[]
  /** A version pinned by hand, replacing the analysis of the function's own code. */
  pinned?: string
}

/** Memo index value: the evaluation that answers a signature, with the loads it depended on. */
export interface MemoEntry {
  evaluation: CID
  output: CID
  loads: LoadRef[]
  /** The files it read, when any: a hit needs them unchanged. */
  files?: FileRef[]
  /** False when the evaluation called no nested keep (a hit then needs no walk of its calls). */
  nested: boolean
}

/** An entry of a path's history, as stored. `evaluation: null` is a deletion. */
export interface HistoryEntry {
  /** Commit time, ms since the epoch. */
  time: number
  evaluation: CID | null
  output: CID | null
  /** True when the value came from the store rather than a computation. */
  hit?: boolean
  /** Set when the entry came in with a bundle. */
  imported?: boolean
}

/** A history entry as read back, with its path and sequence number. */
export interface PathEntry extends HistoryEntry {
  path: string
  seq: number
}

/** The root of a bundle. */
export interface BundleManifest {
  format: 'dds-bundle/1'
  created: number
  /** Per exported path, its history entries oldest first (only the head without --history). */
  paths: Record<string, HistoryEntry[]>
  /** How many blocks the bundle holds, the manifest included (so that a cut at a block boundary shows). */
  blocks?: number
  /** The tags on the exported entries (see store/bundle-tags.ts). */
  tags?: BundleTag[]
}

/** A tag as a bundle carries it: by evaluation, since sequence numbers are per store. */
export interface BundleTag {
  name: string
  path: string
  evaluation: CID
  output: CID
}

export function encodeNode (value: unknown): Uint8Array {
  return dagCbor.encode(stripUndefined(value))
}

/** A copy without undefined fields (dag-cbor refuses them); CIDs and bytes are kept as they are. */
export function stripUndefined (value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : stripUndefined(v)))
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array) && CID.asCID(value) === null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = stripUndefined(v)
    return out
  }
  return value
}

function corrupt (what: string, detail: string, data?: Record<string, unknown>): DdsError {
  return new DdsError(ErrorCodes.INTEGRITY, `malformed ${what}: ${detail}`, data === undefined ? {} : { data })
}

export function decodeNode (bytes: Uint8Array, what = 'node'): unknown {
  // Canonical blocks of the common shape in one pass; the library for the rest (and for refusing).
  const direct = decodeDirect(bytes)
  if (direct !== undefined) return direct
  try {
    return dagCbor.decode(bytes)
  } catch (err) {
    throw new DdsError(ErrorCodes.INTEGRITY, `malformed ${what}: not dag-cbor`, { cause: err })
  }
}

type Obj = Record<string, unknown>

function obj (v: unknown, what: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array || CID.asCID(v) !== null) throw corrupt(what, 'not a map')
  return v as Obj
}
function str (o: Obj, k: string, what: string): string {
  const v = o[k]
  if (typeof v !== 'string') throw corrupt(what, `field '${k}' is not a string`)
  return v
}
function num (o: Obj, k: string, what: string): number {
  const v = o[k]
  if (typeof v !== 'number' || !Number.isFinite(v)) throw corrupt(what, `field '${k}' is not a number`)
  return v
}
function cid (v: unknown, what: string, k: string): CID {
  const c = CID.asCID(v)
  if (c === null) throw corrupt(what, `field '${k}' is not a link`)
  return c
}
function cidOrNull (v: unknown, what: string, k: string): CID | null {
  return v === null || v === undefined ? null : cid(v, what, k)
}
function list (o: Obj, k: string, what: string): unknown[] {
  const v = o[k]
  if (!Array.isArray(v)) throw corrupt(what, `field '${k}' is not a list`)
  return v
}
function bytesField (o: Obj, k: string, what: string): Uint8Array {
  const v = o[k]
  if (!(v instanceof Uint8Array)) throw corrupt(what, `field '${k}' is not bytes`)
  return v
}
function record<T> (o: Obj, k: string, what: string, each: (v: unknown) => T): Record<string, T> {
  const m = obj(o[k], what)
  const out: Record<string, T> = Object.create(null)
  // keys, not entries: a bundle manifest's paths are 100,000 pairs otherwise
  for (const key of Object.keys(m)) out[key] = each(m[key])
  return out
}


/** True when a block is a well-formed artifact root. */
export function isArtifactRoot (cid: CID, bytes: Uint8Array): boolean {
  if (cid.code !== 0x71) return false // dag-cbor
  try {
    toArtifactRoot(decodeNode(bytes, 'artifact'))
    return true
  } catch {
    return false
  }
}

export function toArtifactRoot (v: unknown): ArtifactRoot {
  const what = 'artifact root'
  const o = obj(v, what)
  // Any codec name parses (reading it then needs that codec: DDS_CODEC_MISSING otherwise); only its shape is checked here.
  const enc = str(o, 'enc', what)
  if (enc.length === 0 || enc.length > 64) throw corrupt(what, 'bad codec name')
  const size = num(o, 'size', what)
  if (!Number.isSafeInteger(size) || size < 0) throw corrupt(what, 'bad size')
  const root: ArtifactRoot = { enc, size }
  if (o.v !== undefined) {
    if (!(typeof o.v === 'string' && o.v.length > 0 && o.v.length <= 64) && !(typeof o.v === 'number' && Number.isSafeInteger(o.v) && o.v >= 0)) throw corrupt(what, 'bad codec version')
    root.v = o.v
  }
  if (o.type !== undefined) root.type = str(o, 'type', what)
  if (o.data !== undefined) {
    root.data = bytesField(o, 'data', what)
    if (root.data.byteLength !== size) throw corrupt(what, 'inline data does not match size')
  } else {
    const chunkSize = num(o, 'chunkSize', what)
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw corrupt(what, 'bad chunk size')
    const chunks = list(o, 'chunks', what).map((c) => cid(c, what, 'chunks'))
    if (chunks.length !== Math.ceil(size / chunkSize)) throw corrupt(what, 'chunk count does not match size')
    root.chunkSize = chunkSize
    root.chunks = chunks
  }
  return root
}

function toLoadRef (v: unknown): LoadRef {
  const what = 'load reference'
  const o = obj(v, what)
  return { path: str(o, 'path', what), evaluation: cidOrNull(o.evaluation, what, 'evaluation'), output: cid(o.output, what, 'output') }
}

const FILE_KINDS = new Set(['file', 'dir', 'tree', 'stat'])

function toFileRef (v: unknown): FileRef {
  const what = 'file reference'
  const o = obj(v, what)
  const kind = str(o, 'kind', what)
  if (!FILE_KINDS.has(kind)) throw corrupt(what, `unknown kind ${JSON.stringify(kind)}`)
  const digest = bytesField(o, 'digest', what)
  if (digest.byteLength !== 0 && digest.byteLength !== 32) throw corrupt(what, 'digest is not 32 bytes')
  return { path: str(o, 'path', what), kind: kind as FileKind, digest, size: num(o, 'size', what), mtime: num(o, 'mtime', what), ino: num(o, 'ino', what), dev: num(o, 'dev', what) }
}

function filesField (o: Obj, what: string): { files?: FileRef[] } {
  return o.files === undefined ? {} : { files: list(o, 'files', what).map(toFileRef) }
}

function toFunctionInfo (v: unknown): FunctionInfo {
  const what = 'function info'
  const o = obj(v, what)
  const out: FunctionInfo = { name: str(o, 'name', what) }
  if (o.file !== undefined) out.file = str(o, 'file', what)
  if (o.line !== undefined) out.line = num(o, 'line', what)
  if (o.column !== undefined) out.column = num(o, 'column', what)
  return out
}

export function toEvaluationRecord (v: unknown): EvaluationRecord {
  const what = 'evaluation record'
  const o = obj(v, what)
  const kind = str(o, 'kind', what)
  if (kind !== 'keep' && kind !== 'evaluate') throw corrupt(what, 'bad kind')
  return {
    kind,
    path: o.path === null ? null : str(o, 'path', what),
    fn: toFunctionInfo(o.fn),
    code: cid(o.code, what, 'code'),
    signature: bytesField(o, 'signature', what),
    inputs: list(o, 'inputs', what).map((c) => cid(c, what, 'inputs')),
    loads: list(o, 'loads', what).map(toLoadRef),
    ...filesField(o, what),
    calls: list(o, 'calls', what).map((c) => cid(c, what, 'calls')),
    output: cid(o.output, what, 'output'),
    started: num(o, 'started', what),
    duration: num(o, 'duration', what)
  }
}

export function toCodeManifest (v: unknown): CodeManifest {
  const what = 'code manifest'
  const o = obj(v, what)
  const out: CodeManifest = {
    algorithm: str(o, 'algorithm', what),
    entry: str(o, 'entry', what),
    declarations: record(o, 'declarations', what, (x) => { if (!(x instanceof Uint8Array)) throw corrupt(what, 'declaration hash is not bytes'); return x }),
    values: record(o, 'values', what, (x) => { if (!(x instanceof Uint8Array)) throw corrupt(what, 'value hash is not bytes'); return x }),
    packages: record(o, 'packages', what, (x) => { if (typeof x !== 'string') throw corrupt(what, 'package version is not a string'); return x }),
    unavailable: list(o, 'unavailable', what).map((x) => { if (typeof x !== 'string') throw corrupt(what, 'unavailable name is not a string'); return x })
  }
  if (o.pinned !== undefined) out.pinned = str(o, 'pinned', what)
  return out
}

export function toMemoEntry (v: unknown): MemoEntry {
  const what = 'memo entry'
  const o = obj(v, what)
  return { evaluation: cid(o.evaluation, what, 'evaluation'), output: cid(o.output, what, 'output'), loads: list(o, 'loads', what).map(toLoadRef), ...filesField(o, what), nested: o.nested !== false }
}

/** The latest moment a Date can hold, in ms after 1970. */
export const MAX_TIME = 8.64e15

/** How far ahead of this machine's clock a history time from elsewhere may be (clocks of two machines disagree a little). */
export const MAX_CLOCK_SKEW = 24 * 3600 * 1000

/**
 * True for a history time: a whole number of ms from 1970 that a Date can
 * hold. Anything else cannot be shown as a date (toISOString throws) and
 * would pin a path (every later value looking older).
 */
export function isMoment (time: number): boolean {
  return Number.isSafeInteger(time) && time >= 0 && time <= MAX_TIME
}

/** A history entry read from a store (local or remote): its time must be a moment too. */
export function toStoredHistoryEntry (v: unknown): HistoryEntry {
  const e = toHistoryEntry(v)
  if (!isMoment(e.time)) throw corrupt('history entry', `its time ${e.time} is not a moment a date can hold`, { time: e.time })
  return e
}

/** A history entry's shape (a bundle's too: its import checks the times itself, see bundle-checks.ts). */
export function toHistoryEntry (v: unknown): HistoryEntry {
  const what = 'history entry'
  const o = obj(v, what)
  const out: HistoryEntry = {
    time: num(o, 'time', what),
    evaluation: cidOrNull(o.evaluation, what, 'evaluation'),
    output: cidOrNull(o.output, what, 'output')
  }
  if (o.hit !== undefined) out.hit = o.hit === true
  if (o.imported !== undefined) out.imported = o.imported === true
  return out
}

/**
 * A decoded history entry that is already exactly one (its own fields, each
 * of its type) is kept as it is; anything else is checked and copied by
 * {@link toHistoryEntry}. A bundle of 100,000 paths makes no second object
 * per entry.
 */
function asHistoryEntry (v: unknown): HistoryEntry {
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const o = v as Record<string, unknown>
    let exact = typeof o.time === 'number' && Number.isFinite(o.time) && (o.evaluation === null || CID.asCID(o.evaluation) === o.evaluation) && (o.output === null || CID.asCID(o.output) === o.output)
    for (const k in o) {
      if (!exact) break
      if (k === 'hit' || k === 'imported') exact = typeof o[k] === 'boolean'
      else exact = k === 'time' || k === 'evaluation' || k === 'output'
    }
    if (exact) return o as unknown as HistoryEntry
  }
  return toHistoryEntry(v)
}

export function toBundleManifest (v: unknown): BundleManifest {
  const what = 'bundle manifest'
  const o = obj(v, what)
  if (o.format !== 'dds-bundle/1') throw new DdsError(ErrorCodes.BUNDLE_INVALID, 'not a dds bundle (unknown manifest format)', { data: { format: String(o.format) } })
  const paths = record(o, 'paths', what, (entries) => {
    if (!Array.isArray(entries)) throw corrupt(what, 'path entries are not a list')
    return entries.map(asHistoryEntry)
  })
  const out: BundleManifest = { format: 'dds-bundle/1', created: num(o, 'created', what), paths }
  if (o.blocks !== undefined) out.blocks = num(o, 'blocks', what)
  return out
}
