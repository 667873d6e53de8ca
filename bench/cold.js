/**
 * The cold path of a fresh process (issue 13): `import('dds-ts')`, and the
 * time from process start to the first value of a hit, for a function
 * reaching 10 helpers over 3 modules (plain ES modules, as tsc emits them),
 * the store already holding the answer.
 *
 * Every figure is one fresh `node` process; dds-ts and its baseline alternate,
 * process by process, so a busy neighbour slows them alike:
 * - import: the package entry (the bundle in dist/bundle) against the
 *   unbundled tsc output (dist/lib/index.js), the layout before the bundle;
 * - first hit: `performance.now()` when the value is back (the clock starts
 *   with the process) against a plain `node` start (the same clock read by an
 *   empty script): what node itself costs before any user code runs. dds_py is
 *   not installed here; with it, it would be the Python fixture.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { compare, isMain, progress, quick, report, runNode, tempDir } from './common.js'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
const bundle = pathToFileURL(join(repo, 'dist', 'bundle', 'index.js')).href
const unbundled = pathToFileURL(join(repo, 'dist', 'lib', 'index.js')).href
const PROCESSES = quick ? 5 : 15

const run = async (args, cwd) => JSON.parse(await runNode(args, cwd))

/** Three modules, ten helpers (exported for profiling by hand); main.js keeps `total` once, then prints the cold figures. */
export function fixture () {
  const root = tempDir('cold')
  const write = (rel, text) => { mkdirSync(dirname(join(root, rel)), { recursive: true }); writeFileSync(join(root, rel), text) }
  write('package.json', JSON.stringify({ name: 'cold', version: '1.0.0', type: 'module' }))
  write('a.js', [0, 1, 2, 3].map((k) => `export function a${k} (x) { return x * ${k + 2} + ${k} }`).join('\n') + '\n')
  write('b.js', `import { a0, a1 } from './a.js'\n` + [0, 1, 2].map((k) => `export function b${k} (x) { return a${k % 2}(x) - ${k} }`).join('\n') + '\n')
  write('c.js', `import { a2, a3 } from './a.js'\nimport { b0, b1, b2 } from './b.js'\n` +
    `export function c0 (x) { return a2(x) + b0(x) }\nexport function c1 (x) { return a3(x) + b1(x) + b2(x) }\nexport function c2 (x) { return c0(x) * c1(x) }\n`)
  write('main.js', `const { open } = await import(process.argv[2])
const imported = performance.now()
import { c2 } from './c.js'
function total (n) { let s = 0; for (let i = 0; i < n; i++) s += c2(i); return s }
const dds = await open({ store: process.argv[3] })
const opened = performance.now()
const value = await dds.keep('/total', total, 100)
const first = performance.now()
await dds.close()
console.log(JSON.stringify({ imported, opened, first, value }))
`)
  write('empty.js', 'console.log(JSON.stringify({ first: performance.now() }))\n')
  write('import.js', `const t0 = performance.now()
await import(process.argv[2])
console.log(JSON.stringify({ imported: performance.now() - t0 }))
`)
  return root
}

export async function main () {
  const root = fixture()
  const store = join(root, 'store')
  progress('cold: filling the store once')
  await run([join(root, 'main.js'), bundle, store], root)
  const ours = { import: [], base: [], first: [], node: [], parts: [] }
  for (let i = 0; i < PROCESSES; i++) {
    progress(`cold: fresh processes, round ${i + 1}/${PROCESSES}`)
    ours.import.push((await run([join(root, 'import.js'), bundle], root)).imported)
    ours.base.push((await run([join(root, 'import.js'), unbundled], root)).imported)
    const hit = await run([join(root, 'main.js'), bundle, store], root)
    ours.first.push(hit.first)
    ours.parts.push(hit)
    ours.node.push((await run([join(root, 'empty.js')], root)).first)
  }
  const med = (k) => { const s = ours.parts.map((p) => p[k]).sort((a, b) => a - b); return s[s.length >> 1] }
  compare({ group: 'cold', name: 'import(\'dds-ts\'), fresh process', unit: 'ms', ours: ours.import, base: ours.base, baseline: 'unbundled dist/lib/index.js', target: '<= 20' })
  compare({
    group: 'cold',
    name: 'process start to first value of a hit (10 helpers, 3 modules)',
    unit: 'ms',
    ours: ours.first,
    base: ours.node,
    baseline: 'plain node start (empty script)',
    target: '<= 25',
    note: `medians from process start: imported ${med('imported').toFixed(0)} ms, opened ${med('opened').toFixed(0)} ms, first value ${med('first').toFixed(0)} ms`
  })
  return report()
}

if (isMain(import.meta)) await main()
