/**
 * The inspect queries against a store filled by real keep runs (in this
 * process): resolving targets, describing evaluations, paging through paths
 * and histories, why (and a first run), lineage; every answer plain JSON
 * data; hostile targets and cursors refused with codes.
 */
import t, { type Test } from 'tap'
import { open, type DdsInstance } from '../../lib/dds.js'
import {
  describeEvaluation, explain, historyRows, lineageView, listPaths, pathHistory, pathRows, resolveTarget, parseTarget,
  type FirstRunView, type HistoryRow, type PathRow, type WhyView
} from '../../lib/inspect.js'
import * as api from '../../lib/index.js'
import { annotate } from '../../lib/annotations.js'
import { DdsError } from '../../store/errors.js'
import type { Store } from '../../store/store.js'

function scale (xs: number[], factor: number): number[] {
  return xs.map((x) => x * factor)
}

function total (xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0)
}

function label (n: number): string {
  return `item ${n}`
}

/** Loads /data/scaled, keeps its total inside (a nested keep). */
async function report (): Promise<{ n: number, sum: number }> {
  const xs = await dds.load<number[]>('/data/scaled')
  const sum = await dds.keep('/stats/total', total, xs)
  return { n: xs.length, sum }
}
// The instance is how report reaches the store, not an input of its result.
const reportStep = annotate(report, { ignore: ['dds'] })

async function codeOf (p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'no error'
  } catch (err) {
    return err instanceof DdsError ? err.code : (err as Error).name
  }
}

/** JSON-ready: survives a round trip through JSON unchanged (no CID objects, no Dates, no undefined). */
function plainData (t: Test, v: unknown, what: string): void {
  t.strictSame(JSON.parse(JSON.stringify(v)), v, `${what} is plain JSON data`)
}

let dds: DdsInstance
let store: Store
let dir: string

t.before(async () => {
  dir = t.testdir()
  dds = await open({ store: dir })
  store = dds.store
  const run = async (factor: number): Promise<void> => {
    await dds.evaluate(async () => {
      const scaled = await dds.keep('/data/scaled', scale, [1, 2, 3], factor)
      await dds.keep('/stats/first', (xs: number[]) => xs[0], scaled)
      await dds.keep('/stats/report', reportStep)
    })
  }
  await run(2) // seq 1 everywhere
  await run(3) // a new argument: new evaluations
  await run(2) // back: hits pointing at the first evaluations
  // 250 paths for paging, and /manyx, which a prefix of /many must not list.
  await dds.evaluate(async () => {
    for (let i = 0; i < 250; i++) await dds.keep(`/many/p${String(i).padStart(3, '0')}`, label, i)
    await dds.keep('/manyx', label, -1)
  })
  // 30 history entries for one path, each from another argument.
  for (let i = 0; i < 30; i++) await dds.keep('/long', label, i)
})

t.teardown(async () => { await dds.close() })

t.test('the queries are exported from dds-ts', async (t) => {
  for (const name of ['resolveTarget', 'describeEvaluation', 'listPaths', 'pathHistory', 'pathRows', 'historyRows', 'explain', 'lineageView']) {
    t.type((api as Record<string, unknown>)[name], 'function', name)
  }
})

