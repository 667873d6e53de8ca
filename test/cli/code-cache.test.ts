/**
 * The code cache of the `dds` binary (lib/cli/code-cache.ts): written by a
 * first run, used by the next, and refused, with the command still running
 * from source, whenever the file or its directory could have been written by
 * someone else, is damaged, or was made from other source. Then the binary
 * itself, as installed: the first run of a command writes its cache, the
 * second uses it and prints the same.
 */
import t from 'tap'
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { cacheDirectory } from '../../lib/cli/code-cache.js'
import { repoRoot } from '../helpers/project.js'
import { openStore } from '../../store/store.js'
import { open } from '../../lib/dds.js'

/** A script with some code to cache; its exports say it ran. */
function script (dir: string, body = 'x * 2'): string {
  const file = join(dir, 'prog.cjs')
  writeFileSync(file, `#!/usr/bin/env node
function helper (x) { return ${body} }
module.exports = { value: helper(21), file: __filename, strict: (function () { return this === undefined })() }
`)
  return file
}

interface Outcome { exports: { value: number, file: string, strict: boolean }, used: boolean, skipped: string | null, saved: boolean | null }

const SOURCE = join(repoRoot, 'lib', 'cli', 'code-cache.ts')

/** runCached in a fresh process, as the binary runs it (V8 keeps what one process compiled: a second compile there would not read the cache); `save` calls save() as the exit does. */
function runIn (file: string, key: string, dir: string | null, save = false): Outcome {
  const runner = `import { runCached } from ${JSON.stringify(SOURCE)}
const r = runCached(${JSON.stringify(file)}, ${JSON.stringify(key)}, ${JSON.stringify(dir)})
const saved = ${String(save)} ? r.save() : null
process.stdout.write(JSON.stringify({ exports: r.exports, used: r.used, skipped: r.skipped ?? null, saved }))
`
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', runner], { cwd: repoRoot, env, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`runner failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as Outcome
}

const cacheFiles = (dir: string): string[] => existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.v8')) : []

t.test('a first run writes the cache, the next uses it', async (t) => {
  const root = t.testdir()
  const file = script(root)
  const dir = join(root, 'cache')
  const first = runIn(file, 'plan', dir, true)
  t.same(first.exports, { value: 42, file, strict: false }, 'the script ran as CommonJS, with its own __filename')
  t.equal(first.used, false)
  t.equal(first.skipped, 'no cache yet', 'no directory yet')
  t.equal(first.saved, true, 'the exit writes the code')
  t.equal(statSync(dir).mode & 0o777, 0o700, 'the directory is the user\'s alone')
  const [name] = cacheFiles(dir)
  t.match(name, /^plan-[0-9a-f]{24}\.v8$/)
  t.equal(statSync(join(dir, name!)).mode & 0o777, 0o600)

  const second = runIn(file, 'plan', dir, true)
  t.equal(second.used, true, 'V8 took the cached code')
  t.equal(second.skipped, null)
  t.equal(second.exports.value, 42)
  t.equal(second.saved, false, 'nothing to write when the cache was used')
  t.equal(runIn(file, 'ls', dir).used, false, 'each command has its own cache')
})

t.test('a cache that anyone else could have written, or that is damaged, is not used; the script still runs', async (t) => {
  const root = t.testdir()
  const file = script(root)
  const dir = join(root, 'cache')
  runIn(file, 'plan', dir, true)
  const [name] = cacheFiles(dir)
  const cache = join(dir, name!)
  const good = readFileSync(cache)
  const attempt = (why: string | RegExp, label: string): void => {
    const run = runIn(file, 'plan', dir)
    t.equal(run.used, false, label)
    t.match(run.skipped, why, label)
    t.equal(run.exports.value, 42, `${label}: the script ran from source`)
  }

  const flipped = Buffer.from(good)
  const at = flipped.length - 10
  flipped[at] = flipped[at]! ^ 0xff
  writeFileSync(cache, flipped)
  attempt('the cache file is damaged', 'one byte changed in the code')
  writeFileSync(cache, good.subarray(0, good.length - 100))
  attempt('the cache file is damaged', 'a torn write')
  writeFileSync(cache, good.subarray(0, 20))
  attempt('the cache file has an impossible size', 'a few bytes')
  writeFileSync(cache, Buffer.concat([Buffer.from('something-else/1\n'), good.subarray(15)]))
  attempt('the cache file is not one of dds-ts', 'another format')

  // Bytes made to pass the digest (anyone who can write the file can compute it): V8 itself refuses what it did not make.
  const { createHash } = await import('node:crypto')
  const junk = Buffer.alloc(4096, 7)
  writeFileSync(cache, Buffer.concat([good.subarray(0, 15), createHash('sha256').update(junk).digest(), junk]))
  attempt(/V8 refused/, 'forged code with a matching digest')

  writeFileSync(cache, good)
  chmodSync(cache, 0o666)
  attempt('the cache file is writable by others', 'a file others may write')
  chmodSync(cache, 0o600)
  t.equal(runIn(file, 'plan', dir).used, true, 'the good file again')

  if (process.getuid?.() === 0) {
    chownSync(cache, 65534, 65534)
    attempt('the cache file belongs to another user', 'another user\'s file')
    chownSync(cache, 0, 0)
  }

  const elsewhere = join(root, 'elsewhere.v8')
  writeFileSync(elsewhere, good, { mode: 0o600 })
  writeFileSync(cache, '')
  const { rmSync } = await import('node:fs')
  rmSync(cache)
  symlinkSync(elsewhere, cache)
  attempt('the cache file cannot be read (ELOOP)', 'a symbolic link planted in the directory')
  rmSync(cache)
  writeFileSync(cache, good, { mode: 0o600 })

  chmodSync(dir, 0o777)
  attempt('the cache directory is writable by others', 'a directory others may write to')
  t.equal(runIn(file, 'ls', dir, true).saved, false, 'nothing is written there either')
  t.same(cacheFiles(dir), [name], 'no file added')
  chmodSync(dir, 0o700)

  const linked = join(root, 'linked-cache')
  symlinkSync(dir, linked)
  const viaLink = runIn(file, 'plan', linked, true)
  t.equal(viaLink.skipped, 'the cache directory is a symbolic link')
  t.equal(viaLink.saved, false)
})

