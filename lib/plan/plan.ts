/**
 * `dds plan` as data: for every path (or those named), what its next keep
 * will do, from the working tree and the store, without running user code.
 * Each path is first judged alone (its code as the source says now, its
 * arguments where the script states them, the files it read, its stored
 * answers); then what changes flows down the lineage graph: a path below a
 * changing one may re-run (early cutoff may spare it).
 */
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from '../../store/errors.js'
import { DAG_CBOR_CODE, sha256Digest, SHA256_CODE } from '../../store/hash.js'
import { encodeManifest } from '../../store/canonical.js'
import type { CodeManifest, EvaluationRecord, PathEntry } from '../../store/records.js'
import type { Store } from '../../store/store.js'
import { sameBytes } from '../../store/util.js'
import { validatePath } from '../../store/paths.js'
import { StoreAnalyses } from '../analyses.js'
import { downstreamIn, valueEdges } from '../downstream.js'
import { ABSENT, fileHolds, currentDigest, projectRoot } from '../files/digest.js'
import { forceFromEnv, pathGlob } from '../force.js'
import { lineage } from '../graph.js'
import { changeView } from '../inspect/why.js'
import { memoKey } from '../value-hash.js'
import { compareInputs, type Change } from '../why.js'
import { Answers, under } from './answers.js'
import { staticArguments } from './args.js'
import { CodeReader, manifestEntry, sameManifest, type CodeOutlook } from './code.js'
import type { PathPlan, Plan, PlanOptions, PlanReason, PlanStatus } from './interface.js'

/** A path judged alone, with what the propagation needs. */
interface Judged {
  plan: PathPlan
  head: PathEntry
  code: CodeOutlook
  /** The value the path will hold differs from the one it holds (or may). */
  changes: boolean
}

const STATUSES: PlanStatus[] = ['will-run', 'revert-hit', 'may-run', 'unknown', 'up-to-date']

/** The files a record read whose content (or listing) is not what it was, read under `root`. */
function changedFiles (record: EvaluationRecord, root: string): Change[] {
  const out: Change[] = []
  for (const f of record.files ?? []) {
    const at = under(root, f)
    if (fileHolds(at)) continue
    out.push({ kind: 'file', change: currentDigest(at) === ABSENT ? 'removed' : 'changed', path: f.path, old: f })
  }
  return out
}

