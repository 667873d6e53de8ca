/**
 * Why a store cannot be opened (or written), as one coded error. The
 * operating system and LevelDB say it in many ways (an errno on a Node call,
 * a LevelDB "IO error: <file>: <strerror>" two causes down); this file turns
 * each into DDS_STORE_UNAVAILABLE with the reason in the message and in
 * `data.reason`, the file concerned in `data.file`, and what to do about it.
 */
import { DdsError, ErrorCodes } from './errors.js'
import type { OpenFailure } from './interface.js'

/** The errno codes of each reason (EDQUOT: a full quota is a full disk for its user). */
const ERRNO: Record<string, OpenFailure> = {
  EACCES: 'permission',
  EPERM: 'permission',
  ENOTDIR: 'not-a-directory',
  EEXIST: 'not-a-directory',
  ENOSPC: 'disk-full',
  EDQUOT: 'disk-full',
  EROFS: 'read-only'
}

/** LevelDB reports errors as strerror text after the file name. */
const STRERROR: Array<[RegExp, OpenFailure, string]> = [
  [/: Permission denied$|: Operation not permitted$/, 'permission', 'EACCES'],
  [/: Not a directory$/, 'not-a-directory', 'ENOTDIR'],
  [/: No space left on device$|: Disk quota exceeded$/, 'disk-full', 'ENOSPC'],
  [/: Read-only file system$/, 'read-only', 'EROFS']
]

/** What an error says about the filesystem: the reason, the errno and the file, when it is one of the known failures. */
export interface FsFailure {
  reason: OpenFailure
  errno: string
  file: string | undefined
}

/**
 * The filesystem failure behind `err`, looked for in it and its causes (a
 * LevelDB error carries it two levels down), or undefined when it is
 * something else.
 */
export function fsFailure (err: unknown): FsFailure | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code
    if (code !== undefined && Object.hasOwn(ERRNO, code)) {
      return { reason: ERRNO[code] as OpenFailure, errno: code, file: (e as NodeJS.ErrnoException).path }
    }
    if (code === 'LEVEL_IO_ERROR') {
      const m = /^IO error: (.*?)(: [^:]+)$/.exec(e.message)
      for (const [pattern, reason, errno] of STRERROR) {
        if (m !== null && pattern.test(m[2] as string)) return { reason, errno, file: m[1] }
      }
    }
  }
  return undefined
}

function uidNow (): number | undefined {
  return process.getuid?.()
}

/** The sentence that explains a reason, and what to do. */
function explain (location: string, f: FsFailure, doing: string): string {
  const file = f.file ?? location
  switch (f.reason) {
    case 'permission': {
      const uid = uidNow()
      return `cannot ${doing} store ${location}: permission denied on ${file}${uid === undefined ? '' : ` for user ${uid}`} (${f.errno}); ` +
        'it can still be read (`readOnly`, and the read commands of `dds`) if its files are readable'
    }
    case 'not-a-directory':
      return `cannot ${doing} store ${location}: ${file} is not a directory (${f.errno}); a store is a directory: remove or rename what is in the way, or choose another --store`
    case 'disk-full':
      return `cannot ${doing} store ${location}: the disk is full (${f.errno} writing ${file}); ` +
        'LevelDB must write a few KiB to open for writing: free some space on that filesystem, then `dds gc` can delete what nothing reaches'
    case 'read-only':
      return `cannot ${doing} store ${location}: its filesystem is read-only (${f.errno} on ${file}); it can still be read (\`readOnly\`, and the read commands of \`dds\`)`
    case 'locked':
      return `cannot ${doing} store ${location}: it is locked by another process`
  }
}

/**
 * The coded error for a failure to open (or write) the store at `location`:
 * the reason in the message and in `data`, the original error as `cause`.
 * An error that is already coded passes through; one that is not a known
 * filesystem failure becomes DDS_STORE_UNAVAILABLE with its own message.
 *
 * @example
 * try { mkdirSync(dir) } catch (err) { throw openFailure(dir, err) } // data.reason 'permission'
 */
export function openFailure (location: string, err: unknown, doing = 'open'): DdsError {
  if (err instanceof DdsError) return err
  const f = fsFailure(err)
  if (f === undefined) {
    const detail = innermost(err)
    return new DdsError(ErrorCodes.STORE_UNAVAILABLE, `cannot ${doing} store ${location}: ${detail}`, { cause: err, data: { location } })
  }
  return new DdsError(ErrorCodes.STORE_UNAVAILABLE, explain(location, f, doing), {
    cause: err,
    data: { location, reason: f.reason, errno: f.errno, ...(f.file === undefined ? {} : { file: f.file }) }
  })
}

/** The store is held by a process this one cannot reach: the `locked` reason. */
export function lockedFailure (location: string, why: string): DdsError {
  return new DdsError(ErrorCodes.STORE_UNAVAILABLE,
    `cannot open store ${location}: it is locked by another process that ${why}; ` +
    'wait for it to finish, or stop it; it can still be read (`readOnly`, and the read commands of `dds`)',
    { data: { location, reason: 'locked' } })
}

/** The message at the bottom of a cause chain: the one that says what the system refused. */
function innermost (err: unknown): string {
  let e = err
  for (let depth = 0; e instanceof Error && e.cause instanceof Error && depth < 4; depth++) e = e.cause
  return e instanceof Error ? e.message : String(e)
}
