/**
 * The explicit form of a file dependency, for reads that happen outside the
 * kept function: `keep('/rows', parse, file('data/weather.csv'))`. The
 * argument is hashed by the file's content (a directory: by its names and
 * the content of every file below it) and the function receives the path
 * string it was made from. `file()` and `dir()` are typed as strings, the
 * type the function's parameter has.
 */
import { join, resolve } from 'node:path'
import { DdsError, ErrorCodes } from '../../store/errors.js'
import { identity } from '../value-hash.js'
import { fileDigest, listing, recordedPath, statOf } from './digest.js'

const PATH_ARG: unique symbol = Symbol('dds-ts.path-argument')

/** An argument standing for a file or directory: hashed by content, passed to the function as its path. */
export interface PathArgument {
  readonly [PATH_ARG]: { path: string, kind: 'file' | 'dir' }
  [identity] (): unknown
}

function make (path: string, kind: 'file' | 'dir', fn: string): PathArgument {
  if (typeof path !== 'string' || path === '') throw new TypeError(`${fn}() takes a non-empty path string`)
  return {
    [PATH_ARG]: { path, kind },
    [identity] () { return { [kind]: recordedPath(resolve(path)), content: contentOf(path, kind) } }
  }
}

function missing (path: string, kind: string): DdsError {
  return new DdsError(ErrorCodes.FILE_NOT_FOUND, `${kind}(${JSON.stringify(path)}): no such ${kind === 'file' ? 'file' : 'directory'}`, { data: { path } })
}

function contentOf (path: string, kind: 'file' | 'dir'): unknown {
  const abs = resolve(path)
  const st = statOf(abs)
  if (kind === 'file') {
    if (st === undefined || !st.isFile()) throw missing(path, kind)
    return fileDigest(abs)
  }
  if (st === undefined || !st.isDirectory()) throw missing(path, kind)
  // Names and contents of every file below, in a stable order; directories count by what they hold.
  const out: Record<string, Uint8Array> = {}
  for (const name of (listing(abs, true) ?? []).sort()) {
    const full = join(abs, name)
    if (statOf(full)?.isFile() === true) out[name] = fileDigest(full)
  }
  return out
}

/**
 * A file argument: hashed by the file's content, received by the kept
 * function as the path string. Throws DDS_FILE_NOT_FOUND when hashed if the
 * file does not exist.
 *
 * @example
 * const rows = await keep('/weather/rows', (p: string) => parse(readFileSync(p, 'utf8')), file('data/weather.csv'))
 */
export function file (path: string): PathArgument & string {
  return make(path, 'file', 'file') as PathArgument & string
}

/**
 * A directory argument: hashed by the names and contents of every file below
 * it, received by the kept function as the path string.
 *
 * @example
 * const n = await keep('/photos/count', (d: string) => readdirSync(d).length, dir('photos/'))
 */
export function dir (path: string): PathArgument & string {
  return make(path, 'dir', 'dir') as PathArgument & string
}

/** The path string a kept function receives for an argument (other arguments unchanged). */
export function passedAs (arg: unknown): unknown {
  if (arg !== null && typeof arg === 'object' && PATH_ARG in arg) return (arg as PathArgument)[PATH_ARG].path
  return arg
}

