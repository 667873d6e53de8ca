/**
 * `require('dds-ts')` from CommonJS: the package graph has no top-level
 * `await` (Node refuses to require such a module), importing it loads neither
 * oxc-parser nor oxc-resolver, and the first analysis loads them on demand.
 * Each run is a fresh `node x.cjs` process keeping a function on a temporary
 * store: the first computes, the second reuses.
 */
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../../helpers/project.js'
import { startNode } from '../../helpers/spawn.js'

const dir = mkdtempSync(join(tmpdir(), 'dds-cjs-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

const script = join(dir, 'x.cjs')
writeFileSync(join(dir, 'helper.cjs'), 'exports.factor = (x) => x * 3\n')
writeFileSync(script, `'use strict'
// Native addons loaded, in order: oxc's bindings must appear only once an analysis needs them.
const loaded = []
const dlopen = process.dlopen
process.dlopen = function (module, file, ...rest) { loaded.push(file); return dlopen.call(this, module, file, ...rest) }
const oxc = () => loaded.filter((f) => /oxc/.test(f)).map((f) => /resolver/.test(f) ? 'resolver' : 'parser')

const dds = require(${JSON.stringify(join(repoRoot, 'dist', 'lib', 'index.js'))})
const afterImport = oxc()
const { factor } = require('./helper.cjs')
let calls = 0
function triple (x) {
  calls++
  return factor(x)
}

async function main () {
  const store = await dds.open({ store: process.argv[2] })
  let value
  await store.evaluate(async () => { value = await store.keep('/triple', triple, 14) })
  await store.close()
  console.log(JSON.stringify({ value, calls, afterImport, afterKeep: [...new Set(oxc())].sort(), exports: typeof dds.open }))
}
main().catch((err) => { console.error(err); process.exit(1) })
`)

const run = async (): Promise<{ value: number, calls: number, afterImport: string[], afterKeep: string[], exports: string }> => {
  const exit = await startNode(script, [join(dir, 'store')], { cwd: dir }).done
  if (exit.code !== 0) throw new Error(`node x.cjs exited with ${String(exit.code)}: ${exit.stderr}`)
  return JSON.parse(exit.stdout)
}

t.test('require() of the built package from CommonJS, keep on a temp store', async (t) => {
  const first = await run()
  t.equal(first.exports, 'function', 'the programming model is exported to CommonJS')
  t.equal(first.value, 42)
  t.equal(first.calls, 1, 'first run computes')
  t.same(first.afterImport, [], 'importing loads neither oxc-parser nor oxc-resolver')
  t.same(first.afterKeep, ['parser', 'resolver'], 'the first analysis loads both')
  const second = await run()
  t.equal(second.value, 42)
  t.equal(second.calls, 0, 'a second process reuses the kept result')
})

t.test('no module of the built package has a top-level await', async (t) => {
  // require(esm) throws ERR_REQUIRE_ASYNC_MODULE for any module in the graph with a top-level await.
  // The programs (main.js, the bundled cli.js) run when loaded; their chunks are required here.
  const check = join(dir, 'each.cjs')
  writeFileSync(check, `'use strict'
const { readdirSync } = require('node:fs')
const { join } = require('node:path')
const failed = []
const walk = (d) => { for (const e of readdirSync(d, { withFileTypes: true })) {
  const p = join(d, e.name)
  if (e.isDirectory()) walk(p)
  else if (p.endsWith('.js') && !p.endsWith('main.js') && p !== ${JSON.stringify(join(repoRoot, 'dist', 'bundle', 'cli.js'))}) { try { require(p) } catch (err) { if (err.code === 'ERR_REQUIRE_ASYNC_MODULE') failed.push(p) } }
} }
walk(${JSON.stringify(join(repoRoot, 'dist', 'lib'))})
walk(${JSON.stringify(join(repoRoot, 'dist', 'store'))})
walk(${JSON.stringify(join(repoRoot, 'dist', 'bundle'))})
console.log(JSON.stringify(failed))
`)
  const exit = await startNode(check, [], { cwd: dir }).done
  t.equal(exit.code, 0, exit.stderr)
  t.same(JSON.parse(exit.stdout), [], 'every module can be required')
})

t.test('require() of the bundled package entries: one DdsError class for both', async (t) => {
  const check = join(dir, 'bundle.cjs')
  writeFileSync(check, `'use strict'
const dds = require(${JSON.stringify(join(repoRoot, 'dist', 'bundle', 'index.js'))})
const store = require(${JSON.stringify(join(repoRoot, 'dist', 'bundle', 'store.js'))})
console.log(JSON.stringify({ open: typeof dds.open, keep: typeof dds.keep, openStore: typeof store.openStore, shared: dds.DdsError === store.DdsError }))
`)
  const exit = await startNode(check, [], { cwd: dir }).done
  t.equal(exit.code, 0, exit.stderr)
  t.same(JSON.parse(exit.stdout), { open: 'function', keep: 'function', openStore: 'function', shared: true })
})