t.test('other source, same length: the old code is not used, and is replaced', async (t) => {
  const root = t.testdir()
  const dir = join(root, 'cache')
  runIn(script(root, 'x * 2'), 'plan', dir, true)
  const [before] = cacheFiles(dir)
  const edited = script(root, 'x + 2')
  const run = runIn(edited, 'plan', dir, true)
  t.equal(run.used, false, 'V8 checks only the length; the file name carries the digest')
  t.equal(run.exports.value, 23, 'the edited code ran')
  t.equal(run.saved, true)
  const after = cacheFiles(dir)
  t.equal(after.length, 1, 'the cache of the old source is removed')
  t.not(after[0], before)
  t.equal(runIn(edited, 'plan', dir).used, true)
})

t.test('where the cache lives', async (t) => {
  t.equal(cacheDirectory({ DDS_CODE_CACHE: 'off' }), null)
  t.equal(cacheDirectory({ DDS_CODE_CACHE: '0' }), null)
  t.equal(cacheDirectory({ DDS_CODE_CACHE: '/var/cache/dds' }), '/var/cache/dds')
  t.equal(cacheDirectory({ XDG_CACHE_HOME: '/x/cache' }), '/x/cache/dds-ts')
  t.match(cacheDirectory({ XDG_CACHE_HOME: 'relative' }), /\/\.cache\/dds-ts$/, 'a relative XDG_CACHE_HOME is ignored, as the spec says')
  const root = t.testdir()
  const run = runIn(script(root), 'plan', null, true)
  t.equal(run.skipped, 'the cache is off (DDS_CODE_CACHE=off)')
  t.equal(run.saved, false)
})

const BIN = join(repoRoot, 'dist', 'bundle', 'dds.cjs')

t.test('the installed binary: a command writes its cache once, then runs from it', { skip: !existsSync(BIN) && 'needs npm run build' }, async (t) => {
  const root = t.testdir()
  const dir = join(root, 'cache')
  mkdirSync(dir, { mode: 0o700 })
  const store = await openStore({ location: join(root, 'store') })
  const dds = await open({ store, log: false })
  await dds.keep('/probe/double', (x: number) => x * 2, 21)
  await dds.close()
  await store.close()
  const env: NodeJS.ProcessEnv = { ...process.env, DDS_CODE_CACHE: dir, DDS_CODE_CACHE_REPORT: '1', DDS_STORE: join(root, 'store') }
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  const run = (args: string[]): { status: number | null, stdout: string, stderr: string } => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: root, env, encoding: 'utf8' })
    return { status: r.status, stdout: r.stdout, stderr: r.stderr }
  }
  const first = run(['ls', '--json'])
  t.equal(first.status, 0, first.stderr)
  t.match(first.stderr, 'dds: code cache not used: no cache yet')
  t.same(cacheFiles(dir).map((f) => f.replace(/-.*/, '')), ['ls'])
  const second = run(['ls', '--json'])
  t.equal(second.status, 0, second.stderr)
  t.match(second.stderr, 'dds: code cache used')
  t.equal(second.stdout, first.stdout, 'the same answer')
  t.match(first.stdout, '/probe/double')

  const version = run(['--version'])
  t.match(version.stdout, /^\d+\.\d+\.\d+/)
  t.equal(run(['lss']).status, 2, 'an unknown command is a usage error')
  t.same(cacheFiles(dir).map((f) => f.replace(/-.*/, '')), ['ls'], 'neither an option nor an unknown word gets a cache')

  const off = spawnSync(process.execPath, [BIN, 'ls', '--json'], { cwd: root, env: { ...env, DDS_CODE_CACHE: 'off' }, encoding: 'utf8' })
  t.equal(off.status, 0)
  t.match(off.stderr, 'not used: the cache is off')
  t.equal(off.stdout, first.stdout)
})

t.test('the bundled CLI imports only through dynamicImport (a cached script has no import() of its own)', { skip: !existsSync(join(repoRoot, 'dist', 'bundle', 'cli.cjs')) && 'needs npm run build' }, async (t) => {
  const { parseSync } = await import('oxc-parser')
  const file = join(repoRoot, 'dist', 'bundle', 'cli.cjs')
  const { program } = parseSync(file, readFileSync(file, 'utf8').replace(/^#!.*/, ''), { sourceType: 'script' })
  const found: string[] = []
  // Allowed: the fallback inside dynamicImport itself, and runPreloads, which runs in worker threads (as text).
  const allowed = new Set(['dynamicImport', 'runPreloads'])
  const walk = (node: unknown, fn: string | undefined): void => {
    if (Array.isArray(node)) { for (const n of node) walk(n, fn); return }
    if (node === null || typeof node !== 'object') return
    const n = node as { type?: string, id?: { name?: string }, start?: number }
    const inside = (n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression') && n.id?.name !== undefined ? n.id.name : fn
    if (n.type === 'ImportExpression' && (inside === undefined || !allowed.has(inside))) found.push(`${inside ?? 'top level'} at ${n.start ?? '?'}`)
    for (const [k, v] of Object.entries(n)) if (k !== 'type') walk(v, inside)
  }
  walk(program, undefined)
  t.same(found, [], 'no other import() in the bundle')
})
