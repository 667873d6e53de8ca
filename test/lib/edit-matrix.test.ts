/**
 * SCENARIOS.md 9-21 the way users live them: a project on disk with several
 * files, a package under node_modules, edited between runs; every run is a
 * fresh process, under tsx and as compiled tsc output with source maps. After
 * each edit exactly the functions that reach the change run again (no stale
 * result, no needless re-run), and what tsx computed is a cache hit for the
 * compiled output (same signatures).
 */
import t from 'tap'
import { COUNTER_PACKAGE, editSteps, matrixMain } from '../helpers/edit-matrix.js'
import { createProject } from '../helpers/project.js'

const files: Record<string, string> = {
  ...COUNTER_PACKAGE,
  'node_modules/fakedep/package.json': JSON.stringify({ name: 'fakedep', version: '1.0.0', type: 'module', main: 'index.js' }),
  'node_modules/fakedep/index.js': 'export function pad (s) { return "<" + s + ">" }\n',
  'src/config.ts': `export const RATE = 0.5
export const FROM_ENV = Number(process.env.FACTOR ?? '1')
`,
  'src/util/deep.ts': `export function deep (x: number): number {
  return x * 3
}
`,
  'src/util/math.ts': `import { deep } from './deep.js'
import { RATE } from '../config.js'

export function applyRate (x: number): number {
  return deep(x) * RATE
}

export function unrelatedMath (x: number): number {
  return x - 1
}
`,
  'src/util/index.ts': `export * from './math.js'
`,
  'src/model.ts': `export class Model {
  k: number
  constructor (k: number) {
    this.k = k
  }

  predict (x: number): number {
    return x * this.k
  }
}
`,
  'src/pipeline.ts': `import { ran } from 'counter'
import { pad } from 'fakedep'
import { applyRate } from './util/index.js'
import { Model } from './model.js'
import { FROM_ENV } from './config.js'

const LOCAL_K = 7
const TABLE = [1, 2, 3]

function helperSame (x: number): number {
  return x + LOCAL_K
}

function unrelated (): number {
  return 1
}

function g (x: number): number {
  return x * 2
}

function makeScaler (factor: number) {
  return function scaler (x: number): number {
    ran('scaler')
    return x * factor
  }
}

export const scaler = makeScaler(Number(process.env.FACTOR ?? '1'))

export function body (x: number): number {
  ran('body')
  return x + 1
}

export function usesHelper (x: number): number {
  ran('usesHelper')
  const offset = 0
  return helperSame(x) + offset
}

export function usesDeep (x: number): number {
  ran('usesDeep')
  return applyRate(x)
}

export function usesMap (xs: number[]): number[] {
  ran('usesMap')
  return xs.map(g)
}

export function usesClass (x: number): number {
  ran('usesClass')
  return new Model(2).predict(x)
}

export function usesEnv (x: number): number {
  ran('usesEnv')
  return x * FROM_ENV
}

export function usesTable (): number {
  ran('usesTable')
  return TABLE.reduce((a, b) => a + b, 0)
}

export function shadows (x: number): number {
  ran('shadows')
  const LOCAL_K = 1
  return x + LOCAL_K
}

export function usesPkg (s: string): string {
  ran('usesPkg')
  return pad(s)
}

function factInner (n: number): number {
  return n <= 1 ? 1 : n * factInner(n - 1)
}

export function fact (n: number): number {
  ran('fact')
  return factInner(n)
}

function isEven (n: number): boolean {
  return n === 0 ? true : isOdd(n - 1)
}

function isOdd (n: number): boolean {
  return n === 0 ? false : isEven(n - 1)
}

export function parity (n: number): string {
  ran('parity')
  return isEven(n) ? 'even' : 'odd'
}
`,
  'src/main.ts': matrixMain("import * as p from './pipeline.js'", `  ['/body', p.body, [1]],
  ['/helper', p.usesHelper, [1]],
  ['/deep', p.usesDeep, [10]],
  ['/map', p.usesMap, [[1, 2, 3]]],
  ['/class', p.usesClass, [5]],
  ['/env', p.usesEnv, [3]],
  ['/scaler', p.scaler, [4]],
  ['/table', p.usesTable, []],
  ['/shadows', p.shadows, [1]],
  ['/pkg', p.usesPkg, ['x']],
  ['/fact', p.fact, [5]],
  ['/parity', p.parity, [7]]`)
}

