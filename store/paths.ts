/**
 * Store paths: absolute, `/`-separated, segments of letters, digits, `.`, `_`
 * and `-`, no empty, `.` or `..` segment, no trailing slash. No path may be a
 * directory of another, so that a store can always be laid out as files.
 */
import { DdsError, ErrorCodes } from './errors.js'

/** Longest accepted path, in characters. */
export const MAX_PATH_LENGTH = 1024
const SEGMENT = /^[A-Za-z0-9._-]{1,255}$/
/** Most paths are valid: one test says so (segments of allowed characters, none `.` or `..`); the rest find their reason below. */
const VALID = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._-]{1,255})+$/

/** The reason `path` is invalid, or undefined when it is valid. */
export function pathProblem (path: string): string | undefined {
  if (path.length === 0) return 'is empty'
  if (path.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`
  if (VALID.test(path)) return undefined
  if (path[0] !== '/') return 'is not absolute (it must start with "/")'
  if (path === '/') return 'names the root, not a path'
  if (path.endsWith('/')) return 'ends with "/"'
  const segments = path.slice(1).split('/')
  for (const seg of segments) {
    if (seg === '') return 'has an empty segment ("//")'
    if (seg === '.' || seg === '..') return `has a "${seg}" segment`
    if (!SEGMENT.test(seg)) return `has a segment ${JSON.stringify(seg)} with characters other than letters, digits, ".", "_" and "-"`
  }
  return undefined
}

/**
 * Check a path and return it. Throws TypeError for a non-string and
 * DDS_PATH_INVALID (naming the path) for a malformed one.
 *
 * @example
 * validatePath('/models/clf') // '/models/clf'
 */
export function validatePath (path: unknown, argument = 'path'): string {
  if (typeof path !== 'string') throw new TypeError(`${argument} must be a string, got ${typeof path}`)
  const problem = pathProblem(path)
  if (problem !== undefined) {
    throw new DdsError(ErrorCodes.PATH_INVALID, `${argument} ${JSON.stringify(path)} ${problem}`, { data: { path, argument } })
  }
  return path
}


/** The proper ancestors of a path: `/a/b/c` gives `/a`, `/a/b`. */
export function ancestors (path: string): string[] {
  const out: string[] = []
  let i = path.indexOf('/', 1)
  while (i !== -1) {
    out.push(path.slice(0, i))
    i = path.indexOf('/', i + 1)
  }
  return out
}

/** DDS_OVERLAPPING_PATH: `dir` would be a directory of `path`. */
export function overlapError (dir: string, path: string): DdsError {
  return new DdsError(ErrorCodes.OVERLAPPING_PATH,
    `paths ${dir} and ${path} overlap: ${dir} would be a directory of ${path} (delete one of them first)`,
    { data: { path, other: dir } })
}

/** Throw DDS_OVERLAPPING_PATH if any two of `paths` overlap. */
export function checkNoOverlap (paths: Iterable<string>): void {
  const set = new Set(paths)
  for (const p of set) {
    for (const a of ancestors(p)) {
      if (set.has(a)) throw overlapError(a, p)
    }
  }
}
