/**
 * The code half of a plan: the manifest a run would compute now for the
 * function a record names, from the static part of the signature engine
 * (the same analysis a run does, read from the source on disk), with the
 * run-time values taken from the recorded manifest, since only a run can
 * read them.
 */
import { join } from 'node:path'
import { sha256Digest } from '../../store/hash.js'
import { encodeManifest } from '../../store/canonical.js'
import type { CodeManifest, FunctionInfo } from '../../store/records.js'
import type { CID } from 'multiformats/cid'
import { hex, sameBytes } from '../../store/util.js'
import { SignatureEngine } from '../signature/engine.js'
import { ALGORITHM, bareManifest, recordOf } from '../signature/manifest.js'
import type { AnalysisStore, StaticPart, ValueNeed } from '../signature/interface.js'
import { recordKey } from '../signature/persisted.js'
import { valueDigest } from '../value-hash.js'
import { literalValue, NOT_STATIC } from './literal.js'
import { compareManifests, type Change } from '../why.js'

/** The manifest a run would compute now, compared with the recorded one. */
export interface CodeOutlook {
  /** The manifest a run would compute, assuming its run-time values are those recorded; undefined when the function is not found. */
  manifest: CodeManifest | undefined
  /** Its digest (the code part of the memo key). */
  digest: Uint8Array | undefined
  /** What differs from the recorded manifest that the source alone decides. */
  changes: Change[]
  /** The run-time values the signature holds (their values only a run can read). */
  runtime: string[]
  /** The digest was taken from the recorded manifest's CID (the manifests are equal), not computed. */
  fromRecord?: boolean
  /** A recorded manifest, by CID, known to differ from this one (fields differ). */
  differsFrom?: CID
}

/**
 * Reads the working tree's code for recorded functions. One per plan: the
 * engine caches file indexes, so a file shared by many functions is parsed once.
 *
 * @example
 * const outlook = new CodeReader('/p').outlook(record.fn, manifest)
 * outlook.changes // [{ kind: 'declaration', change: 'changed', name: 'src/a.ts#helper', ... }]
 */
export class CodeReader {
  readonly #engine = new SignatureEngine({ inspector: false })

  /** Static parts by function place and entry, for this plan. */
  readonly #parts = new Map<string, StaticPart | undefined>()

  /** `analyses`: where persisted analyses are read and kept (a file whose bytes did not change is then not parsed again). */
  constructor (readonly root: string, readonly analyses?: AnalysisStore) {}

  #part (fn: FunctionInfo, entry: string): StaticPart | undefined {
    if (fn.file === undefined || fn.line === undefined || fn.column === undefined || fn.file.includes(':')) return undefined
    const key = JSON.stringify([fn.file, fn.line, fn.column, fn.name, entry])
    if (this.#parts.has(key)) return this.#parts.get(key)
    const part = this.#engine.staticAt(join(this.root, fn.file), fn.line, fn.column, fn.name, entry, this.analyses)
    this.#parts.set(key, part)
    return part
  }

  /**
   * The outlook of `fn` when a run would compute, with no run-time value,
   * exactly the recorded manifest: told from the recorded manifest's entry
   * and its CID's SHA-256 digest, without decoding it. Undefined otherwise
   * (then {@link CodeReader.outlook} compares field by field).
   */
  unchanged (fn: FunctionInfo, entry: string, recordedDigest: Uint8Array): CodeOutlook | undefined {
    const part = this.#part(fn, entry)
    if (part?.bare === undefined || !sameBytes(part.bare, recordedDigest)) return undefined
    // The manifest itself is built only if asked for (thousands of declarations make an object slow to build).
    let manifest: CodeManifest | undefined
    return { get manifest () { return (manifest ??= bareManifest(part)) }, digest: recordedDigest, changes: [], runtime: [] }
  }

  /**
   * The outlook of a changed function from what an earlier plan kept of the
   * comparison of the same two manifests: the recorded one by its CID, the
   * one a run would compute now by its digest, when that is the part's bare
   * manifest (no run-time value on either side). Nothing is decoded or
   * compared. Undefined when no such record is kept.
   */
  known (fn: FunctionInfo, entry: string, recorded: CID): CodeOutlook | undefined {
    const part = this.#part(fn, entry)
    if (part?.bare === undefined || this.analyses === undefined) return undefined
    const changes = keptChanges(this.analyses.get(comparisonKey(recorded, part.bare)))
    if (changes === undefined) return undefined
    let manifest: CodeManifest | undefined
    return { get manifest () { return (manifest ??= bareManifest(part)) }, digest: part.bare, changes, runtime: [], ...(changes.length > 0 ? { differsFrom: recorded } : {}) }
  }

