/**
 * Whether the store has an answer for a memo key that a keep run now would
 * take: the entry must not be refused (invalidated) for the path, the paths
 * it loaded must hold the same values and the files it read the same
 * content; else an earlier evaluation that saw exactly the current ones
 * (the second memo key) may answer. The same rule as the run's lookup, read
 * without running anything.
 */
import { isAbsolute, join } from 'node:path'
import type { CID } from 'multiformats/cid'
import type { FileRef, MemoEntry, LoadRef } from '../../store/records.js'
import type { Store } from '../../store/store.js'
import { dependenciesKey } from '../../store/memo-keys.js'
import { currentDigest, filesHold } from '../files/digest.js'
import { ForceRules } from '../force.js'
import { isTaggedLoad, taggedOutput } from '../tagged.js'

/**
 * A recorded file as it is found under `root` (recorded paths are relative
 * to the project root of the run): only for reading its digest, never for a key.
 *
 * @example
 * under('/p', ref).path // '/p/data/input.txt'
 */
export function under (root: string, ref: FileRef): FileRef {
  return isAbsolute(ref.path) ? ref : { ...ref, path: join(root, ref.path) }
}

/** What no annotation marks: refusals are then only those stored by invalidate and rm. */
const PLAIN = (): void => {}

/**
 * Answers lookups for one plan, with the current outputs of paths read once.
 *
 * @example
 * const answers = new Answers(store, '/p')
 * const entry = await answers.find('/weather/clean', record.signature)
 */
export class Answers {
  readonly #store: Store
  readonly #force: ForceRules
  readonly #outputs = new Map<string, Promise<CID | undefined>>()
  readonly #root: string

  constructor (store: Store, root: string) {
    this.#store = store
    this.#root = root
    this.#force = new ForceRules(store.backend, [])
  }

  /** True when the answers `evaluation` gave are refused for `path` (dds invalidate, dds rm). */
  async refused (path: string, evaluation: CID): Promise<boolean> {
    return await this.#force.refuses(path, PLAIN, evaluation)
  }

  /** The output `path` holds now (a tagged load: the tagged output). */
  async output (path: string): Promise<CID | undefined> {
    let p = this.#outputs.get(path)
    if (p === undefined) {
      p = isTaggedLoad(path) ? taggedOutput(this.#store.backend, path) : this.#store.head(path).then((h) => h?.output ?? undefined)
      this.#outputs.set(path, p)
    }
    return await p
  }

  /** The memo entry a keep of `path` with memo key `key` would take now, if any. */
  async find (path: string, key: Uint8Array): Promise<MemoEntry | undefined> {
    const entry = await this.#store.peekMemo(key)
    if (entry === undefined) return undefined
    if (await this.#holds(path, entry)) return entry
    const current: Array<{ path: string, output: CID }> = []
    for (const l of entry.loads) {
      const now = await this.output(l.path)
      if (now === undefined) return undefined
      current.push({ path: l.path, output: now })
    }
    const second = dependenciesKey(key, current, entry.files === undefined ? undefined : entry.files.map((f) => ({ path: f.path, kind: f.kind, digest: currentDigest(under(this.#root, f)) })))
    const alt = second === undefined ? undefined : await this.#store.peekMemo(second)
    return alt !== undefined && await this.#holds(path, alt) ? alt : undefined
  }

  /** The loads of a recorded evaluation whose paths hold other values now. */
  async changedLoads (loads: readonly LoadRef[]): Promise<LoadRef[]> {
    const out: LoadRef[] = []
    for (const l of loads) {
      const now = await this.output(l.path)
      if (now === undefined || !now.equals(l.output)) out.push(l)
    }
    return out
  }

  async #holds (path: string, entry: MemoEntry): Promise<boolean> {
    if (await this.refused(path, entry.evaluation)) return false
    return (await this.changedLoads(entry.loads)).length === 0 && filesHold(entry.files?.map((f) => under(this.#root, f)))
  }
}
