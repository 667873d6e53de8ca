/**
 * dds plan against real edits: a temporary project edited between runs of
 * fresh processes. After each kind of edit (body, helper in another file,
 * constants, comments only, package bump, data file, revert, a literal
 * argument, invalidate with and without downstream, DDS_FORCE) the plan is compared with what the run
 * then does: "will re-run" names only steps that run, and "will" plus "may"
 * covers every step that runs; then everything is up to date again. A
 * second plan before each run (reading the comparisons the first kept) says
 * exactly what the first said.
 */
import t, { type Test } from 'tap'
import { openStore } from '../../store/index.js'
import { refuseAnswers } from '../../lib/force.js'
import { downstreamOf } from '../../lib/downstream.js'
import { plan } from '../../lib/plan/index.js'
import { lastUses } from '../../store/usage.js'
import type { Plan, PlanStatus } from '../../lib/plan/index.js'
import { symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FUNCTION_OF, planProject } from '../helpers/plan-project.js'
import { COUNTER_PACKAGE } from '../helpers/edit-matrix.js'
import { createProject, repoRoot } from '../helpers/project.js'

const p = planProject()
// The plan reads the source where a run would: under the project root above the working directory.
process.chdir(p.project.root)
t.teardown(() => { p.project.remove() })

async function planNow (options: { force?: string[], paths?: string[] } = {}): Promise<Plan> {
  const store = await openStore({ location: p.store })
  try {
    return await plan(store, { force: [], ...options })
  } finally {
    await store.close()
  }
}

/** The last-use times the store holds (what retention weighs). */
async function usesNow (): Promise<Map<string, number>> {
  const store = await openStore({ location: p.store })
  try {
    return await lastUses(store.backend)
  } finally {
    await store.close()
  }
}

function having (pl: Plan, status: PlanStatus): string[] {
  return pl.paths.filter((x) => x.status === status).map((x) => x.path).sort()
}

/** Plan, run, compare; then the next plan says everything is up to date. */
async function step (t: Test, name: string, expected: { will: string[], may?: string[], revert?: string[] }, env: Record<string, string> = {}): Promise<Plan> {
  const uses = await usesNow()
  const before = await planNow({ force: env.DDS_FORCE === undefined ? [] : [env.DDS_FORCE] })
  // A second plan of the same state reads the comparisons the first kept: the same answer, reasons and all.
  t.same(await planNow({ force: env.DDS_FORCE === undefined ? [] : [env.DDS_FORCE] }), before, `${name}: a second plan says the same`)
  t.same(await usesNow(), uses, `${name}: a plan looks answers up without using them (no last-use time written)`)
  const will = having(before, 'will-run')
  const may = having(before, 'may-run')
  t.same(will, [...expected.will].sort(), `${name}: will re-run`)
  t.same(may, [...(expected.may ?? [])].sort(), `${name}: may re-run`)
  t.same(having(before, 'revert-hit'), [...(expected.revert ?? [])].sort(), `${name}: revert hits`)
  t.same(having(before, 'unknown'), [], `${name}: nothing unknown (no value here needs a run)`)
  const ran = await p.run(env)
  const ranPaths = Object.keys(FUNCTION_OF).filter((path) => ran.includes(FUNCTION_OF[path] as string)).sort()
  t.same(will.filter((x) => !ranPaths.includes(x)), [], `${name}: will re-run names no step that hit`)
  t.same(ranPaths.filter((x) => !will.includes(x) && !may.includes(x)), [], `${name}: will and may cover what ran`)
  const after = await planNow()
  t.same(having(after, 'up-to-date'), Object.keys(FUNCTION_OF).sort(), `${name}: up to date after the run`)
  return before
}

