/**
 * "Why did it re-run": what differs between two evaluations, named precisely
 * (which declaration in which file, which runtime value, which package
 * version, which argument, which upstream path), from their records and code
 * manifests.
 */
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from '../store/errors.js'
import { validatePath } from '../store/paths.js'
import type { Store } from '../store/store.js'
import { sameBytes } from '../store/util.js'
import type { CodeManifest, EvaluationRecord, FileRef, LoadRef, PathEntry } from '../store/records.js'

/** How one named thing differs. */
export type Delta = 'changed' | 'added' | 'removed'

/** One difference between two evaluations. */
export type Change =
  /** A declaration the function reaches (`src/clean.ts#normalize`) was edited, newly reached or no longer reached. */
  | { kind: 'declaration', change: Delta, name: string, file: string | undefined, declaration: string }
  /** A runtime value the code reads (`src/config.ts#N`, `closure:factor`) has another value. */
  | { kind: 'value', change: Delta, name: string }
  /** An imported package has another version, or is newly or no longer imported. */
  | { kind: 'package', change: Delta, name: string, old?: string, new?: string }
  /** A name the analysis could not read appeared or disappeared. */
  | { kind: 'unavailable', change: Delta, name: string }
  /** The version pinned by hand changed. */
  | { kind: 'pinned', change: Delta, old?: string, new?: string }
  /** The signature algorithm changed (a dds-ts upgrade). */
  | { kind: 'algorithm', change: 'changed', old: string, new: string }
  /** An argument (by position) has another identity. */
  | { kind: 'argument', change: Delta, index: number, old?: CID, new?: CID }
  /** An upstream path the function loaded held another value. */
  | { kind: 'load', change: Delta, path: string, old?: LoadRef, new?: LoadRef }
  /** A file the function read has other content (a directory: other names), or was newly or no longer read. */
  | { kind: 'file', change: Delta, path: string, old?: FileRef, new?: FileRef }
  /** A nested keep produced another evaluation (a consequence, listed for completeness). */
  | { kind: 'call', change: Delta, path: string, old?: CID, new?: CID }
  /** The function itself was renamed or moved. */
  | { kind: 'function', change: 'changed', field: 'name' | 'file' | 'line', old: string, new: string }

/** One side of a comparison. */
export interface Side {
  evaluation: CID
  record: EvaluationRecord
  manifest: CodeManifest
  /** History sequence number, when the side was taken from the path's history. */
  seq?: number
  /** When the history entry was committed. */
  time?: number
}

export interface Comparison {
  old: Side
  new: Side
  /** Same memo key: same code signature and same arguments. */
  sameSignature: boolean
  /** Nothing differs: same signature and same loaded values (a re-run for another reason). */
  identical: boolean
  changes: Change[]
}

export interface WhyResult extends Comparison {
  path: string
}

/** A history sequence number of the path, or an evaluation CID. */
export type EvaluationRef = number | CID

/** The names whose entries differ between `a` and `b` (in one only, or unequal), sorted: a manifest's thousands of equal names are not sorted. */
function differing<T> (a: Record<string, T>, b: Record<string, T>, same: (x: T, y: T) => boolean): string[] {
  const out: string[] = []
  for (const k of Object.keys(a)) if (!Object.hasOwn(b, k) || !same(a[k] as T, b[k] as T)) out.push(k)
  for (const k of Object.keys(b)) if (!Object.hasOwn(a, k)) out.push(k)
  return out.sort()
}

function fileOf (declaration: string): { file: string | undefined, declaration: string } {
  const i = declaration.lastIndexOf('#')
  return i === -1 ? { file: undefined, declaration } : { file: declaration.slice(0, i), declaration: declaration.slice(i + 1) }
}

function delta (inOld: boolean, inNew: boolean): Delta {
  return inOld && inNew ? 'changed' : inNew ? 'added' : 'removed'
}

