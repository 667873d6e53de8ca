/**
 * A large file read by a nested keep, the way users live it: a project on
 * disk where `/outer` calls the kept `/inner`, which reads a 16 MiB file
 * (far above the size whose digest goes to the hashing thread), and `/after`
 * takes `/outer`'s value as its argument; each run a fresh process, under
 * tsx and as compiled tsc output. Editing the file re-runs `/inner` and
 * `/outer` (the caller depends on what its nested keep read), and `/after`
 * only when `/outer`'s value changed (early cutoff); a touch runs nothing; a
 * revert reuses the first results; no value is stale. (project.test.ts has
 * the same nesting with a small file.)
 */
import t, { type Test } from 'tap'
import { mkdirSync, symlinkSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { createProject, repoRoot, type Runner, type TempProject } from '../../helpers/project.js'

const HALF = 8 << 20
const huge = 'a'.repeat(HALF) + 'MARK' + 'a'.repeat(HALF)

const files: Record<string, string> = {
  'data/huge.txt': huge,
  'data/warm.bin': 'w'.repeat(3 << 20),
  'src/steps.ts': `import { readFileSync } from 'node:fs'
import { annotate, keep } from 'dds-ts'

/** Counts the Q bytes: an edit elsewhere in the file leaves the value alone. */
export function inner (): number {
  let n = 0
  for (const x of readFileSync('data/huge.txt')) if (x === 81) n++
  return n
}

export async function outer (): Promise<string> {
  return 'Q count ' + String(await keep('/inner', inner))
}

export function after (o: string): string {
  return o.toUpperCase()
}

/** Run on every call: its large read starts the hashing thread in each fresh process. */
export const warm = annotate(() => readFileSync('data/warm.bin').length, { volatile: true })
`,
  'src/main.ts': `import { readFileSync } from 'node:fs'
import { configure, evaluate, keep, closeDefault, type DdsEvent } from 'dds-ts'
import * as s from './steps.js'

const computed: string[] = []
const warnings: string[] = []
configure({ store: process.env.STORE, onEvent: (e: DdsEvent) => {
  if (e.type === 'computed') computed.push(e.path)
  if (e.type === 'warning') warnings.push(e.message)
} })
await evaluate(async () => await keep('/warm', s.warm))
// Time for the thread to come up, so that the nested read below is hashed on it.
await new Promise((resolve) => setTimeout(resolve, 500))
const kept = await evaluate(async () => {
  const outer = await keep('/outer', s.outer)
  return { outer, after: await keep('/after', s.after, outer) }
})
await closeDefault()
// What each function returns now, computed directly: a kept value must equal it.
const q = [...readFileSync('data/huge.txt')].filter((x) => x === 81).length
const fresh = { outer: 'Q count ' + String(q), after: ('Q count ' + String(q)).toUpperCase() }
console.log(JSON.stringify({ computed: computed.filter((p) => p !== '/warm').sort(), warmed: computed.includes('/warm'), warnings, kept, fresh }))
`
}

interface Outcome { computed: string[], warmed: boolean, warnings: string[], kept: { outer: string, after: string }, fresh: unknown }

async function scenario (t: Test, project: TempProject, runner: Runner): Promise<void> {
  const store = join(project.root, `store-${runner}`)
  const run = async (what: string, expected: string[]): Promise<Outcome> => {
    const o = await project.run(runner, 'src/main.ts', { env: { STORE: store } }) as Outcome
    t.same(o.computed, expected, `${runner}, ${what}: what ran`)
    t.same(o.kept, o.fresh, `${runner}, ${what}: no stale value`)
    t.same(o.warnings, [], `${runner}, ${what}: no warning`)
    t.ok(o.warmed, `${runner}, ${what}: the volatile warm-up ran`)
    return o
  }
  const touch = (): void => {
    const when = new Date(Date.now() + 60_000 * (1 + Math.random()))
    utimesSync(project.path('data/huge.txt'), when, when)
  }
  const first = await run('first run', ['/after', '/inner', '/outer'])
  t.equal(first.kept.outer, 'Q count 0')
  await run('second run', [])
  project.edit('data/huge.txt', 'MARK', 'MARQ')
  const edited = await run('a byte in the middle edited, the value changes', ['/after', '/inner', '/outer'])
  t.equal(edited.kept.outer, 'Q count 1')
  project.edit('data/huge.txt', /^a/, 'b')
  await run('the first byte edited, the value stays', ['/inner', '/outer'])
  touch()
  await run('touched', [])
  project.edit('data/huge.txt', /^b/, 'a')
  project.edit('data/huge.txt', 'MARQ', 'MARK')
  const reverted = await run('reverted', [])
  t.same(reverted.kept, first.kept, `${runner}: the revert gives the first values`)
  touch()
  await run('reverted, then touched', [])
}

t.test('a large file read by a nested keep, under tsx and tsc', async (t) => {
  for (const runner of ['tsx', 'tsc'] as const) {
    const project = createProject(files)
    t.teardown(() => { project.remove() })
    mkdirSync(join(project.root, 'node_modules'), { recursive: true })
    symlinkSync(repoRoot, join(project.root, 'node_modules', 'dds-ts'), 'dir')
    if (runner === 'tsc') await project.build()
    await t.test(runner, async (t) => { await scenario(t, project, runner) })
  }
})
