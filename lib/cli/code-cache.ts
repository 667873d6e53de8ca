/**
 * V8's code cache for the `dds` binary. Node 20 compiles every module of
 * every fresh process from source (it has no compile cache of its own), and
 * a `dds` command spends more time compiling the CLI than doing its work.
 * The binary (dist/bundle/dds.cjs) therefore runs the CLI, one CommonJS file
 * (dist/bundle/cli.cjs), as a `vm.Script` given the code V8 produced for the
 * same file and command in an earlier run; the first run of each command
 * writes that code at exit.
 *
 * The cache is code this process runs, so it is read only from where no one
 * else can write: a directory owned by the user and writable by no one else,
 * holding regular files owned by the user, neither a symbolic link. A file
 * names the digest of the source it was made from (V8 checks only the
 * source's length) and starts with the SHA-256 of its payload, so that a
 * torn or damaged file is ignored rather than handed to V8. Any failure
 * (no home directory, a read-only disk, a file that fails a check) means
 * running without the cache, never a failed command.
 *
 * `DDS_CODE_CACHE=off` turns it off; `DDS_CODE_CACHE=/some/dir` puts it
 * there (default: `$XDG_CACHE_HOME/dds-ts`, else `~/.cache/dds-ts`).
 */
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { Script } from 'node:vm'

const MAGIC = Buffer.from('dds-v8-cache/1\n')
const DIGEST_BYTES = 32
/** More than any cache the CLI makes (about 1 MB): a larger file is not read. */
const MAX_CACHE_BYTES = 64 * 1024 * 1024

/** What a run of a cached script did, and what its exit needs to write the cache. */
export interface CachedRun {
  /** The script's `module.exports`. */
  exports: unknown
  /** Whether V8 took code from the cache. */
  used: boolean
  /** Why the cache was not used, when it was not. */
  skipped: string | undefined
  /** Writes the code compiled so far, when the cache was not used (call at exit); whether it wrote. */
  save: () => boolean
}

/** The cache directory the environment asks for, or null when it is off. */
export function cacheDirectory (env: NodeJS.ProcessEnv = process.env): string | null {
  const asked = env.DDS_CODE_CACHE
  if (asked === 'off' || asked === '0') return null
  if (asked !== undefined && asked !== '') return asked
  const base = env.XDG_CACHE_HOME !== undefined && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache')
  return join(base, 'dds-ts')
}

/** Why `s` may not be trusted as the user's own, or undefined when it may. */
function untrusted (s: Stats, kind: 'file' | 'directory'): string | undefined {
  if (s.isSymbolicLink()) return `the cache ${kind} is a symbolic link`
  if (kind === 'file' ? !s.isFile() : !s.isDirectory()) return `the cache ${kind} is not a ${kind}`
  const uid = process.getuid?.()
  if (uid !== undefined && s.uid !== uid) return `the cache ${kind} belongs to another user`
  if ((s.mode & 0o022) !== 0) return `the cache ${kind} is writable by others`
  return undefined
}

/** The directory, created if missing (mode 0700), or why it cannot be used. */
function trustedDirectory (dir: string, create: boolean): string | undefined {
  try {
    if (create) mkdirSync(dir, { recursive: true, mode: 0o700 })
    return untrusted(lstatSync(dir), 'directory')
  } catch (err) {
    if (!create && (err as NodeJS.ErrnoException).code === 'ENOENT') return 'no cache yet'
    return `the cache directory cannot be used (${(err as NodeJS.ErrnoException).code ?? String(err)})`
  }
}

/** The payload of a cache file, or why it is not used. */
function readCache (file: string): Buffer | string {
  let fd: number
  try {
    // O_NOFOLLOW: a link planted in the directory is not followed.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no cache yet' : `the cache file cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`
  }
  try {
    const s = fstatSync(fd)
    const why = untrusted(s, 'file')
    if (why !== undefined) return why
    if (s.size > MAX_CACHE_BYTES || s.size < MAGIC.length + DIGEST_BYTES) return 'the cache file has an impossible size'
    const bytes = Buffer.allocUnsafe(s.size)
    let at = 0
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at)
      if (n === 0) break
      at += n
    }
    if (at !== bytes.length) return 'the cache file is shorter than it was'
    if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) return 'the cache file is not one of dds-ts'
    const payload = bytes.subarray(MAGIC.length + DIGEST_BYTES)
    const digest = createHash('sha256').update(payload).digest()
    if (!digest.equals(bytes.subarray(MAGIC.length, MAGIC.length + DIGEST_BYTES))) return 'the cache file is damaged'
    return payload
  } finally {
    closeSync(fd)
  }
}

/** Write `payload` as the cache file `file`, atomically (a new file renamed over it), and remove the same command's caches of other sources. */
function writeCache (file: string, payload: Buffer, stalePrefix: string): void {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  try {
    for (const part of [MAGIC, createHash('sha256').update(payload).digest(), payload]) {
      let at = 0
      while (at < part.length) at += writeSync(fd, part, at, part.length - at)
    }
  } finally {
    closeSync(fd)
  }
  try {
    renameSync(temp, file)
  } catch (err) {
    rmSync(temp, { force: true })
    throw err
  }
  const dir = dirname(file)
  for (const name of readdirSync(dir)) {
    if (name.startsWith(stalePrefix) && join(dir, name) !== file && name.endsWith('.v8')) rmSync(join(dir, name), { force: true })
  }
}

/**
 * Run the CommonJS file `file` as the main program, with V8's code for it
 * from the cache under `key` (a command name) when there is a trusted one.
 *
 * @example
 * const run = runCached(join(here, 'cli.cjs'), 'plan')
 * process.on('exit', () => { run.save() })
 */
export function runCached (file: string, key: string, dir: string | null = cacheDirectory()): CachedRun {
  const bytes = readFileSync(file)
  const source = bytes.toString('utf8').replace(/^#!.*/, '')
  const tag = createHash('sha256').update(bytes).update(process.version).update(process.arch).digest('hex').slice(0, 24)
  const stalePrefix = `${key}-`
  const cacheFile = dir === null ? undefined : join(dir, `${stalePrefix}${tag}.v8`)
  let skipped: string | undefined = dir === null ? 'the cache is off (DDS_CODE_CACHE=off)' : trustedDirectory(dir, false)
  let cachedData: Buffer | undefined
  if (skipped === undefined && cacheFile !== undefined) {
    const read = readCache(cacheFile)
    if (typeof read === 'string') skipped = read
    else cachedData = read
  }
  // No importModuleDynamically: Node 20 loses it when the code comes from the cache, so the script
  // imports through store/dynamic-import.ts, which the binary points at a real module's import().
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData })
  })
  // false, not undefined: V8 looked at the data and took it (a script V8 already holds in memory ignores it).
  const used = cachedData !== undefined && script.cachedDataRejected === false
  if (cachedData !== undefined && !used) skipped = 'V8 refused the cached code (another V8 or other flags)'
  const module = { exports: {} as unknown, filename: file, id: '.', loaded: false }
  const require = createRequire(file)
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void
  run.call(module.exports, module.exports, require, module, file, dirname(file))
  module.loaded = true
  let saved = false
  return {
    exports: module.exports,
    used,
    skipped,
    save: () => {
      if (used || saved || dir === null || cacheFile === undefined) return false
      saved = true
      try {
        if (trustedDirectory(dir, true) !== undefined) return false
        writeCache(cacheFile, script.createCachedData(), stalePrefix)
        return true
      } catch {
        // Best effort: the next run compiles from source again.
        return false
      }
    }
  }
}
