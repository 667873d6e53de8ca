/**
 * Mapping positions in the code V8 runs back to the original sources, with
 * the source maps that tsx, ts-node (inline `data:` URLs) and tsc (`.js.map`
 * files) produce. Uses Node's own `SourceMap` class, no extra package.
 */
import { existsSync, readFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import type { SourceMapPayload } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** A 0-based position in a file. */
export interface Position {
  file: string
  line: number
  column: number
}

/** How one loaded script maps to its original source files. */
export interface ScriptMapping {
  /** The script's own file, when it has one. */
  generated: string | undefined
  /** Absolute paths of the original sources, empty without a usable map. */
  sources: string[]
  /** Map a 0-based generated position to the original; `undefined` outside any mapping. */
  original: (line: number, column: number) => Position | undefined
  /** The text of an original source embedded in the map, if any. */
  content: (file: string) => string | undefined
}

/**
 * A file path for a script URL or path; `undefined` for scripts without a
 * file (`node:` builtins, eval, the REPL, data: URLs).
 *
 * @example
 * fileOfUrl('file:///p/src/a.ts?v=2') // '/p/src/a.ts'
 */
export function fileOfUrl (url: string): string | undefined {
  if (url.startsWith('file:')) {
    try {
      const u = new URL(url)
      u.search = ''
      u.hash = ''
      return fileURLToPath(u)
    } catch {
      return undefined
    }
  }
  if (url.startsWith('/') || /^[A-Za-z]:[\\/]/.test(url)) return url
  return undefined
}

function decodeDataUrl (url: string): string | undefined {
  const comma = url.indexOf(',')
  if (comma < 0) return undefined
  const meta = url.slice(5, comma)
  const data = url.slice(comma + 1)
  try {
    return meta.endsWith(';base64') ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data)
  } catch {
    return undefined
  }
}

/**
 * The `sourceMappingURL` comment at the end of a generated file, if any.
 *
 * @example
 * sourceMappingComment('f()\n//# sourceMappingURL=a.js.map\n') // 'a.js.map'
 */
export function sourceMappingComment (text: string): string | undefined {
  const tail = text.slice(-Math.min(text.length, 64 * 1024 + 1024))
  const m = /\/\/[#@] sourceMappingURL=(\S+)\s*$/.exec(tail)
  return m?.[1]
}

const NO_MAP: Omit<ScriptMapping, 'generated'> = { sources: [], original: () => undefined, content: () => undefined }

/**
 * Caches parsed source maps by script URL and map URL. A script's map does not
 * change while it is loaded, so entries are kept for the life of the cache.
 */
export class SourceMaps {
  private readonly cache = new Map<string, ScriptMapping>()

  /**
   * The mapping of a loaded script, from its URL and the `sourceMapURL` V8
   * reported (empty when it found none).
   *
   * @example
   * const m = maps.forScript('file:///p/dist/a.js', 'a.js.map')
   * m.original(0, 10) // { file: '/p/src/a.ts', line: 0, column: 16 }
   */
  forScript (url: string, sourceMapURL: string | undefined): ScriptMapping {
    const key = `${url}\0${sourceMapURL ?? ''}`
    let m = this.cache.get(key)
    if (m === undefined) {
      m = this.load(url, sourceMapURL)
      this.cache.set(key, m)
    }
    return m
  }

  /**
   * The mapping of a file on disk, reading its `sourceMappingURL` comment
   * (used when the inspector cannot report the map URL).
   *
   * @example
   * maps.forFile('/p/dist/a.js').sources // ['/p/src/a.ts']
   */
  forFile (file: string): ScriptMapping {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      return { generated: file, ...NO_MAP }
    }
    return this.forScript(pathToFileURL(file).href, sourceMappingComment(text))
  }

  private load (url: string, sourceMapURL: string | undefined): ScriptMapping {
    const generated = fileOfUrl(url)
    if (sourceMapURL === undefined || sourceMapURL === '') return { generated, ...NO_MAP }
    let mapText: string | undefined
    let mapBase = url
    if (sourceMapURL.startsWith('data:')) {
      mapText = decodeDataUrl(sourceMapURL)
    } else {
      try {
        const mapUrl = new URL(sourceMapURL, url)
        mapBase = mapUrl.href
        if (mapUrl.protocol === 'file:') mapText = readFileSync(fileURLToPath(mapUrl), 'utf8')
      } catch {
        mapText = undefined
      }
    }
    if (mapText === undefined) return { generated, ...NO_MAP }
    let payload: SourceMapPayload & { sourcesContent?: Array<string | null> }
    try {
      payload = JSON.parse(mapText)
    } catch {
      return { generated, ...NO_MAP }
    }
    if (payload === null || typeof payload !== 'object' || !Array.isArray(payload.sources) || payload.sources.some((s) => typeof s !== 'string') || typeof payload.mappings !== 'string') return { generated, ...NO_MAP }
    // The mappings are decoded on the first position asked for: most scripts
    // are only asked which sources they come from (the loaded project files),
    // and decoding every map of a big project costs more than the rest of a
    // fresh process's signature. A map whose mappings do not decode maps nothing.
    let map: SourceMap | null | undefined
    const mapping = (): SourceMap | null => {
      if (map === undefined) {
        try {
          map = new SourceMap(payload)
        } catch {
          map = null
        }
      }
      return map
    }
    const resolved = new Map<string, string>()
    const contents = new Map<string, string>()
    const sources: string[] = []
    const root = typeof payload.sourceRoot === 'string' && payload.sourceRoot !== '' ? payload.sourceRoot.replace(/\/?$/, '/') : ''
    payload.sources.forEach((src, i) => {
      const file = resolveSource(root + src, mapBase)
      if (file === undefined) return
      resolved.set(src, file)
      sources.push(file)
      const content = payload.sourcesContent?.[i]
      if (typeof content === 'string') contents.set(file, content)
    })
    type Entry = Partial<{ generatedLine: number, generatedColumn: number, originalSource: string, originalLine: number, originalColumn: number }>
    const original = (line: number, column: number): Position | undefined => {
      const map = mapping()
      if (map === null) return undefined
      let e = map.findEntry(line, column) as Entry
      // findEntry answers with the closest mapping at or before the position,
      // which may belong to an earlier line when the position precedes the
      // line's first mapping: then take the first mapping after it.
      for (let ahead = 1; e.generatedLine !== line && ahead <= 256; ahead *= 2) {
        e = map.findEntry(line, column + ahead) as Entry
      }
      if (e.generatedLine !== line) return undefined
      if (e.originalSource === undefined || e.originalLine === undefined || e.originalColumn === undefined) return undefined
      const file = resolved.get(e.originalSource) ?? resolveSource(e.originalSource, mapBase)
      return file === undefined ? undefined : { file, line: e.originalLine, column: e.originalColumn }
    }
    return { generated, sources, original, content: (file) => contents.get(file) }
  }
}

function resolveSource (source: string, base: string): string | undefined {
  if (source.startsWith('/')) return source
  if (/^[A-Za-z]:[\\/]/.test(source)) return source
  try {
    const u = new URL(source, base.startsWith('data:') ? 'file:///' : base)
    return u.protocol === 'file:' ? fileURLToPath(u) : undefined
  } catch {
    return undefined
  }
}

/**
 * True when a file exists on disk.
 *
 * @example
 * sourceExists('/p/src/a.ts')
 */
export function sourceExists (file: string): boolean {
  return existsSync(file)
}
