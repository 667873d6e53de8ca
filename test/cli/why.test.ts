/**
 * `dds why` after each kind of edit of SCENARIOS.md 9-19 (plus an argument
 * and an upstream path): a real project edited between runs, each run a
 * fresh process, then the real binary names what changed.
 */
import t from 'tap'
import { dds, rows } from './helpers/cli.js'
import { whyProject, setFakepadVersion } from './helpers/why-project.js'

t.test('why names the change after every kind of edit', async (t) => {
  const p = whyProject()
  t.teardown(() => { p.remove() })
  const store = p.path('store')
  const env: Record<string, string> = { WHY_STORE: store }
  const run = async (): Promise<string[]> => await p.run('tsx', 'src/run.ts', { env }) as string[]
  const why = async (path = '/t'): Promise<string[][]> => {
    const r = await dds(['why', path], { store })
    t.equal(r.code, 0, `dds why ${path}`)
    return rows(r.stdout).slice(2)
  }
  const entries = async (path = '/t'): Promise<number> => rows((await dds(['log', path], { store })).stdout).length

  t.same(await run(), ['/down', '/t', '/up'], 'first run (/arg is the same call as /t: a hit)')
  const steps: Array<{ name: string, edit: () => void, path?: string, changes: string[][] }> = [
    { name: '9. the function body', edit: () => { p.edit('src/a.ts', 'const items = [1, 2].map(g)', 'const items = [1, 2, 3].map(g)') }, changes: [['declaration', 'changed', 'src/a.ts#target']] },
    { name: '10. a helper in the same file', edit: () => { p.edit('src/a.ts', 'return x * 2', 'return x * 3') }, changes: [['declaration', 'changed', 'src/a.ts#helper']] },
    { name: '10. a helper in another file, behind a re-export', edit: () => { p.edit('src/lib/math.ts', 'deep(x) * RATE', 'deep(x) * RATE * 1') }, changes: [['declaration', 'changed', 'src/lib/math.ts#applyRate']] },
    { name: '10. a helper two imports deep', edit: () => { p.edit('src/lib/deep.ts', 'return x + 1', 'return x + 2') }, changes: [['declaration', 'changed', 'src/lib/deep.ts#deep']] },
    { name: '12. a module constant in another file', edit: () => { p.edit('src/config.ts', 'RATE = 0.5', 'RATE = 0.25') }, changes: [['declaration', 'changed', 'src/config.ts#RATE']] },
    { name: '14. a function passed as a value', edit: () => { p.edit('src/a.ts', 'return x + 10', 'return x + 11') }, changes: [['declaration', 'changed', 'src/a.ts#g']] },
    { name: '15. a method of a class it instantiates', edit: () => { p.edit('src/model.ts', 'return x * this.weight', 'return x * this.weight + 1') }, changes: [['declaration', 'changed', 'src/model.ts#Model']] },
    { name: '16. a value computed at run time', edit: () => { env.WHY_N = '4' }, changes: [['value', 'changed', 'src/config.ts#FROM_ENV']] },
    { name: '17. a module-level array', edit: () => { p.edit('src/config.ts', 'TABLE = [1, 2, 3]', 'TABLE = [1, 2, 3, 4]') }, changes: [['declaration', 'changed', 'src/config.ts#TABLE'], ['value', 'changed', 'src/config.ts#TABLE']] },
    { name: '19. the version of a package', edit: () => { setFakepadVersion(p, '1.1.0') }, changes: [['package', 'changed', 'fakepad', '1.0.0', '1.1.0']] },
    { name: 'an argument', edit: () => { env.WHY_ARG = '2' }, path: '/arg', changes: [['argument', 'changed', '0', '1', '2']] },
    { name: 'an upstream path', edit: () => { p.edit('src/config.ts', "UP = 'up-1'", "UP = 'up-2'") }, path: '/down', changes: [['load', 'changed', '/up']] }
  ]
  const noRun: Array<{ name: string, edit: () => void }> = [
    { name: '11. functions it does not reach', edit: () => { p.edit('src/a.ts', 'return x - 1', 'return x - 2'); p.edit('src/lib/deep.ts', 'x - 100', 'x - 200') } },
    { name: '13. a comment, whitespace, type annotation', edit: () => { p.edit('src/a.ts', 'function helper (x: number): number {', '// doubles\nfunction helper (x: number):   number   {') } },
    { name: '18. a module-level name shadowed by a local', edit: () => { p.edit('src/a.ts', 'const limit = 100', 'const limit = 101') } }
  ]

  for (const step of steps) {
    const path = step.path ?? '/t'
    const before = await entries(path)
    step.edit()
    const computed = await run()
    t.ok(computed.includes(path), `${step.name}: ${path} re-ran`)
    t.equal(await entries(path), before + 1, `${step.name}: one more history entry`)
    const changes = await why(path)
    t.same(step.name === 'an upstream path' ? changes.map((c) => c.slice(0, 3)) : changes, step.changes, `${step.name}: named`)
    if (step.name.startsWith('12.')) {
      // Changing it back reuses the first result: a hit, and the path points at the earlier evaluation again.
      const log = rows((await dds(['log', '/t'], { store })).stdout)
      p.edit('src/config.ts', 'RATE = 0.25', 'RATE = 0.5')
      t.same(await run(), [], '12. changing it back runs nothing')
      const after = rows((await dds(['log', '/t'], { store })).stdout)
      t.same(after[0]?.slice(2, 4), ['hit', log[1]?.[3]], '12. a hit entry pointing at the earlier evaluation')
      t.same(await why('/t'), [['declaration', 'changed', 'src/config.ts#RATE']], '12. why still names the constant')
    }
  }
  for (const step of noRun) {
    const before = await entries('/t')
    step.edit()
    t.same(await run(), [], `${step.name}: nothing re-ran`)
    t.equal(await entries('/t'), before, `${step.name}: no history entry`)
  }
})
