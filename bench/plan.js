/**
 * `dds plan` on a generated TypeScript project whose pipeline reaches 100
 * files (about 5 KB a file: twelve helpers, two constants, imports of the
 * next modules), ten steps in a chain, after an edit of one helper in the
 * middle of the graph (so that the plan has steps that will re-run, steps
 * that may re-run, and steps up to date to tell apart). Every figure is one
 * fresh `node` process, contenders in alternation:
 * - the CLI: `dds plan` from process start to exit, against a plain `node`
 *   start (an empty script, same clock): what node itself costs;
 * - the library call `plan(store)` in a fresh process (the first plan: every
 *   reached file read and parsed), against the cold code signature of the
 *   first step, the one that reaches all 100 files, in a fresh process (what
 *   a run pays to know the same thing for one step);
 * - the second `plan(store)` in the same process (files already parsed).
 * Each plan's answer is checked against what the edit must cause.
 *
 *   node bench/plan.js [--quick]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { quick, tempDir, isMain, compare, figure, report, progress, runNode, since } from './common.js'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const url = (rel) => pathToFileURL(join(repo, rel)).href
const tscBin = join(repo, 'node_modules', 'typescript', 'bin', 'tsc')
// The `dds` binary as installed (package.json's bin).
const cli = join(repo, JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).bin.dds)

const FILES = 100
const STEPS = 10
/** The file edited between the first run and the plans. */
const EDITED = 50
const PROCESSES = quick ? 3 : 9

/** Module i: twelve helpers, two constants, an entry calling its helpers and the next two modules (a linear chain of calls). */
function moduleSource (i) {
  const imports = []
  const calls = []
  if (i + 1 < FILES) { imports.push(`import { entry${i + 1} } from './m${i + 1}.js'`); calls.push(`entry${i + 1}(x)`) }
  if (i + 2 < FILES) { imports.push(`import { helper${i + 2}_3 } from './m${i + 2}.js'`); calls.push(`helper${i + 2}_3(x)`) }
  const helpers = Array.from({ length: 12 }, (_, k) => `
/** Helper ${k} of module ${i}: arithmetic over a small table. */
export function helper${i}_${k} (x: number): number {
  const table: number[] = [${Array.from({ length: 8 }, (_, n) => n * (k + 1)).join(', ')}]
  let total = 0
  for (let n = 0; n < table.length; n++) {
    // weight each entry by its position and the module constant
    total += table[n]! * (n + 1) * SCALE_${i} + Math.floor(x / ${k + 1})
  }
  if (total > LIMIT_${i}) {
    return total % LIMIT_${i}
  }
  return total${k > 0 ? ` + helper${i}_${k - 1}(x - 1)` : ''}
}
`).join('')
  return `${imports.join('\n')}

const SCALE_${i} = ${i + 1}
const LIMIT_${i} = ${1000 * (i + 1)}
${helpers}
export function entry${i} (x: number): number {
  return (helper${i}_11(x)${calls.map((c) => ` + ${c}`).join('')}) % 100000
}
`
}

/** Step k calls the entry of module 10k: step 0 reaches all 100 files, step 9 the last 10; each takes the previous step's value. */
function pipelineSource () {
  const lines = []
  for (let k = 0; k < STEPS; k++) lines.push(`import { entry${k * 10} } from './m${k * 10}.js'`)
  for (let k = 0; k < STEPS; k++) {
    // Objects, not numbers: a kept object passed on is linked to the step that made it (a number carries no provenance).
    const input = k === 0 ? 'x: number' : 'prev: { value: number }'
    const arg = k === 0 ? 'x' : 'prev.value'
    lines.push('', `/** Step ${k} of the pipeline. */`, `export function step${k} (${input}): { value: number } {`, `  return { value: entry${k * 10}(${arg}) % 1000 }`, '}')
  }
  return lines.join('\n') + '\n'
}

