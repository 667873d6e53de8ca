/**
 * `dds plan` as a user runs it in the project: TSV when piped with the
 * summary on stderr, aligned groups on a terminal, --json, and --exit-code
 * exiting 1 only when something will re-run.
 */
import t from 'tap'
import { dds, ddsTty, rows } from './helpers/cli.js'
import { planProject } from '../helpers/plan-project.js'

t.test('dds plan in a project, before and after an edit', async (t) => {
  const p = planProject()
  t.teardown(() => { p.project.remove() })
  await p.run()
  const opts = { cwd: p.project.root, env: { DDS_STORE: p.store } }

  const clean = await dds(['plan', '--exit-code'], opts)
  t.equal(clean.code, 0, '--exit-code: 0 when nothing will re-run')
  t.same(rows(clean.stdout).map((r) => r[0]), Array(6).fill('up-to-date'))
  t.match(clean.stderr, /6 up to date/)

  p.project.edit('src/helpers.ts', 'x * 2', 'x * 3')
  const edited = await dds(['plan', '--exit-code'], opts)
  t.equal(edited.code, 1, '--exit-code: 1 when something will re-run')
  const byPath = new Map(rows(edited.stdout).map((r) => [r[1], r]))
  t.equal(byPath.get('/scaled')?.[0], 'will-run')
  t.match(byPath.get('/scaled')?.[3], /declaration changed src\/helpers\.ts#scale/)
  t.equal(byPath.get('/total')?.[0], 'may-run')
  t.match(edited.stderr, /1 will re-run \(~[^)]+\), 2 may re-run, 3 up to date/)

  const json = JSON.parse((await dds(['plan', '--json', '/scaled'], opts)).stdout)
  t.same(json.paths.map((x: { path: string, status: string }) => [x.path, x.status]), [['/scaled', 'will-run']])
  t.equal(json.counts['will-run'], 1)

  const tty = await ddsTty(['plan'], opts)
  t.match(tty.stdout, /^will re-run \(~/m)
  t.match(tty.stdout, /^1 will re-run .*3 up to date$/m, 'the summary line ends the terminal output')
})
