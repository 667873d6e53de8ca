/**
 * The project the plan tests edit: a small pipeline over a data file, with a
 * helper in another file, module constants (a number and an object literal),
 * a package under node_modules, and keeps whose arguments are literals in
 * the script. Each run is a fresh process that prints which functions ran.
 *
 * @example
 * const p = planProject()
 * const ran = await p.run()          // ['clean', 'label', ...]
 * p.project.edit('src/helpers.ts', 'x * 2', 'x * 3')
 */
import { symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { COUNTER_PACKAGE } from './edit-matrix.js'
import { createProject, repoRoot, type TempProject } from './project.js'

/** The function each path keeps. */
export const FUNCTION_OF: Record<string, string> = {
  '/load': 'load', '/clean': 'clean', '/scaled': 'scaled', '/total': 'total', '/label': 'label', '/square': 'square'
}

const FILES: Record<string, string> = {
  ...COUNTER_PACKAGE,
  'node_modules/fakedep/package.json': JSON.stringify({ name: 'fakedep', version: '1.0.0', type: 'module', main: 'index.js' }),
  'node_modules/fakedep/index.js': 'export function pad (s) { return "<" + s + ">" }\n',
  'data/input.txt': '5\n150\n20\n',
  'src/helpers.ts': `export function scale (x: number): number {
  return x * 2
}
`,
  'src/config.ts': `export const OFFSET = 10
export const BOUNDS = { lo: 0, hi: 100 }
`,
  'src/steps.ts': `import { readFileSync } from 'node:fs'
import { ran } from 'counter'
import { pad } from 'fakedep'
import { scale } from './helpers.js'
import { BOUNDS, OFFSET } from './config.js'

export function load (file: string): number[] {
  ran('load')
  return readFileSync(file, 'utf8').trim().split('\\n').map(Number)
}

export function clean (xs: number[]): number[] {
  ran('clean')
  return xs.filter((x) => x >= BOUNDS.lo && x <= BOUNDS.hi)
}

export function scaled (xs: number[]): number[] {
  ran('scaled')
  return xs.map(scale)
}

export function total (xs: number[]): { sum: number } {
  ran('total')
  return { sum: xs.reduce((a, b) => a + b, OFFSET) }
}

export function label (t: { sum: number }): string {
  ran('label')
  return pad(String(t.sum))
}

export function square (k: number): number {
  ran('square')
  return k * k
}
`,
  'src/main.ts': `import { readFileSync } from 'node:fs'
import { open } from 'dds-ts'
import { state } from 'counter'
import * as s from './steps.js'

state.on = true
const dds = await open({ store: process.env.STORE })
await dds.evaluate(async () => {
  const raw = await dds.keep('/load', s.load, 'data/input.txt')
  const cleaned = await dds.keep('/clean', s.clean, raw)
  const sc = await dds.keep('/scaled', s.scaled, cleaned)
  const sum = await dds.keep('/total', s.total, sc)
  await dds.keep('/label', s.label, sum)
  await dds.keep('/square', s.square, 3)
})
await dds.close()
let ran: string[] = []
try { ran = readFileSync(process.env.COUNT_FILE as string, 'utf8').split('\\n').filter(Boolean) } catch {}
console.log(JSON.stringify(ran.sort()))
`
}

/** The project, its store, and a run of its script in a fresh process (what ran, sorted). */
export interface PlanProject {
  project: TempProject
  store: string
  run: (env?: Record<string, string>) => Promise<string[]>
}

/** Create the project (dds-ts linked into its node_modules). */
export function planProject (): PlanProject {
  const project = createProject(FILES)
  symlinkSync(repoRoot, join(project.root, 'node_modules', 'dds-ts'), 'dir')
  const store = join(project.root, '.dds')
  let n = 0
  const run = async (env: Record<string, string> = {}): Promise<string[]> => {
    const countFile = join(project.root, `count-${n++}.txt`)
    writeFileSync(countFile, '')
    return await project.run('tsx', 'src/main.ts', { env: { STORE: store, COUNT_FILE: countFile, ...env } }) as string[]
  }
  return { project, store, run }
}
