/**
 * The web view over plain HTTP (no browser), in process, on a store filled
 * by real keep runs: the JSON API's answers and errors, the bytes of a
 * download against `dds cat`, the headers every response carries, and the
 * attacker's requests: another Host (DNS rebinding), a write, a missing or
 * wrong token off loopback, stored markup and pictures that must not run.
 */
import t from 'tap'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { openStore, type Store } from '../../store/store.js'
import { serve } from '../../lib/serve/server.js'
import { isLoopback } from '../../lib/serve/server.js'
import { imageType } from '../../lib/serve/output.js'
import type { Serving } from '../../lib/serve/interface.js'
import { dds } from '../cli/helpers/cli.js'
import { fakeEvaluation } from '../cli/helpers/fake.js'
import { runProject, serveProject, EVIL, EVIL_COLUMN, TABLE_ROWS } from './helpers.js'
import type { TempProject } from '../helpers/project.js'
import { request } from 'node:http'

let project: TempProject
let location: string
let store: Store
let s: Serving
const cat: Record<string, Buffer> = {}
const csv: Record<string, Buffer> = {}
let arrowBytes: Buffer

t.before(async () => {
  project = serveProject()
  location = join(project.root, 'store')
  await runProject(project, location, 1)
  await runProject(project, location, 2)
  for (const p of ['/data/records', '/img/picture', '/evil/text', '/models/score@1', '/data/table']) cat[p] = (await dds(['cat', '--store', location, p])).bytes
  for (const p of ['/data/table', '/data/records']) csv[p] = (await dds(['cat', '--store', location, p, '--format', 'csv'])).bytes
  arrowBytes = (await dds(['cat', '--store', location, '/data/table', '--format', 'arrow'])).bytes
  t.equal((await dds(['tag', 'best', '/models/score@1', '--store', location])).code, 0)
  store = await openStore({ location })
  s = await serve(store)
})

t.teardown(async () => {
  await s?.close()
  await store?.close()
  project?.remove()
})

async function get (path: string, init: RequestInit = {}): Promise<Response> {
  return await fetch(`http://127.0.0.1:${s.port}${path}`, init)
}

/** A raw request, for headers fetch will not let a page set (Host). */
async function raw (path: string, headers: Record<string, string>): Promise<number> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: s.port, path, headers }, (res) => { res.resume(); resolve(res.statusCode as number) })
    req.on('error', reject)
    req.end()
  })
}

t.test('listens on loopback and says where', async (t) => {
  t.equal(s.host, '127.0.0.1')
  t.equal(s.token, null)
  t.equal(s.url, `http://127.0.0.1:${s.port}/`)
})

t.test('paths page by page, under a prefix', async (t) => {
  const first = await (await get('/api/paths?limit=2')).json() as { items: Array<{ path: string }>, next: string }
  t.same(first.items.map((r) => r.path), ['/data/records', '/data/summary'])
  t.equal(first.next, '/data/summary')
  const second = await (await get(`/api/paths?limit=2&cursor=${encodeURIComponent(first.next)}`)).json() as { items: Array<{ path: string }> }
  t.same(second.items.map((r) => r.path), ['/data/table', '/evil/text'])
  const under = await (await get('/api/paths?prefix=/models')).json() as { items: Array<{ path: string }>, next: null }
  t.same(under.items.map((r) => r.path), ['/models/score'])
  t.equal(under.next, null)
})

t.test('a history table: rows newest first, arguments, output, what changed', async (t) => {
  const h = await (await get('/api/history?path=/models/score')).json() as { items: Array<{ seq: number, status: string, args: string[], changes: string[] | null, summary: { display: string } }> }
  t.same(h.items.map((r) => r.seq), [2, 1])
  t.same(h.items.map((r) => r.args), [['2'], ['1']])
  t.same(h.items[0]?.changes, ['argument changed 0'])
  t.equal(h.items[1]?.changes, null, 'the first entry has nothing before it')
  t.equal(h.items[0]?.summary.display, '{ accuracy: 0.52, loss: 0.5 }')
  const paged = await (await get('/api/history?path=/models/score&limit=1')).json() as { items: Array<{ changes: string[] }>, next: string }
  t.same(paged.items[0]?.changes, ['argument changed 0'], 'the last row of a page is compared with the entry past it')
  t.equal(paged.next, '2')
  const same = await (await get('/api/history?path=/evil/text')).json() as { items: Array<{ status: string, changes: string[] | null }> }
  t.same(same.items.map((r) => [r.status, r.changes]), [['computed', null]], 'a hit on the same value adds no entry')
})

