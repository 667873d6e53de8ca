/**
 * The memo index part: memo key -> the evaluation that answers it, with the
 * output and the loads it depended on. The entry's shape is derived from the
 * evaluation record here and nowhere else (a run, an import and a remote
 * answer file the same entry). Also stages an evaluation: its code manifest,
 * record and memo entries, to go in one batch.
 */
import type { CID } from 'multiformats/cid'
import { encodeCanonical } from './canonical.js'
import { decodeNode, encodeNode, toMemoEntry, type CodeManifest, type EvaluationRecord, type MemoEntry } from './records.js'
import { quickGet } from './blocks.js'
import { remember } from './cache.js'
import { isDdsError } from './errors.js'
import { dependenciesKey } from './memo-keys.js'
import { sameBytes, sameCid } from './util.js'
import type { Nodes } from './nodes.js'
import type { Backend, BatchOp, MemoReader, Staged } from './interface.js'

/** The memo entry that files `evaluation` (whose record is `record`). */
export function memoEntryOf (evaluation: CID, record: Pick<EvaluationRecord, 'output' | 'loads' | 'files' | 'calls'>): MemoEntry {
  return { evaluation, output: record.output, loads: record.loads, ...(record.files === undefined ? {} : { files: record.files }), nested: record.calls.length > 0 }
}

/**
 * Why a memo entry filed under `key` is not the one its evaluation's record
 * files, or undefined when it is. An entry is a claim nobody can check without
 * running the code, but it can at least be held to its own record: the key
 * must be one the record answers (its signature, or that with the values it
 * loaded and the files it read) and the output, loads and files must be the
 * record's, so that an entry rewritten to point at another valid artifact is
 * not served.
 *
 * @example
 * const why = memoMismatch(key, entry, await store.getEvaluation(entry.evaluation))
 * if (why !== undefined) console.error(`memo entry ${hex(key)}: ${why}`)
 */
export function memoMismatch (key: Uint8Array, entry: MemoEntry, record: EvaluationRecord): string | undefined {
  if (!sameBytes(key, record.signature) && !sameBytes(key, dependenciesKey(record.signature, record.loads, record.files))) {
    return `its key is not one its evaluation ${entry.evaluation.toString()} answers`
  }
  if (!sameCid(entry.output, record.output)) return `it names output ${entry.output.toString()}, its evaluation produced ${record.output.toString()}`
  const expected = memoEntryOf(entry.evaluation, record)
  // `nested: true` on a record without calls only costs a walk (entries from before the flag read so).
  if (!entry.nested && expected.nested) return 'it says its evaluation called no nested keep, its record lists calls'
  if (!sameBytes(encodeNode({ ...entry, nested: expected.nested }), encodeNode(expected))) return 'its loads or files are not its evaluation\'s'
  return undefined
}

/** The memo keys an evaluation answers: its signature, and that key with its loads and files when it has any. */
export function memoKeysOf (record: Pick<EvaluationRecord, 'signature' | 'loads' | 'files'>): Uint8Array[] {
  const second = dependenciesKey(record.signature, record.loads, record.files)
  return second === undefined ? [record.signature] : [record.signature, second]
}

/** True when `key` is one of the memo keys the record claims to answer. */
export function answersKey (record: Pick<EvaluationRecord, 'signature' | 'loads' | 'files'>, key: Uint8Array): boolean {
  return memoKeysOf(record).some((k) => sameBytes(k, key))
}

/** The batch operation that files a memo entry under `key`. */
export function memoPut (key: Uint8Array, entry: MemoEntry): BatchOp {
  return { type: 'put', space: 'memo', key, value: encodeCanonical(entry) }
}

/** The local memo index of a store. */
export class LocalMemo implements MemoReader {
  readonly #backend: Backend
  readonly #nodes: Nodes
  readonly #check: () => void
  /**
   * The last decoded entry per key, reused while the stored bytes are the
   * same; `entry` is undefined for an entry found untrustworthy, so that the
   * check against the record runs once per entry per process.
   */
  readonly #memos = new Map<string, { raw: Uint8Array, entry: MemoEntry | undefined }>()

  constructor (backend: Backend, nodes: Nodes, check: () => void) {
    this.#backend = backend
    this.#nodes = nodes
    this.#check = check
  }

  /**
   * Stage an evaluation: the code manifest, the record and the memo entries
   * under `memoKeys`, into `pending` (to be written in one batch).
   */
  async stageEvaluation (manifest: CodeManifest, record: Omit<EvaluationRecord, 'code'>, memoKeys: Uint8Array[], pending: Staged): Promise<{ evaluation: CID, code: CID }> {
    const code = await this.#nodes.stageNode(manifest, pending)
    const full: EvaluationRecord = { ...record, code }
    const evaluation = await this.#nodes.stageNode(full, pending)
    const entry = memoEntryOf(evaluation, full)
    for (const key of memoKeys) pending.add(memoPut(key, entry))
    return { evaluation, code }
  }

  /**
   * The memo entry under a key, or undefined. An entry that cannot be decoded,
   * whose evaluation record is gone or damaged, or that disagrees with that
   * record ({@link memoMismatch}) is no answer: the call is computed again and
   * its fresh entry replaces the bad one.
   */
  async lookupMemo (key: Uint8Array): Promise<MemoEntry | undefined> {
    this.#check()
    const v = await quickGet(this.#backend, 'memo', key)
    if (v === undefined) return undefined
    const k = Buffer.from(key).toString('latin1')
    const known = this.#memos.get(k)
    if (known !== undefined && sameBytes(known.raw, v)) return known.entry
    const entry = await this.#trusted(key, v)
    remember(this.#memos, k, { raw: v, entry })
    return entry
  }

  async #trusted (key: Uint8Array, raw: Uint8Array): Promise<MemoEntry | undefined> {
    try {
      const entry = toMemoEntry(decodeNode(raw, 'memo entry'))
      return memoMismatch(key, entry, await this.#nodes.getEvaluation(entry.evaluation)) === undefined ? entry : undefined
    } catch (err) {
      if (isDdsError(err, 'DDS_INTEGRITY') || isDdsError(err, 'DDS_NOT_FOUND')) return undefined
      throw err
    }
  }

  /** Every memo entry (streamed). */
  async * memoEntries (): AsyncIterable<{ key: Uint8Array, entry: MemoEntry }> {
    this.#check()
    for await (const [key, value] of this.#backend.entries('memo')) {
      yield { key, entry: toMemoEntry(decodeNode(value, 'memo entry')) }
    }
  }

  async deleteMemo (keys: Uint8Array[]): Promise<void> {
    await this.#backend.batch(keys.map((key) => ({ type: 'del' as const, space: 'memo' as const, key })))
  }
}