/** The differences between two code manifests. */
export function compareManifests (a: CodeManifest, b: CodeManifest): Change[] {
  const out: Change[] = []
  if (a.algorithm !== b.algorithm) out.push({ kind: 'algorithm', change: 'changed', old: a.algorithm, new: b.algorithm })
  if (a.pinned !== b.pinned) {
    out.push({ kind: 'pinned', change: delta(a.pinned !== undefined, b.pinned !== undefined), ...(a.pinned === undefined ? {} : { old: a.pinned }), ...(b.pinned === undefined ? {} : { new: b.pinned }) })
  }
  const has = (o: object, k: string): boolean => Object.hasOwn(o, k)
  for (const name of differing(a.declarations, b.declarations, sameBytes)) {
    out.push({ kind: 'declaration', change: delta(has(a.declarations, name), has(b.declarations, name)), name, ...fileOf(name) })
  }
  for (const name of differing(a.values, b.values, sameBytes)) {
    out.push({ kind: 'value', change: delta(has(a.values, name), has(b.values, name)), name })
  }
  for (const name of differing(a.packages, b.packages, (x, y) => x === y)) {
    const x = has(a.packages, name) ? a.packages[name] : undefined
    const y = has(b.packages, name) ? b.packages[name] : undefined
    out.push({ kind: 'package', change: delta(x !== undefined, y !== undefined), name, ...(x === undefined ? {} : { old: x }), ...(y === undefined ? {} : { new: y }) })
  }
  const ua = new Set(a.unavailable)
  const ub = new Set(b.unavailable)
  for (const name of [...new Set([...ua, ...ub])].sort()) {
    if (ua.has(name) !== ub.has(name)) out.push({ kind: 'unavailable', change: ub.has(name) ? 'added' : 'removed', name })
  }
  return out
}

/** The arguments, by position, whose identities differ between two calls. */
export function compareInputs (a: readonly CID[], b: readonly CID[]): Change[] {
  const out: Change[] = []
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i]
    const y = b[i]
    if (x !== undefined && y !== undefined && x.equals(y)) continue
    out.push({ kind: 'argument', change: delta(x !== undefined, y !== undefined), index: i, ...(x === undefined ? {} : { old: x }), ...(y === undefined ? {} : { new: y }) })
  }
  return out
}

/** The differences between two evaluation records (arguments, loads, calls, function), given their manifests' differences. */
async function compareRecords (store: Store, a: EvaluationRecord, b: EvaluationRecord): Promise<Change[]> {
  const out: Change[] = compareInputs(a.inputs, b.inputs)
  const la = new Map(a.loads.map((l) => [l.path, l]))
  const lb = new Map(b.loads.map((l) => [l.path, l]))
  for (const path of [...new Set([...la.keys(), ...lb.keys()])].sort()) {
    const x = la.get(path)
    const y = lb.get(path)
    if (x !== undefined && y !== undefined && x.output.equals(y.output)) continue
    out.push({ kind: 'load', change: delta(x !== undefined, y !== undefined), path, ...(x === undefined ? {} : { old: x }), ...(y === undefined ? {} : { new: y }) })
  }
  out.push(...compareFiles(a.files ?? [], b.files ?? []))
  const ca = await callsByPath(store, a.calls)
  const cb = await callsByPath(store, b.calls)
  for (const path of [...new Set([...ca.keys(), ...cb.keys()])].sort()) {
    const x = ca.get(path)
    const y = cb.get(path)
    if (x !== undefined && y !== undefined && x.equals(y)) continue
    out.push({ kind: 'call', change: delta(x !== undefined, y !== undefined), path, ...(x === undefined ? {} : { old: x }), ...(y === undefined ? {} : { new: y }) })
  }
  if (a.fn.name !== b.fn.name) out.push({ kind: 'function', change: 'changed', field: 'name', old: a.fn.name, new: b.fn.name })
  if ((a.fn.file ?? '') !== (b.fn.file ?? '')) out.push({ kind: 'function', change: 'changed', field: 'file', old: a.fn.file ?? '', new: b.fn.file ?? '' })
  return out
}

/** The files read by one evaluation and not the other, or with another digest. */
function compareFiles (a: FileRef[], b: FileRef[]): Change[] {
  const out: Change[] = []
  const fa = new Map(a.map((f) => [f.path, f]))
  const fb = new Map(b.map((f) => [f.path, f]))
  for (const path of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    const x = fa.get(path)
    const y = fb.get(path)
    if (x !== undefined && y !== undefined && x.kind === y.kind && sameBytes(x.digest, y.digest)) continue
    out.push({ kind: 'file', change: delta(x !== undefined, y !== undefined), path, ...(x === undefined ? {} : { old: x }), ...(y === undefined ? {} : { new: y }) })
  }
  return out
}

async function callsByPath (store: Store, calls: CID[]): Promise<Map<string, CID>> {
  const out = new Map<string, CID>()
  for (const c of calls) {
    const record = await store.getEvaluation(c).catch(() => undefined)
    out.set(record?.path ?? c.toString(), c)
  }
  return out
}

