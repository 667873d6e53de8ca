/**
 * Forced re-runs: refused answers (dds invalidate, dds rm) with and without
 * downstream, path globs (DDS_FORCE, the force option), annotate force; each
 * forced path runs once per process, history is kept, early cutoff applies.
 */
import t, { type Test } from 'tap'
import { open, type DdsInstance } from '../../lib/dds.js'
import { annotate } from '../../lib/annotations.js'
import { forceFromEnv, pathGlob, refuseAnswers } from '../../lib/force.js'
import { downstreamOf } from '../../lib/downstream.js'
import { collect } from '../helpers/stores.js'

declare global {
  // eslint-disable-next-line no-var
  var forceRuns: Record<string, number>
}
globalThis.forceRuns = {}
function ran (name: string): void {
  globalThis.forceRuns[name] = (globalThis.forceRuns[name] ?? 0) + 1
}

function source (n: number): number[] {
  ran('source')
  return [n, n + 1, n + 2]
}
function total (xs: number[]): { sum: number } {
  ran('total')
  return { sum: xs.reduce((a, b) => a + b, 0) }
}
function label (x: { sum: number }): string {
  ran('label')
  return `total ${x.sum}`
}

async function pipeline (d: DdsInstance): Promise<string> {
  return await d.evaluate(async () => {
    const xs = await d.keep('/src', source, 1)
    const s = await d.keep('/total', total, xs)
    return await d.keep('/label', label, s)
  })
}

async function dds (t: Test, dir: string, force?: string[]): Promise<DdsInstance> {
  const d = await open({ store: dir, log: false, ...(force === undefined ? {} : { force }) })
  t.teardown(async () => { await d.close() })
  return d
}

t.beforeEach(() => { globalThis.forceRuns = {} })

t.test('globs', async (t) => {
  t.equal(pathGlob('/weather/*').test('/weather/model'), true)
  t.equal(pathGlob('/weather/*').test('/weather/a/b'), false)
  t.equal(pathGlob('/weather/**').test('/weather/a/b'), true)
  t.equal(pathGlob('/w.x').test('/wax'), false, 'dots are literal')
  t.throws(() => pathGlob('weather'), TypeError)
  t.same(forceFromEnv(' /a/*, /b '), ['/a/*', '/b'])
  t.same(forceFromEnv(''), [])
})

t.test('invalidate: the path runs again, history is kept, early cutoff spares what is below', async (t) => {
  const dir = t.testdir()
  const d = await dds(t, dir)
  await pipeline(d)
  t.same(globalThis.forceRuns, { source: 1, total: 1, label: 1 })
  await pipeline(d)
  t.same(globalThis.forceRuns, { source: 1, total: 1, label: 1 }, 'all hits')
  const counts = await refuseAnswers(d.store, ['/src'])
  t.same([...counts], [['/src', 1]])
  await pipeline(d)
  t.same(globalThis.forceRuns, { source: 2, total: 1, label: 1 }, 'only /src ran: same value, early cutoff')
  t.equal((await collect(d.store.history('/src'))).length, 2, 'a new entry; the old one stays')
})

t.test('invalidate --downstream forces what used the path', async (t) => {
  const dir = t.testdir()
  const d = await dds(t, dir)
  await pipeline(d)
  t.same(await downstreamOf(d.store, ['/src']), ['/label', '/total'])
  t.same(await downstreamOf(d.store, ['/label']), [])
  await refuseAnswers(d.store, ['/src', ...await downstreamOf(d.store, ['/src'])])
  await pipeline(d)
  t.same(globalThis.forceRuns, { source: 2, total: 2, label: 2 })
  await pipeline(d)
  t.same(globalThis.forceRuns, { source: 2, total: 2, label: 2 }, 'the new answers serve the next run')
})

t.test('a force glob runs matching paths once in this process', async (t) => {
  const dir = t.testdir()
  await pipeline(await dds(t, dir))
  const d = await dds(t, dir, ['/tot*'])
  await pipeline(d)
  t.same(globalThis.forceRuns, { source: 1, total: 2, label: 1 }, 'only /total ran; its value is the same')
  await pipeline(d)
  t.same(globalThis.forceRuns, { source: 1, total: 2, label: 1 }, 'forced once per process')
})

t.test('annotate(fn, { force: true }) runs it once, and rejects a non-boolean', async (t) => {
  const dir = t.testdir()
  const d = await dds(t, dir)
  function shout (s: string): string {
    ran('shout')
    return s.toUpperCase()
  }
  t.equal(await d.keep('/shout', shout, 'a'), 'A')
  await d.close()
  annotate(shout, { force: true })
  const again = await dds(t, dir)
  t.equal(await again.keep('/shout', shout, 'a'), 'A')
  t.equal(await again.keep('/shout', shout, 'a'), 'A')
  t.equal(globalThis.forceRuns.shout, 2)
  t.throws(() => annotate(shout, { force: 'yes' as never }), TypeError)
})