t.test('resolveTarget: a path, a history entry, an evaluation CID, an artifact CID', async (t) => {
  const now = await resolveTarget(store, '/data/scaled')
  t.same({ kind: now.kind, path: now.path, seq: now.seq }, { kind: 'evaluation', path: '/data/scaled', seq: 3 })
  const first = await resolveTarget(store, '/data/scaled@1')
  const second = await resolveTarget(store, '/data/scaled@2')
  t.equal(now.evaluation, first.evaluation, 'the revert points at the first evaluation again')
  t.not(second.evaluation, first.evaluation)
  const byCid = await resolveTarget(store, second.evaluation as string)
  t.same(byCid, { kind: 'evaluation', evaluation: second.evaluation, output: second.output, path: '/data/scaled', seq: null })
  t.same(await resolveTarget(store, second.output), { kind: 'artifact', evaluation: null, output: second.output, path: null, seq: null })
  plainData(t, now, 'a resolved target')

  const e = await describeEvaluation(store, '/data/scaled')
  t.equal(await codeOf(resolveTarget(store, '/nope')), 'DDS_PATH_NOT_FOUND')
  t.equal(await codeOf(resolveTarget(store, '/data/scaled@9')), 'DDS_PATH_NOT_FOUND')
  t.equal(await codeOf(resolveTarget(store, e.code.cid)), 'DDS_NOT_FOUND', 'a code manifest is neither an evaluation nor an artifact')
  t.equal(await codeOf(resolveTarget(store, 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')), 'DDS_NOT_FOUND', 'a CID the store lacks')
  // Hostile or malformed targets.
  t.equal(await codeOf(resolveTarget(store, '/data/../etc')), 'DDS_PATH_INVALID')
  t.equal(await codeOf(resolveTarget(store, '/data/scaled@1e3')), 'TypeError')
  t.equal(await codeOf(resolveTarget(store, '/data/scaled@99999999999999999999')), 'TypeError', 'a sequence number beyond exact integers')
  t.equal(await codeOf(resolveTarget(store, 'not a cid')), 'DDS_CID_INVALID')
  t.equal(await codeOf(resolveTarget(store, '<script>alert(1)</script>')), 'DDS_CID_INVALID')
  t.throws(() => parseTarget(42 as unknown as string), TypeError)
})

t.test('describeEvaluation: function, code, inputs, loads, calls, output', async (t) => {
  const e = await describeEvaluation(store, '/stats/report')
  plainData(t, e, 'an evaluation')
  t.equal(e.function.name, 'report')
  t.equal(e.function.file, 'test/lib/inspect.test.ts')
  t.ok(Object.keys(e.code.declarations).includes('test/lib/inspect.test.ts#report'))
  t.same(e.loads.map((l) => l.path), ['/data/scaled'])
  const scaled = await resolveTarget(store, '/data/scaled')
  t.same(e.loads[0], { path: '/data/scaled', evaluation: scaled.evaluation, output: scaled.output })
  t.same(e.calls.map((c) => [c.path, c.function?.name]), [['/stats/total', 'total']])
  t.equal(e.calls[0]?.evaluation, (await resolveTarget(store, '/stats/total')).evaluation)
  t.equal(e.output.enc, 'cbor-x/1')

  const s = await describeEvaluation(store, '/data/scaled@2')
  t.same(s.inputs.map((x) => [x.index, x.value, x.display]), [[0, [1, 2, 3], '[1, 2, 3]'], [1, 3, '3']], 'small arguments with their values')
  const first = await describeEvaluation(store, '/stats/first')
  t.same(first.inputs.map((x) => [x.cid, x.value, x.display]), [[scaled.output, null, 'kept value of /data/scaled']], 'a kept value by the path that holds it')
  t.equal(await codeOf(describeEvaluation(store, scaled.output)), 'DDS_NOT_FOUND', 'an artifact is not an evaluation')
})

t.test('listPaths: every path in order, a prefix, pages by cursor and by offset', async (t) => {
  const all: PathRow[] = []
  for await (const r of pathRows(store)) all.push(r)
  t.equal(all.length, 250 + 1 + 1 + 3 + 1, '/many/*, /manyx, /long, three steps and the nested /stats/total')
  t.same(all.map((r) => r.path), [...all.map((r) => r.path)].sort(), 'in path order')
  plainData(t, all, 'path rows')
  const report = all.find((r) => r.path === '/stats/report') as PathRow
  t.same({ seq: report.seq, hit: report.hit, deleted: report.deleted, imported: report.imported }, { seq: 3, hit: true, deleted: false, imported: false })
  t.type(report.size, 'number')

  const seen: string[] = []
  let page = await listPaths(store, { prefix: '/many', limit: 100 })
  const pages = [page.items.length]
  seen.push(...page.items.map((r) => r.path))
  while (page.next !== null) {
    page = await listPaths(store, { prefix: '/many', limit: 100, cursor: page.next })
    pages.push(page.items.length)
    seen.push(...page.items.map((r) => r.path))
  }
  t.same(pages, [100, 100, 50])
  t.equal(new Set(seen).size, 250, 'no path twice')
  t.ok(seen.every((p) => p.startsWith('/many/')), '/manyx is not under /many')
  const byOffset = await listPaths(store, { prefix: '/many', offset: 240, limit: 100 })
  t.same(byOffset.items.map((r) => r.path), seen.slice(240))
  t.equal(byOffset.next, null)
  t.same(byOffset.problems, [])
  t.same((await listPaths(store, { prefix: '/many', limit: 1 })).next, '/many/p000')

  t.equal(await codeOf(listPaths(store, { limit: 0 })), 'RangeError')
  t.equal(await codeOf(listPaths(store, { offset: -1 })), 'RangeError')
  t.equal(await codeOf(listPaths(store, { cursor: '../../etc/passwd' })), 'DDS_PATH_INVALID', 'a cursor is checked like a path')
  t.equal(await codeOf(listPaths(store, { remote: true })), 'DDS_REMOTE_UNAVAILABLE', 'no remote to list')
})

t.test('pathHistory: newest first, pages by cursor and by offset', async (t) => {
  const rows: HistoryRow[] = []
  for await (const r of historyRows(store, '/data/scaled')) rows.push(r)
  t.same(rows.map((r) => [r.seq, r.status]), [[3, 'hit'], [2, 'computed'], [1, 'computed']])
  t.same([rows[0]?.function?.name, rows[0]?.function?.file, rows[0]?.function?.line], ['scale', 'test/lib/inspect.test.ts', 18])
  plainData(t, rows, 'history rows')

  const seqs: number[] = []
  let page = await pathHistory(store, '/long', { limit: 7 })
  seqs.push(...page.items.map((r) => r.seq))
  while (page.next !== null) {
    page = await pathHistory(store, '/long', { limit: 7, cursor: page.next })
    seqs.push(...page.items.map((r) => r.seq))
  }
  t.same(seqs, Array.from({ length: 30 }, (_, i) => 30 - i), 'every entry once, newest first')
  t.same((await pathHistory(store, '/long', { offset: 28, limit: 5 })).items.map((r) => r.seq), [2, 1])
  t.equal((await pathHistory(store, '/long', { offset: 28, limit: 5 })).next, null)
  t.equal((await pathHistory(store, '/long', { limit: 5 })).next, '26')

  t.equal(await codeOf(pathHistory(store, '/nope')), 'DDS_PATH_NOT_FOUND')
  t.equal(await codeOf((async () => { for await (const _ of historyRows(store, '/nope')) void _ })()), 'DDS_PATH_NOT_FOUND')
  t.equal(await codeOf(pathHistory(store, '/long', { cursor: '1; DROP' })), 'TypeError')
  t.equal(await codeOf(pathHistory(store, '/long', { limit: 1e9 })), 'RangeError')
  t.equal(await codeOf(pathHistory(store, 'long')), 'DDS_PATH_INVALID')
})

t.test('explain: the changed argument, nothing, or a first run', async (t) => {
  const w = await explain(store, '/data/scaled') as WhyView
  plainData(t, w, 'a why answer')
  t.same([w.old.seq, w.new.seq], [2, 3])
  t.same(w.changes.map((c) => [c.kind, c.change, c.index]), [['argument', 'changed', 1]])
  t.equal(typeof w.changes[0]?.old, 'string', 'CIDs as strings')
  const same = await explain(store, '/data/scaled', { old: 1, new: 3 }) as WhyView
  t.equal(same.identical, true)
  const byCid = await explain(store, '/data/scaled', { old: w.old.evaluation, new: w.new.evaluation }) as WhyView
  t.same(byCid.changes, w.changes)

  const first = await explain(store, '/many/p007') as FirstRunView
  plainData(t, first, 'a first run')
  t.equal(first.first, true)
  t.same(first.new.seq, 1)
  t.equal(first.ran.function.name, 'label')
  t.same(first.ran.inputs.map((x) => x.value), [7], 'what it ran with')
  t.equal(await codeOf(explain(store, '/nope')), 'DDS_PATH_NOT_FOUND')
  t.equal(await codeOf(explain(store, '/data/scaled', { old: 9 })), 'DDS_NOT_FOUND')
  t.equal(await codeOf(explain(store, '/data/scaled', { old: 'zzz' })), 'DDS_CID_INVALID')
})

t.test('lineageView: nodes and the edges data flowed along', async (t) => {
  const g = await lineageView(store, ['/stats/report', '/stats/first'])
  plainData(t, g, 'a lineage graph')
  t.same(g.nodes.map((n) => n.path), ['/data/scaled', '/stats/first', '/stats/report', '/stats/total'])
  t.ok(g.nodes.every((n) => n.current && !n.missing))
  const id = async (p: string): Promise<string> => (await resolveTarget(store, p)).evaluation as string
  t.same(g.edges.map((e) => [e.kind, e.from, e.to, e.path]).sort(), [
    ['call', await id('/stats/total'), await id('/stats/report'), '/stats/total'],
    ['input', await id('/data/scaled'), await id('/stats/first'), '/data/scaled'],
    ['input', await id('/data/scaled'), await id('/stats/total'), '/data/scaled'],
    ['load', await id('/data/scaled'), await id('/stats/report'), '/data/scaled']
  ].sort())
  t.equal(await codeOf(lineageView(store, ['/nope'])), 'DDS_PATH_NOT_FOUND')
})