t.test('why, metrics and lineage', async (t) => {
  const w = await (await get('/api/why?path=/models/score&old=1&new=2')).json() as { changes: Array<{ kind: string }> }
  t.same(w.changes.map((c) => c.kind), ['argument'])
  const m = await (await get('/api/metrics?path=/models/score')).json() as { seq: number[], fields: Record<string, number[]> }
  t.same(m, { path: '/models/score', seq: [1, 2], time: (m as unknown as { time: string[] }).time, fields: { accuracy: [0.51, 0.52], loss: [1, 0.5] } })
  const g = await (await get('/api/lineage?path=/data/summary')).json() as { graph: { nodes: Array<{ path: string }>, edges: Array<{ kind: string }> }, svg: string }
  t.same(g.graph.nodes.map((n) => n.path).sort(), ['/data/records', '/data/summary'])
  t.same(g.graph.edges.map((e) => e.kind), ['load'])
  t.match(g.svg, /^<svg|<\?xml/)
})

t.test('an evaluation with its output previewed by kind', async (t) => {
  const text = await (await get('/api/evaluation?target=/evil/text')).json() as { preview: unknown, inputs: Array<{ value: unknown }> }
  t.same(text.preview, { kind: 'text', text: 'said: ' + EVIL, truncated: false })
  t.same(text.inputs.map((i) => i.value), [EVIL])
  const picture = await (await get('/api/evaluation?target=/img/picture')).json() as { preview: unknown }
  t.same(picture.preview, { kind: 'image', mime: 'image/svg+xml' })
  const records = await (await get('/api/evaluation?target=/data/records')).json() as { preview: unknown }
  t.same(records.preview, { kind: 'value', value: [{ city: 'paris', t: 12 }, { city: 'lyon', t: 15 }], truncated: false })
})

t.test('the source panel: current text from the project, never a file outside it', async (t) => {
  const none = await (await get('/api/source?target=/models/score')).json() as { recorded: unknown, current: unknown }
  t.same(none, { entry: 'src/steps.ts#score', recorded: null, current: null }, 'no root given: no current source')
  const rooted = await serve(store, { root: project.root })
  t.teardown(rooted.close)
  const at = async (target: string): Promise<{ entry: string, recorded: null, current: Array<{ key: string, status: string, line: number | null, text: string | null }> }> =>
    await (await fetch(`http://127.0.0.1:${rooted.port}/api/source?target=${encodeURIComponent(target)}`)).json() as never
  const src = await at('/models/score')
  t.equal(src.recorded, null, 'manifests hold hashes, not text')
  const line = readFileSync(project.path('src/steps.ts'), 'utf8').split('\n').findIndex((l) => l.startsWith('export function score')) + 1
  t.same(src.current.map((d) => [d.key, d.status, d.line]), [['src/steps.ts#score', 'ok', line]])
  t.match(src.current[0]?.text, /^export function score \(n: number\)/)
  // A manifest from someone else's bundle names whatever it likes.
  const hostile = await fakeEvaluation(store, { path: '/evil/source', value: 1, declarations: { '../../etc/passwd#root': 1, '/etc/passwd#root': 2, 'src/../../../etc/passwd#root': 3 } })
  const bad = await at(hostile.evaluation.toString())
  t.same(bad.current.map((d) => [d.key, d.status, d.text]), [
    ['../../etc/passwd#root', 'outside', null], ['/etc/passwd#root', 'outside', null], ['src/../../../etc/passwd#root', 'outside', null]
  ])
  await t.rejects(serve(store, { root: '' }), TypeError)
})

