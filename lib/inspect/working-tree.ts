/**
 * The current source of the declarations a code manifest names, read from
 * the project's working tree. Manifests come from stores and bundles, so a
 * declaration key (`src/a.ts#train`) is an untrusted path: it is read only
 * when it is relative, stays under the project root after every symbolic
 * link is followed, and names a regular file of bounded size. Nothing is
 * ever written.
 */
import { open, realpath } from 'node:fs/promises'
import { constants } from 'node:fs'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { parserAvailable, parseSource, type AstNode } from '../signature/parse.js'
import { allFunctions, nestedPath } from '../signature/locate.js'
import type { Store } from '../../store/store.js'
import type { CurrentSourceView, SourceOptions, SourcesView } from './interface.js'
import { evaluationOf, parseTarget, type Target } from './target.js'

/** Larger files are not read: a source file this big is not one a person reads on a page. */
const FILE_LIMIT = 2 * 1024 * 1024
/** At most this many declarations are looked up for one page. */
const DECLARATION_LIMIT = 200

const MEMBERS = new Set(['MethodDefinition', 'Property', 'PropertyDefinition', 'AccessorProperty'])

type Read = { text: string } | { status: 'outside' | 'missing' | 'too-large' }

/** Split `file#name`; undefined when the key has no `#`. */
function splitKey (key: string): { file: string, name: string } | undefined {
  const at = key.lastIndexOf('#')
  if (at <= 0) return undefined
  return { file: key.slice(0, at), name: key.slice(at + 1) }
}

/** True when the key's file part could name something outside the root, before any file system call. */
function escapes (file: string): boolean {
  if (file.includes('\0') || isAbsolute(file) || /^[A-Za-z]:/.test(file) || file.startsWith('\\')) return true
  return file.split(/[\\/]/).includes('..')
}

async function readConfined (root: string, file: string): Promise<Read> {
  if (escapes(file)) return { status: 'outside' }
  let real: string
  try {
    real = await realpath(resolve(root, file))
  } catch {
    return { status: 'missing' }
  }
  const rel = relative(root, real)
  // A symbolic link inside the project may point anywhere: judge where it lands.
  if (rel === '' || rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel)) return { status: 'outside' }
  let handle
  try {
    handle = await open(real, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0))
  } catch {
    return { status: 'missing' }
  }
  try {
    const info = await handle.stat()
    if (!info.isFile()) return { status: 'missing' }
    if (info.size > FILE_LIMIT) return { status: 'too-large' }
    return { text: await handle.readFile('utf8') }
  } finally {
    await handle.close()
  }
}

function lineOf (text: string, offset: number): number {
  let line = 1
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++
  return line
}

function declares (stmt: AstNode, name: string): boolean {
  const d = (stmt.type === 'ExportNamedDeclaration' || stmt.type === 'ExportDefaultDeclaration') && stmt.declaration !== null && stmt.declaration !== undefined ? stmt.declaration : stmt
  if (name === 'default' && stmt.type === 'ExportDefaultDeclaration') return true
  if ((d.type === 'FunctionDeclaration' || d.type === 'ClassDeclaration') && d.id?.name === name) return true
  if (d.type === 'VariableDeclaration') return (d.declarations as AstNode[]).some((v) => v.id?.type === 'Identifier' && v.id.name === name)
  return false
}

/** The node a declaration name (`train`, `makeScaler/~`, `Model/predict`) stands for in a parsed file. */
function findDeclaration (program: AstNode, name: string): AstNode | undefined {
  if (!name.includes('/')) {
    const top = (program.body as AstNode[]).find((s) => declares(s, name))
    if (top !== undefined) return top
  }
  const found = allFunctions(program).find((l) => nestedPath(l.ancestors, l.node) === name)
  if (found === undefined) return undefined
  // A method's function node starts at its parameters; the member holds its name too.
  const parent = found.ancestors[found.ancestors.length - 1]
  return parent !== undefined && MEMBERS.has(parent.type) && parent.value === found.node ? parent : found.node
}

/**
 * The current text of each declaration named by `keys` (`file#name`, files
 * relative to `root`), from the working tree: `ok` with the text and its
 * first line; `outside` for a key that would leave the root (absolute,
 * `..`, a link out); `package` for a key of another package (`pkg:file#name`);
 * `missing`, `too-large`, `not-found` (the file no longer declares it),
 * `unparsed` (no parser here, or the file does not parse).
 *
 * @example
 * await currentSources('/home/me/project', ['src/train.ts#train'])
 * // [{ key: 'src/train.ts#train', file: 'src/train.ts', name: 'train', status: 'ok', line: 3, text: 'export function train …' }]
 */
export async function currentSources (root: string, keys: Iterable<string>): Promise<CurrentSourceView[]> {
  if (typeof root !== 'string' || root === '') throw new TypeError('root must be a non-empty path')
  const realRoot = await realpath(root)
  const files = new Map<string, Promise<Read>>()
  const parsed = new Map<string, AstNode | undefined>()
  const out: CurrentSourceView[] = []
  for (const key of keys) {
    if (out.length === DECLARATION_LIMIT) break
    const parts = splitKey(key)
    if (parts === undefined) continue
    const { file, name } = parts
    const base = { key, file, name, line: null, text: null }
    // Keys of other packages of a workspace carry the package's name, not a path under this root.
    if (/^[^/\\]+:/.test(file) && !/^[A-Za-z]:/.test(file)) { out.push({ ...base, status: 'package' }); continue }
    let read = files.get(file)
    if (read === undefined) { read = readConfined(realRoot, file); files.set(file, read) }
    const got = await read
    if (!('text' in got)) { out.push({ ...base, status: got.status }); continue }
    if (!parserAvailable()) { out.push({ ...base, status: 'unparsed' }); continue }
    if (!parsed.has(file)) {
      const p = parseSource(file, got.text)
      parsed.set(file, p.errors.length === 0 ? p.program : undefined)
    }
    const program = parsed.get(file)
    if (program === undefined) { out.push({ ...base, status: 'unparsed' }); continue }
    const node = findDeclaration(program, name)
    if (node === undefined) { out.push({ ...base, status: 'not-found' }); continue }
    out.push({ ...base, status: 'ok', line: lineOf(got.text, node.start), text: got.text.slice(node.start, node.end) })
  }
  return out
}

/**
 * The source of the declarations the evaluation a target names reached: as
 * recorded (never, today: manifests hold hashes), and as the working tree
 * under `root` has them now (null without a root).
 *
 * @example
 * const s = await sourcesOf(store, '/models/clf', { root: process.cwd() })
 * s.current?.[0]?.text // 'export function train (rows) { … }'
 */
export async function sourcesOf (store: Store, target: string | Target, options: SourceOptions & { root?: string } = {}): Promise<SourcesView> {
  const { record } = await evaluationOf(store, typeof target === 'string' ? parseTarget(target) : target, options)
  const manifest = await store.getManifest(record.code)
  const keys = Object.keys(manifest.declarations).sort()
  const ordered = Object.hasOwn(manifest.declarations, manifest.entry) ? [manifest.entry, ...keys.filter((k) => k !== manifest.entry)] : keys
  return { entry: manifest.entry, recorded: null, current: options.root === undefined ? null : await currentSources(options.root, ordered) }
}
