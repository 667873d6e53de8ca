/**
 * Static analyses persisted between processes: the record of one function
 * location's analysis (its declarations, value needs, handles, warnings) with
 * the witnesses it depends on (the content digest of every file it read, the
 * mtimes of the directories its resolutions and project keys depend on, the
 * project's loaded modules), so that a fresh process that sees the same graph
 * only stats and hashes files, without loading the parser or the resolver.
 *
 * A record is used only when every witness still holds: each file is read and
 * hashed again (an edit that keeps the size and restores the mtime is still
 * seen), so what was analysed is byte for byte what is on disk. A directory's
 * mtime changes when an entry is created, removed or renamed in it, which is
 * what could make a specifier resolve elsewhere or a file get another project
 * root. Records come from the local store; a malformed one is a miss.
 */
import { readFileSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { hex } from '../../store/util.js'
import { sha256 } from './canonical.js'
import type { SourceFiles } from './files.js'
import type { AnalysisStore, LoadedFile, StaticAnalysis, StaticPart } from './interface.js'
import { decodeRecord, encodeRecord, FORMAT, type Witnesses } from './persisted-record.js'
import { packageNameOf } from './resolve.js'
import type { ProjectResolver, ResolvedImport } from './resolve.js'

export type { Witnesses } from './persisted-record.js'

/** Set by the bundler: the package version and a digest of the compiled code (the library's bundle and the CLI's share it). */
declare const __DDS_BUILD__: string | undefined

/**
 * The code that computes analyses: records written by another build of it
 * are not used (in the bundles, the build id; else this file's mtime).
 */
const BUILD = ((): string => {
  if (typeof __DDS_BUILD__ === 'string') return __DDS_BUILD__
  try {
    return String(statSync(fileURLToPath(import.meta.url)).mtimeMs)
  } catch {
    return 'unknown'
  }
})()

/** A digest placed in the key space of persisted analyses (`analysis/` and the digest). */
function analysisKey (digest: Uint8Array): Uint8Array {
  const prefix = new TextEncoder().encode('analysis/')
  const out = new Uint8Array(prefix.length + digest.length)
  out.set(prefix)
  out.set(digest, prefix.length)
  return out
}

/** A function location and the bytes of its file, for looking up and writing its record. */
export interface PersistKey {
  key: Uint8Array
  file: string
  bytes: Uint8Array
}

/**
 * The store key of the analysis of the function at `line`/`column` of `file`
 * as it is now on disk; `undefined` when the file cannot be read.
 *
 * @example
 * const k = persistKey('/p/src/a.ts', 3, 0, optionsKey, undefined, '1.0.0')
 */
export function persistKey (file: string, line: number, column: number, optionsKey: string, root: string | undefined, version: string): PersistKey | undefined {
  let bytes: Uint8Array
  try {
    bytes = readFileSync(file)
  } catch {
    return undefined
  }
  const key = sha256(JSON.stringify([FORMAT, version, BUILD, file, hex(sha256(bytes)), line, column, optionsKey, root ?? null]))
  return { key: analysisKey(key), file, bytes }
}

/**
 * The store key of the analysis of the function that starts at 1-based
 * `line`/`column` of `file` (as a record's `FunctionInfo` says) with entry
 * key `entry`, as the file is now on disk: what `dds plan` looks up, and
 * what a run writes beside its own record, so that a plan in a fresh process
 * reuses the run's analysis. `modules` is the {@link modulesDigest} of the
 * modules writers from outside were looked for in. `undefined` when the file
 * cannot be read.
 *
 * @example
 * const k = sourceKey('/p/src/a.ts', 3, 1, 'train', 'src/a.ts#train', undefined, '1.0.0')
 */
export function sourceKey (file: string, line: number, column: number, name: string, entry: string, root: string | undefined, version: string, bytes?: Uint8Array, modules = ''): PersistKey | undefined {
  if (bytes === undefined) {
    try {
      bytes = readFileSync(file)
    } catch {
      return undefined
    }
  }
  const key = sha256(JSON.stringify([FORMAT, 'source', version, BUILD, file, hex(sha256(bytes)), line, column, name, entry, root ?? null, modules]))
  return { key: analysisKey(key), file, bytes }
}

/**
 * The store key of the project modules a run had loaded when it analysed the
 * function `entry` of `file` (where writers from outside are looked for): a
 * plan, which loads no module, looks for them in the same modules. Not tied
 * to the file's bytes (a plan after an edit still finds it) nor to the build.
 *
 * @example
 * const k = modulesKey('/p/src/a.ts', 'train', 'src/a.ts#train', undefined, '1.0.0')
 */
export function modulesKey (file: string, name: string, entry: string, root: string | undefined, version: string): Uint8Array {
  // A fact about the run, not about the code that analyses: any build reads it.
  const key = sha256(JSON.stringify([FORMAT, 'modules', version, file, name, entry, root ?? null]))
  return analysisKey(key)
}

/** The module list a run recorded under {@link modulesKey}, or undefined when none (or a damaged one) is there. */
export function readModules (store: AnalysisStore, key: Uint8Array): string[] | undefined {
  const raw = store.get(key)
  if (raw === undefined) return undefined
  try {
    const list: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw))
    return Array.isArray(list) && list.every((f) => typeof f === 'string') ? list as string[] : undefined
  } catch {
    return undefined
  }
}

