/**
 * The example pipeline (examples/weather) run as the README's first command
 * runs it (`npm run demo`: tsx on examples/weather/run.ts, after the build
 * that `npm test` does first), twice on one fresh store: the first run
 * computes every step, the second reuses every one and writes the same report.
 * Then the README's claims about its CSV, on a copy of the example: an edited
 * reading re-runs the steps whose input changed, a touch re-runs nothing, a
 * blank line re-runs only the parse step (early cutoff), a revert reuses the
 * first results, and no report is stale (each equals a run on a fresh store).
 */
import t from 'tap'
import { cpSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startNode } from './helpers/spawn.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs')
const STEPS = ['/weather/rows', '/weather/clean', '/weather/daily', '/weather/stats', '/weather/model', '/weather/report']

/** The reporter's lines on stderr, as [what, path] for each step. */
function steps (stderr: string): Array<[string, string]> {
  return stderr.split('\n').map((l) => l.trim().split(/\s+/)).filter((w) => w.length >= 2 && (w[1] ?? '').startsWith('/weather/')).map((w) => [w[0] as string, w[1] as string])
}

t.test('the weather example runs, then runs again from the store', async (t) => {
  const dir = t.testdir()
  // A store of its own (not the repository's .dds), and a working directory where out/ may be written.
  const env = { DDS_STORE: join(dir, 'store') }
  const run = async (): Promise<{ stderr: string, report: string }> => {
    const e = await startNode(tsx, [join(root, 'examples', 'weather', 'run.ts')], { cwd: dir, env }).done
    if (e.code !== 0) t.comment(e.stderr)
    t.equal(e.code, 0, 'the example exits 0')
    t.match(e.stdout, /report written to .*weather-report\.md/)
    return { stderr: e.stderr, report: readFileSync(join(dir, 'out', 'weather-report.md'), 'utf8') }
  }
  const first = await run()
  t.same(steps(first.stderr), STEPS.map((p) => ['computed', p]), 'the first run computes every step')
  t.match(first.report, /Weather|weather/, 'a report')
  t.ok(first.report.length > 200, 'with content')
  const second = await run()
  t.same(steps(second.stderr), STEPS.map((p) => ['reused', p]), 'the second run reuses every step')
  t.equal(second.report, first.report, 'and writes the same report')
})

t.test('the example\'s CSV: an edit re-runs what it changes, a touch nothing, a blank line only the parse', async (t) => {
  const dir = t.testdir()
  const project = join(dir, 'project')
  cpSync(join(root, 'examples', 'weather'), join(project, 'weather'), { recursive: true })
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'weather-copy', version: '1.0.0', type: 'module' }))
  mkdirSync(join(project, 'node_modules'))
  symlinkSync(root, join(project, 'node_modules', 'dds-ts'), 'dir')
  const csv = join(project, 'weather', 'data', 'weather.csv')
  const original = readFileSync(csv, 'utf8')
  const run = async (store: string): Promise<{ steps: Array<[string, string]>, report: string }> => {
    const e = await startNode(tsx, [join(project, 'weather', 'run.ts')], { cwd: project, env: { DDS_STORE: join(dir, store) } }).done
    if (e.code !== 0) t.comment(e.stderr)
    t.equal(e.code, 0, 'the example exits 0')
    return { steps: steps(e.stderr), report: readFileSync(join(project, 'out', 'weather-report.md'), 'utf8') }
  }
  let fresh = 0
  const step = async (what: string, ran: string[]): Promise<string> => {
    const r = await run('store')
    t.same(r.steps.filter(([w]) => w === 'computed').map(([, p]) => p), ran, `${what}: what ran`)
    t.equal(r.report, (await run(`fresh-${fresh++}`)).report, `${what}: the report is not stale`)
    return r.report
  }
  const first = await step('first run', STEPS)
  // One reading of one city changed: the parsed rows and every step that uses them.
  writeFileSync(csv, original.replace('2023-01-01,Oslo,-0.2,', '2023-01-01,Oslo,-9.2,'))
  const edited = await step('a reading edited', STEPS)
  t.not(edited, first, 'the report shows the edit')
  const later = new Date(Date.now() + 120_000)
  utimesSync(csv, later, later)
  await step('touched', [])
  writeFileSync(csv, original.replace('2023-01-01,Oslo,-0.2,', '2023-01-01,Oslo,-9.2,') + '\n')
  await step('a blank line added', ['/weather/rows'])
  writeFileSync(csv, original)
  t.equal(await step('reverted', []), first, 'the revert gives the first report')
})
