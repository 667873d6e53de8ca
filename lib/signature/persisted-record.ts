/**
 * The bytes of a persisted analysis record (lib/signature/persisted.ts says
 * what a record is for and when it is used) and their decoding, with every
 * field checked: the store is not the analysis.
 *
 * A record is two JSON texts joined by a newline (JSON.stringify never
 * writes a raw one): the head, read by every lookup (the function, its
 * packages, value needs, warnings, the bare digest, the witnesses), then the
 * bulk, read only when something asks for it (the declarations' digests and
 * the handles, nine tenths of the bytes of a big graph). A plan of unchanged
 * code needs only the head. The head holds the SHA-256 and length of the
 * bulk, checked when the record is read, so damaged bytes are a miss like a
 * malformed head; bulk that hashes right yet does not decode (bytes written
 * to match) is a DDS_INTEGRITY error when it is read.
 */
import { createHash } from 'node:crypto'
import { DdsError, ErrorCodes } from '../../store/errors.js'
import { fromHex, hex } from '../../store/util.js'
import { bareDigest } from './manifest.js'
import type { HandleSite, StaticAnalysis, StaticPart, ValueNeed, ValueSite } from './interface.js'

/** The record format; bumped with any change to what the analysis computes or how a record is laid out. */
export const FORMAT = 'dds-analysis/3'

/** What a record depends on. `files`: path and SHA-256 of its bytes, or `null` for a file that must not exist. */
export interface Witnesses {
  files: Array<[string, string | null]>
  dirs: Array<[string, number]>
  /** The project's modules loaded in the process, when the analysis asked for them (writers from outside). */
  loaded: string[] | null
}

const NEWLINE = 0x0a
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
const digestHex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/**
 * The bytes of the record of `part` (which carries its analysis) and its witnesses.
 *
 * @example
 * store.put(key, encodeRecord(part, witnesses))
 */
export function encodeRecord (part: StaticPart, analysis: StaticAnalysis, w: Witnesses): Uint8Array {
  part.bare ??= bareDigest(part)
  const bare = part.bare
  // The names in order, and their digests as one hex text (turned into bytes in one call when read).
  const names: string[] = []
  const digests: string[] = []
  for (const [k, v] of part.declarations) {
    names.push(k)
    digests.push(hex(v))
  }
  const bulk = Buffer.from(JSON.stringify({ names, digests: digests.join(''), handles: [...analysis.handles] }), 'utf8')
  const head = Buffer.from(JSON.stringify({
    f: FORMAT,
    part: {
      entry: part.entry,
      info: part.info,
      packages: [...part.packages],
      needs: part.needs,
      unavailable: [...part.unavailable],
      warnings: part.warnings,
      entryFile: analysis.entryFile,
      ...(bare === undefined ? {} : { bare: hex(bare) })
    },
    bulk: { sha256: digestHex(bulk), length: bulk.length },
    w
  }), 'utf8')
  return Buffer.concat([head, Buffer.from([NEWLINE]), bulk])
}

/**
 * The part and witnesses a record's bytes hold, or undefined when the head
 * is malformed or the bulk is not the one it names.
 *
 * @example
 * const r = decodeRecord(raw) // { part, w } or undefined
 */
export function decodeRecord (raw: Uint8Array): { part: StaticPart, w: Witnesses } | undefined {
  const cut = raw.indexOf(NEWLINE)
  if (cut < 0) return undefined
  let r: unknown
  try {
    r = JSON.parse(strictUtf8.decode(raw.subarray(0, cut)))
  } catch {
    return undefined
  }
  const bulk = raw.subarray(cut + 1)
  if (!isObj(r) || !isObj(r.bulk) || r.bulk.length !== bulk.length || r.bulk.sha256 !== digestHex(bulk)) return undefined
  return decodeHead(r, bulk)
}

const isStr = (v: unknown): v is string => typeof v === 'string'
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const isArr = Array.isArray as (v: unknown) => v is unknown[]
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
const optStr = (v: unknown): boolean => v === undefined || isStr(v)
const pairs = <T>(v: unknown, second: (x: unknown) => x is T): Array<[string, T]> | undefined =>
  isArr(v) && v.every((p) => isArr(p) && p.length === 2 && isStr(p[0]) && second(p[1])) ? v as Array<[string, T]> : undefined
const HEX32 = /^[0-9a-f]{64}$/
const HEX = /^[0-9a-f]*$/

function isSite (s: unknown): s is ValueSite {
  if (!isObj(s)) return false
  switch (s.kind) {
    case 'closure': return isStr(s.name) && isNum(s.depth)
    case 'module': return isStr(s.file) && isStr(s.name) && optStr(s.member)
    case 'import': return isStr(s.file) && isStr(s.local) && (s.prop === undefined || isStr(s.prop)) && isStr(s.spec) && isStr(s.imported) && optStr(s.member)
    default: return false
  }
}

