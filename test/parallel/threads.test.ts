// The thread pool: same results and re-run sets as the event loop; crashes are coded errors; closures are refused.
// It uses the built package (npm test builds first): each worker thread loads it, and compiled it loads in a fraction of the time.
import t from 'tap'
import { open } from '../../dist/lib/dds.js'
import { annotate } from '../../dist/lib/annotations.js'
import type { DdsEvent } from '../../dist/lib/interface.js'
// @ts-expect-error: a plain JavaScript fixture without types
import { squares, doubleOrDie, sizes, drifting } from '../fixtures/parallel/cpu.mjs'

function eventsOf (events: DdsEvent[]): string[] {
  return events.filter((e) => e.type === 'miss' || e.type === 'hit' || e.type === 'computed').map((e) => `${e.type} ${'path' in e ? e.path : ''}`).sort()
}

t.test('results and re-run sets are the same with and without workers', async (t) => {
  const seen: Record<string, { values: unknown[], events: string[] }> = {}
  for (const runOn of [undefined, 'threads'] as const) {
    const events: DdsEvent[] = []
    const dds = await open({ backend: 'memory', threads: 2, onEvent: (e) => { events.push(e) } })
    const options = runOn === undefined ? {} : { runOn }
    const first = await dds.keepEach('/sq', squares, [10, 200, 3000], options)
    const second = await dds.keepEach('/sq', squares, [10, 200, 3000, 40], options)
    seen[runOn ?? 'loop'] = { values: [first, second], events: eventsOf(events) }
    t.type(second[3], Float64Array, 'typed arrays come back with their type')
    await dds.close()
  }
  t.same(seen.threads?.values, seen.loop?.values)
  t.same(seen.threads?.events, seen.loop?.events)
  t.ok(seen.threads?.events.includes('hit /sq/0') === true && seen.threads.events.filter((e) => e.startsWith('computed')).length === 4)
})

t.test('the same store serves both: what a worker computed is a hit on the event loop', async (t) => {
  const dds = await open({ backend: 'memory', threads: 2 })
  const a = await dds.keepEach('/s', squares, [5, 6], { runOn: 'threads' })
  const events: string[] = []
  const dds2 = await open({ store: dds.store, onEvent: (e) => { events.push(e.type) } })
  t.same(await dds2.keepEach('/s', squares, [5, 6]), a)
  t.notOk(events.includes('computed'))
  await dds.close()
})

t.test('a worker that dies is a coded error for its call only; nothing is lost or stored twice', async (t) => {
  const events: DdsEvent[] = []
  const dds = await open({ backend: 'memory', threads: 2, onEvent: (e) => { events.push(e) } })
  await t.rejects(dds.keepEach('/d', doubleOrDie, [1, 'die', 3], { runOn: 'threads', concurrency: 3 }), { code: 'DDS_WORKER_CRASHED' })
  t.equal(events.filter((e) => e.type === 'computed' && e.path === '/d/1').length, 0, 'nothing stored for the crashed call')
  events.length = 0
  // The pool replaced the dead worker: the re-run computes only what was never stored.
  t.same(await dds.keepEach('/d', doubleOrDie, [1, 2, 3], { runOn: 'threads' }), [2, 4, 6])
  const computed = events.filter((e) => e.type === 'computed').map((e) => e.type === 'computed' ? e.path : '')
  t.same(computed, ['/d/1'])
  await t.rejects(dds.keepEach('/e', doubleOrDie, ['throw'], { runOn: 'threads' }), { name: 'RangeError', message: 'bad input', code: 'E_BAD' }, "the function's own error arrives as it was thrown")
  await dds.close()
})

t.test('closures and functions of the running script are refused with a coded error', async (t) => {
  const dds = await open({ backend: 'memory', threads: 1 })
  const factor = 3
  await t.rejects(dds.keepEach('/c', (x: number) => x * factor, [1], { runOn: 'threads' }), { code: 'DDS_NOT_EXPORTED' })
  await t.rejects(dds.keepEach('/c2', Math.abs, [1], { runOn: 'threads' }), { code: 'DDS_NOT_EXPORTED' })
  await dds.close()
})

t.test('a function whose code hashes differently in the worker is refused, not run', async (t) => {
  const dds = await open({ backend: 'memory', threads: 1 })
  await t.rejects(dds.keepEach('/r', drifting, [1], { runOn: 'threads' }), { code: 'DDS_CODE_MISMATCH' })
  await dds.close()
})

t.test('annotate runs a function on the pool; arguments are copied, results come back whole', async (t) => {
  const dds = await open({ backend: 'memory', threads: 1 })
  annotate(sizes, { runOn: 'threads' })
  const input = new Float64Array(1024)
  const r = await dds.keep('/z', sizes, input) as { length: number, out: Uint8Array }
  t.equal(r.length, 8192)
  t.equal(r.out.byteLength, 8192)
  t.equal(input.byteLength, 8192, "the caller's argument is not detached")
  await dds.close()
})
