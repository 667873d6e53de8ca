/**
 * Naming what to look at: a path (its current value), `PATH@SEQ` (one of its
 * history entries) or a CID (an evaluation, or an artifact), resolved to the
 * history entry, evaluation record or artifact it names.
 */
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes, isDdsError } from '../../store/errors.js'
import { parseCID, DAG_CBOR_CODE } from '../../store/hash.js'
import { validatePath } from '../../store/paths.js'
import { requireTag, validateTag } from '../../store/tags.js'
import { decodeNode, toArtifactRoot, toEvaluationRecord, type EvaluationRecord, type PathEntry } from '../../store/records.js'
import type { Store } from '../../store/store.js'
import type { SourceOptions, TargetView } from './interface.js'
import { namespaceOf } from './source.js'

/** A target as parsed: a path with an optional history entry or tag, or a CID. */
export type Target =
  | { kind: 'path', path: string, seq?: number, tag?: string }
  | { kind: 'cid', cid: CID }

/**
 * Parse `PATH`, `PATH@SEQ`, `PATH@TAG` or a CID. A malformed `@SEQ` is a TypeError (a
 * misuse of the syntax); an invalid path or CID is DDS_PATH_INVALID or
 * DDS_CID_INVALID.
 *
 * @example
 * parseTarget('/data/clean@2') // { kind: 'path', path: '/data/clean', seq: 2 }
 */
export function parseTarget (text: string): Target {
  if (typeof text !== 'string') throw new TypeError('a target is a string: PATH, PATH@SEQ or a CID')
  if (text.startsWith('/')) {
    const at = text.lastIndexOf('@')
    if (at === -1) return { kind: 'path', path: validatePath(text) }
    const seq = text.slice(at + 1)
    if (/^[A-Za-z_]/.test(seq)) return { kind: 'path', path: validatePath(text.slice(0, at)), tag: validateTag(seq) }
    if (!/^\d{1,15}$/.test(seq)) throw new TypeError(`${JSON.stringify(text)}: the history entry after @ must be a sequence number`)
    return { kind: 'path', path: validatePath(text.slice(0, at)), seq: Number(seq) }
  }
  return { kind: 'cid', cid: parseCID(text) }
}

/**
 * The history entry a path target names: its head, entry `seq`, or the entry a tag names.
 * DDS_PATH_NOT_FOUND when the path holds no value there.
 */
export async function entryOf (store: Store, target: { path: string, seq?: number, tag?: string }, options: SourceOptions = {}): Promise<PathEntry> {
  if (target.tag !== undefined) {
    const tag = await requireTag(store.backend, target.tag, target.path)
    return await entryOf(store, { path: target.path, seq: tag.seq }, options)
  }
  const ns = namespaceOf(store, options)
  let entry: PathEntry | undefined
  for await (const e of ns.history(target.path, target.seq === undefined ? { limit: 1 } : {})) {
    if (target.seq === undefined || e.seq === target.seq) { entry = e; break }
    if (e.seq < target.seq) break
  }
  if (entry === undefined || entry.evaluation === null) {
    const where = target.seq === undefined ? '' : ` at history entry ${target.seq}`
    throw new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${target.path} holds no value${where}`, { data: { path: target.path, ...(target.seq === undefined ? {} : { seq: target.seq }) } })
  }
  return entry
}

async function node (store: Store, cid: CID): Promise<unknown> {
  const bytes = await store.getBlock(cid)
  if (bytes === undefined) throw new DdsError(ErrorCodes.NOT_FOUND, `${cid.toString()} is not in the store`, { data: { cid: cid.toString() } })
  if (cid.code !== DAG_CBOR_CODE) return undefined
  return decodeNode(bytes)
}

/** `fn(v)`, or undefined when `v` is not of that shape. */
function shaped<T> (fn: (v: unknown) => T, v: unknown): T | undefined {
  try {
    return fn(v)
  } catch (err) {
    if (isDdsError(err)) return undefined
    throw err
  }
}

/** The evaluation a target names (a path's head or entry, or an evaluation CID), with its record. */
export async function evaluationOf (store: Store, target: Target, options: SourceOptions = {}): Promise<{ evaluation: CID, record: EvaluationRecord, entry?: PathEntry }> {
  if (target.kind === 'path') {
    const entry = await entryOf(store, target, options)
    const evaluation = entry.evaluation as CID
    return { evaluation, record: await store.getEvaluation(evaluation), entry }
  }
  const record = shaped(toEvaluationRecord, await node(store, target.cid))
  if (record === undefined) throw new DdsError(ErrorCodes.NOT_FOUND, `${target.cid.toString()} is not an evaluation`, { data: { cid: target.cid.toString() } })
  return { evaluation: target.cid, record }
}

/** The artifact a target names: a path's value, an evaluation's output, or an artifact CID itself. */
export async function artifactOf (store: Store, target: Target, options: SourceOptions = {}): Promise<CID> {
  return parseCID((await resolve(store, target, options)).output)
}

/** What a target names, as data. */
async function resolve (store: Store, target: Target, options: SourceOptions): Promise<TargetView> {
  if (target.kind === 'path') {
    const entry = await entryOf(store, target, options)
    return { kind: 'evaluation', evaluation: (entry.evaluation as CID).toString(), output: (entry.output as CID).toString(), path: target.path, seq: entry.seq }
  }
  const v = await node(store, target.cid)
  if (shaped(toArtifactRoot, v) !== undefined) return { kind: 'artifact', evaluation: null, output: target.cid.toString(), path: null, seq: null }
  const record = shaped(toEvaluationRecord, v)
  if (record !== undefined) return { kind: 'evaluation', evaluation: target.cid.toString(), output: record.output.toString(), path: record.path, seq: null }
  throw new DdsError(ErrorCodes.NOT_FOUND, `${target.cid.toString()} is neither an artifact nor an evaluation`, { data: { cid: target.cid.toString() } })
}

/**
 * Resolve `PATH`, `PATH@SEQ` or a CID to what it names: the evaluation and
 * its output, or an artifact. DDS_PATH_NOT_FOUND for a path with no value
 * there, DDS_NOT_FOUND for a CID the store lacks or that is neither.
 *
 * @example
 * const t = await resolveTarget(store, '/data/clean@2')
 * // { kind: 'evaluation', evaluation: 'bafyrei…', output: 'bafyrei…', path: '/data/clean', seq: 2 }
 */
export async function resolveTarget (store: Store, target: string | Target, options: SourceOptions = {}): Promise<TargetView> {
  return await resolve(store, typeof target === 'string' ? parseTarget(target) : target, options)
}

/** What is stored under an argument's identity: its canonical form (small arguments), or the artifact of a kept value passed as such. */
export async function inputValue (store: Store, cid: CID): Promise<{ value: unknown } | { artifact: true } | undefined> {
  if (cid.code !== DAG_CBOR_CODE) return undefined
  try {
    const bytes = await store.getBlock(cid)
    if (bytes === undefined) return undefined
    const value = decodeNode(bytes)
    return shaped(toArtifactRoot, value) === undefined ? { value } : { artifact: true }
  } catch (err) {
    if (isDdsError(err)) return undefined
    throw err
  }
}