function isNeed (n: unknown): n is ValueNeed {
  return isObj(n) && isStr(n.label) && typeof n.immutable === 'boolean' && typeof n.optional === 'boolean' && isArr(n.sites) && n.sites.every(isSite)
}

function isHandle (h: unknown): h is HandleSite {
  return isObj(h) && isStr(h.file) && isStr(h.local) && (h.prop === undefined || isStr(h.prop)) && isStr(h.spec) && isStr(h.imported) && (h.direct === undefined || typeof h.direct === 'boolean')
}

/** The bulk's declarations and handles, decoded and checked on first use. */
function bulkReader (bulk: Uint8Array, entry: string): () => { declarations: Map<string, Uint8Array>, handles: Map<string, HandleSite[]> } {
  let decoded: { declarations: Map<string, Uint8Array>, handles: Map<string, HandleSite[]> } | undefined
  return () => {
    if (decoded !== undefined) return decoded
    let b: unknown
    try {
      b = JSON.parse(strictUtf8.decode(bulk))
    } catch {
      b = undefined
    }
    const names = isObj(b) && isArr(b.names) && b.names.every(isStr) ? b.names : undefined
    const digests = isObj(b) && isStr(b.digests) && names !== undefined && b.digests.length === names.length * 64 && HEX.test(b.digests) ? b.digests : undefined
    const handles = isObj(b) ? pairs(b.handles, (x): x is HandleSite[] => isArr(x) && x.every(isHandle)) : undefined
    if (names === undefined || digests === undefined || handles === undefined) {
      throw new DdsError(ErrorCodes.INTEGRITY, `the persisted analysis of ${entry} names its declarations by a digest they match, yet they do not decode`, { data: { entry } })
    }
    const all = new Uint8Array(Buffer.from(digests, 'hex'))
    const declarations = new Map<string, Uint8Array>()
    // Each digest its own bytes (a view would carry the whole buffer wherever it is copied or sent).
    for (let i = 0; i < names.length; i++) declarations.set(names[i]!, all.slice(32 * i, 32 * i + 32))
    decoded = { declarations, handles: new Map(handles) }
    return decoded
  }
}

function decodeHead (r: Record<string, unknown>, bulk: Uint8Array): { part: StaticPart, w: Witnesses } | undefined {
  if (r.f !== FORMAT || !isObj(r.part) || !isObj(r.w)) return undefined
  const p = r.part
  const w = r.w
  const info = p.info
  if (!isStr(p.entry) || !isObj(info) || !isStr(info.name) || !optStr(info.file) || !(info.line === undefined || isNum(info.line)) || !(info.column === undefined || isNum(info.column))) return undefined
  const packages = pairs(p.packages, isStr)
  const files = pairs(w.files, (x): x is string | null => x === null || (isStr(x) && HEX32.test(x)))
  const dirs = pairs(w.dirs, isNum)
  if (packages === undefined || files === undefined || dirs === undefined) return undefined
  if (!isArr(p.needs) || !p.needs.every(isNeed) || !isArr(p.unavailable) || !p.unavailable.every(isStr) || !isArr(p.warnings) || !p.warnings.every(isStr) || !isStr(p.entryFile)) return undefined
  if (!(w.loaded === null || (isArr(w.loaded) && w.loaded.every(isStr)))) return undefined
  if (!(p.bare === undefined || (isStr(p.bare) && HEX32.test(p.bare)))) return undefined
  const fnInfo = { name: info.name, ...(info.file === undefined ? {} : { file: info.file as string }), ...(info.line === undefined ? {} : { line: info.line }), ...(info.column === undefined ? {} : { column: info.column }) }
  const analysis: StaticAnalysis = {
    entry: p.entry,
    info: fnInfo,
    entryFile: p.entryFile,
    declarations: undefined as unknown as Map<string, Uint8Array>,
    packages: new Map(packages),
    values: p.needs,
    handles: undefined as unknown as Map<string, HandleSite[]>,
    unavailable: new Set(p.unavailable),
    warnings: p.warnings
  }
  const part: StaticPart = {
    entry: analysis.entry,
    info: analysis.info,
    declarations: undefined as unknown as Map<string, Uint8Array>,
    packages: analysis.packages,
    needs: analysis.values,
    scopeNames: [],
    unavailable: analysis.unavailable,
    warnings: p.warnings,
    analysis
  }
  // Thousands of digests are read only when something asks for them: a plan of unchanged code needs only `bare`.
  const read = bulkReader(bulk, p.entry)
  const declarations = { get: () => read().declarations, enumerable: true, configurable: true }
  Object.defineProperty(analysis, 'declarations', declarations)
  Object.defineProperty(part, 'declarations', declarations)
  Object.defineProperty(analysis, 'handles', { get: () => read().handles, enumerable: true, configurable: true })
  if (p.bare !== undefined) part.bare = fromHex(p.bare as string)
  return { part, w: { files, dirs, loaded: w.loaded as string[] | null } }
}
