/**
 * Where a kept function can be loaded from in another thread or on another
 * machine: the module it was loaded from (found through the in-process
 * inspector, as the signature engine finds it) and the name it is exported
 * under. A closure or a local function has no such name and is refused.
 */
import { existsSync, realpathSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DdsError, ErrorCodes } from '../../store/errors.js'
import { InspectorBridge } from '../signature/inspector.js'
import { dynamicImport } from '../../store/dynamic-import.js'

/** How to load a function elsewhere. */
export interface ModuleRef {
  /** The URL of the module as loaded here (`file:///p/src/tiles.ts`). */
  url: string
  /** The export whose value is the function (`default` for a default export). */
  exportName: string
  /** The module's file relative to its project root (the nearest directory with a package.json), with `/` separators. */
  relative: string
}

let bridge: InspectorBridge | null | undefined
const found = new WeakMap<Function, ModuleRef>()
let groups = 0

function notExported (fn: Function, why: string): DdsError {
  const name = fn.name === '' ? 'an anonymous function' : fn.name
  return new DdsError(ErrorCodes.NOT_EXPORTED,
    `${name} cannot run on a worker: ${why}. A worker loads the function from its module by its exported name: export it from a module (a closure or a local function cannot be loaded elsewhere)`,
    { data: { fn: fn.name } })
}

function sameFile (a: string, b: string): boolean {
  try { return realpathSync(a) === realpathSync(b) } catch { return false }
}

/** The nearest directory above `file` with a package.json (else the file's own directory). */
export function projectRoot (file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) return dirname(file)
  }
}

/**
 * The module and export name `fn` can be loaded by in another thread or
 * process. Throws DDS_NOT_EXPORTED for a function no module exports.
 *
 * @example
 * await moduleOf(tile) // { url: 'file:///p/src/tiles.ts', exportName: 'tile', relative: 'src/tiles.ts' }
 */
export async function moduleOf (fn: Function): Promise<ModuleRef> {
  const known = found.get(fn)
  if (known !== undefined) return known
  if (bridge === undefined) bridge = InspectorBridge.connect() ?? null
  if (bridge === null) throw notExported(fn, 'the inspector that finds its module is not available in this process')
  const group = `dds-parallel-${++groups}`
  let url: string | undefined
  try {
    const location = bridge.details(fn, group).location
    url = location === undefined ? undefined : bridge.script(location.scriptId)?.url
  } finally {
    bridge.release(group)
  }
  if (url === undefined || !url.startsWith('file:')) throw notExported(fn, 'it has no module file (native, bound, or created from a string)')
  const file = fileURLToPath(url.replace(/[?#].*$/, ''))
  // Loading the script being run in a worker would run the whole script again there (and importing it here, while it is still running, would wait for itself).
  if (process.argv[1] !== undefined && sameFile(file, process.argv[1])) throw notExported(fn, `it is defined in the script being run (${file}); move it to a module the script imports`)
  // The module is already loaded here, so this import is the same module instance.
  const mod = await dynamicImport(url) as Record<string, unknown>
  const exportName = Object.keys(mod).find((k) => mod[k] === fn)
  if (exportName === undefined) throw notExported(fn, `no export of ${url} is this function`)
  const ref = { url, exportName, relative: relative(projectRoot(file), file).split(sep).join('/') }
  found.set(fn, ref)
  return ref
}