  /** Keep the comparison {@link CodeReader.outlook} made of `recorded` (block `cid`), when {@link CodeReader.known} can answer it again. */
  remember (fn: FunctionInfo, recorded: CodeManifest, cid: CID, code: CodeOutlook): void {
    const part = this.#part(fn, recorded.entry)
    if (part?.bare === undefined || this.analyses === undefined || code.digest === undefined || !sameBytes(code.digest, part.bare)) return
    if (code.fromRecord === true || code.runtime.length > 0 || recorded.pinned !== undefined || Object.keys(recorded.values).length > 0) return
    this.analyses.put(comparisonKey(cid, part.bare), new TextEncoder().encode(JSON.stringify(code.changes)))
  }

  /**
   * The manifest a run of `fn` would compute now, against `recorded`;
   * `recordedDigest`: the SHA-256 of the recorded manifest's block, when its CID says it.
   */
  outlook (fn: FunctionInfo, recorded: CodeManifest, recordedDigest?: Uint8Array, recordedCid?: CID): CodeOutlook {
    // A pinned version replaces the code; the pin itself is read when the code runs.
    if (recorded.pinned !== undefined) return { manifest: recorded, digest: sha256Digest(encodeManifest(recorded)), changes: [], runtime: Object.keys(recorded.values) }
    const part = this.#part(fn, recorded.entry)
    if (part === undefined) return notFound()
    const values: Record<string, Uint8Array> = {}
    const unavailable = new Set(part.unavailable)
    const runtime: string[] = []
    for (const need of part.needs) {
      const v = recorded.values[need.label]
      const stated = this.#stated(need, !sameBytes(part.declarations.get(need.label), recorded.declarations[need.label]), v)
      if (stated !== undefined) values[need.label] = stated
      else if (v !== undefined) values[need.label] = v
      else if (recorded.unavailable.includes(need.label)) unavailable.add(need.label)
      // An optional value a run did not read stays out; a new required one is a change.
      else if (need.optional) continue
      else values[need.label] = NEW_VALUE
      if (stated === undefined) runtime.push(need.label)
    }
    // Explicit dependencies (`annotate(fn, { deps })`) are run-time values too.
    for (const [label, v] of Object.entries(recorded.values)) {
      if (!/^deps\[\d+\]$/.test(label)) continue
      values[label] = v
      runtime.push(label)
    }
    const manifest: CodeManifest = {
      algorithm: ALGORITHM,
      entry: part.entry,
      declarations: recordOf(part.declarations),
      values,
      packages: Object.fromEntries(part.packages),
      unavailable: [...unavailable].sort()
    }
    if (Object.values(values).includes(NEW_VALUE)) return { manifest, digest: undefined, changes: compareManifests(recorded, manifest), runtime: runtime.sort() }
    // With no value, the manifest is the part's bare one, whose digest a persisted analysis holds.
    const bare = part.bare !== undefined && Object.keys(values).length === 0 && unavailable.size === part.unavailable.size ? part.bare : undefined
    // The same manifest as recorded encodes to the recorded block (dag-cbor is canonical): its digest is the CID's, when that is SHA-256.
    const same = recordedDigest !== undefined && (bare !== undefined ? sameBytes(bare, recordedDigest) : sameManifest(recorded, manifest))
    if (same) return { manifest, digest: recordedDigest, changes: [], runtime: runtime.sort(), fromRecord: true }
    const changes = compareManifests(recorded, manifest)
    return { manifest, digest: bare ?? sha256Digest(encodeManifest(manifest)), changes, runtime: runtime.sort(), ...(changes.length > 0 && recordedCid !== undefined ? { differsFrom: recordedCid } : {}) }
  }

  /**
   * The digest of a module constant whose initialiser is a literal
   * (`const BOUNDS = { min: -60 }`): hashed by value because code could
   * mutate the object, but the source states it. A recorded value that
   * differs under an unchanged declaration was mutated at run time: then
   * only a run knows it.
   */
  #stated (need: ValueNeed, edited: boolean, recorded: Uint8Array | undefined): Uint8Array | undefined {
    const site = need.sites.find((s) => s.kind === 'module')
    if (site?.kind !== 'module' || site.member !== undefined) return undefined
    const b = this.#engine.indexOf(site.file)?.scopes.program.vars.get(site.name)
    if (b?.kind !== 'const' || b.decl.type !== 'VariableDeclarator' || b.decl.id?.type !== 'Identifier') return undefined
    const value = literalValue(b.decl.init)
    if (value === NOT_STATIC) return undefined
    let digest: Uint8Array
    try {
      digest = valueDigest(value, need.label, { mode: 'captured' })
    } catch {
      return undefined
    }
    if (recorded === undefined || sameBytes(digest, recorded)) return digest
    return edited ? digest : undefined
  }
}

