/**
 * The project of the "why did it re-run" scenarios (SCENARIOS.md 9-19): one
 * kept function that reaches a helper in its file, a helper in another file
 * behind a barrel and two imports deep, a module constant, a run-time value,
 * a module-level array, a function passed as a value, a class, a shadowed name
 * and a package; plus a kept argument and an upstream path that is loaded.
 * Its script keeps them in a fresh process and prints what ran.
 */
import { createProject, type TempProject } from '../../helpers/project.js'
import { linkDdsTs } from './cli.js'

const CONFIG = `export const RATE = 0.5
export const FROM_ENV: number = Number(process.env.WHY_N ?? '3')
export const TABLE = [1, 2, 3]
export const UP = 'up-1'
`

const DEEP = `export function deep (x: number): number {
  return x + 1
}

export function deepUnused (x: number): number {
  return x - 100
}
`

const MATH = `import { RATE } from '../config.js'
import { deep } from './deep.js'

export function applyRate (x: number): number {
  return deep(x) * RATE
}

export function unusedMath (x: number): number {
  return x - 1
}
`

const BARREL = `export * from './math.js'
`

const MODEL = `export class Model {
  weight: number
  constructor (weight: number) {
    this.weight = weight
  }

  predict (x: number): number {
    return x * this.weight
  }
}
`

const A = `import pad from 'fakepad'
import { applyRate } from './lib/index.js'
import { TABLE, FROM_ENV, UP } from './config.js'
import { Model } from './model.js'
import { load } from 'dds-ts'

const limit = 100

function helper (x: number): number {
  return x * 2
}

function unrelated (x: number): number {
  return x - 1
}

function g (x: number): number {
  return x + 10
}

export function target (x: number): number {
  const limit = 5
  const m = new Model(2)
  const items = [1, 2].map(g)
  return helper(x) + applyRate(x) + items[0] + TABLE.length + FROM_ENV + m.predict(x) + pad(x) + limit
}

export function upstream (): string {
  return UP
}

export async function downstream (): Promise<string> {
  const up = await load<string>('/up')
  return up + '!'
}

export function untouched (): number {
  return unrelated(1) + limit
}
`

const RUN = `import { configure, evaluate, keep, closeDefault } from 'dds-ts'
import { target, upstream, downstream } from './a.js'

const computed: string[] = []
configure({ store: process.env.WHY_STORE, onEvent: (e) => { if (e.type === 'computed') computed.push(e.path) } })
await evaluate(async () => {
  await keep('/t', target, 1)
  await keep('/arg', target, Number(process.env.WHY_ARG ?? '1'))
  await keep('/up', upstream)
  await keep('/down', downstream)
})
await closeDefault()
console.log(JSON.stringify(computed.sort()))
`

function fakepad (version: string): Record<string, string> {
  return {
    'node_modules/fakepad/package.json': JSON.stringify({ name: 'fakepad', version, type: 'module', main: 'index.js' }),
    'node_modules/fakepad/index.js': 'export default function pad (x) { return x + 1000 }\n'
  }
}

/** The project, with the fake package at version 1.0.0. */
export function whyProject (): TempProject {
  const p = createProject({
    'src/config.ts': CONFIG,
    'src/lib/deep.ts': DEEP,
    'src/lib/math.ts': MATH,
    'src/lib/index.ts': BARREL,
    'src/model.ts': MODEL,
    'src/a.ts': A,
    'src/run.ts': RUN,
    ...fakepad('1.0.0')
  })
  linkDdsTs(p)
  return p
}

/** Install another version of the fake package. */
export function setFakepadVersion (p: TempProject, version: string): void {
  for (const [rel, content] of Object.entries(fakepad(version))) p.write(rel, content)
}
