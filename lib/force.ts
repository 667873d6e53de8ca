/**
 * Forced re-runs. Three ways to make a keep run its function although the
 * store has an answer: `dds invalidate` / `dds rm` (stored: the answers a
 * path held so far are refused for that path from then on), `DDS_FORCE` or
 * the `force` option of `open` (path globs, for one process), and
 * `annotate(fn, { force: true })` (that function, once per process). What
 * is forced runs once per path per process; the keeps below it still hit
 * when its value comes out the same (early cutoff), and history is kept.
 */
import type { CID } from 'multiformats/cid'
import { CID as CIDClass } from 'multiformats/cid'
import { decodeNode, encodeNode } from '../store/records.js'
import { text } from '../store/keys.js'
import type { Backend } from '../store/interface.js'
import { quickGet } from '../store/blocks.js'
import { sameBytes } from '../store/util.js'
import { validatePath } from '../store/paths.js'
import type { Store } from '../store/store.js'
import { annotationsOf } from './annotations.js'

const REFUSED_KEY = text.encode('refused')

/** Path -> the evaluations whose memo answers that path no longer takes. */
type Refused = Map<string, Set<string>>

/**
 * A glob over paths: `*` is any run of characters within a segment, `**`
 * any run across segments. TypeError for a glob that is not a path pattern.
 *
 * @example
 * pathGlob('/weather/*').test('/weather/model') // true
 */
export function pathGlob (glob: string): RegExp {
  if (typeof glob !== 'string' || !glob.startsWith('/')) throw new TypeError(`a force pattern is a path glob starting with /, got ${JSON.stringify(glob)}`)
  const body = glob.split(/(\*\*|\*)/).map((part) => part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('')
  return new RegExp(`^${body}$`)
}

/** The globs of `DDS_FORCE` (comma-separated), or none. */
export function forceFromEnv (env: string | undefined = process.env.DDS_FORCE): string[] {
  return env === undefined || env.trim() === '' ? [] : env.split(',').map((g) => g.trim()).filter((g) => g !== '')
}

function decodeRefused (raw: Uint8Array | undefined): Refused {
  const out: Refused = new Map()
  if (raw === undefined) return out
  const v = decodeNode(raw, 'refused answers') as Record<string, unknown>
  for (const [path, list] of Object.entries(v ?? {})) {
    if (!Array.isArray(list)) continue
    out.set(path, new Set(list.map((c) => CIDClass.asCID(c)?.toString()).filter((c): c is string => c !== undefined)))
  }
  return out
}

/**
 * Refuse, for each path, the memo answers of every evaluation its history
 * holds, so that its next keep runs the function. Returns the number of
 * evaluations refused per path. Takes the store's `refused` lock around the
 * read-modify-write.
 */
export async function refuseAnswers (store: Store, paths: string[]): Promise<Map<string, number>> {
  for (const p of paths) validatePath(p)
  const lock = await store.lock('refused')
  try {
    const refused = decodeRefused(await store.backend.get('meta', REFUSED_KEY, { fresh: true }))
    const counts = new Map<string, number>()
    for (const path of paths) {
      const set = refused.get(path) ?? new Set<string>()
      for await (const e of store.local.namespace.history(path)) if (e.evaluation !== null) set.add(e.evaluation.toString())
      refused.set(path, set)
      counts.set(path, set.size)
    }
    const node: Record<string, CID[]> = {}
    for (const [path, set] of [...refused].sort(([a], [b]) => (a < b ? -1 : 1))) node[path] = [...set].sort().map((c) => CIDClass.parse(c))
    await store.backend.batch([{ type: 'put', space: 'meta', key: REFUSED_KEY, value: encodeNode(node) }], { sync: true })
    return counts
  } finally {
    await lock.release()
  }
}

/** What one instance forces: its globs, annotated functions, and the refused answers in the store. */
export class ForceRules {
  readonly #backend: Backend
  readonly #globs: RegExp[]
  /** Paths already forced once in this process. */
  readonly #done = new Set<string>()
  #raw: Uint8Array | undefined
  #refused: Refused = new Map()

  constructor (backend: Backend, globs: string[]) {
    this.#backend = backend
    this.#globs = globs.map(pathGlob)
  }

  /** True when the memo answer `evaluation` must not serve this keep of `path` by `fn`. */
  async refuses (path: string, fn: Function, evaluation: CID): Promise<boolean> {
    if (!this.#done.has(path) && (annotationsOf(fn)?.force === true || this.#globs.some((g) => g.test(path)))) return true
    const refused = await this.#current()
    return refused.get(path)?.has(evaluation.toString()) === true
  }

  /** The path was computed: what forced it is spent for this process. */
  ran (path: string): void {
    this.#done.add(path)
  }

  async #current (): Promise<Refused> {
    // A synchronous read where the backend allows it: this is on the hit path.
    const raw = await quickGet(this.#backend, 'meta', REFUSED_KEY)
    if (!sameBytes(raw, this.#raw)) {
      this.#raw = raw
      this.#refused = decodeRefused(raw)
    }
    return this.#refused
  }
}
