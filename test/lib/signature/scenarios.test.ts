/**
 * SCENARIOS.md 9-21: which edits change which signatures, in fresh processes,
 * under tsx and as compiled tsc output with source maps. One fixture project
 * is built once; each edit is applied to a copy, rebuilt and run under both
 * runners; every target's signature is compared with the baseline.
 */
import t from 'tap'
import { createProject } from '../../helpers/project.js'
import type { Runner, TempProject } from '../../helpers/project.js'
import { fixtureFiles, TARGETS } from './fixtures/scenario.js'
import type { DriverOutput } from './fixtures/scenario.js'

type Edit = [file: string, search: string, replacement: string]

interface Variant {
  name: string
  edits: Edit[]
  /** Targets whose signature must change; every other target must keep its signature. */
  changed: string[]
  /** Undo the edits afterwards and expect every signature back to the baseline. */
  revert?: boolean
}

const RUNNERS: Runner[] = ['tsx', 'tsc']
const DRIVER = 'src/driver.ts'

const variants: Variant[] = [
  { name: '9: body edit', edits: [['src/pipeline.ts', "leftPad('a').length\n", "leftPad('a').length + 1\n"]], changed: ['target'] },
  { name: '10: helper in the same file', edits: [['src/pipeline.ts', 'return x + LOCAL_K', 'return x + LOCAL_K + 1']], changed: ['target'] },
  { name: '10: helper in another file', edits: [['src/util/math.ts', 'return deep(x) * RATE * BOOST', 'return deep(x) * RATE * BOOST * 2']], changed: ['target'] },
  { name: '10: helper two imports deep through a barrel', edits: [['src/util/deep.ts', 'return x + 1', 'return x + 2']], changed: ['target', 'viaDeep'] },
  { name: '11: unreached function in the same file', edits: [['src/pipeline.ts', 'return x * 2', 'return x * 5']], changed: ['unrelated'] },
  {
    name: '11: unreached functions and a new export in other files',
    edits: [
      ['src/util/math.ts', 'return x - 1', 'return x - 7'],
      ['src/util/deep.ts', 'return x - 100', 'return x - 200'],
      ['src/util/math.ts', '/** Applies the rate. */', 'export function added(): number {\n  return 42\n}\n\n/** Applies the rate. */']
    ],
    changed: []
  },
  { name: '12/18: module constant in the same file (a shadowing local is unaffected)', edits: [['src/pipeline.ts', 'const LOCAL_K = 7', 'const LOCAL_K = 8']], changed: ['target'], revert: true },
  { name: '12: imported module constant', edits: [['src/config.ts', 'RATE = 0.5', 'RATE = 0.6']], changed: ['target'], revert: true },
  {
    name: '13: comment-only edits',
    edits: [
      ['src/pipeline.ts', 'function helperSame(x: number): number {\n', '// adds the constant\nfunction helperSame(x: number): number {\n  /* block comment */\n'],
      ['src/pipeline.ts', '  const y = helperSame(x)\n', '  const y = helperSame(x) // first step\n'],
      ['src/util/math.ts', '/** Applies the rate. */', '/**\n * Applies the rate.\n * @param x the input\n */'],
      ['src/util/deep.ts', 'return x + 1', 'return x + 1 // deep']
    ],
    changed: []
  },
  {
    name: '13: whitespace-only edits',
    edits: [
      ['src/pipeline.ts', '  return x + LOCAL_K\n', '\n    return   x+LOCAL_K;\n\n'],
      ['src/pipeline.ts', 'for (const value of values) total += value', 'for ( const value of values )\n    total\t+=  value'],
      ['src/util/math.ts', 'return deep(x) * RATE * BOOST', 'return deep( x )*RATE*  BOOST']
    ],
    changed: []
  },
  {
    name: '13: local renames',
    edits: [
      ['src/pipeline.ts', '  const y = helperSame(x)\n  return applyRate(y)', '  const scaled = helperSame(x)\n  return applyRate(scaled)'],
      ['src/pipeline.ts', 'let total = 0\n  for (const value of values) total += value\n  return total', 'let sum = 0\n  for (const v of values) sum += v\n  return sum'],
      ['src/pipeline.ts', 'function g(item: number): number {\n  return item * 3', 'function g(element: number): number {\n  return element * 3']
    ],
    changed: []
  },
  {
    name: '13: type-annotation-only edits',
    edits: [
      ['src/pipeline.ts', 'export function target(x: number): number {', 'interface Shape { size: number }\ntype Id = string\n\nexport function target(x: number | bigint): number | undefined {'],
      ['src/pipeline.ts', 'return x + LOCAL_K', 'return (x as number) + LOCAL_K!'],
      ['src/pipeline.ts', 'export function cosmetic(values: number[]): number {', 'export function cosmetic<T extends number>(values: readonly T[]): number {'],
      ['src/model.ts', 'private weight: number', 'private readonly weight: number\n  declare tag: string']
    ],
    changed: []
  },
  { name: '14: function passed as a value', edits: [['src/pipeline.ts', 'return item * 3', 'return item * 4']], changed: ['viaMap'] },
  { name: '15: method of an instantiated class', edits: [['src/model.ts', 'return x * this.weight', 'return x * this.weight + 1']], changed: ['usesClass'] },
  { name: '15: constructor of an instantiated class', edits: [['src/model.ts', 'this.weight = weight', 'this.weight = weight * 2']], changed: ['usesClass'] },
  { name: '19: package version bump', edits: [['node_modules/fakedep/package.json', '"1.0.0"', '"1.0.1"']], changed: ['target'] },
  {
    name: '20: recursive and mutually recursive functions',
    edits: [
      ['src/pipeline.ts', 'return n === 0 ? false : isEven(n - 1)', 'return n === 0 ? false : !isEven(n - 1) === false'],
      ['src/pipeline.ts', 'n * fact(n - 1)', 'fact(n - 1) * n']
    ],
    changed: ['isEven', 'fact']
  }
]

