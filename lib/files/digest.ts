/**
 * What a recorded file dependency is made of and how it is checked: the
 * project root that paths are relative to, which paths are code rather than
 * data, the content digest of a file, the digest of a directory listing,
 * and the check that a recorded file is unchanged (cheap first: size, mtime,
 * inode; the digest only when that fails).
 */
import { createHash } from 'node:crypto'
import type { Stats } from 'node:fs'
import { dirname, isAbsolute, join, relative, sep } from 'node:path'
import type { FileKind, FileRef } from '../../store/records.js'
import { sameBytes } from '../../store/util.js'
import { raw } from './raw.js'

/** The digest of a path that did not exist. */
export const ABSENT = new Uint8Array(0)
const CHUNK = 1 << 20
const SOURCE = /\.(?:[cm]?[jt]sx?|map)$/
const CONFIG = /(?:^|\/)(?:package\.json|tsconfig[^/]*\.json)$/
const SYSTEM = ['/proc/', '/sys/', '/dev/']

let root: string | undefined

/** The project's root: the nearest directory above the working directory with a package.json (else the working directory). */
export function projectRoot (): string {
  if (root !== undefined) return root
  const cwd = process.cwd()
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (raw.existsSync(join(dir, 'package.json'))) return (root = dir)
    if (dirname(dir) === dir) return (root = cwd)
  }
}

/** How a path is recorded: relative to the project root (POSIX) inside it, absolute outside. */
export function recordedPath (abs: string): string {
  const rel = relative(projectRoot(), abs)
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? abs : rel.split(sep).join('/')
}

/** The absolute path of a recorded path. */
export function absolutePath (path: string): string {
  return isAbsolute(path) ? path : join(projectRoot(), path)
}

/**
 * True when reading `abs` is reading data. Code is not: the project's
 * sources (and source maps, package.json, tsconfig), anything under
 * node_modules (the signature tracks both); nor are system pseudo-files
 * and the directories in `excluded` (the store).
 */
export function isData (abs: string, excluded: readonly string[]): boolean {
  if (abs.includes(`${sep}node_modules${sep}`) || abs.endsWith(`${sep}node_modules`)) return false
  for (const s of SYSTEM) if (abs.startsWith(s)) return false
  for (const e of excluded) if (abs === e || abs.startsWith(e + sep)) return false
  const rel = recordedPath(abs)
  if (!isAbsolute(rel) && (SOURCE.test(rel) || CONFIG.test(rel))) return false
  return true
}

