/**
 * The harness of the edit-matrix tests: a `counter` package under
 * node_modules that records which kept functions ran, the main script that
 * keeps a list of calls and prints what ran, what was kept and what the
 * functions return now, and the step that builds and runs it in fresh
 * processes under tsx and tsc and asserts the exact set of functions that
 * ran and that no kept value is stale.
 *
 * @example
 * const project = createProject({ ...COUNTER_PACKAGE, 'src/main.ts': matrixMain(`import * as p from './pipeline.js'`, `['/body', p.body, [1]]`) })
 * const step = editSteps(t, project)
 * await step('first run', ['body'])
 */
import type { Test } from 'tap'
import { existsSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { openStore } from '../../store/index.js'
import { plan } from '../../lib/plan/index.js'
import { repoRoot, type Runner, type TempProject } from './project.js'

/** A fake package whose `ran(name)` appends to $COUNT_FILE once `state.on` is set. */
export const COUNTER_PACKAGE: Record<string, string> = {
  'node_modules/counter/package.json': JSON.stringify({ name: 'counter', version: '1.0.0', type: 'module', main: 'index.js' }),
  'node_modules/counter/index.js': `import { appendFileSync } from 'node:fs'
export const state = { on: false }
export function ran (name) { if (state.on) appendFileSync(process.env.COUNT_FILE, name + '\\n') }
`
}

/**
 * The source of `src/main.ts`: `imports` brings the functions in, `calls`
 * lists `[path, fn, args]` entries (TypeScript source, comma separated).
 */
export function matrixMain (imports: string, calls: string): string {
  return `import { readFileSync } from 'node:fs'
import { open } from 'dds-ts'
import { state } from 'counter'
${imports}

const calls: Array<[string, (...a: any[]) => unknown, unknown[]]> = [
${calls}
]

// What each function returns now, computed directly (uncounted): a kept result must equal it.
const fresh: Record<string, unknown> = {}
for (const [path, fn, args] of calls) fresh[path] = await fn(...args)

state.on = true
const dds = await open({ store: process.env.STORE })
const kept: Record<string, unknown> = {}
await dds.evaluate(async () => {
  for (const [path, fn, args] of calls) kept[path] = await dds.keep(path, fn, ...args)
})
await dds.close()
let ran: string[] = []
try { ran = readFileSync(process.env.COUNT_FILE as string, 'utf8').split('\\n').filter(Boolean) } catch {}
console.log(JSON.stringify({ fresh, kept, ran: ran.sort() }))
`
}

interface Outcome { fresh: Record<string, unknown>, kept: Record<string, unknown>, ran: string[] }

/**
 * What dds plan says of a store before a run, by function name (what the
 * steps count): the functions that will re-run, those that may (or are
 * unknown), and every function the store holds; undefined before the first run.
 */
async function planOf (location: string, root: string, env: Record<string, string>): Promise<{ will: string[], may: string[], fns: Set<string> } | undefined> {
  if (!existsSync(location)) return undefined
  const store = await openStore({ location })
  try {
    const p = await plan(store, { root, force: env.DDS_FORCE === undefined ? [] : [env.DDS_FORCE] })
    const out = { will: [] as string[], may: [] as string[], fns: new Set<string>() }
    for (const x of p.paths) {
      const fn = (await store.getEvaluation(CID.parse(x.evaluation))).fn.name
      out.fns.add(fn)
      if (x.status === 'will-run') out.will.push(fn)
      else if (x.status !== 'up-to-date') out.may.push(fn)
    }
    return out
  } finally {
    await store.close()
  }
}

/**
 * Link dds-ts into the project and return the step: build, then run
 * `src/main.ts` under both runners on their own stores (and, with `cross`,
 * tsc on the tsx store, which must be all hits: the same signatures).
 */
export function editSteps (t: Test, project: TempProject, options: { cross?: boolean, plan?: boolean } = {}): (name: string, expected: string[], env?: Record<string, string>) => Promise<void> {
  symlinkSync(repoRoot, join(project.root, 'node_modules', 'dds-ts'), 'dir')
  const stores = { tsx: join(project.root, 'store-tsx'), tsc: join(project.root, 'store-tsc') }
  let n = 0
  const run = async (runner: Runner, store: string, env: Record<string, string>): Promise<Outcome> => {
    const countFile = join(project.root, `count-${n++}.txt`)
    writeFileSync(countFile, '')
    return await project.run(runner, 'src/main.ts', { env: { STORE: store, COUNT_FILE: countFile, ...env } }) as Outcome
  }
  return async (name, expected, env = {}) => {
    await project.build()
    const planned = options.plan === false ? undefined : await planOf(stores.tsx, project.root, env)
    for (const runner of ['tsx', 'tsc'] as const) {
      const out = await run(runner, stores[runner], env)
      if (runner === 'tsx' && planned !== undefined) {
        // dds plan, asked before the run, against what the run then did.
        t.same(planned.will.filter((f) => !out.ran.includes(f)), [], `${name}: plan's "will re-run" names no step that hit`)
        t.same(out.ran.filter((f) => planned.fns.has(f) && !planned.will.includes(f) && !planned.may.includes(f)), [], `${name}: plan's "will" and "may" (and "unknown") cover what ran`)
      }
      t.same(out.ran, [...expected].sort(), `${name}: what ran under ${runner}`)
      t.same(out.kept, out.fresh, `${name}: no stale result under ${runner}`)
    }
    if (options.cross === true) {
      const cross = await run('tsc', stores.tsx, env)
      t.same(cross.ran, [], `${name}: compiled output hits what tsx computed (same signatures)`)
    }
  }
}
