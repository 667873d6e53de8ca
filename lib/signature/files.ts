/**
 * Source files as the analysis sees them: read and indexed, cached by
 * (mtime, size) and behind that by content, and checked against the code
 * that was actually loaded from them (source maps that embed the source,
 * files edited or recompiled after this process started).
 */
import { readFileSync, statSync } from 'node:fs'
import { extname } from 'node:path'
import { hex } from '../../store/util.js'
import { sha256 } from './canonical.js'
import type { InspectorBridge } from './inspector.js'
import type { LoadedFile } from './interface.js'
import { buildModuleIndex, dataHash } from './module-index.js'
import { parserAvailable } from './parse.js'
import { inNodeModules, relativeKey } from './resolve.js'
import type { ProjectResolver } from './resolve.js'
import { fileOfUrl } from './sourcemap.js'
import type { SourceMaps } from './sourcemap.js'

/** When this process started, in ms since the epoch (as file mtimes). */
const PROCESS_START = performance.timeOrigin

const CODE_EXTENSIONS = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'])

interface FileEntry {
  mtimeMs: number
  size: number
  epoch: number
  /** The file as read from disk. */
  loaded: LoadedFile
  /** What the analysis uses, after comparison with the loaded code. */
  result: LoadedFile
}

/**
 * The file cache of one engine. An analysis calls {@link SourceFiles.fresh}
 * first: files are then re-checked at most once until the next fresh
 * analysis, so a file edited during a run is seen by the next function.
 *
 * @example
 * const files = new SourceFiles(undefined, resolver, maps, () => bridge)
 * files.fresh()
 * const loaded = files.load('/p/src/a.ts')
 */
export class SourceFiles {
  private readonly files = new Map<string, FileEntry>()
  private readonly byContent = new Map<string, LoadedFile>()
  private epoch = 0
  /** The files loaded since {@link SourceFiles.track}, with what the analysis saw. */
  private tracked: Map<string, LoadedFile> | undefined
  private loaded: { epoch: number, map: Map<string, { generated: string | undefined, content: string | undefined }> } | undefined

  constructor (
    private readonly root: string | undefined,
    private readonly resolver: ProjectResolver,
    private readonly maps: SourceMaps,
    private readonly bridge: () => InspectorBridge | undefined
  ) {}

  /** Start a fresh analysis: files are checked against the disk again. */
  fresh (): void {
    this.epoch++
  }

  /** A file's key relative to its project root, for messages. */
  displayKey (file: string): string {
    const root = this.root ?? this.resolver.projectRoot(file)?.dir
    return root === undefined ? file : relativeKey(root, file)
  }

  /**
   * Record every file loaded from now on (what a persisted analysis depends
   * on) until {@link SourceFiles.untrack}.
   *
   * @example
   * files.track(); analyse(); const seen = files.untrack()
   */
  track (): void {
    this.tracked = new Map()
  }

  /** Stop recording; the files loaded since {@link SourceFiles.track} with what each load returned. */
  untrack (): Map<string, LoadedFile> {
    const out = this.tracked ?? new Map<string, LoadedFile>()
    this.tracked = undefined
    return out
  }

  /** A file, indexed when it is code, as the analysis must see it. */
  load (file: string): LoadedFile {
    const result = this.loadUntracked(file)
    this.tracked?.set(file, result)
    return result
  }

  private loadUntracked (file: string): LoadedFile {
    const cached = this.files.get(file)
    if (cached !== undefined && cached.epoch === this.epoch) return cached.result
    let st
    try {
      st = statSync(file)
    } catch (err) {
      return { kind: 'error', message: `cannot read: ${(err as Error).message}` }
    }
    let disk: LoadedFile
    if (cached !== undefined && cached.mtimeMs === st.mtimeMs && cached.size === st.size) {
      disk = cached.loaded
    } else {
      let bytes: Buffer
      try {
        bytes = readFileSync(file)
      } catch (err) {
        return { kind: 'error', message: `cannot read: ${(err as Error).message}` }
      }
      disk = this.fromContent(file, bytes)
    }
    const result = this.againstLoaded(file, st.mtimeMs, disk)
    this.files.set(file, { mtimeMs: st.mtimeMs, size: st.size, epoch: this.epoch, loaded: disk, result })
    return result
  }

  /** A file's content, indexed once per distinct content. */
  fromContent (file: string, bytes: Uint8Array): LoadedFile {
    const contentKey = `${file}\0${hex(sha256(bytes))}`
    let loaded = this.byContent.get(contentKey)
    if (loaded === undefined) {
      if (!this.isCode(file)) {
        loaded = { kind: 'data', hash: dataHash(bytes) }
      } else if (!parserAvailable()) {
        loaded = { kind: 'error', message: 'no parser available' }
      } else {
        loaded = { kind: 'code', index: buildModuleIndex(file, Buffer.from(bytes).toString('utf8')) }
      }
      this.byContent.set(contentKey, loaded)
    }
    return loaded
  }

