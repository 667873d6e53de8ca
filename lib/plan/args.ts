/**
 * The arguments a script will pass, where its source says them: a
 * `keep('/path', fn, 3, 'x')` call (any receiver) naming the path by a
 * literal, with literal arguments. Only a path kept at exactly one such call
 * site in the project gets its arguments: anything else is left to the run.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { CID } from 'multiformats/cid'
import { hex } from '../../store/util.js'
import { sha256 } from '../signature/canonical.js'
import type { AnalysisStore } from '../signature/interface.js'
import { recordKey } from '../signature/persisted.js'
import { literalString } from '../signature/ast.js'
import { children } from '../signature/locate.js'
import { parseSource, parserAvailable, type AstNode } from '../signature/parse.js'
import { hashValue } from '../value-hash.js'
import { literalValue, NOT_STATIC } from './literal.js'

const SOURCE = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'])
/** Directories a project's own scripts are not in. */
const SKIP = new Set(['node_modules', 'dist', 'build', 'coverage'])

/** The identities keep gives these arguments; undefined for one it refuses (the run will say why). */
function identities (values: unknown[]): CID[] | undefined {
  try {
    return values.map((v, i) => hashValue(v, `args[${i}]`, { mode: 'input' }))
  } catch {
    return undefined
  }
}

function isKeepCallee (callee: AstNode): boolean {
  if (callee.type === 'Identifier') return callee.name === 'keep'
  return callee.type === 'MemberExpression' && callee.computed !== true && callee.property?.name === 'keep'
}

/** The project's script files, skipping dependencies, build output and hidden directories (stores). */
function sourceFiles (root: string): string[] {
  const out: string[] = []
  const walk = (dir: string): void => {
    let entries
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue
      if (e.isDirectory()) { if (!SKIP.has(e.name)) walk(join(dir, e.name)) } else if (e.isFile() && SOURCE.has(extname(e.name)) && !e.name.endsWith('.d.ts')) out.push(join(dir, e.name))
    }
  }
  walk(root)
  return out
}

/**
 * For each of `paths` kept at exactly one call site of the project with
 * literal arguments only: the identities those arguments will have (as
 * keep hashes them). A path kept elsewhere too, or with any argument the
 * source does not determine, is absent.
 *
 * @example
 * staticArguments('/p', ['/weather/clean']) // Map { '/weather/clean' => [CID(bafyrei…)] }
 */
export function staticArguments (root: string, paths: Iterable<string>, analyses?: AnalysisStore): Map<string, CID[]> {
  const wanted = new Set(paths)
  const sites = new Map<string, Array<CID[] | undefined>>()
  if (wanted.size === 0) return new Map()
  for (const file of sourceFiles(root)) {
    let bytes: Buffer
    try {
      bytes = readFileSync(file)
    } catch {
      continue
    }
    if (!bytes.includes('keep')) continue
    const found = keepSites(file, bytes, analyses)
    if (found === undefined) return new Map()
    for (const [path, ids] of found) {
      if (!wanted.has(path)) continue
      const list = sites.get(path) ?? []
      sites.set(path, list)
      list.push(ids)
    }
  }
  const out = new Map<string, CID[]>()
  for (const [path, list] of sites) if (list.length === 1 && list[0] !== undefined) out.set(path, list[0])
  return out
}

/**
 * The keep calls of one file naming a path by a literal, with the identities
 * of their arguments (undefined where one is not a literal); kept by the
 * file's content digest, so an unchanged file is not parsed again. Undefined
 * when no parser is available.
 */
function keepSites (file: string, bytes: Buffer, analyses: AnalysisStore | undefined): Array<[string, CID[] | undefined]> | undefined {
  const key = recordKey(['plan-args', hex(sha256(bytes))])
  const kept = analyses?.get(key)
  if (kept !== undefined) {
    try {
      const list = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(kept)) as unknown
      if (Array.isArray(list) && list.every((x) => Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && (x[1] === null || (Array.isArray(x[1]) && x[1].every((c) => typeof c === 'string'))))) {
        return (list as Array<[string, string[] | null]>).map(([path, ids]) => [path, ids === null ? undefined : ids.map((c) => CID.parse(c))])
      }
    } catch {
      // A malformed record is a miss: the file is parsed again.
    }
  }
  if (!parserAvailable()) return undefined
  const parsed = parseSource(file, bytes.toString('utf8'))
  const out: Array<[string, CID[] | undefined]> = []
  if (parsed.errors.length === 0) {
    const stack: AstNode[] = [parsed.program]
    while (stack.length > 0) {
      const node = stack.pop() as AstNode
      stack.push(...children(node))
      if (node.type !== 'CallExpression' || !isKeepCallee(node.callee)) continue
      const path = literalString(node.arguments[0])
      if (path === undefined) continue
      const args = (node.arguments as AstNode[]).slice(2)
      const values = args.map((a) => (a.type === 'SpreadElement' ? NOT_STATIC : literalValue(a)))
      out.push([path, values.includes(NOT_STATIC) ? undefined : identities(values)])
    }
  }
  analyses?.put(key, new TextEncoder().encode(JSON.stringify(out.map(([path, ids]) => [path, ids === undefined ? null : ids.map(String)]))))
  return out
}