/** Record the modules an analysis looked for writers in (see {@link modulesKey}). */
export function writeModules (store: AnalysisStore, key: Uint8Array, modules: string[]): void {
  store.put(key, new TextEncoder().encode(JSON.stringify([...modules].sort())))
}

/** A short digest of a module list, to tie a record to the modules it was analysed with. */
export function modulesDigest (modules: string[] | undefined): string {
  return modules === undefined ? '' : hex(sha256(JSON.stringify([...modules].sort()))).slice(0, 32)
}

/**
 * A store key for a record derived from `parts` by this build of the code
 * (other builds do not find it), in the key space of persisted analyses.
 *
 * @example
 * const key = recordKey(['dds-plan-args/1', hex(sha256(bytes))])
 */
export function recordKey (parts: unknown[]): Uint8Array {
  const key = sha256(JSON.stringify([FORMAT, BUILD, ...parts]))
  return analysisKey(key)
}

/** The ancestors of `from` up to `to` (both included); `undefined` when `to` is not above `from`. */
function chain (from: string, to: string): string[] | undefined {
  const out: string[] = []
  for (let d = from; ; d = dirname(d)) {
    out.push(d)
    if (d === to) return out
    if (dirname(d) === d) return undefined
  }
}

function digestOf (file: string): string | null | undefined {
  try {
    return hex(sha256(readFileSync(file)))
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined
  }
}

function mtimeOf (dir: string): number | undefined {
  try {
    return statSync(dir).mtimeMs
  } catch {
    return undefined
  }
}

/**
 * What an analysis depends on, from the files it loaded and the resolutions
 * it asked for; `undefined` when it cannot be pinned down (a file that failed
 * to load or differs from the loaded code, a specifier that did not resolve,
 * a file outside any project): such analyses are not persisted.
 */
export function witnessesOf (files: SourceFiles, resolver: ProjectResolver, seen: Map<string, LoadedFile>, asked: ResolvedImport[], loaded: string[] | undefined): Witnesses | undefined {
  const fileDigests = new Map<string, string | null>()
  const dirs = new Set<string>()
  const rootOf = (file: string): boolean => {
    const root = resolver.projectRoot(file)
    const up = root === undefined ? undefined : chain(dirname(file), root.dir)
    if (root === undefined || up === undefined) return false
    for (const d of up) dirs.add(d)
    for (const name of ['package.json', 'tsconfig.json']) {
      const p = join(root.dir, name)
      if (fileDigests.has(p)) continue
      const d = digestOf(p)
      if (d === undefined) return false
      fileDigests.set(p, d)
    }
    return true
  }
  for (const [file, result] of seen) {
    if (result.kind === 'error') return undefined
    // The bytes analysed, not the file read again: it may have changed since.
    if (result.kind === 'code') {
      if (result.note !== undefined || result.stale !== undefined) return undefined
      fileDigests.set(file, hex(sha256(result.index.text)))
    } else {
      fileDigests.set(file, hex(result.hash))
    }
    if (!rootOf(file)) return undefined
  }
  for (const { from, spec, result } of asked) {
    if (!rootOf(from)) return undefined
    if (result.kind === 'missing') return undefined
    if (result.kind === 'file') {
      dirs.add(dirname(result.path))
      if (spec.startsWith('.')) dirs.add(dirname(join(dirname(from), spec)))
      else if (isAbsolute(spec)) dirs.add(dirname(spec))
    } else if (result.kind === 'package') {
      const dir = resolver.packageDirOf(from, packageNameOf(spec))
      if (dir === undefined) return undefined
      const at = dir.lastIndexOf(`${sep}node_modules`)
      const base = at <= 0 ? sep : dir.slice(0, at)
      const up = chain(dirname(from), base)
      const inside = chain(dirname(dir), base)
      if (up === undefined || inside === undefined) return undefined
      for (const d of [...up, ...inside]) dirs.add(d)
      const pj = join(dir, 'package.json')
      const d = digestOf(pj)
      if (d === undefined || d === null) return undefined
      fileDigests.set(pj, d)
    }
  }
  const dirTimes: Array<[string, number]> = []
  for (const d of dirs) {
    const m = mtimeOf(d)
    if (m === undefined) return undefined
    dirTimes.push([d, m])
  }
  return { files: [...fileDigests], dirs: dirTimes, loaded: loaded === undefined ? null : [...loaded].sort() }
}