  /**
   * Check a source file against the code that was loaded from it, so that a
   * signature never describes a newer file than the code that runs. A source
   * map that embeds the source tells exactly what was compiled: when the file
   * has changed since, the embedded version is analysed. Otherwise a file
   * modified after this process started, or a source newer than the compiled
   * file that runs (tsc without a rebuild), means the running code is not
   * known: the file is reported, which also keeps this signature apart from
   * the signature of the code on disk.
   */
  private againstLoaded (file: string, mtimeMs: number, disk: LoadedFile): LoadedFile {
    if (disk.kind !== 'code') return disk
    const state = this.loadedState(file, mtimeMs, disk.index.text)
    if (state.kind === 'same') return disk
    if (state.kind === 'stale') return { ...disk, stale: state.stale }
    const loaded = this.fromContent(file, Buffer.from(state.content, 'utf8'))
    if (loaded.kind !== 'code') return disk
    return { ...loaded, note: 'changed on disk since it was loaded; the loaded version is analysed' }
  }

  /**
   * How a code file's text on disk relates to the code loaded from it: the
   * same (or not loaded), another text embedded in its source map, or not
   * known (`stale`). Needs no parser: a persisted analysis is checked with it.
   *
   * @example
   * files.loadedState('/p/src/a.ts', st.mtimeMs, text).kind // 'same'
   */
  loadedState (file: string, mtimeMs: number, text: string): { kind: 'same' } | { kind: 'embedded', content: string } | { kind: 'stale', stale: string } {
    const info = this.loadedSources().get(file)
    if (info === undefined) return { kind: 'same' }
    if (info.content !== undefined) return info.content === text ? { kind: 'same' } : { kind: 'embedded', content: info.content }
    if (mtimeMs > PROCESS_START) return { kind: 'stale', stale: 'was modified after this process started: the code that runs may differ' }
    if (info.generated !== undefined) {
      try {
        const generated = statSync(info.generated).mtimeMs
        if (mtimeMs > generated + 1) return { kind: 'stale', stale: `is newer than the compiled ${this.displayKey(info.generated)} that runs: rebuild` }
        if (generated > PROCESS_START) return { kind: 'stale', stale: `was recompiled into ${this.displayKey(info.generated)} after this process started: the code that runs may differ` }
      } catch {
        // The compiled file is gone: nothing to compare with.
      }
    }
    return { kind: 'same' }
  }

  /**
   * Whether code was loaded in this process from `file` (then what is on
   * disk is checked against it).
   *
   * @example
   * files.isLoaded('/p/src/a.ts') // false in a process that did not import it
   */
  isLoaded (file: string): boolean {
    return this.loadedSources().has(file)
  }

  /**
   * Whether a file is code the analysis would parse (by its extension).
   *
   * @example
   * files.isCode('/p/src/a.ts') // true
   */
  isCode (file: string): boolean {
    return CODE_EXTENSIONS.has(extname(file).toLowerCase())
  }

  /**
   * The project's source files loaded in this process (through the
   * inspector's scripts and their source maps), code only.
   *
   * @example
   * files.loadedFiles() // ['/p/src/main.ts', '/p/src/model.ts']
   */
  loadedFiles (): string[] {
    return [...this.loadedSources().keys()].filter((f) => this.isCode(f))
  }

  /** The user's loaded scripts by original source: the compiled file that runs, and the source text embedded in its map. */
  private loadedSources (): Map<string, { generated: string | undefined, content: string | undefined }> {
    if (this.loaded !== undefined && this.loaded.epoch === this.epoch) return this.loaded.map
    const map = new Map<string, { generated: string | undefined, content: string | undefined }>()
    const bridge = this.bridge()
    for (const script of bridge?.knownScripts() ?? []) {
      const generated = fileOfUrl(script.url)
      if (generated === undefined || inNodeModules(generated) || this.resolver.selfPackage(generated) !== undefined) continue
      const mapping = this.maps.forScript(script.url, script.sourceMapURL)
      if (mapping.sources.length === 0) {
        map.set(generated, { generated: undefined, content: undefined })
        continue
      }
      for (const source of mapping.sources) {
        map.set(source, { generated: source === generated ? undefined : generated, content: mapping.content(source) })
      }
    }
    this.loaded = { epoch: this.epoch, map }
    return map
  }
}