const ALL = ['body', 'fact', 'parity', 'scaler', 'shadows', 'usesClass', 'usesDeep', 'usesEnv', 'usesHelper', 'usesMap', 'usesPkg', 'usesTable']

t.test('the edit matrix under tsx and tsc', async (t) => {
  const project = createProject(files)
  t.teardown(() => { project.remove() })
  const step = editSteps(t, project, { cross: true })

  await step('first run', ALL)
  await step('no change', [])
  project.edit('src/pipeline.ts', 'return x + 1\n}', 'return x + 2\n}')
  await step('9. body edit', ['body'])
  project.edit('src/pipeline.ts', 'function helperSame (x: number): number {\n  return x + LOCAL_K\n', 'function helperSame (x: number): number {\n  return x + LOCAL_K * 2\n')
  await step('10. helper in the same file', ['usesHelper'])
  project.edit('src/util/deep.ts', 'x * 3', 'x * 4')
  await step('10. helper two imports deep through a re-export', ['usesDeep'])
  project.edit('src/pipeline.ts', 'return 1\n}', 'return 2\n}')
  project.edit('src/util/math.ts', 'x - 1', 'x - 2')
  await step('11. unreached functions edited', [])
  project.edit('src/pipeline.ts', 'const LOCAL_K = 7', 'const LOCAL_K = 8')
  await step('12. module constant in the same file (18: a shadowing local does not count)', ['usesHelper'])
  project.edit('src/pipeline.ts', 'const LOCAL_K = 8', 'const LOCAL_K = 7')
  await step('12. constant changed back: the first result is reused', [])
  project.edit('src/config.ts', 'RATE = 0.5', 'RATE = 0.25')
  await step('12. imported constant', ['usesDeep'])
  project.edit('src/config.ts', 'RATE = 0.25', 'RATE = 0.5')
  await step('12. imported constant changed back', [])
  project.edit('src/pipeline.ts', "  ran('usesHelper')\n  const offset = 0\n  return helperSame(x) + offset", "  // counts the call\n  ran('usesHelper')\n\n  const shift: number = 0   // renamed local, typed\n  return helperSame(x)   +   shift")
  project.edit('src/pipeline.ts', 'export function body (x: number): number {', '/** The body. */\nexport function body (x: number /* a number */): number {')
  await step('13. comments, whitespace, a local rename and a type annotation', [])
  project.edit('src/pipeline.ts', 'return x * 2\n}', 'return x * 3\n}')
  await step('14. a function passed as a value', ['usesMap'])
  project.edit('src/model.ts', 'return x * this.k', 'return x * this.k + 1')
  await step('15. a method of an instantiated class', ['usesClass'])
  project.edit('src/model.ts', 'this.k = k', 'this.k = k * 2')
  await step('15. the constructor of an instantiated class', ['usesClass'])
  await step('16. a computed module value and a closure variable', ['usesEnv', 'scaler'], { FACTOR: '2' })
  await step('16. changed back', [], { FACTOR: '1' })
  project.edit('src/pipeline.ts', 'const TABLE = [1, 2, 3]', 'const TABLE = [1, 2, 3, 4]')
  await step('17. a module-level array read by the function', ['usesTable'])
  project.edit('node_modules/fakedep/package.json', '"version":"1.0.0"', '"version":"1.0.1"')
  await step('19. the version of an imported package', ['usesPkg'])
  project.edit('src/pipeline.ts', 'n * factInner(n - 1)', 'n * factInner(n - 1) * 1')
  await step('20. a recursive helper', ['fact'])
  project.edit('src/pipeline.ts', "return n === 0 ? false : isEven(n - 1)", "return n === 0 ? false : !isOdd(n - 1)")
  await step('20. mutually recursive helpers', ['parity'])
})