/**
 * Whether every witness still holds: files hashed again (and checked against
 * the code loaded from them), directories unchanged, the same modules loaded.
 */
function holds (files: SourceFiles, w: Witnesses, key: PersistKey, seen?: DigestMemo): boolean {
  for (const [file, digest] of w.files) {
    // A file loaded in this process is compared with the loaded code, so it is read every time.
    const loaded = files.isCode(file) && files.isLoaded(file)
    const known = loaded ? undefined : seen?.files.get(file)
    if (known !== undefined) {
      if (known === UNREADABLE ? digest !== null : known !== digest) return false
      continue
    }
    let bytes: Uint8Array
    let mtimeMs: number
    try {
      mtimeMs = statSync(file).mtimeMs
      bytes = file === key.file ? key.bytes : readFileSync(file)
    } catch {
      if (!loaded) seen?.files.set(file, UNREADABLE)
      if (digest === null) continue
      return false
    }
    const now = hex(sha256(bytes))
    if (!loaded) seen?.files.set(file, now)
    if (digest === null || now !== digest) return false
    if (loaded && files.loadedState(file, mtimeMs, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')).kind !== 'same') return false
  }
  for (const [dir, mtimeMs] of w.dirs) {
    let now = seen?.dirs.get(dir)
    if (now === undefined) {
      now = mtimeOf(dir) ?? null
      seen?.dirs.set(dir, now)
    }
    if (now !== mtimeMs) return false
  }
  if (w.loaded !== null) {
    const now = files.loadedFiles().sort()
    if (now.length !== w.loaded.length || now.some((f, i) => f !== w.loaded![i])) return false
  }
  return true
}

/**
 * Write the record of an analysed part. Failures are the store's concern:
 * a record not written is only a later miss.
 */
export function persistPart (store: AnalysisStore, key: PersistKey, part: StaticPart, w: Witnesses): void {
  if (part.analysis === undefined) return
  store.put(key.key, encodeRecord(part, part.analysis, w))
}

/** A witnessed file that could not be read (absent, or not readable). */
const UNREADABLE = 0

/**
 * The files and directories one caller (`dds plan`: one plan, a snapshot of
 * the working tree) has already checked: each file is read and hashed once,
 * each directory's mtime read once, however many records name them.
 */
export interface DigestMemo {
  files: Map<string, string | typeof UNREADABLE>
  dirs: Map<string, number | null>
}

/**
 * The persisted part for a key when its record is well-formed and every
 * witness holds; otherwise `undefined` (then the caller analyses afresh).
 */
export function persistedPart (store: AnalysisStore, key: PersistKey, files: SourceFiles, seen?: DigestMemo): StaticPart | undefined {
  const raw = store.get(key.key)
  if (raw === undefined) return undefined
  const parsed = decodeRecord(raw)
  if (parsed === undefined || !holds(files, parsed.w, key, seen)) return undefined
  return parsed.part
}

/**
 * The static part made of an analysis; `warnings` are the part's (the analysis's own and those found on the way to it).
 *
 * @example
 * const part = partOf(analysis, [...notes, ...analysis.warnings])
 */
export function partOf (analysis: StaticAnalysis, warnings: string[]): StaticPart {
  return {
    entry: analysis.entry,
    info: analysis.info,
    declarations: analysis.declarations,
    packages: analysis.packages,
    needs: analysis.values,
    scopeNames: [],
    unavailable: analysis.unavailable,
    warnings,
    analysis
  }
}