/** sha256 of bytes. */
export function sha256 (bytes: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

/** The content digest of a file (ABSENT when it does not exist), read in chunks. */
export function fileDigest (abs: string): Uint8Array {
  let fd: number
  try {
    fd = raw.openSync(abs, 'r')
  } catch (err) {
    if (isMissing(err)) return ABSENT
    throw err
  }
  try {
    const h = createHash('sha256')
    const buf = Buffer.allocUnsafe(CHUNK)
    for (;;) {
      const n = raw.readSync(fd, buf, 0, CHUNK, null)
      if (n === 0) break
      h.update(n === CHUNK ? buf : buf.subarray(0, n))
    }
    return new Uint8Array(h.digest())
  } finally {
    raw.closeSync(fd)
  }
}

/** The digest of a directory listing: its names sorted, so the order the OS returns does not count. */
export function listingDigest (names: readonly string[]): Uint8Array {
  return sha256([...names].sort().join('\0'))
}

/** Most names a recursive listing walks: a record (maybe from a hostile bundle) naming `/` must not walk the whole disk. */
export const MAX_TREE = 100_000

/**
 * The names in a directory (recursively: relative POSIX paths), undefined
 * when it does not exist. A recursive listing stops after MAX_TREE names
 * and ends with a marker, so that a cut listing never equals a whole one.
 */
export function listing (abs: string, recursive: boolean): string[] | undefined {
  let top: string[]
  try {
    top = raw.readdirSync(abs) as string[]
  } catch (err) {
    if (isMissing(err)) return undefined
    throw err
  }
  if (!recursive) return top
  const out: string[] = []
  const stack: Array<[string, string[]]> = [['', top]]
  while (stack.length > 0) {
    const [prefix, names] = stack.pop() as [string, string[]]
    for (const name of names) {
      if (out.length >= MAX_TREE) return [...out, '\0cut']
      const rel = prefix === '' ? name : `${prefix}/${name}`
      out.push(rel)
      const full = join(abs, rel)
      let st: Stats | undefined
      try { st = raw.lstatSync(full) } catch { continue }
      if (st.isDirectory()) {
        try { stack.push([rel, raw.readdirSync(full) as string[]]) } catch { /* unreadable: listed by name only */ }
      }
    }
  }
  return out
}

/** What a stat dependency depends on: the type, and the size of a file. */
export function statDigest (st: Stats | undefined): Uint8Array {
  if (st === undefined) return ABSENT
  return sha256(st.isFile() ? `file:${st.size}` : st.isDirectory() ? 'dir' : 'other')
}

const NO_THROW = Object.freeze({ throwIfNoEntry: false })

/** The stat of a path, undefined when it does not exist. */
export function statOf (abs: string): Stats | undefined {
  try {
    return raw.statSync(abs, NO_THROW)
  } catch {
    return undefined
  }
}

/** True for the error of a path that does not exist. */
export function isMissing (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

/** The digest a kind of dependency has now. */
export function digestNow (abs: string, kind: FileKind, st: Stats | undefined): Uint8Array {
  switch (kind) {
    case 'stat': return statDigest(st)
    case 'file': return st === undefined ? ABSENT : fileDigest(abs)
    case 'dir': case 'tree': {
      const names = st === undefined ? undefined : listing(abs, kind === 'tree')
      return names === undefined ? ABSENT : listingDigest(names)
    }
  }
}

/**
 * The digest a recorded dependency has now: the recorded one when the cheap
 * check (size, mtime, inode, device) passes, else computed from the disk.
 * A recursive listing has no cheap check (a deeper change leaves the top
 * directory's mtime alone).
 */
export function currentDigest (ref: FileRef): Uint8Array {
  const abs = absolutePath(ref.path)
  const st = statOf(abs)
  if (st === undefined) return ABSENT
  if (sameIdentity(ref, st)) return ref.digest
  return digestNow(abs, ref.kind, st)
}

function sameIdentity (ref: FileRef, st: Stats): boolean {
  return ref.size !== -1 && ref.kind !== 'stat' && ref.kind !== 'tree' &&
    st.size === ref.size && st.mtimeMs === ref.mtime && st.ino === ref.ino && st.dev === ref.dev
}

/**
 * The absolute path of each checked ref, or null for one naming a system
 * pseudo-file. Refs are decoded once and checked on every hit, so the path
 * work is done once per ref and a hit pays only the stat.
 */
const checkedPath = new WeakMap<FileRef, string | null>()

function checkPath (ref: FileRef): string | null {
  let abs = checkedPath.get(ref)
  if (abs === undefined) {
    const p = absolutePath(ref.path)
    abs = SYSTEM.some((s) => p.startsWith(s)) ? null : p
    checkedPath.set(ref, abs)
  }
  return abs
}

/** True when a recorded dependency still has its recorded digest (one stat when the cheap check passes). */
export function fileHolds (ref: FileRef): boolean {
  const abs = checkPath(ref)
  // Never recorded (a hostile record naming a device): not a dependency that can hold.
  if (abs === null) return false
  const st = statOf(abs)
  if (st === undefined) return ref.digest.byteLength === 0
  if (sameIdentity(ref, st)) return true
  // Another size is other content: no need to read it.
  if (ref.kind === 'file' && (ref.size === -1 || !st.isFile() || st.size !== ref.size)) return false
  return sameBytes(digestNow(abs, ref.kind, st), ref.digest)
}

/** True when every recorded dependency still has its recorded digest. */
export function filesHold (refs: readonly FileRef[] | undefined): boolean {
  if (refs === undefined) return true
  for (const ref of refs) if (!fileHolds(ref)) return false
  return true
}