function mainSource () {
  const keeps = Array.from({ length: STEPS }, (_, k) => k === 0 ? "  let v = await dds.keep('/pipeline/s0', p.step0, 7)" : `  v = await dds.keep('/pipeline/s${k}', p.step${k}, v)`)
  return `import * as p from './pipeline.js'

const { open } = await import(process.argv[2]!)
const dds = await open({ store: process.argv[3] })
await dds.evaluate(async () => {
${keeps.join('\n')}
})
await dds.close()
`
}

// Fresh-process drivers (plain JavaScript, run from the project root); each prints one JSON line.
const PLAN_DRIVER = `const { openStore } = await import(${JSON.stringify(url('dist/store/index.js'))})
const { plan } = await import(${JSON.stringify(url('dist/lib/plan/index.js'))})
const imported = performance.now()
const store = await openStore({ location: process.argv[2] })
let t = performance.now()
const first = await plan(store, { force: [] })
const cold = performance.now() - t
t = performance.now()
await plan(store, { force: [] })
const warm = performance.now() - t
await store.close()
const having = (s) => first.paths.filter((x) => x.status === s).map((x) => x.path).sort()
console.log(JSON.stringify({ imported, cold, warm, will: having('will-run'), may: having('may-run'), upToDate: having('up-to-date') }))
`
const SIGNATURE_DRIVER = `const { SignatureEngine } = await import(${JSON.stringify(url('dist/lib/signature/index.js'))})
const { createHash } = await import('node:crypto')
const { step0 } = await import('./dist/src/pipeline.js')
const hashValue = (v) => new Uint8Array(createHash('sha256').update(JSON.stringify(v) ?? 'u').digest())
const t = performance.now()
const s = new SignatureEngine().signature(step0, { hashValue })
const cold = performance.now() - t
console.log(JSON.stringify({ cold, files: new Set(Object.keys(s.manifest.declarations).map((k) => k.split('#')[0])).size }))
`
const EMPTY = 'console.log(JSON.stringify({ t: performance.now() }))\n'

/** Write the project, compile it and run the pipeline once. */
export async function project () {
  const root = tempDir('plan')
  const write = (rel, text) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true })
    writeFileSync(join(root, rel), text)
  }
  write('package.json', JSON.stringify({ name: 'plan-graph', version: '1.0.0', type: 'module' }))
  write('tsconfig.json', JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', sourceMap: true, outDir: 'dist', rootDir: '.',
      strict: false, skipLibCheck: true, noCheck: true, types: [], lib: ['es2023']
    },
    include: ['src/**/*.ts']
  }))
  let bytes = 0
  for (let i = 0; i < FILES; i++) {
    const text = moduleSource(i)
    bytes += text.length
    write(`src/m${i}.ts`, text)
  }
  write('src/pipeline.ts', pipelineSource())
  write('src/main.ts', mainSource())
  write('plan-driver.js', PLAN_DRIVER)
  write('signature-driver.js', SIGNATURE_DRIVER)
  write('empty.js', EMPTY)
  await runNode([tscBin, '-p', join(root, 'tsconfig.json')], root)
  const store = join(root, '.dds')
  progress('plan: first run of the pipeline')
  await runNode([join(root, 'dist', 'src', 'main.js'), url('dist/bundle/index.js'), store], root)
  return { root, store, bytes }
}

/** Edit one helper of the middle file (in the source the plan reads; a run would see it after compiling again). */
export function edit (root) {
  const file = join(root, 'src', `m${EDITED}.ts`)
  const text = readFileSync(file, 'utf8')
  const head = `export function helper${EDITED}_3 (x: number): number {\n  const table: number[] = [`
  writeFileSync(file, text.replace(`${head}0,`, `${head}1,`))
  if (readFileSync(file, 'utf8') === text) throw new Error('the edit did not apply')
}

/** Wall-clock ms of a fresh `node args...` process, from spawn to exit, and its stdout. */
async function timed (args, cwd, env) {
  const t0 = process.hrtime.bigint()
  const out = await runNode(args, cwd, env)
  return { ms: since(t0), out }
}

