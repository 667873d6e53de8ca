/**
 * The example pipeline (examples/weather) run as the README's first command
 * runs it (`npm run demo`: tsx on examples/weather/run.ts, after the build
 * that `npm test` does first), twice on one fresh store: the first run
 * computes every step, the second reuses every one and writes the same report.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
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