t.test('tags on path rows and history rows', async (t) => {
  const paths = await (await get('/api/paths?prefix=/models')).json() as { items: Array<{ path: string, tags: unknown }> }
  t.same(paths.items.map((r) => [r.path, r.tags]), [['/models/score', [{ name: 'best', seq: 1 }]]])
  const h = await (await get('/api/history?path=/models/score')).json() as { items: Array<{ seq: number, tags: string[] }> }
  t.same(h.items.map((r) => [r.seq, r.tags]), [[2, []], [1, ['best']]])
})

t.test('an Arrow table: pages of rows, never the whole table; downloads as dds cat gives them', async (t) => {
  const e = await (await get('/api/evaluation?target=/data/table')).json() as { preview: unknown, output: { table: { rows: number } } }
  t.same(e.preview, { kind: 'table' })
  t.equal(e.output.table.rows, TABLE_ROWS)
  type TablePage = { rows: number, offset: number, columns: Array<{ name: string }>, cells: string[][] }
  const first = await (await get('/api/table?target=/data/table')).json() as TablePage
  t.same(first.columns.map((c) => c.name), ['city', 't', EVIL_COLUMN])
  t.same([first.rows, first.offset, first.cells.length], [TABLE_ROWS, 0, 50], 'the default page')
  t.same(first.cells[1], ['city 1', '0.5', '10'])
  const last = await (await get('/api/table?target=/data/table&offset=100&limit=500')).json() as TablePage
  t.same([last.offset, last.cells.length, last.cells[19]], [100, 20, ['city 119', '59.5', '1190']])
  t.same(((await (await get('/api/table?target=/data/table&offset=1000')).json()) as TablePage).cells, [], 'past the end: no rows')
  t.equal((await get('/api/table?target=/data/table&limit=501')).status, 400, 'a page is bounded')
  t.equal((await get('/api/table?target=/data/table&limit=0')).status, 400)
  t.equal((await get('/api/table?target=/data/table&offset=-1')).status, 400)
  t.equal((await get('/api/table?target=/data/records')).status, 400, 'not a table')
  for (const [target, bytes] of Object.entries(csv)) {
    const res = await get(`/raw?target=${encodeURIComponent(target)}&format=csv`)
    t.equal(res.status, 200)
    t.match(res.headers.get('content-type'), /^text\/csv/)
    t.match(res.headers.get('content-disposition'), /^attachment;.*\.csv"$/)
    t.same(Buffer.from(await res.arrayBuffer()), bytes, `${target} as CSV`)
  }
  const ipc = await get('/raw?target=/data/table')
  t.match(ipc.headers.get('content-disposition'), /\.arrow"$/)
  t.same(Buffer.from(await ipc.arrayBuffer()), arrowBytes, 'the IPC stream of dds cat --format arrow')
  t.equal((await get('/raw?target=/evil/text&format=csv')).status, 400)
  t.equal((await get('/raw?target=/data/table&format=html')).status, 400)
})

t.test('a download is the bytes of dds cat, never a page', async (t) => {
  for (const [target, bytes] of Object.entries(cat)) {
    const res = await get(`/raw?target=${encodeURIComponent(target)}`)
    t.equal(res.status, 200)
    t.same(Buffer.from(await res.arrayBuffer()), bytes, target)
    t.equal(res.headers.get('content-type'), 'application/octet-stream')
    t.match(res.headers.get('content-disposition'), /^attachment;/)
  }
  const image = await get('/raw?target=/img/picture&inline=image')
  t.equal(image.headers.get('content-type'), 'image/svg+xml')
  t.match(image.headers.get('content-security-policy'), /sandbox/, 'an SVG opened by itself runs no script')
  const notImage = await get('/raw?target=/evil/text&inline=image')
  t.equal(notImage.headers.get('content-type'), 'application/octet-stream', 'markup that is not a picture stays a download')
})

t.test('bad requests get coded errors', async (t) => {
  const missing = await get('/api/history?path=/no/such')
  t.equal(missing.status, 404)
  t.equal((await missing.json() as { error: { code: string } }).error.code, 'DDS_PATH_NOT_FOUND')
  const invalid = await get(`/api/history?path=${encodeURIComponent('/a/<script>')}`)
  t.equal(invalid.status, 400)
  t.equal((await invalid.json() as { error: { code: string } }).error.code, 'DDS_PATH_INVALID')
  t.equal((await get('/api/history')).status, 400)
  t.equal((await get('/api/paths?limit=abc')).status, 400)
  t.equal((await get('/api/paths?limit=0')).status, 400)
  t.equal((await get('/api/evaluation?target=bafynotacid')).status, 400)
  t.equal((await get('/api/nothing')).status, 404)
  t.equal((await get('/../../etc/passwd')).status, 404)
})

t.test('every response carries the policy and sets no cookie; the page holds no stored string', async (t) => {
  for (const p of ['/', '/app.js', '/style.css', '/vendor/uplot.js', '/vendor/svg-pan-zoom.js', '/api/paths', '/api/nothing']) {
    const res = await get(p)
    t.match(res.headers.get('content-security-policy'), /default-src 'none'/, p)
    t.equal(res.headers.get('x-content-type-options'), 'nosniff', p)
    t.equal(res.headers.get('set-cookie'), null, p)
    t.equal(res.headers.get('access-control-allow-origin'), null, p)
  }
  const page = await (await get('/')).text()
  t.notMatch(page, /said|evil|models/)
  t.match((await get('/api/paths')).headers.get('content-type'), /^application\/json/)
})

t.test('read-only, and only to its own loopback name', async (t) => {
  for (const method of ['POST', 'PUT', 'DELETE']) t.equal((await get('/api/paths', { method })).status, 405, method)
  t.equal(await raw('/api/paths', { host: 'attacker.example' }), 421, 'DNS rebinding: another name')
  t.equal(await raw('/api/paths', { host: `attacker.example:${s.port}` }), 421)
  t.equal(await raw('/api/paths', { host: `localhost:${s.port + 1}` }), 421, 'another port')
  t.equal(await raw('/api/paths', { host: `localhost:${s.port}` }), 200)
})

t.test('off loopback the token is required on every request', async (t) => {
  const open = await serve(store, { host: '0.0.0.0' })
  t.teardown(open.close)
  t.match(open.token, /^[\w-]{32}$/)
  t.match(open.url, new RegExp(`\\?token=${open.token as string}$`))
  const base = `http://127.0.0.1:${open.port}`
  // One character changed: the last one, to a character it is not.
  const token = open.token as string
  const wrong = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')
  t.not(wrong, token)
  for (const p of ['/', '/app.js', '/vendor/uplot.js', '/api/paths', '/raw?target=/data/records']) {
    t.equal((await fetch(base + p)).status, 401, p)
    t.equal((await fetch(`${base}${p}${p.includes('?') ? '&' : '?'}token=${wrong}`)).status, 401, `${p} with a wrong token`)
  }
  t.equal((await fetch(`${base}/api/paths?token=${open.token as string}`)).status, 200)
  t.equal((await fetch(`${base}/api/paths`, { headers: { authorization: `Bearer ${open.token as string}` } })).status, 200)
  const page = await (await fetch(`${base}/?token=${open.token as string}`)).text()
  t.match(page, `/app.js?token=${open.token as string}`, 'the page asks for its files with the token')
})

t.test('arguments of serve are checked', async (t) => {
  await t.rejects(serve(store, { port: -1 }), RangeError)
  await t.rejects(serve(store, { port: 1.5 }), RangeError)
  await t.rejects(serve(store, { host: '' }), TypeError)
  await t.rejects(serve(store, { host: '0.0.0.0', token: 'short' }), TypeError)
  await t.rejects(serve(store, { host: '0.0.0.0', token: '"><script>x</script>aaaaaaaa' }), TypeError, 'a token goes into the page: only safe characters')
})

t.test('loopback and image types', async (t) => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) t.ok(isLoopback(h), h)
  for (const h of ['0.0.0.0', '192.168.1.2', '::', 'example.com', '128.0.0.1']) t.notOk(isLoopback(h), h)
  t.equal(imageType(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a])), 'image/png')
  t.equal(imageType(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0])), 'image/jpeg')
  t.equal(imageType(Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')), 'image/svg+xml')
  t.equal(imageType(Buffer.from('<html><svg></svg></html>')), undefined)
  t.equal(imageType(Buffer.from('plain text')), undefined)
})

