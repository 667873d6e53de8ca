/**
 * The in-process V8 inspector, used synchronously: where a function is
 * defined (`[[FunctionLocation]]`), which scripts are loaded (scriptId -> URL
 * and source map URL), and the variables a function closes over
 * (`[[Scopes]]`).
 *
 * A same-thread `node:inspector` Session answers `post` before returning when
 * given a callback; no port is opened and nothing is printed. Connecting fails
 * under Node's permission model, and then the engine falls back to other ways.
 *
 * Scripts are named without the Debugger domain where that can be done
 * exactly: enabling it the first time in a process costs tens of
 * milliseconds (V8 collects the source positions of every compiled function,
 * then replays every loaded script), which a fresh process's first hit would
 * otherwise pay. Best-effort coverage lists the loaded scripts with their URL
 * and length in a few; the source map URL, which it does not give, is read
 * from the script's file when the script is that file's text (see
 * {@link mapURLFromFile}). Anything else (a file rewritten by a loader, as
 * tsx and ts-node do, a script coverage does not list) is asked of the
 * Debugger domain.
 */
import { readFileSync } from 'node:fs'
import type { Session } from 'node:inspector'
import { fileOfUrl } from './sourcemap.js'

/** A value as the inspector describes it. */
export interface RemoteValue {
  type: string
  subtype?: string
  value?: unknown
  unserializableValue?: string
  objectId?: string
  description?: string
}

/** A 0-based location in a script. */
export interface Location {
  scriptId: string
  line: number
  column: number
}

/** One entry of a function's scope chain, innermost first. */
export interface ScopeRef {
  /** `Closure`, `Block`, `Module`, `Script`, `Global`, `Catch`, `With`, `Eval`, `Local`. */
  kind: string
  objectId: string
}

/** What the inspector knows about a function object. */
export interface FunctionDetails {
  location: Location | undefined
  scopes: ScopeRef[]
  /** For bound functions: the target, `this` and the bound arguments. */
  bound?: { target: RemoteValue, thisArg: RemoteValue | undefined, args: RemoteValue | undefined }
}

/** A loaded script. */
export interface ScriptInfo {
  url: string
  sourceMapURL: string
}

interface Property {
  name: string
  value?: RemoteValue
}

interface ScriptCoverage {
  scriptId: string
  url: string
  functions: Array<{ ranges: Array<{ startOffset: number, endOffset: number }> }>
}

/**
 * How often this process enabled the Debugger domain to name scripts, and
 * whether it must (for comparing the two ways in tests). Internal.
 */
export const scriptLookup = { debuggerReplays: 0, debuggerOnly: false }

/**
 * The line a source map URL comment V8 would act on, when it is the last
 * thing in a file: `//# sourceMappingURL=<url>` alone on its line, followed
 * by nothing but whitespace. Quotes, backquotes and `*\/` are refused in the
 * URL: with them the line could close a string, template or comment begun
 * earlier, and then it would not be a comment.
 */
const TRAILING_MAP_COMMENT = /^[ \t]*\/\/# sourceMappingURL=([\x21-\x7e]+)[ \t\r\n]*$/

/**
 * The source map URL V8 took from a script, read from the file it was loaded
 * from; `undefined` when that cannot be told for sure. The file must hold the
 * script's text: the same length (a loader that rewrites a file, as tsx and
 * ts-node do, appends its own inline map), the byte order mark counted or
 * not (CommonJS keeps it, ES modules drop it). Then V8's answer is empty when
 * the text never says `sourceMappingURL`, and the URL of the comment that
 * ends the file when it ends with one (the last magic comment wins). A text
 * that names a `sourceURL`, or says `sourceMappingURL` any other way, is left
 * to the Debugger domain.
 *
 * @example
 * mapURLFromFile('file:///p/dist/a.js', 120) // 'a.js.map'
 */
