/**
 * `dds cat`, `show` and `ls --json` on Arrow tables (and arrays of row
 * objects), by spawning the binary: first rows aligned on a terminal, CSV,
 * JSON lines and the IPC stream for all of it, the schema and row count.
 */
import t from 'tap'
import { join } from 'node:path'
import * as arrow from 'apache-arrow'
import { open } from '../../lib/dds.js'
import { dds, ddsTty, rows } from './helpers/cli.js'

function cities (): arrow.Table {
  return arrow.tableFromArrays({
    city: ['paris', 'lyon', 'nice, côte', 'say "hi"'],
    t: Float64Array.from([12.5, 15, 18.25, -1]),
    n: Int32Array.from([1, 22, 333, 4444])
  })
}

function plainRows (): Array<Record<string, unknown>> {
  return [{ a: 1, b: 'x' }, { a: 2, c: true }]
}

function notes (): string {
  return 'hello'
}

let store: string

t.before(async () => {
  const dir = t.testdir({ project: {} })
  store = join(dir, 'project', '.dds')
  const d = await open({ store, log: false })
  await d.keep('/table', cities)
  await d.keep('/rows', plainRows)
  await d.keep('/notes', notes)
  await d.close()
})

const CSV = 'city,t,n\nparis,12.5,1\nlyon,15,22\n"nice, côte",18.25,333\n"say ""hi""",-1,4444\n'

t.test('--format csv and jsonl print every row; arrow (and a pipe) the IPC stream', async (t) => {
  const csv = await dds(['cat', '/table', '--format', 'csv'], { store })
  t.equal(csv.code, 0, csv.stderr)
  t.equal(csv.stdout, CSV)
  const jsonl = await dds(['cat', '/table', '--format', 'jsonl'], { store })
  t.same(jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [
    { city: 'paris', t: 12.5, n: 1 }, { city: 'lyon', t: 15, n: 22 }, { city: 'nice, côte', t: 18.25, n: 333 }, { city: 'say "hi"', t: -1, n: 4444 }
  ])
  t.equal((await dds(['cat', '/table', '--json'], { store })).stdout, jsonl.stdout, '--json is JSON lines for a table')
  for (const args of [['--format', 'arrow'], []]) {
    const out = await dds(['cat', '/table', ...args], { store })
    t.equal(out.code, 0)
    const back = arrow.tableFromIPC(out.bytes)
    t.equal(back.numRows, 4)
    t.same(back.getChild('city')?.toArray(), ['paris', 'lyon', 'nice, côte', 'say "hi"'])
  }
})

t.test('on a terminal a table shows its first rows aligned and its size', async (t) => {
  const out = await ddsTty(['cat', '/table'], { store })
  t.equal(out.code, 0, out.stderr)
  const lines = out.stdout.split('\n').filter((l) => l !== '')
  t.match(lines[0], /^city\s+t\s+n$/)
  t.equal(lines.length, 6)
  const nEnd = (lines[0] as string).length
  for (const line of lines.slice(1, 5)) t.equal(line.length, nEnd, `numbers end under their header: ${line}`)
  t.match(lines[3], /^nice, côte\s+18\.25\s+333$/)
  t.equal(lines[5], '(4 rows, 3 columns)')
})

t.test('--format csv works for an array of plain row objects; other values are refused', async (t) => {
  const out = await dds(['cat', '/rows', '--format', 'csv'], { store })
  t.equal(out.stdout, 'a,b,c\n1,x,\n2,,true\n')
  const refused = await dds(['cat', '/notes', '--format', 'csv'], { store })
  t.equal(refused.code, 2)
  t.match(refused.stderr, /table or an array of plain row objects/)
  t.equal((await dds(['cat', '/rows', '--format', 'arrow'], { store })).code, 2)
  t.equal((await dds(['cat', '/table', '--format', 'xml'], { store })).code, 2)
})

t.test('show and ls --json give the schema, row count and size', async (t) => {
  const show = await dds(['show', '/table'], { store })
  t.equal(show.code, 0, show.stderr)
  const lines = rows(show.stdout)
  t.same(lines.find((r) => r[0] === 'rows'), ['rows', '4'])
  t.same(lines.filter((r) => r[0] === 'column'), [['column', 'city', 'Dictionary<Int32, Utf8>', 'nullable'], ['column', 't', 'Float64', 'not null'], ['column', 'n', 'Int32', 'not null']])
  const ls = JSON.parse((await dds(['ls', '--json'], { store })).stdout) as unknown
  const items = (Array.isArray(ls) ? ls : (ls as { items: unknown[] }).items) as Array<{ path: string, size: number, table: unknown }>
  const table = items.find((x) => x.path === '/table')
  t.ok(table !== undefined && table.size > 0)
  t.same(table?.table, { rows: 4, columns: [{ name: 'city', type: 'Dictionary<Int32, Utf8>', nullable: true }, { name: 't', type: 'Float64', nullable: false }, { name: 'n', type: 'Int32', nullable: false }] })
  t.equal(items.find((x) => x.path === '/notes')?.table, null)
})