/** What each state must plan: nothing before the edit; after it, the steps whose entry reaches module 50 will re-run (0..5), those below may. */
const EXPECTED = {
  unchanged: { will: [], may: [] },
  edited: {
    will: Array.from({ length: 6 }, (_, k) => `/pipeline/s${k}`).sort(),
    may: Array.from({ length: STEPS - 6 }, (_, k) => `/pipeline/s${k + 6}`).sort()
  }
}

function checkPlan (state, will, may, where) {
  const e = EXPECTED[state]
  if (JSON.stringify(will) !== JSON.stringify(e.will) || JSON.stringify(may) !== JSON.stringify(e.may)) {
    throw new Error(`${where}, ${state}: will ${will.join(',')} / may ${may.join(',')}, expected will ${e.will.join(',')} / may ${e.may.join(',')}`)
  }
}

/** Rounds of fresh processes in one state of the project, contenders in alternation. */
async function rounds (root, store, state) {
  const s = { first: [], cli: [], uncached: [], node: [], lib: [], sig: [], warm: [], imported: [] }
  // The CLI's code cache, primed by one run: what every run of `dds plan` after the first finds.
  const cached = { DDS_CODE_CACHE: join(root, 'code-cache') }
  const planned = async (env) => {
    const c = await timed([cli, 'plan', '--store', store], root, env)
    const rows = c.out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'))
    checkPlan(state, rows.filter((r) => r[0] === 'will-run').map((r) => r[1]).sort(), rows.filter((r) => r[0] === 'may-run').map((r) => r[1]).sort(), 'dds plan')
    return c.ms
  }
  s.first.push(await planned(cached))
  for (let i = 0; i < PROCESSES; i++) {
    progress(`plan: ${state}, fresh processes, round ${i + 1}/${PROCESSES}`)
    s.cli.push(await planned(cached))
    s.uncached.push(await planned({ DDS_CODE_CACHE: 'off' }))
    s.node.push((await timed([join(root, 'empty.js')], root)).ms)
    const lib = JSON.parse(await runNode([join(root, 'plan-driver.js'), store], root))
    checkPlan(state, lib.will, lib.may, 'plan()')
    s.lib.push(lib.cold)
    s.warm.push(lib.warm)
    s.imported.push(lib.imported)
    const sig = JSON.parse(await runNode([join(root, 'signature-driver.js')], root))
    if (sig.files !== FILES + 1) throw new Error(`the first step reaches ${sig.files} files, expected ${FILES + 1}`)
    s.sig.push(sig.cold)
  }
  return s
}

export async function main () {
  progress('plan: writing and compiling the project')
  const { root, store, bytes } = await project()
  for (const state of ['unchanged', 'edited']) {
    if (state === 'edited') edit(root)
    const s = await rounds(root, store, state)
    const graph = `${STEPS} steps reaching ${FILES} files (${Math.round(bytes / 1000)} KB), ${state === 'edited' ? '1 file edited' : 'no edit'}`
    compare({ group: 'plan', name: `dds plan, fresh process: ${graph}`, unit: 'ms', ours: s.cli, base: s.node, baseline: 'plain node start (empty script)', target: '< 300' })
    figure({ group: 'plan', name: `dds plan, first after the change, fresh process: ${graph}`, unit: 'ms', samples: s.first, note: 'one run: writes the code cache, keeps the analyses a later plan reuses' })
    compare({ group: 'plan', name: `dds plan, fresh process, code cache on vs off: ${graph}`, unit: 'ms', ours: s.cli, base: s.uncached, baseline: 'the same command with DDS_CODE_CACHE=off (a first run)' })
    compare({
      group: 'plan',
      name: `plan(store), first in a process: ${graph}`,
      unit: 'ms',
      ours: s.lib,
      base: s.sig,
      baseline: 'cold signature of the 100-file step',
      target: '< 300',
      note: `import of store and plan ${s.imported.map((x) => x.toFixed(0)).join('/')} ms`
    })
    figure({ group: 'plan', name: `plan(store), second in the process: ${graph}`, unit: 'ms', samples: s.warm })
  }
}

if (isMain(import.meta)) {
  await main()
  report()
}