t.test('the plan: what the next run will do, computed on request from the working tree given, confined like the rest', async (t) => {
  const none = await (await get('/api/plan')).json() as { plan: unknown, problem: string }
  t.equal(none.plan, null, 'no working tree given: no plan')
  t.match(none.problem, /working tree/)
  const rooted = await serve(store, { root: project.root, token: 'plan-token-0123456789' })
  t.teardown(rooted.close)
  const at = async (query: string, init: RequestInit = {}): Promise<Response> =>
    await fetch(`http://127.0.0.1:${rooted.port}/api/plan?token=plan-token-0123456789${query}`, init)
  interface Answer { plan: { paths: Array<{ path: string, status: string, why: string[], evaluation: string }>, counts: Record<string, number> }, summary: string, problem: null }
  const statuses = (a: Answer): Array<[string, string]> => a.plan.paths.map((p) => [p.path, p.status] as [string, string]).sort()
  const before = await (await at('&path=/data/*&path=/models/score')).json() as Answer
  t.same(statuses(before), [['/data/records', 'up-to-date'], ['/data/summary', 'up-to-date'], ['/data/table', 'up-to-date'], ['/models/score', 'up-to-date']])
  t.equal(before.summary, '4 up to date')
  const head = JSON.parse((await dds(['show', '/data/records', '--json', '--store', location])).stdout) as { evaluation: string }
  t.equal(before.plan.paths.find((p) => p.path === '/data/records')?.evaluation, head.evaluation, 'each path names the evaluation it holds now, as the lineage graph does')

  project.edit('src/steps.ts', "city: 'paris', t: 12", "city: 'paris', t: 13")
  t.teardown(() => { project.edit('src/steps.ts', "city: 'paris', t: 13", "city: 'paris', t: 12") })
  const after = await (await at('&path=/data/*')).json() as Answer
  t.same(statuses(after), [['/data/records', 'will-run'], ['/data/summary', 'may-run'], ['/data/table', 'up-to-date']], 'computed on request: the edit is seen at once')
  t.same(after.plan.paths.find((p) => p.path === '/data/records')?.why, ['declaration changed src/steps.ts#records'])
  t.same(after.plan.paths.find((p) => p.path === '/data/summary')?.why, ['upstream /data/records'])
  t.match(after.summary, /^1 will re-run \(~[^)]+\), 1 may re-run, 1 up to date$/)

  t.equal((await at('&path=/no/such')).status, 404, 'a named path without a value')
  t.equal((await at(`&path=${encodeURIComponent('/a/<script>')}`)).status, 400, 'a malformed path')
  t.equal((await at('&path=data')).status, 400, 'a glob that is not a path')
  t.equal((await at(`&path=/${'*a'.repeat(9)}`)).status, 400, 'a glob with too many wildcards')
  t.equal((await at('', { method: 'POST' })).status, 405, 'read-only')
  t.equal((await fetch(`http://127.0.0.1:${rooted.port}/api/plan`)).status, 401, 'the token is required')
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: rooted.port, path: '/api/plan?token=plan-token-0123456789', headers: { host: 'attacker.example' } }, (res) => { res.resume(); resolve(res.statusCode as number) })
    req.on('error', reject)
    req.end()
  })
  t.equal(status, 421, 'DNS rebinding: another name')
})
