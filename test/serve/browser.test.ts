/// <reference lib="dom" />
/**
 * `dds serve` driven by a real browser (Debian's chromium, headless, through
 * puppeteer-core) against a store filled by real keep runs: every page loads
 * with no console error and the right rows, links lead where they should, a
 * run in another process appears live, planted markup shows as text and
 * never runs, and off loopback a request without the token is refused.
 */
import t, { type Test } from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, Page } from 'puppeteer-core'
import { runProject, serveProject, startServe, EVIL, EVIL_COLUMN, TABLE_ROWS } from './helpers.js'
import { dds } from '../cli/helpers/cli.js'
import type { TempProject } from '../helpers/project.js'

const CHROMIUM = process.env.DDS_CHROMIUM ?? '/usr/bin/chromium'
if (!existsSync(CHROMIUM)) {
  // CI installs it (.ci/run); outside CI a machine without it skips rather than fails.
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: apt-get install chromium`)
  t.plan(0, `no browser at ${CHROMIUM}`)
  process.exit(0)
}

let project: TempProject
let store: string
let server: { url: string, stop: () => Promise<void> }
let browser: Browser

t.before(async () => {
  project = serveProject()
  store = join(project.root, 'store')
  await runProject(project, store, 1)
  await runProject(project, store, 2)
  const tagged = await dds(['tag', 'best', '/models/score@1', '--store', store])
  if (tagged.code !== 0) throw new Error(tagged.stderr)
  server = await startServe(store, [], project.root)
  const { launch } = await import('puppeteer-core')
  browser = await launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
})

t.teardown(async () => {
  await browser?.close()
  await server?.stop()
  project?.remove()
})

/** A page that records every console error and uncaught exception. */
async function open (t: Test, url: string): Promise<{ page: Page, errors: string[] }> {
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  page.on('pageerror', (e) => { errors.push(String(e)) })
  await page.goto(url, { waitUntil: 'load' })
  t.teardown(async () => { await page.close() })
  return { page, errors }
}

async function loaded (page: Page, name: string): Promise<void> {
  await page.waitForSelector(`main[data-page="${name}"]`, { timeout: 60_000 })
}

t.test('the paths page lists every path as a tree, and a path leads to its history', async (t) => {
  const { page, errors } = await open(t, server.url)
  await loaded(page, 'paths')
  const paths = await page.$$eval('tr.path', (rows) => rows.map((r) => r.getAttribute('data-path')))
  t.same(paths, ['/data/records', '/data/summary', '/data/table', '/evil/text', '/img/picture', '/models/score'])
  const dirs = await page.$$eval('tr.dir a', (as) => as.map((a) => a.textContent))
  t.same(dirs, ['data/', 'evil/', 'img/', 'models/'])
  await page.click('tr[data-path="/models/score"] td:first-child a')
  await loaded(page, 'history')
  t.match(decodeURIComponent(await page.evaluate(() => location.hash)), /^#\/history\?path=\/models\/score/)
  t.same(errors, [])
})

t.test('the prefix filter keeps the paths under it', async (t) => {
  const { page, errors } = await open(t, server.url + '#/paths?prefix=/data')
  await loaded(page, 'paths')
  t.same(await page.$$eval('tr.path', (rows) => rows.map((r) => r.getAttribute('data-path'))), ['/data/records', '/data/summary', '/data/table'])
  t.same(errors, [])
})

t.test('a history shows one row per entry, what changed, and two rows compared in full', async (t) => {
  const { page, errors } = await open(t, server.url + '#/history?path=/models/score')
  await loaded(page, 'history')
  t.same(await page.$$eval('#history tbody tr', (rows) => rows.map((r) => r.getAttribute('data-seq'))), ['2', '1'])
  const changes = await page.$eval('#history tbody tr[data-seq="2"] td.changes', (td) => td.textContent)
  t.match(changes, /argument changed 0/)
  t.match(await page.$eval('#history tbody tr[data-seq="2"] td.output', (td) => td.textContent), /accuracy: 0\.52/)
  await page.click('tr[data-seq="2"] input[type=checkbox]')
  await page.click('tr[data-seq="1"] input[type=checkbox]')
  await page.click('main button')
  await page.waitForSelector('#why table', { timeout: 60_000 })
  const kinds = await page.$$eval('#why tbody tr td:first-child', (tds) => tds.map((td) => td.textContent))
  t.ok(kinds.includes('argument'))
  await page.click('tr[data-seq="1"] td:nth-child(2) a')
  await loaded(page, 'evaluation')
  t.match(decodeURIComponent(await page.evaluate(() => location.hash)), /target=\/models\/score@1/)
  t.same(errors, [])
})

t.test('planted markup in values and arguments is shown as text and never runs', async (t) => {
  const { page, errors } = await open(t, server.url + '#/evaluation?target=/evil/text')
  await loaded(page, 'evaluation')
  t.equal(await page.$eval('pre.output', (el) => el.textContent), 'said: ' + EVIL)
  t.ok((await page.$$eval('main td', (tds) => tds.map((td) => td.textContent))).includes(JSON.stringify(EVIL)), 'the argument, as text')
  t.equal(await page.$$eval('main script, main img:not(.output)', (els) => els.length), 0, 'no element was made from it')
  const history = await open(t, server.url + '#/history?path=/evil/text')
  await loaded(history.page, 'history')
  t.equal(await history.page.$$eval('main script', (els) => els.length), 0)
  t.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined)
  t.equal(await history.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined)
  t.same([...errors, ...history.errors], [])
})

t.test('an SVG output is shown as an image, its script never run; records as a table', async (t) => {
  const { page, errors } = await open(t, server.url + '#/evaluation?target=/img/picture')
  await loaded(page, 'evaluation')
  await page.waitForFunction(() => { const img = document.querySelector('img.output') as HTMLImageElement | null; return img !== null && img.complete && img.naturalWidth > 0 }, { timeout: 60_000 })
  t.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined)
  const records = await open(t, server.url + '#/evaluation?target=/data/records')
  await loaded(records.page, 'evaluation')
  t.same(await records.page.$$eval('.records tbody tr', (rows) => rows.map((r) => Array.from(r.children, (c) => c.textContent))), [['paris', '12'], ['lyon', '15']])
  t.same([...errors, ...records.errors], [])
})

t.test('tags show on the paths page and on the history rows they name', async (t) => {
  const { page, errors } = await open(t, server.url)
  await loaded(page, 'paths')
  t.same(await page.$$eval('tr.path', (rows) => rows.map((r) => [r.getAttribute('data-path'), Array.from(r.querySelectorAll('span.tag'), (s) => s.textContent)])), [
    ['/data/records', []], ['/data/summary', []], ['/data/table', []], ['/evil/text', []], ['/img/picture', []], ['/models/score', ['best']]
  ])
  await page.click('tr[data-path="/models/score"] span.tag')
  await loaded(page, 'evaluation')
  t.match(decodeURIComponent(await page.evaluate(() => location.hash)), /target=\/models\/score@best/, 'a tag leads to its entry')
  const history = await open(t, server.url + '#/history?path=/models/score')
  await loaded(history.page, 'history')
  t.same(await history.page.$$eval('#history tbody tr', (rows) => rows.map((r) => [r.getAttribute('data-seq'), Array.from(r.querySelectorAll('span.tag'), (s) => s.textContent)])), [['2', []], ['1', ['best']]])
  t.same([...errors, ...history.errors], [])
})

t.test('an Arrow table shows its schema and its rows a page at a time; a column named with markup is text', async (t) => {
  const { page, errors } = await open(t, server.url + '#/evaluation?target=/data/table')
  await loaded(page, 'evaluation')
  await page.waitForSelector('table.arrow tbody tr', { timeout: 60_000 })
  t.same(await page.$$eval('table.arrow thead th', (ths) => ths.map((th) => th.textContent)), ['city', 't', EVIL_COLUMN])
  const rows = await page.$$eval('table.arrow tbody tr', (trs) => trs.map((r) => Array.from(r.children, (c) => c.textContent)))
  t.equal(rows.length, 50)
  t.same(rows[2], ['city 2', '1', '20'])
  t.match(await page.$eval('.arrow-rows .pager', (p) => p.textContent), new RegExp(`rows 1–50 of ${TABLE_ROWS}`))
  t.same(await page.$$eval('table.schema tbody tr td:first-child', (tds) => tds.map((td) => td.textContent)), ['city', 't', EVIL_COLUMN])
  await page.click('.arrow-rows button.next')
  await page.waitForFunction(() => document.querySelector('table.arrow tbody tr td')?.textContent === 'city 50', { timeout: 60_000 })
  await page.click('.arrow-rows button.next')
  await page.waitForFunction(() => document.querySelector('table.arrow tbody tr td')?.textContent === 'city 100', { timeout: 60_000 })
  t.equal(await page.$$eval('table.arrow tbody tr', (trs) => trs.length), TABLE_ROWS - 100, 'the last page')
  t.equal(await page.$$eval('.arrow-rows button.next', (bs) => bs.length), 0)
  const csv = await page.$eval('a.csv', (a) => (a as HTMLAnchorElement).href)
  const text = await (await fetch(csv)).text()
  t.equal(text.split('\n')[0], `city,t,${EVIL_COLUMN}`)
  t.equal(text.trim().split('\n').length, TABLE_ROWS + 1)
  t.equal(await page.$$eval('main script', (els) => els.length), 0)
  t.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined)
  t.same(errors, [])
})

t.test('the source panel shows the current text of the reached declarations, and says the manifest holds only hashes', async (t) => {
  const { page, errors } = await open(t, server.url + '#/evaluation?target=/models/score')
  await loaded(page, 'evaluation')
  t.same(await page.$$eval('figure.source', (fs) => fs.map((f) => f.getAttribute('data-key'))), ['src/steps.ts#score'])
  t.match(await page.$eval('figure.source pre.current', (p) => p.textContent), /^export function score \(n: number\)/)
  t.match(await page.$eval('section p.note', (p) => p.textContent), /only a hash/)
  t.same(errors, [])
})

t.test('the download link gives the same bytes as dds cat', async (t) => {
  const { page, errors } = await open(t, server.url + '#/evaluation?target=/data/records')
  await loaded(page, 'evaluation')
  const href = await page.$eval('a.download', (a) => (a as HTMLAnchorElement).href)
  const body = await (await fetch(href)).text()
  t.same(JSON.parse(body), [{ city: 'paris', t: 12 }, { city: 'lyon', t: 15 }])
  t.same(errors, [])
})

t.test('metrics chart each numeric field over the history', async (t) => {
  const { page, errors } = await open(t, server.url + '#/metrics?path=/models/score')
  await loaded(page, 'metrics')
  t.same(await page.$$eval('figure', (fs) => fs.map((f) => f.getAttribute('data-field'))), ['accuracy', 'loss'])
  t.equal(await page.$$eval('figure canvas', (cs) => cs.length), 2, 'drawn by uPlot')
  t.same(errors, [])
})

t.test('the lineage graph has a node per evaluation, each leading to its page', async (t) => {
  const { page, errors } = await open(t, server.url + '#/lineage')
  await loaded(page, 'lineage')
  await page.waitForSelector('#graph svg g.node', { timeout: 60_000 })
  const evaluations = await page.$$eval('#graph g.node.link', (gs) => gs.map((g) => g.getAttribute('data-evaluation')))
  t.ok(evaluations.length >= 5)
  await page.click('#graph g.node.link')
  await loaded(page, 'evaluation')
  t.match(await page.evaluate(() => location.hash), /^#\/evaluation\?target=bafy/)
  t.same(errors, [])
})

t.test('the lineage page marks what dds plan says the next run will do, with a legend', async (t) => {
  const before = await open(t, server.url + '#/lineage')
  await loaded(before.page, 'lineage')
  await before.page.waitForSelector('#plan[data-state="ready"]', { timeout: 120_000 })
  t.equal(await before.page.$$eval('#graph g.node[data-plan]:not([data-plan="up-to-date"])', (gs) => gs.length), 0, 'nothing changed: every current node is up to date')
  t.equal(await before.page.$eval('#plan p.summary', (p) => p.textContent), '6 up to date')

  project.edit('src/steps.ts', "city: 'paris', t: 12", "city: 'paris', t: 13")
  t.teardown(() => { project.edit('src/steps.ts', "city: 'paris', t: 13", "city: 'paris', t: 12") })
  const { page, errors } = await open(t, server.url + '#/lineage')
  await loaded(page, 'lineage')
  await page.waitForSelector('#plan[data-state="ready"]', { timeout: 120_000 })
  const marked = await page.$$eval('#graph g.node[data-plan]', (gs) => gs.map((g) => [g.getAttribute('data-plan'), g.querySelector('title')?.textContent ?? '']))
  t.same(marked.filter(([s]) => s !== 'up-to-date').sort(), [
    ['may-run', '/data/summary: may re-run (upstream /data/records)'],
    ['will-run', '/data/records: will re-run (declaration changed src/steps.ts#records)']
  ])
  const stroke = await page.$eval('#graph g.node[data-plan="will-run"] :is(path, polygon)', (el) => getComputedStyle(el).stroke)
  t.equal(stroke, 'rgb(220, 38, 38)', 'drawn apart from the rest')
  t.same(await page.$$eval('ul.plan-legend li', (lis) => lis.map((li) => [li.getAttribute('data-status'), li.textContent, li.querySelector('span.swatch') !== null])), [
    ['will-run', 'will re-run: 1', true], ['revert-hit', 'revert hit: 0', true], ['may-run', 'may re-run: 1', true], ['unknown', 'unknown: 0', true], ['up-to-date', 'up to date: 4', true]
  ])
  t.same(await page.$$eval('#plan-paths tbody tr', (rows) => rows.map((r) => [r.getAttribute('data-path'), r.getAttribute('data-status')])), [['/data/records', 'will-run'], ['/data/summary', 'may-run']])
  await page.click('#plan-paths tr[data-path="/data/records"] a')
  await loaded(page, 'history')
  t.match(decodeURIComponent(await page.evaluate(() => location.hash)), /^#\/history\?path=\/data\/records/)
  t.same([...before.errors, ...errors], [])
})

t.test('a run in another process shows up without a reload', async (t) => {
  const { page, errors } = await open(t, server.url + '#/history?path=/models/score')
  await loaded(page, 'history')
  t.equal(await page.$$eval('#history tbody tr', (rows) => rows.length), 2)
  await runProject(project, store, 3)
  await page.waitForSelector('#history tbody tr[data-seq="3"]', { timeout: 120_000 })
  t.same(errors, [])
})

t.test('off loopback every request needs the token', async (t) => {
  const remote = await startServe(store, ['--host', '0.0.0.0'])
  t.teardown(remote.stop)
  const url = new URL(remote.url)
  const token = url.searchParams.get('token') as string
  t.match(token, /^[\w-]{32}$/)
  const local = `http://127.0.0.1:${url.port}`
  t.equal((await fetch(`${local}/`)).status, 401)
  t.equal((await fetch(`${local}/api/paths`)).status, 401)
  t.equal((await fetch(`${local}/api/paths?token=${token}x`)).status, 401)
  const { page, errors } = await open(t, `${local}/?token=${token}`)
  await loaded(page, 'paths')
  t.equal(await page.$$eval('tr.path', (rows) => rows.length), 6)
  t.same(errors, [])
})
