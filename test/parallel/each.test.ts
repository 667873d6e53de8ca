// keepEach: child paths, results in order, re-runs only what changed, one run, bounded concurrency, progress.
import t from 'tap'
import { open } from '../../lib/dds.js'
import { annotate } from '../../lib/annotations.js'
import type { DdsEvent } from '../../lib/interface.js'

async function memory (events: DdsEvent[] = []) {
  return await open({ backend: 'memory', onEvent: (e) => { events.push(e) } })
}

const ran: number[] = []
function triple (x: number): number {
  ran.push(x)
  return x * 3
}
// What ran is bookkeeping of the test, not an input of the function.
annotate(triple, { ignore: ['ran'] })

t.test('keeps every input at its child path and returns the results in order', async (t) => {
  const events: DdsEvent[] = []
  const dds = await memory(events)
  ran.length = 0
  t.same(await dds.keepEach('/m', triple, [1, 2, 3]), [3, 6, 9])
  t.same(ran.sort(), [1, 2, 3])
  t.equal(await dds.load('/m/1'), 6)
  const commits = events.filter((e) => e.type === 'commit')
  t.equal(commits.length, 1, 'one run, one commit')
  t.same(commits[0]?.type === 'commit' ? [...commits[0].paths].sort() : [], ['/m/0', '/m/1', '/m/2'])
  const progress = events.filter((e) => e.type === 'progress')
  t.same(progress.map((e) => e.type === 'progress' ? e.done : 0), [1, 2, 3])
  t.equal(progress.at(-1)?.type === 'progress' ? progress.at(-1)?.total : 0, 3)

  ran.length = 0
  events.length = 0
  t.same(await dds.keepEach('/m', triple, [1, 2, 3, 4]), [3, 6, 9, 12])
  t.same(ran, [4], 'only the new input runs')
  const last = events.filter((e) => e.type === 'progress').at(-1)
  t.same(last?.type === 'progress' ? { done: last.done, hits: last.hits } : {}, { done: 4, hits: 3 })
  await dds.close()
})

t.test('a key function names child paths; a bad or duplicate key is refused before anything runs', async (t) => {
  const dds = await memory()
  ran.length = 0
  const rows = [{ id: 'a', n: 1 }, { id: 'b', n: 2 }]
  const nOf = (r: { id: string, n: number }): number => r.n + 100
  t.same(await dds.keepEach('/k', nOf, rows, { key: (r) => r.id }), [101, 102])
  t.equal(await dds.load('/k/b'), 102)
  await t.rejects(dds.keepEach('/bad', triple, [1], { key: () => 'x/y' }), { code: 'DDS_PATH_INVALID' })
  await t.rejects(dds.keepEach('/bad', triple, [1], { key: () => '..' }), { code: 'DDS_PATH_INVALID' })
  await t.rejects(dds.keepEach('/dup', triple, [1, 2], { key: () => 'same' }), { code: 'DDS_PATH_CONFLICT' })
  await t.rejects(dds.keepEach('/c', triple, [1], { concurrency: 0 }), RangeError)
  await t.rejects(dds.keepEach('/c', triple, 5 as unknown as number[]), TypeError)
  await t.rejects(dds.keepEach('/c', triple, [1], { runOn: 'gpu' as 'threads' }), TypeError)
  await dds.close()
})

t.test('concurrency bounds the calls in flight', async (t) => {
  const dds = await memory()
  let now = 0
  let most = 0
  const slow = async (x: number): Promise<number> => {
    now++
    most = Math.max(most, now)
    await new Promise((resolve) => setImmediate(resolve))
    now--
    return x
  }
  t.same(await dds.keepEach('/c', slow, [1, 2, 3, 4, 5, 6, 7], { concurrency: 3 }), [1, 2, 3, 4, 5, 6, 7])
  t.equal(most, 3)
  await dds.close()
})

t.test('inside a run the map is part of it; a failure commits nothing and the re-run resumes', async (t) => {
  const events: DdsEvent[] = []
  const dds = await memory(events)
  ran.length = 0
  let fail = true
  const maybe = annotate((x: number): number => {
    ran.push(x)
    if (x === 3 && fail) throw new Error('three')
    return x
  }, { ignore: ['ran', 'fail'] })
  await t.rejects(dds.keepEach('/f', maybe, [1, 2, 3], { concurrency: 1 }), { message: 'three' })
  t.equal(events.filter((e) => e.type === 'commit').length, 0)
  await t.rejects(dds.load('/f/0'), { code: 'DDS_PATH_NOT_FOUND' })
  fail = false
  ran.length = 0
  const total = await dds.evaluate(async () => {
    const xs = await dds.keepEach('/f', maybe, [1, 2, 3])
    return xs.reduce((a, b) => a + b, 0) + await dds.keep('/other', (x: number) => x * 3, 1)
  })
  t.equal(total, 9)
  t.same(ran, [3], 'the inputs computed before the failure are reused')
  t.equal(events.filter((e) => e.type === 'commit').length, 1, 'one commit for the whole run')
  await dds.close()
})

// A captured value is part of the function's signature: read once per map, when it starts.
let factor = 2
function scaled (x: number): number {
  ran.push(x)
  const out = x * factor
  factor = 100 // what the next inputs of this map see, but not their signature
  return out
}
annotate(scaled, { ignore: ['ran'] })

t.test('one signature per map, taken when it starts; the next map sees a changed captured value', async (t) => {
  const dds = await memory()
  factor = 2
  ran.length = 0
  t.same(await dds.keepEach('/s', scaled, [1, 2, 3], { concurrency: 1 }), [2, 200, 300], 'every input ran with the value of its call')
  t.same(ran, [1, 2, 3])
  ran.length = 0
  factor = 2
  t.same(await dds.keepEach('/s', scaled, [1, 2, 3], { concurrency: 1 }), [2, 200, 300], 'the same signature as the first map: every input hits')
  t.same(ran, [])
  ran.length = 0
  factor = 5
  t.same(await dds.keepEach('/s', scaled, [1], { concurrency: 1 }), [5], 'a changed captured value misses')
  t.same(ran, [1])
  await dds.close()
})