/** Which of `globs` selects a path; a named path without a wildcard must hold a value. */
function selection (globs: string[] | undefined, paths: Set<string>): (path: string) => boolean {
  if (globs === undefined || globs.length === 0) return () => true
  const tests = globs.map((g) => {
    if (!g.includes('*')) {
      validatePath(g)
      if (!paths.has(g)) throw new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${g} holds no value`, { data: { path: g } })
    }
    return pathGlob(g)
  })
  return (path) => tests.some((t) => t.test(path))
}

/** Manifests by CID, each decoded once in a plan (one of thousands of declarations takes milliseconds). */
type Manifests = (cid: CID) => Promise<CodeManifest>

async function judge (store: Store, manifests: Manifests, answers: Answers, reader: CodeReader, args: Map<string, CID[]>, forced: Array<[string, RegExp]>, head: PathEntry): Promise<Judged> {
  const evaluation = head.evaluation as CID
  const record = await store.getEvaluation(evaluation)
  const recordedDigest = record.code.code === DAG_CBOR_CODE && record.code.multihash.code === SHA256_CODE ? record.code.multihash.digest : undefined
  // Most functions did not change: their manifest is the recorded one, known from its CID without decoding it.
  const block = recordedDigest === undefined ? undefined : await store.getBlock(record.code)
  const entry = block === undefined ? undefined : manifestEntry(block)
  let code = entry === undefined || recordedDigest === undefined ? undefined : reader.unchanged(record.fn, entry, recordedDigest)
  // A change an earlier plan saw between the same two manifests: neither is decoded.
  if (code === undefined && entry !== undefined) code = reader.known(record.fn, entry, record.code)
  let manifest: CodeManifest | undefined
  if (code === undefined) {
    manifest = await manifests(record.code)
    code = reader.outlook(record.fn, manifest, recordedDigest, record.code)
    reader.remember(record.fn, manifest, record.code, code)
  }
  const base = { path: head.path, evaluation: evaluation.toString(), duration: record.duration }
  const done = (status: PlanStatus, reasons: PlanReason[], changes: boolean, answer?: CID): Judged =>
    ({ plan: { ...base, status, reasons, ...(answer === undefined ? {} : { answer: answer.toString() }) }, head, code, changes })

  const glob = forced.find(([, re]) => re.test(head.path))
  const inputs = args.get(head.path) ?? record.inputs
  const changes: Change[] = [...code.changes, ...compareInputs(record.inputs, inputs), ...changedFiles(record, reader.root)]
  const reasons: PlanReason[] = changes.map(changeView)
  if (manifest?.pinned !== undefined) reasons.push({ kind: 'pinned', change: 'unknown', version: manifest.pinned })
  // (digest first: a manifest known from its CID is built only when asked for)
  if (code.digest === undefined && code.manifest === undefined) {
    return done('unknown', [...reasons, { kind: 'function', change: 'not-found', name: record.fn.name, file: record.fn.file ?? null }], true)
  }
  if (glob !== undefined) return done('will-run', [{ kind: 'forced', change: 'forced', glob: glob[0] }, ...reasons], true)
  const runtime: PlanReason[] = code.runtime.map((name) => ({ kind: 'runtime-value', change: 'unknown', name }))
  if (code.digest === undefined) {
    // A value the recorded run did not read is part of the signature now: it differs, whatever its value.
    return done('will-run', reasons, true)
  }
  let key = memoKey(code.digest, inputs)
  if (code.fromRecord === true && changes.length === 0 && !sameBytes(key, record.signature) && code.manifest !== undefined) {
    // A block not in canonical form has another digest than the run's: compute it.
    code.digest = sha256Digest(encodeManifest(code.manifest))
    key = memoKey(code.digest, inputs)
  }
  // Nothing differs, so a run would compute the recorded signature: if this one is another, the analysis here is not the run's.
  if (changes.length === 0 && !sameBytes(key, record.signature)) return done('unknown', [{ kind: 'signature', change: 'not-reproduced' }, ...runtime], true)
  const answer = await answers.find(head.path, key)
  if (answer === undefined) {
    if (sameBytes(key, record.signature)) {
      reasons.push(await answers.refused(head.path, evaluation) ? { kind: 'invalidated', change: 'invalidated' } : { kind: 'no-answer', change: 'missing' })
      for (const l of await answers.changedLoads(record.loads)) reasons.push({ kind: 'load', change: 'changed', path: l.path, old: { path: l.path, evaluation: l.evaluation?.toString() ?? null, output: l.output.toString() } })
    }
    return done('will-run', reasons, true)
  }
  // An answer found with run-time values assumed unchanged holds only if they are.
  if (runtime.length > 0 || manifest?.pinned !== undefined) return done('unknown', [...reasons, ...runtime], true)
  if (answer.evaluation.equals(evaluation)) return done('up-to-date', reasons, false)
  return done('revert-hit', reasons, !answer.output.equals(head.output as CID), answer.evaluation)
}

/**
 * True when an earlier evaluation of the path ran the code a run would hash
 * now (`code.digest`, of `code.manifest`, read only when a recorded block
 * must be compared): with upstream values reverting too, it answers.
 */
async function ranBefore (store: Store, manifests: Manifests, path: string, code: CodeOutlook & { digest: Uint8Array }): Promise<boolean> {
  const digest = code.digest
  for await (const e of store.history(path)) {
    if (e.evaluation === null) continue
    const record = await store.getEvaluation(e.evaluation)
    // The block's own digest, when it is the one asked for, says it without decoding (a block not in canonical form is encoded again).
    if (record.code.code === DAG_CBOR_CODE && record.code.multihash.code === SHA256_CODE && sameBytes(record.code.multihash.digest, digest)) return true
    // The recorded manifest the plan compared (the head's) differs: no need to decode it again.
    if (code.differsFrom?.equals(record.code) === true) continue
    const recorded = await manifests(record.code)
    // Field by field, stopping at the first difference; equal fields encode to equal bytes.
    const manifest = code.manifest
    if (manifest !== undefined ? sameManifest(recorded, manifest) : sameBytes(sha256Digest(encodeManifest(recorded)), digest)) return true
  }
  return false
}

/**
 * What the next run will do, path by path: will re-run (and why), revert
 * hit, may re-run (only upstream changes), unknown (values only a run can
 * read, named), up to date; with the sum of the recorded durations of what
 * will re-run. Reads the working tree of `options.root` (default: the
 * project root above the working directory) and never runs user code. DDS_PATH_NOT_FOUND for a named path
 * (not a glob) that holds no value.
 *
 * @example
 * const p = await plan(store, { paths: ['/weather/*'] })
 * p.paths.filter((x) => x.status === 'will-run').map((x) => x.path) // ['/weather/model']
 */
export async function plan (store: Store, options: PlanOptions = {}): Promise<Plan> {
  const heads: PathEntry[] = []
  for await (const e of store.paths()) if (e.evaluation !== null) heads.push(e)
  const selected = selection(options.paths, new Set(heads.map((h) => h.path)))
  const forced: Array<[string, RegExp]> = (options.force ?? forceFromEnv()).map((g) => [g, pathGlob(g)])
  const root = options.root ?? projectRoot()
  if (typeof root !== 'string' || root === '') throw new TypeError('root must be a non-empty path')
  const analyses = new StoreAnalyses(store.backend)
  const reader = new CodeReader(root, analyses)
  const answers = new Answers(store, root)
  const args = staticArguments(root, heads.map((h) => h.path), analyses)
  const decoded = new Map<string, Promise<CodeManifest>>()
  const manifests: Manifests = (cid) => {
    const key = cid.toString()
    let m = decoded.get(key)
    if (m === undefined) decoded.set(key, m = store.getManifest(cid))
    return m
  }
  const judged = new Map<string, Judged>()
  for (const head of heads) judged.set(head.path, await judge(store, manifests, answers, reader, args, forced, head))

  const changing = [...judged.values()].filter((j) => j.changes)
  if (changing.length > 0) {
    const graph = await lineage(store)
    graph.edges.push(...await valueEdges(store, graph))
    // Whether a path's new code ran before does not depend on which upstream path changes.
    const ran = new Map<string, Promise<boolean>>()
    const ranBeforeOnce = (path: string, code: CodeOutlook & { digest: Uint8Array }): Promise<boolean> => {
      let r = ran.get(path)
      if (r === undefined) ran.set(path, r = ranBefore(store, manifests, path, code))
      return r
    }
    for (const up of changing) {
      for (const path of downstreamIn(graph, [up.plan.path])) {
        const j = judged.get(path)
        if (j === undefined || j.plan.status === 'unknown') continue
        // A path forced or invalidated runs whatever comes from upstream; one whose code changed may be a revert hit once upstream reverts too.
        if (j.plan.status === 'will-run' && !(j.code.digest !== undefined && !j.plan.reasons.some((r) => r.kind === 'forced' || r.kind === 'invalidated') && await ranBeforeOnce(path, j.code as CodeOutlook & { digest: Uint8Array }))) continue
        j.plan.status = 'may-run'
        if (!j.plan.reasons.some((r) => r.kind === 'upstream' && r.path === up.plan.path)) j.plan.reasons.push({ kind: 'upstream', change: 'may-change', path: up.plan.path })
        j.changes = true
      }
    }
  }
  // The analyses kept for the next plan are written before the caller closes the store.
  await analyses.settle()
  const paths = [...judged.values()].map((j) => j.plan).filter((p) => selected(p.path))
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<PlanStatus, number>
  for (const p of paths) counts[p.status]++
  const estimate = paths.filter((p) => p.status === 'will-run').reduce((a, p) => a + p.duration, 0)
  return { paths, counts, estimate }
}