/**
 * The entry key of a code manifest from its block, without decoding the
 * rest: dag-cbor orders map keys by length, so `entry` is the first field.
 * Undefined when the block does not start so (then it is decoded whole).
 *
 * @example
 * manifestEntry(block) // 'src/a.ts#train'
 */
export function manifestEntry (bytes: Uint8Array): string | undefined {
  let at = 0
  const head = (major: number): number | undefined => {
    const b = bytes[at++]
    if (b === undefined || b >> 5 !== major) return undefined
    const info = b & 31
    if (info < 24) return info
    if (info === 24 && at + 1 <= bytes.length) return bytes[at++]
    if (info === 25 && at + 2 <= bytes.length) { const n = (bytes[at]! << 8) | bytes[at + 1]!; at += 2; return n }
    if (info === 26 && at + 4 <= bytes.length) { const n = ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!; at += 4; return n }
    return undefined
  }
  const text = (): string | undefined => {
    const n = head(3)
    if (n === undefined || at + n > bytes.length) return undefined
    const s = at
    at += n
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(s, at))
    } catch {
      return undefined
    }
  }
  if (head(5) === undefined || text() !== 'entry') return undefined
  return text()
}

function sameEntries<T> (a: Record<string, T>, b: Record<string, T>, same: (x: T, y: T) => boolean): boolean {
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const k of keys) {
    const y = b[k]
    if (y === undefined || !same(a[k] as T, y)) return false
  }
  return true
}

/** Whether two manifests hold the same fields and values (then they encode to the same bytes). */
export function sameManifest (a: CodeManifest, b: CodeManifest): boolean {
  return a.algorithm === b.algorithm && a.entry === b.entry && a.pinned === b.pinned &&
    a.unavailable.length === b.unavailable.length && a.unavailable.every((u, i) => u === b.unavailable[i]) &&
    sameEntries(a.packages, b.packages, (x, y) => x === y) &&
    sameEntries(a.values, b.values, sameBytes) &&
    sameEntries(a.declarations, b.declarations, sameBytes)
}

/** Where the comparison of a recorded manifest (by CID) with a bare one (by digest) is kept. */
function comparisonKey (recorded: CID, bare: Uint8Array): Uint8Array {
  return recordKey(['dds-plan-comparison/1', recorded.toString(), hex(bare)])
}

const DELTAS: ReadonlySet<unknown> = new Set(['changed', 'added', 'removed'])
const optStr = (v: unknown): boolean => v === undefined || typeof v === 'string'

/** The changes a comparison record holds, each checked and rebuilt; undefined when absent or malformed (then the manifests are compared). */
function keptChanges (raw: Uint8Array | undefined): Change[] | undefined {
  if (raw === undefined) return undefined
  let list: unknown
  try {
    list = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw))
  } catch {
    return undefined
  }
  if (!Array.isArray(list)) return undefined
  const out: Change[] = []
  for (const c of list as Array<Record<string, unknown>>) {
    if (c === null || typeof c !== 'object' || !DELTAS.has(c.change)) return undefined
    const change = c.change as 'changed' | 'added' | 'removed'
    if (c.kind === 'declaration' && typeof c.name === 'string' && optStr(c.file) && typeof c.declaration === 'string') {
      out.push({ kind: 'declaration', change, name: c.name, file: c.file as string | undefined, declaration: c.declaration })
    } else if (c.kind === 'package' && typeof c.name === 'string' && optStr(c.old) && optStr(c.new)) {
      out.push({ kind: 'package', change, name: c.name, ...(c.old === undefined ? {} : { old: c.old as string }), ...(c.new === undefined ? {} : { new: c.new as string }) })
    } else if (c.kind === 'unavailable' && typeof c.name === 'string') {
      out.push({ kind: 'unavailable', change, name: c.name })
    } else if (c.kind === 'algorithm' && change === 'changed' && typeof c.old === 'string' && typeof c.new === 'string') {
      out.push({ kind: 'algorithm', change, old: c.old, new: c.new })
    } else return undefined
  }
  return out
}

/** The placeholder of a value the recorded run did not read: its digest is unknown, so is the signature's. */
const NEW_VALUE = new Uint8Array(0)

function notFound (): CodeOutlook {
  return { manifest: undefined, digest: undefined, changes: [], runtime: [] }
}
