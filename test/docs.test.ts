/**
 * The docs stay true. docs/cli.md: its examples are what scripts/cli-docs.ts
 * writes from the real `dds` on the weather example (times, CIDs and numbers
 * aside, which differ from run to run). README: its first code example runs
 * as it stands, beside the weather example's modules, and prints with
 * DDS_LOG=1 what the README's first screen shows (durations aside). Needs the build
 * (`npm test` builds first).
 */
import t from 'tap'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeProject, masked } from '../scripts/cli-docs.js'
import { startNode } from './helpers/spawn.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const built = existsSync(join(root, 'dist', 'lib', 'cli', 'main.js'))

t.test('the comparison ignores what differs between faithful runs, and nothing else', async (t) => {
  const a = 'dds verify: blocks: 18 checked (259 KiB)\n/weather/clean\tbafyreiedjhj3ijkeujvvdapd323ykgwfxkhgikqlmukkku4fwbacvjxgz4\t2026-12-03T14:45:54.449Z'
  const b = 'dds verify: blocks: 19 checked (260 KiB)\n/weather/clean\tbafyreigw6v5xesfwodneqsimub2m7icor5bagwxiibbz2pydw3mpzdbgdq\t2027-01-01T00:00:00.000Z'
  t.equal(masked(a), masked(b), 'counts, CIDs and times')
  t.not(masked(a), masked(a.replace('/weather/clean', '/weather/rows')), 'a path')
  t.not(masked(a), masked(a.replace('checked', 'verified')), 'a word')
  t.not(masked(a), masked(a + '\nextra line'), 'a line more')
})

t.test('docs/cli.md is what scripts/cli-docs.ts writes', { skip: !built && 'needs npm run build' }, async (t) => {
  const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs')
  const e = await startNode(tsx, [join(root, 'scripts', 'cli-docs.ts'), '--check'], { cwd: root }).done
  t.equal(e.code, 0, e.code === 0 ? 'docs/cli.md is up to date' : e.stderr)
})

t.test("the README's example runs beside examples/weather", { skip: !built && 'needs npm run build' }, async (t) => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  if (block === undefined) throw new Error('README has no ts example')
  const { root: project, env } = makeProject()
  t.teardown(() => { rmSync(project, { recursive: true, force: true }) })
  // The store the example names is a machine's; this run uses the project's own.
  const local = block.replace("configure({ store: '/data/dds' })", "configure({ store: '.dds' })")
  t.not(local, block, 'the example configures a store')
  writeFileSync(join(project, 'examples', 'weather', 'readme.ts'), local + `
import { closeDefault } from 'dds-ts'
console.log(JSON.stringify({ rows: rows.length, clean: clean.length, report: report.length, model: Object.keys(model as object).length, raw: (await raw()).length }))
await closeDefault()
`)
  const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs')
  const runs = []
  for (let i = 0; i < 2; i++) runs.push(await startNode(tsx, ['examples/weather/readme.ts'], { cwd: project, env: { ...env as Record<string, string>, DDS_LOG: '1' } }).done)
  const e = runs[0]!
  t.equal(e.code, 0, e.code === 0 ? 'it runs' : e.stderr)
  const out = JSON.parse(e.stdout.trim().split('\n').pop() ?? '{}') as { rows: number, clean: number, report: number, model: number, raw: number }
  t.ok(out.rows > 1000 && out.clean > 1000 && out.report > 200 && out.model === 4 && out.raw === out.rows, `what it computed: ${JSON.stringify(out)}`)

  // The reporter's output shown beside the example: two runs, side by side, is what they print.
  const shown = /```\n(\$ DDS_LOG=1 [^\n]*)\n([\s\S]*?)```/.exec(readme)
  if (shown === null) throw new Error('README shows no DDS_LOG output')
  const split = (shown[1] as string).indexOf('$', 1)
  const lines = (shown[2] as string).trimEnd().split('\n')
  const columns = [lines.map((l) => l.slice(0, split).trimEnd()), lines.map((l) => l.slice(split).trimEnd())]
  const store = join(project, '.dds')
  const duration = (s: string): string => s.replace(/\d+(\.\d+)? (ms|s)$/gm, 'N ms')
  for (let i = 0; i < 2; i++) {
    const printed = (runs[i]?.stderr ?? '').trimEnd().split('\n').map((l) => l.replace(store, '/data/dds').trimEnd())
    t.equal(duration(printed.join('\n')), duration((columns[i] as string[]).join('\n')), `run ${i + 1} prints what the README shows`)
  }
})