t.test('plan against real edits and runs', async (t) => {
  const first = await p.run()
  t.same(first, Object.values(FUNCTION_OF).sort(), 'the first run computes every step')
  await step(t, 'no change', { will: [] })

  p.project.edit('src/steps.ts', 'return xs.map(scale)', 'return xs.map((x) => scale(x))')
  const body = await step(t, 'body edit', { will: ['/scaled'], may: ['/label', '/total'] })
  const scaled = body.paths.find((x) => x.path === '/scaled')
  t.match(scaled?.reasons, [{ kind: 'declaration', change: 'changed', name: 'src/steps.ts#scaled' }], 'names the declaration as dds why does')
  t.equal(body.estimate, scaled?.duration, 'the estimate sums the recorded durations of what will re-run')

  p.project.edit('src/helpers.ts', 'x * 2', 'x * 3')
  const helper = await step(t, 'helper edit in another file', { will: ['/scaled'], may: ['/label', '/total'] })
  t.match(helper.paths.find((x) => x.path === '/scaled')?.reasons, [{ kind: 'declaration', name: 'src/helpers.ts#scale' }])

  p.project.edit('src/helpers.ts', 'x * 3', 'x * 2')
  await step(t, 'revert to an earlier version', { will: [], revert: ['/scaled'], may: ['/label', '/total'] })

  p.project.edit('src/config.ts', 'OFFSET = 10', 'OFFSET = 11')
  await step(t, 'constant edit', { will: ['/total'], may: ['/label'] })

  p.project.edit('src/config.ts', 'hi: 100', 'hi: 200')
  const bounds = await step(t, 'object constant edit', { will: ['/clean'], may: ['/label', '/scaled', '/total'] })
  t.match(bounds.paths.find((x) => x.path === '/clean')?.reasons, [{ kind: 'declaration', name: 'src/config.ts#BOUNDS' }, { kind: 'value', name: 'src/config.ts#BOUNDS' }])

  p.project.edit('src/steps.ts', 'export function load', '// Reads the numbers, one a line.\n\n/** The input. */\nexport function load')
  p.project.edit('src/steps.ts', "  ran('total')\n", "  ran('total')   // counted\n")
  await step(t, 'comment-only edits (functions moved down)', { will: [] })

  p.project.edit('node_modules/fakedep/package.json', '"version":"1.0.0"', '"version":"1.0.1"')
  const pkg = await step(t, 'package bump', { will: ['/label'] })
  t.match(pkg.paths.find((x) => x.path === '/label')?.reasons, [{ kind: 'package', name: 'fakedep', old: '1.0.0', new: '1.0.1' }])

  p.project.edit('data/input.txt', '20\n', '30\n')
  const data = await step(t, 'data file change', { will: ['/load'], may: ['/clean', '/label', '/scaled', '/total'] })
  t.match(data.paths.find((x) => x.path === '/load')?.reasons, [{ kind: 'file', change: 'changed', path: 'data/input.txt' }])

  p.project.edit('data/input.txt', '30\n', '20\n')
  await step(t, 'data file changed back', { will: [], revert: ['/load'], may: ['/clean', '/label', '/scaled', '/total'] })

  p.project.edit('src/main.ts', "s.square, 3)", "s.square, 4)")
  const arg = await step(t, 'a literal argument in the script', { will: ['/square'] })
  t.match(arg.paths.find((x) => x.path === '/square')?.reasons, [{ kind: 'argument', change: 'changed', index: 0 }])

  const store = await openStore({ location: p.store })
  await refuseAnswers(store, ['/total'])
  await store.close()
  const inv = await step(t, 'invalidate', { will: ['/total'], may: ['/label'] })
  t.match(inv.paths.find((x) => x.path === '/total')?.reasons, [{ kind: 'invalidated' }])

  const again = await openStore({ location: p.store })
  await refuseAnswers(again, ['/scaled', ...await downstreamOf(again, ['/scaled'])])
  await again.close()
  const down = await step(t, 'invalidate with downstream', { will: ['/label', '/scaled', '/total'] })
  t.ok(down.paths.filter((x) => x.status === 'will-run').every((x) => x.reasons.some((r) => r.kind === 'invalidated')), 'each says it was invalidated, not only that its upstream may change')

  const forced = await step(t, 'DDS_FORCE', { will: ['/square'] }, { DDS_FORCE: '/sq*' })
  t.match(forced.paths.find((x) => x.path === '/square')?.reasons, [{ kind: 'forced', glob: '/sq*' }])

  const some = await planNow({ paths: ['/s*', '/load'] })
  t.same(some.paths.map((x) => x.path).sort(), ['/load', '/scaled', '/square'], 'named paths and globs select what is planned')
  await t.rejects(planNow({ paths: ['/nothing'] }), { code: 'DDS_PATH_NOT_FOUND' }, 'a named path without a value')
})

t.test('a kept number or string passed on carries no provenance: the step that receives it may re-run', async (t) => {
  const project = createProject({
    ...COUNTER_PACKAGE,
    'src/steps.ts': `import { ran } from 'counter'
export const FACTOR = 1
export function count (xs: number[]): number {
  ran('count')
  return xs.length * FACTOR
}
export function double (n: number): number {
  ran('double')
  return n * 2
}
export function name (n: number): string {
  ran('name')
  return 'n' + n
}
export function shout (s: string): string {
  ran('shout')
  return s.toUpperCase()
}
`,
    'src/main.ts': `import { readFileSync } from 'node:fs'
import { open } from 'dds-ts'
import { state } from 'counter'
import * as s from './steps.js'

state.on = true
const dds = await open({ store: process.env.STORE })
await dds.evaluate(async () => {
  const n = await dds.keep('/count', s.count, [1, 2, 3])
  const d = await dds.keep('/double', s.double, n)
  const label = await dds.keep('/name', s.name, d)
  await dds.keep('/shout', s.shout, label)
})
await dds.close()
console.log(JSON.stringify(readFileSync(process.env.COUNT_FILE as string, 'utf8').split('\\n').filter(Boolean).sort()))
`
  })
  symlinkSync(repoRoot, join(project.root, 'node_modules', 'dds-ts'), 'dir')
  t.teardown(() => { project.remove() })
  const location = join(project.root, '.dds')
  let n = 0
  const run = async (): Promise<string[]> => {
    const countFile = join(project.root, `count-${n++}.txt`)
    writeFileSync(countFile, '')
    return await project.run('tsx', 'src/main.ts', { env: { STORE: location, COUNT_FILE: countFile } }) as string[]
  }
  t.same(await run(), ['count', 'double', 'name', 'shout'])
  const first = await openStore({ location })
  t.same(await downstreamOf(first, ['/count']), ['/double', '/name', '/shout'], 'downstream (invalidate --downstream) follows them too')
  await first.close()
  project.edit('src/steps.ts', 'FACTOR = 1', 'FACTOR = 2')
  const store = await openStore({ location })
  const before = await plan(store, { force: [], root: project.root })
  await store.close()
  t.same(having(before, 'will-run'), ['/count'])
  t.same(having(before, 'may-run'), ['/double', '/name', '/shout'], 'every step below, through numbers and strings')
  t.match(before.paths.find((x) => x.path === '/double')?.reasons, [{ kind: 'upstream', path: '/count' }])
  t.same(await run(), ['count', 'double', 'name', 'shout'], 'and they do run')
})
