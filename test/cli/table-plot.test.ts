/**
 * `dds table` and `dds plot` on a store filled by real keep runs: the rows
 * (arguments, output, what changed), the metric's series, pictures written
 * with -o, and the mistakes a user makes.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { dds, rows } from './helpers/cli.js'
import { runProject, serveProject } from '../serve/helpers.js'
import type { TempProject } from '../helpers/project.js'

let project: TempProject
let store: string

t.before(async () => {
  project = serveProject()
  store = join(project.root, 'store')
  for (const n of [1, 2, 4]) await runProject(project, store, n)
})
t.teardown(() => { project?.remove() })

t.test('dds table: one row per entry, newest first, tab-separated when piped', async (t) => {
  const r = await dds(['table', '--store', store, '/models/score'])
  t.equal(r.code, 0)
  const lines = rows(r.stdout)
  t.same(lines.map((l) => [l[0], l[2], l[4], l[5], l[6]]), [
    ['3', 'computed', '4', 'argument changed 0', '{ accuracy: 0.54, loss: 0.25 }'],
    ['2', 'computed', '2', 'argument changed 0', '{ accuracy: 0.52, loss: 0.5 }'],
    ['1', 'computed', '1', '-', '{ accuracy: 0.51, loss: 1 }']
  ])
  const limited = await dds(['table', '--store', store, '/models/score', '-n', '1'])
  t.same(rows(limited.stdout).map((l) => l[0]), ['3'])
})

t.test('dds table --json gives the rows as data', async (t) => {
  const r = await dds(['table', '--store', store, '/models/score', '--json'])
  const data = JSON.parse(r.stdout) as Array<{ seq: number, changes: string[] | null, summary: { enc: string } }>
  t.same(data.map((d) => d.seq), [3, 2, 1])
  t.same(data.map((d) => d.changes), [['argument changed 0'], ['argument changed 0'], null])
  t.equal(data[0]?.summary.enc, 'cbor-x/1')
  const missing = await dds(['table', '--store', store, '/no/such'])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /DDS_PATH_NOT_FOUND/)
})

t.test('dds plot: the series as data, a chart in the terminal', async (t) => {
  const r = await dds(['plot', '--store', store, '/models/score', 'accuracy', '--json'])
  t.same(JSON.parse(r.stdout).values, [0.51, 0.52, 0.54])
  t.same(JSON.parse(r.stdout).seq, [1, 2, 3])
  const chart = await dds(['plot', '--store', store, '/models/score', 'loss'])
  t.equal(chart.code, 0)
  t.match(chart.stdout, /1\.00 ┼/)
  t.match(chart.stdout, /0\.25 ┤/)
})

t.test('dds plot -o writes an SVG or a PNG', async (t) => {
  const dir = t.testdir()
  const svg = join(dir, 'a.svg')
  const png = join(dir, 'a.png')
  t.equal((await dds(['plot', '--store', store, '/models/score', 'accuracy', '-o', svg])).code, 0)
  t.match(readFileSync(svg, 'utf8'), /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/)
  t.equal((await dds(['plot', '--store', store, '/models/score', 'accuracy', '-o', png])).code, 0)
  t.same([...readFileSync(png).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47])
})

t.test('dds plot: mistakes', async (t) => {
  const several = await dds(['plot', '--store', store, '/models/score'])
  t.equal(several.code, 2, 'several fields and none named')
  t.match(several.stderr, /accuracy, loss/)
  t.equal((await dds(['plot', '--store', store, '/models/score', 'nope'])).code, 2)
  t.equal((await dds(['plot', '--store', store, '/models/score', 'loss', '-o', 'x.gif'])).code, 2)
  t.equal((await dds(['plot', '--store', store, '/evil/text'])).code, 1, 'no numbers in it')
})