async function side (store: Store, evaluation: CID, entry?: PathEntry): Promise<Side> {
  const record = await store.getEvaluation(evaluation)
  const manifest = await store.getManifest(record.code)
  return { evaluation, record, manifest, ...(entry === undefined ? {} : { seq: entry.seq, time: entry.time }) }
}

/**
 * Compare two evaluations: what in the code, the arguments and the loaded
 * paths differs between them.
 *
 * @example
 * const c = await compareEvaluations(store, oldCid, newCid)
 * for (const ch of c.changes) if (ch.kind === 'declaration') console.log(ch.change, ch.name)
 */
export async function compareEvaluations (store: Store, oldEvaluation: CID, newEvaluation: CID): Promise<Comparison> {
  return await compareSides(store, await side(store, oldEvaluation), await side(store, newEvaluation))
}

/** The two sides `why` compares, chosen from the path's history; `old` is absent when the path has no other evaluation to compare with. */
export interface WhySides {
  old?: Side
  new: Side
}

/**
 * Choose the sides of a comparison as `why` does (see there), without
 * failing when there is no older evaluation: `old` is then absent.
 */
export async function whySides (store: Store, path: string, options: { old?: EvaluationRef, new?: EvaluationRef } = {}): Promise<WhySides> {
  validatePath(path)
  const entries: PathEntry[] = []
  for await (const e of store.history(path)) entries.push(e)
  const live = entries.filter((e) => e.evaluation !== null)
  if (live.length === 0) throw new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${path} holds no value`, { data: { path } })

  const pick = async (ref: EvaluationRef): Promise<Side> => {
    if (typeof ref === 'number') {
      const e = entries.find((x) => x.seq === ref)
      if (e === undefined || e.evaluation === null) {
        throw new DdsError(ErrorCodes.NOT_FOUND, `${path} has no value at history entry ${ref}`, { data: { path, seq: ref } })
      }
      return await side(store, e.evaluation, e)
    }
    const e = live.find((x) => (x.evaluation as CID).equals(ref))
    return await side(store, ref, e)
  }

  let newer: Side
  if (options.new !== undefined) newer = await pick(options.new)
  else {
    const head = entries[0] as PathEntry
    if (head.evaluation === null) throw new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${path} was deleted; name the evaluations to compare`, { data: { path } })
    newer = await side(store, head.evaluation, head)
  }
  if (options.old !== undefined) return { old: await pick(options.old), new: newer }
  const start = newer.seq === undefined ? 0 : live.findIndex((e) => e.seq === newer.seq) + 1
  const prev = live.slice(start).find((e) => !(e.evaluation as CID).equals(newer.evaluation))
  return prev === undefined ? { new: newer } : { old: await side(store, prev.evaluation as CID, prev), new: newer }
}

/**
 * Why a path was recomputed: compare two of its evaluations. By default the
 * newest value of the path and the one before it that came from another
 * evaluation; `old`/`new` select others by history sequence number or by
 * evaluation CID (`new` defaults to the current head). Throws
 * DDS_PATH_NOT_FOUND when the path has no value, DDS_NOT_FOUND when it has
 * no second evaluation to compare with or a sequence number is not in its
 * history.
 *
 * @example
 * const w = await why(store, '/data/clean')
 * if (w.identical) console.log('nothing changed: identical signature')
 */
export async function why (store: Store, path: string, options: { old?: EvaluationRef, new?: EvaluationRef } = {}): Promise<WhyResult> {
  const sides = await whySides(store, path, options)
  if (sides.old === undefined) {
    throw new DdsError(ErrorCodes.NOT_FOUND, `${path} has only one evaluation in its history: nothing to compare`, { data: { path } })
  }
  return { path, ...await compareSides(store, sides.old, sides.new) }
}

/** Compare two sides already read (as `whySides` chose them). */
export async function compareSides (store: Store, a: Side, b: Side): Promise<Comparison> {
  const changes = [...compareManifests(a.manifest, b.manifest), ...await compareRecords(store, a.record, b.record)]
  const sameSignature = sameBytes(a.record.signature, b.record.signature)
  const identical = a.evaluation.equals(b.evaluation) || (sameSignature && !changes.some((c) => c.kind === 'load' || c.kind === 'file'))
  return { old: a, new: b, sameSignature, identical, changes }
}
