/**
 * Costs of a signature on a generated 20-file, ~100 KB module graph, in a
 * fresh process under both runners: cold (first signature, including the
 * inspector's script list and parsing every file), a second function of the
 * same graph, and the warm path (same function again). The bounds asserted
 * are loose, for a busy CI machine; the measured numbers are printed.
 */
import t from 'tap'
import { createProject, distModule } from '../../helpers/project.js'

const FILES = 20

function moduleSource (i: number): string {
  const imports: string[] = []
  const calls: string[] = []
  for (const j of [i + 1, i + 2]) {
    if (j < FILES) {
      imports.push(`import { entry${j}, helper${j}_3 } from './m${j}.js'`)
      calls.push(`entry${j}(x)`, `helper${j}_3(x)`)
    }
  }
  const helpers = Array.from({ length: 12 }, (_, k) => `
/** Helper ${k} of module ${i}: arithmetic over a small table. */
export function helper${i}_${k} (x: number): number {
  const table: number[] = [${Array.from({ length: 8 }, (_, n) => n * (k + 1)).join(', ')}]
  let total = 0
  for (let n = 0; n < table.length; n++) {
    // weight each entry by its position and the module constant
    total += table[n]! * (n + 1) * SCALE_${i} + Math.floor(x / (k + 1))
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
  return helper${i}_11(x)${calls.map((c) => ` + ${c}`).join('')}
}

export function other${i} (x: number): number {
  return helper${i}_5(x)${calls.length > 0 ? ` + ${calls[0]!}` : ''}
}
`
}

const driver = `const t0 = performance.now()
const { SignatureEngine } = await import(${JSON.stringify(distModule('lib/signature/index.js'))})
const imported = performance.now() - t0
import { createHash } from 'node:crypto'
import { entry0, other0 } from './m0.js'

const hashValue = (v: unknown) => new Uint8Array(createHash('sha256').update(JSON.stringify(v) ?? 'u').digest())
const engine = new SignatureEngine()
let c = performance.now()
const first = engine.signature(entry0, { hashValue })
const cold = performance.now() - c
c = performance.now()
engine.signature(other0, { hashValue })
const second = performance.now() - c
const N = 20000
c = performance.now()
for (let i = 0; i < N; i++) engine.signature(entry0, { hashValue })
const warm = (performance.now() - c) * 1000 / N
let level = 1
if (process.env.PERF_LEVEL !== undefined) level = Number(process.env.PERF_LEVEL)
const withValue = () => level * 2
engine.signature(withValue, { hashValue })
const M = 500
c = performance.now()
for (let i = 0; i < M; i++) engine.signature(withValue, { hashValue })
const warmValue = (performance.now() - c) * 1000 / M
const files = new Set(Object.keys(first.manifest.declarations).map((k: string) => k.split('#')[0])).size
console.log(JSON.stringify({ imported, cold, second, warm, warmValue, files, declarations: Object.keys(first.manifest.declarations).length }))
`

const files: Record<string, string> = { 'src/driver.ts': driver }
for (let i = 0; i < FILES; i++) files[`src/m${i}.ts`] = moduleSource(i)
const bytes = Object.entries(files).filter(([k]) => k !== 'src/driver.ts').reduce((n, [, v]) => n + v.length, 0)

const p = createProject(files)
process.on('exit', () => p.remove())
await p.build()

interface Costs { imported: number, cold: number, second: number, warm: number, warmValue: number, files: number, declarations: number }

/** The best of a few fresh processes: the machine may be busy with other tests. */
async function measure (runner: 'tsc' | 'tsx'): Promise<Costs> {
  const runs: Costs[] = []
  for (let i = 0; i < 3; i++) runs.push(await p.run(runner, 'src/driver.ts') as Costs)
  const best = (k: keyof Costs): number => Math.min(...runs.map((r) => r[k]))
  return { imported: best('imported'), cold: best('cold'), second: best('second'), warm: best('warm'), warmValue: best('warmValue'), files: runs[0]!.files, declarations: runs[0]!.declarations }
}

for (const runner of ['tsc', 'tsx'] as const) {
  t.test(`costs under ${runner}`, async (t) => {
    const m = await measure(runner)
    t.comment(`${runner}: graph of ${m.files} files, ${bytes} bytes, ${m.declarations} declarations; import ${m.imported.toFixed(1)} ms, cold ${m.cold.toFixed(1)} ms, second function ${m.second.toFixed(1)} ms, warm ${m.warm.toFixed(2)} us, warm re-reading a value ${m.warmValue.toFixed(1)} us (best of 3 processes)`)
    t.equal(m.files, FILES, 'the entry reaches every file')
    t.ok(bytes > 90_000, 'the graph is about 100 KB')
    t.ok(m.cold < 2000, `cold signature under a loose bound (${m.cold.toFixed(1)} ms; target 150 ms)`)
    t.ok(m.warm < 200, `warm signature under a loose bound (${m.warm.toFixed(2)} us; target 20 us)`)
    t.ok(m.warmValue < 20_000, `warm signature re-reading a value (${m.warmValue.toFixed(1)} us)`)
  })
}