export function mapURLFromFile (url: string, length: number): string | undefined {
  const file = fileOfUrl(url)
  if (file === undefined) return undefined
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  if (text.length !== length && !(text.charCodeAt(0) === 0xfeff && text.length - 1 === length)) return undefined
  if (text.includes('sourceURL')) return undefined
  const at = text.lastIndexOf('sourceMappingURL')
  if (at < 0) return ''
  const m = TRAILING_MAP_COMMENT.exec(text.slice(text.lastIndexOf('\n', at) + 1))
  const value = m?.[1]
  if (value === undefined || /['"`]|\*\//.test(value)) return undefined
  return value
}

/** The global slot used to hand objects between JS and the inspector for an instant. */
const SLOT = 'dds-ts.signature.slot'
const SLOT_EXPR = `globalThis[Symbol.for(${JSON.stringify(SLOT)})]`
const slotKey = Symbol.for(SLOT)
const STORE_THIS = `function () { 'use strict'; ${SLOT_EXPR} = this }`

/**
 * A connected in-process inspector session.
 *
 * @example
 * const bridge = InspectorBridge.connect()
 * const details = bridge?.details(fn, 'group-1')
 * bridge?.release('group-1')
 */
/**
 * The scripts best-effort coverage has listed in this process, by script id
 * (an id names one script for the life of the process): a later bridge knows
 * them even once coverage no longer lists a script whose top-level code V8
 * has since flushed (a CommonJS module loaded long before).
 */
const everListed = new Map<string, { url: string, length: number }>()

export class InspectorBridge {
  private readonly scripts = new Map<string, ScriptInfo>()
  /** What the Debugger domain reported, once it was enabled. */
  private readonly replayed = new Map<string, ScriptInfo>()

  private constructor (private readonly session: Session) {
    session.on('Debugger.scriptParsed', (message) => {
      const p = message.params
      const info = { url: p.url, sourceMapURL: p.sourceMapURL ?? '' }
      this.replayed.set(p.scriptId, info)
      this.scripts.set(p.scriptId, info)
    })
  }

  /**
   * Connect, or `undefined` when the inspector is not available (Node's
   * permission model, a runtime without `node:inspector`).
   *
   * @example
   * const bridge = InspectorBridge.connect()
   */
  static connect (): InspectorBridge | undefined {
    try {
      // node:inspector is taken on first use: importing dds-ts does not load it.
      const { Session: SessionClass } = process.getBuiltinModule('node:inspector')
      const session = new SessionClass()
      session.connect()
      const bridge = new InspectorBridge(session)
      // Prove the session answers synchronously before relying on it.
      bridge.post('Runtime.evaluate', { expression: '1', silent: true })
      return bridge
    } catch {
      return undefined
    }
  }

  /**
   * Send a command and return its answer, synchronously.
   *
   * @example
   * bridge.post('Runtime.evaluate', { expression: '1 + 1' })
   */
  post<T = any> (method: string, params: Record<string, unknown> = {}): T {
    let done = false
    let error: Error | null = null
    let result: unknown
    this.session.post(method, params, (err: Error | null, res?: unknown) => {
      done = true
      error = err
      result = res
    })
    if (!done) throw new Error(`inspector did not answer ${method} synchronously`)
    if (error !== null) throw error
    return result as T
  }

  /**
   * The URL and source map URL of a script. Scripts loaded since the last
   * look-up are learnt from best-effort coverage, which lists the loaded
   * scripts; a script it does not list, and a source map URL that cannot be
   * read from the script's file, are learnt by briefly enabling the Debugger
   * domain, which replays every loaded script (it is disabled again at once).
   *
   * @example
   * bridge.script('42') // { url: 'file:///p/src/a.ts', sourceMapURL: 'data:...' }
   */
  script (scriptId: string): ScriptInfo | undefined {
    let info = this.scripts.get(scriptId)
    if (info === undefined && !scriptLookup.debuggerOnly) {
      const known = everListed.get(scriptId)
      if (known !== undefined) this.scripts.set(scriptId, info = this.listedScript(scriptId, known.url, known.length))
      else {
        this.learnFromCoverage()
        info = this.scripts.get(scriptId)
      }
    }
    if (info === undefined) {
      this.replay()
      info = this.scripts.get(scriptId)
    }
    return info
  }

  /** Every loaded script listed by best-effort coverage (which reads counters, and changes nothing). */
  private learnFromCoverage (): void {
    let listed: ScriptCoverage[]
    try {
      listed = this.post<{ result: ScriptCoverage[] }>('Profiler.getBestEffortCoverage').result
    } catch {
      return
    }
    for (const s of listed) {
      if (this.scripts.has(s.scriptId)) continue
      // The outermost function (they come sorted, outer first) spans the whole script.
      const length = s.functions[0]?.ranges[0]?.endOffset
      if (length === undefined) continue
      everListed.set(s.scriptId, { url: s.url, length })
      this.scripts.set(s.scriptId, this.listedScript(s.scriptId, s.url, length))
    }
  }

  /** A script named by coverage; its source map URL is found when first asked for. */
  private listedScript (scriptId: string, url: string, length: number): ScriptInfo {
    let mapURL: string | undefined
    const sourceMapURL = (): string => {
      mapURL ??= this.replayed.get(scriptId)?.sourceMapURL ?? mapURLFromFile(url, length)
      if (mapURL === undefined) {
        this.replay()
        mapURL = this.replayed.get(scriptId)?.sourceMapURL ?? ''
      }
      return mapURL
    }
    return { url, get sourceMapURL () { return sourceMapURL() } }
  }

  /** Learn every loaded script from the Debugger domain. */
  private replay (): void {
    scriptLookup.debuggerReplays++
    try {
      this.post('Debugger.enable')
    } finally {
      this.post('Debugger.disable')
    }
  }

  /**
   * The scripts learnt so far (every script loaded before the last look-up of
   * an unknown script).
   *
   * @example
   * for (const s of bridge.knownScripts()) console.log(s.url)
   */
  knownScripts (): Iterable<ScriptInfo> {
    return this.scripts.values()
  }

  private remote (value: unknown, group: string): RemoteValue {
    const g = globalThis as Record<symbol, unknown>
    g[slotKey] = value
    try {
      return this.post<{ result: RemoteValue }>('Runtime.evaluate', { expression: SLOT_EXPR, objectGroup: group, silent: true }).result
    } finally {
      delete g[slotKey]
    }
  }

  private properties (objectId: string): { result: Property[], internalProperties?: Property[] } {
    return this.post('Runtime.getProperties', { objectId, ownProperties: true, generatePreview: false })
  }

  /**
   * Location, scope chain and bound-function parts of a function.
   *
   * @example
   * bridge.details(fn, 'g').location // { scriptId: '42', line: 3, column: 17 }
   */
  details (fn: Function, group: string): FunctionDetails {
    const ro = this.remote(fn, group)
    if (ro.objectId === undefined) return { location: undefined, scopes: [] }
    const internal = this.properties(ro.objectId).internalProperties ?? []
    const get = (name: string): RemoteValue | undefined => internal.find((p) => p.name === name)?.value
    const target = get('[[TargetFunction]]')
    if (target !== undefined) {
      return { location: undefined, scopes: [], bound: { target, thisArg: get('[[BoundThis]]'), args: get('[[BoundArgs]]') } }
    }
    const loc = get('[[FunctionLocation]]')?.value as { scriptId: string, lineNumber: number, columnNumber: number } | undefined
    const location = loc === undefined ? undefined : { scriptId: loc.scriptId, line: loc.lineNumber, column: loc.columnNumber }
    const scopes: ScopeRef[] = []
    const scopesRo = get('[[Scopes]]')
    if (scopesRo?.objectId !== undefined) {
      for (const s of this.properties(scopesRo.objectId).result) {
        if (!/^\d+$/.test(s.name) || s.value?.objectId === undefined) continue
        const kind = (s.value.description ?? '').split(' ')[0] ?? ''
        scopes.push({ kind, objectId: s.value.objectId })
      }
    }
    return { location, scopes }
  }

  /**
   * The variables held by one scope object, by name.
   *
   * @example
   * bridge.variables(details.scopes[0]).get('factor') // { type: 'number', value: 3 }
   */
  variables (scope: ScopeRef): Map<string, RemoteValue> {
    const out = new Map<string, RemoteValue>()
    for (const p of this.properties(scope.objectId).result) {
      if (p.value !== undefined) out.set(p.name, p.value)
    }
    return out
  }

  /**
   * Bring a described value back into JavaScript.
   *
   * @example
   * bridge.value({ type: 'number', value: 3 }) // 3
   */
  value (ro: RemoteValue): unknown {
    if (ro.objectId === undefined) {
      if (ro.type === 'undefined') return undefined
      if (ro.unserializableValue !== undefined) return parseUnserializable(ro.unserializableValue)
      return ro.value
    }
    const g = globalThis as Record<symbol, unknown>
    try {
      this.post('Runtime.callFunctionOn', { objectId: ro.objectId, functionDeclaration: STORE_THIS, silent: true })
      return g[slotKey]
    } finally {
      delete g[slotKey]
    }
  }

  /**
   * Release the remote objects of a group.
   *
   * @example
   * bridge.release('g')
   */
  release (group: string): void {
    try {
      this.post('Runtime.releaseObjectGroup', { objectGroup: group })
    } catch {
      // Releasing is housekeeping; a failure leaves a few remote handles alive.
    }
  }
}

function parseUnserializable (text: string): unknown {
  switch (text) {
    case 'NaN': return Number.NaN
    case 'Infinity': return Number.POSITIVE_INFINITY
    case '-Infinity': return Number.NEGATIVE_INFINITY
    case '-0': return -0
  }
  if (text.endsWith('n')) return BigInt(text.slice(0, -1))
  return undefined
}