type Outputs = Record<Runner, DriverOutput>

async function runBoth (p: TempProject, env?: Record<string, string>): Promise<Outputs> {
  const [tsx, tsc] = await Promise.all(RUNNERS.map(async (r) => await p.run(r, DRIVER, env === undefined ? {} : { env }) as DriverOutput))
  return { tsx: tsx!, tsc: tsc! }
}

function changedTargets (out: DriverOutput, base: DriverOutput): string[] {
  return TARGETS.filter((name) => out.signatures[name]?.digest !== base.signatures[name]?.digest)
}

/** Run tasks with at most `limit` at a time (CI has two cores). */
async function pool<T, R> (items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await task(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

// Everything runs first; the assertions below only compare results.
const base = createProject(fixtureFiles())
process.on('exit', () => base.remove())
await base.build()
const baseline = await runBoth(base)
const [n5, n3, factor, boost] = await Promise.all([
  runBoth(base, { SIG_N: '5' }),
  runBoth(base, { SIG_N: '3' }),
  runBoth(base, { SIG_FACTOR: '4' }),
  runBoth(base, { SIG_BOOST: '2' })
])
const results = await pool(variants, 2, async (v) => {
  const p = base.copy()
  try {
    for (const [file, search, replacement] of v.edits) p.edit(file, search, replacement)
    await p.build()
    const edited = await runBoth(p)
    let reverted: Outputs | undefined
    if (v.revert === true) {
      for (const [file, search, replacement] of [...v.edits].reverse()) p.edit(file, replacement, search)
      await p.build()
      reverted = await runBoth(p)
    }
    return { edited, reverted }
  } finally {
    p.remove()
  }
})


t.test('21: tsx and compiled tsc output give the same signatures', async (t) => {
  for (const name of TARGETS) {
    const a = baseline.tsx.signatures[name]
    const b = baseline.tsc.signatures[name]
    t.ok(a, `${name} has a signature`)
    t.equal(a?.digest, b?.digest, `${name}: same digest under tsx and tsc`)
    t.same(a?.fn, b?.fn, `${name}: same location under tsx and tsc`)
  }
  t.equal(baseline.tsx.signatures.target?.entry, 'src/pipeline.ts#target')
  t.same(baseline.tsx.signatures.target?.fn, { name: 'target', file: 'src/pipeline.ts', line: 15, column: 8 })
})

t.test('what the baseline signatures contain', async (t) => {
  const s = baseline.tsx.signatures
  t.same(Object.keys(s.target!.declarations).sort(), [
    'src/config.ts#FROM_ENV', 'src/config.ts#RATE', 'src/pipeline.ts#LOCAL_K', 'src/pipeline.ts#helperSame',
    'src/pipeline.ts#target', 'src/util/deep.ts#deep', 'src/util/math.ts#BOOST', 'src/util/math.ts#applyRate'
  ], 'target reaches its helpers through the barrel, and the constants it reads')
  t.same(s.target!.packages, { fakedep: '1.0.0' }, 'a package counts by name and version, its code is not analysed')
  t.same(Object.keys(s.target!.values).sort(), ['src/config.ts#FROM_ENV', 'src/util/math.ts#BOOST'], 'computed constants are values, also in other modules')
  t.same(Object.keys(s.usesRows!.values), ['src/config.ts#ROWS'], 'a constant computed from another is read; the other is covered by it')
  t.same(Object.keys(s.viaMap!.declarations).sort(), ['src/pipeline.ts#g', 'src/pipeline.ts#viaMap'], '14: a function passed as a value is reached')
  t.ok(s.usesClass!.declarations['src/model.ts#Model'], '15: the instantiated class is reached whole')
  t.same(Object.keys(s.scaler!.values), ['closure:factor'], '16: a closure variable is a value')
  t.same(Object.keys(s.usesTable!.values).sort(), ['src/config.ts#LOOKUP', 'src/config.ts#TABLE'], '17: a module array and Map are tracked by content')
  t.same(Object.keys(s.shadow!.declarations), ['src/pipeline.ts#shadow'], '18: a shadowing local is not a dependency')
  t.same(Object.keys(s.shadowImport!.declarations), ['src/pipeline.ts#shadowImport'], '18: a local shadowing an import is not a dependency')
  t.same(Object.keys(s.isEven!.declarations).sort(), ['src/pipeline.ts#isEven', 'src/pipeline.ts#isOdd'], '20: mutual recursion terminates')
  for (const name of TARGETS) t.same(s[name]!.unavailable, [], `${name}: nothing unavailable`)
})

t.test('17: mutating a module-level array in-process changes the signature', async (t) => {
  for (const r of RUNNERS) t.not(baseline[r].mutation.before, baseline[r].mutation.after, r)
  t.equal(baseline.tsx.mutation.before, baseline.tsx.signatures.usesTable?.digest)
})

t.test('16: same source, different run-time values', async (t) => {
  for (const r of RUNNERS) {
    t.same(changedTargets(n5![r], baseline[r]), ['target', 'computedN'], `${r}: a computed constant changes with the environment`)
    t.same(changedTargets(n3![r], baseline[r]), [], `${r}: the same value gives the same signature`)
    t.same(changedTargets(factor![r], baseline[r]), ['scaler'], `${r}: a closure variable is a dependency by value`)
    t.same(changedTargets(boost![r], baseline[r]), ['target'], `${r}: a computed constant read by a helper in another file, through a barrel`)
  }
})

variants.forEach((v, i) => {
  t.test(v.name, async (t) => {
    const { edited, reverted } = results[i]!
    for (const r of RUNNERS) {
      t.same(changedTargets(edited[r], baseline[r]), TARGETS.filter((n) => v.changed.includes(n)), `${r}: exactly the expected signatures change`)
    }
    for (const name of TARGETS) t.equal(edited.tsx.signatures[name]?.digest, edited.tsc.signatures[name]?.digest, `${name}: tsx and tsc agree after the edit`)
    if (reverted !== undefined) {
      for (const r of RUNNERS) t.same(changedTargets(reverted[r], baseline[r]), [], `${r}: reverting restores the first signatures exactly`)
    }
  })
})
