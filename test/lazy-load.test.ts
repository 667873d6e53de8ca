/**
 * What importing dds-ts loads: no native binding (classic-level, cbor-extract),
 * neither oxc-parser nor oxc-resolver, no cbor-x, no memory-level; and, from the
 * bundled package entry, none of the pure-JS dependencies it inlines. Opening a
 * store and keeping an object then loads what that needs. Each case is a fresh
 * `node` process that records every module it loads three ways: ESM loads
 * through a module.register() hook, CommonJS loads through require.cache, native
 * addons through process.dlopen.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from './helpers/project.js'
import { startNode } from './helpers/spawn.js'

const dir = mkdtempSync(join(tmpdir(), 'dds-lazy-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

// The hook runs on the loader thread: it sends each URL it loads back over a port.
writeFileSync(join(dir, 'hook.mjs'), `let port
export function initialize (data) { port = data.port }
export async function load (url, context, next) { port.postMessage(url); return await next(url, context) }
`)
writeFileSync(join(dir, 'x.mjs'), `import { register } from 'node:module'
import { twice } from './helper.mjs'
import { createRequire } from 'node:module'
import { MessageChannel } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'

const urls = []
const { port1, port2 } = new MessageChannel()
port1.on('message', (url) => { urls.push(url) })
port1.unref()
register(new URL('./hook.mjs', import.meta.url), { data: { port: port2 }, transferList: [port2] })
const native = []
const dlopen = process.dlopen
process.dlopen = function (module, file, ...rest) { native.push(file); return dlopen.call(this, module, file, ...rest) }
const require = createRequire(import.meta.url)

// Messages from the loader thread arrive asynchronously: wait for them to drain.
const settle = async () => { for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve)) }
const packages = () => {
  const files = [...urls.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u)), ...Object.keys(require.cache), ...native]
  const names = new Set()
  for (const f of files) {
    const m = /[\\\\/]node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(f)
    if (m !== null) names.add(m[1].replace(/\\\\/g, '/'))
  }
  return [...names].sort()
}

const dds = await import(process.argv[2])
await settle()
const afterImport = packages()
const store = await dds.open({ store: process.argv[3] })
function pair (x) { return { x, double: twice(x) } }
let value
await store.evaluate(async () => { value = await store.keep('/pair', pair, 21) })
await store.close()
await settle()
console.log(JSON.stringify({ afterImport, afterKeep: packages(), value, native: native.map((f) => f.replace(/.*node_modules[\\\\/]/, '')) }))
`)

writeFileSync(join(dir, 'helper.mjs'), 'export const twice = (x) => x * 2\n')

interface Loaded { afterImport: string[], afterKeep: string[], value: unknown, native: string[] }
const run = async (entry: string, store: string): Promise<Loaded> => {
  const exit = await startNode(join(dir, 'x.mjs'), [entry, join(dir, store)], { cwd: dir }).done
  if (exit.code !== 0) throw new Error(`node x.mjs exited with ${String(exit.code)}: ${exit.stderr}`)
  return JSON.parse(exit.stdout)
}

// Loaded only when a store opens, a value is encoded or a file is analysed.
const LAZY = ['abstract-level', 'cbor-extract', 'cbor-x', 'classic-level', 'memory-level', 'oxc-parser', 'oxc-resolver']
const notLoaded = (loaded: string[], names: string[]): string[] => names.filter((n) => loaded.some((l) => l === n || l.startsWith(`${n}-`) || l.startsWith(`@${n}/`)))

t.test('compiled dist/lib/index.js: importing loads no native binding, opening and keeping does', async (t) => {
  const r = await run(join(repoRoot, 'dist', 'lib', 'index.js'), 'tsc-store')
  t.same(notLoaded(r.afterImport, LAZY), [], `after import: ${r.afterImport.join(', ')}`)
  t.same(r.value, { x: 21, double: 42 })
  for (const name of ['classic-level', 'cbor-x', 'oxc-parser', 'oxc-resolver']) {
    t.ok(r.afterKeep.includes(name), `${name} is loaded once a store is open and a value kept`)
  }
  t.ok(r.native.some((f) => f.startsWith('classic-level')), 'the LevelDB binding is loaded by the open')
  t.ok(r.native.some((f) => /cbor-extract/.test(f)), 'cbor-extract is loaded by the first encode')
  t.notOk(r.afterKeep.includes('memory-level'), 'a classic store never loads memory-level')
})

t.test('the package entry (the bundle): no dependency at all is loaded by the import', async (t) => {
  // The file `import('dds-ts')` resolves to, by the package's own exports map.
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> }
  const entry = join(repoRoot, pkg.exports['.']!.default)
  t.match(entry, /bundle/, 'the package entry is the bundle')
  const r = await run(entry, 'bundle-store')
  // The bundle inlines the pure-JS dependencies: nothing from node_modules is read at import.
  t.same(r.afterImport, [], 'importing dds-ts reads no file under node_modules')
  t.same(r.value, { x: 21, double: 42 })
  for (const name of ['classic-level', 'cbor-x', 'oxc-parser', 'oxc-resolver']) {
    t.ok(r.afterKeep.includes(name), `${name} is loaded once a store is open and a value kept`)
  }
  t.notOk(r.afterKeep.includes('multiformats'), 'multiformats stays inlined')
})

t.test('the bundle starts thread workers from the thread-worker.js it ships', async (t) => {
  // threads.js finds its worker as './thread-worker.js' beside itself: in the bundle, beside the chunk.
  writeFileSync(join(dir, 'sq.mjs'), 'export function sq (x) { return x * x }\n')
  writeFileSync(join(dir, 'threads.mjs'), `import { open } from ${JSON.stringify(join(repoRoot, 'dist', 'bundle', 'index.js'))}
import { sq } from './sq.mjs'
const dds = await open({ backend: 'memory', threads: 2 })
console.log(JSON.stringify(await dds.keepEach('/sq', sq, [2, 3, 4], { runOn: 'threads' })))
await dds.close()
`)
  const exit = await startNode(join(dir, 'threads.mjs'), [], { cwd: dir }).done
  t.equal(exit.code, 0, exit.stderr)
  t.same(JSON.parse(exit.stdout), [4, 9, 16])
})
