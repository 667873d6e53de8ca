/**
 * The behaviours of keep, evaluate, load and dataFunction that do not involve
 * editing code (SCENARIOS.md 1-8 and 22-31), run against one backend.
 * Executions are counted on `globalThis`, which the code signature does not
 * hash, so counting does not change what is counted.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { open, type DdsInstance } from '../../lib/dds.js'
import { identify, annotate } from '../../lib/annotations.js'
import { DdsError } from '../../store/errors.js'
import type { DdsEvent } from '../../lib/interface.js'
import { collect, type BackendCase } from '../helpers/stores.js'

declare global {
  // eslint-disable-next-line no-var
  var ddsRuns: Record<string, number>
}
globalThis.ddsRuns = {}

function count (name: string): number {
  globalThis.ddsRuns[name] = (globalThis.ddsRuns[name] ?? 0) + 1
  return globalThis.ddsRuns[name] ?? 0
}
function runs (name: string): number {
  return globalThis.ddsRuns[name] ?? 0
}

async function codeOf (p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p)
    return 'no error'
  } catch (err) {
    return err instanceof DdsError ? err.code : `${(err as Error).name}: ${(err as Error).message}`
  }
}

// ----------------------------------------------------------- functions under test

function double (x: number): number {
  count('double')
  return x * 2
}

function add (a: number, b: number): number {
  count('add')
  return a + b
}

function withDefault (x = 3): number {
  count('withDefault')
  return x * 10
}

function sumRest (label: string, ...xs: number[]): string {
  count('sumRest')
  return `${label}=${xs.reduce((s, x) => s + x, 0)}`
}

function withOptions (opts: { scale: number, offset?: number }): number {
  count('withOptions')
  return opts.scale * 2 + (opts.offset ?? 0)
}

async function slowSquare (x: number): Promise<number> {
  count('slowSquare')
  await new Promise((resolve) => setTimeout(resolve, 20))
  return x * x
}

async function overlapping (x: number): Promise<number> {
  count('overlapping')
  const active = count('active')
  globalThis.ddsRuns.maxActive = Math.max(globalThis.ddsRuns.maxActive ?? 0, active)
  await new Promise((resolve) => setTimeout(resolve, 20))
  globalThis.ddsRuns.active = (globalThis.ddsRuns.active ?? 1) - 1
  return x
}

function failing (message: string): number {
  count('failing')
  throw new RangeError(message)
}

async function rejecting (message: string): Promise<number> {
  count('rejecting')
  throw new TypeError(message)
}

function loadsRaw (dds: DdsInstance): () => Promise<number> {
  return async function consumer (): Promise<number> {
    count('consumer')
    const raw = await dds.load<number>('/pipe/raw')
    return raw + 1
  }
}

export function keepSuite (bc: BackendCase): void {
  const setup = async (tt: Test): Promise<{ dds: DdsInstance, events: DdsEvent[] }> => {
    globalThis.ddsRuns = {}
    const events: DdsEvent[] = []
    const store = await bc.open(tt.testdir())
    const dds = await open({ store, onEvent: (e) => { events.push(e) } })
    tt.teardown(async () => { await store.close() })
    return { dds, events }
  }

  t.test(`${bc.name}: 1. a data function runs once, everywhere it is called`, async (tt) => {
    const { dds } = await setup(tt)
    const weather = dds.dataFunction('/weather', function readWeather () { count('weather'); return { temps: [1, 2, 3] } })
    tt.same(await weather(), { temps: [1, 2, 3] })
    tt.same(await weather(), { temps: [1, 2, 3] })
    tt.same(await dds.evaluate(async () => await weather()), { temps: [1, 2, 3] })
    async function twice (): Promise<number> {
      const a = await weather()
      const b = await weather()
      return a.temps.length + b.temps.length
    }
    tt.equal(await twice(), 6)
    tt.equal(await dds.evaluate(twice), 6)
    tt.equal(runs('weather'), 1)
    tt.same(await dds.load('/weather'), { temps: [1, 2, 3] })
  })

  t.test(`${bc.name}: 2. a data function called with an argument throws`, async (tt) => {
    const { dds } = await setup(tt)
    const f = dds.dataFunction('/f', () => 1) as unknown as (x: number) => Promise<number>
    tt.equal(await codeOf(() => f(1)), 'DDS_ARG_IN_DATA_FUNCTION')
    tt.equal(await codeOf(dds.evaluate(async () => await f(2))), 'DDS_ARG_IN_DATA_FUNCTION')
    tt.equal(await dds.store.head('/f'), undefined, 'nothing committed')
  })

  t.test(`${bc.name}: 3-4. keep runs once per function and arguments, across call sites`, async (tt) => {
    const { dds } = await setup(tt)
    tt.equal(await dds.keep('/sum', add, 1, 2), 3)
    tt.equal(await dds.keep('/sum', add, 1, 2), 3)
    const elsewhere = async (): Promise<number> => await dds.keep('/sum', add, 1, 2)
    tt.equal(await elsewhere(), 3)
    tt.equal(runs('add'), 1, 'same call: one run')
    tt.equal(await dds.keep('/sum', add, 1, 3), 4)
    tt.equal(runs('add'), 2, 'different argument: runs again')
    tt.equal(await dds.keep('/sum', add, 1, 2), 3)
    tt.equal(runs('add'), 2, 'back to the first arguments: reused')
    const history = await collect(dds.store.history('/sum'))
    tt.same(history.map((e) => e.hit === true), [true, false, false], 'the path moved back to the first evaluation')
    tt.ok(history[0]?.evaluation?.equals(history[2]?.evaluation ?? null))
  })

  t.test(`${bc.name}: 5. default parameter values: arguments count as passed`, async (tt) => {
    const { dds } = await setup(tt)
    tt.equal(await dds.keep('/d', withDefault), 30)
    tt.equal(await dds.keep('/d', withDefault), 30)
    tt.equal(runs('withDefault'), 1)
    tt.equal(await dds.keep('/d', withDefault, 3), 30)
    tt.equal(runs('withDefault'), 2, 'the default passed explicitly is a different call (documented)')
    tt.equal(await dds.keep('/d', withDefault, 3), 30)
    tt.equal(runs('withDefault'), 2)
    tt.equal(await dds.keep('/d', withDefault, 4), 40)
    tt.equal(runs('withDefault'), 3, 'another value runs again')
  })

  t.test(`${bc.name}: 6. positional, rest and options-object arguments`, async (tt) => {
    const { dds } = await setup(tt)
    tt.equal(await dds.keep('/rest', sumRest, 'n', 1, 2, 3), 'n=6')
    tt.equal(await dds.keep('/rest', sumRest, 'n', 1, 2, 3), 'n=6')
    tt.equal(await dds.keep('/rest', sumRest, 'n', 1, 2, 3, 4), 'n=10')
    tt.equal(runs('sumRest'), 2)
    tt.equal(await dds.keep('/opts', withOptions, { scale: 2, offset: 1 }), 5)
    tt.equal(await dds.keep('/opts', withOptions, { offset: 1, scale: 2 }), 5, 'key order does not matter')
    tt.equal(runs('withOptions'), 1)
    tt.equal(await dds.keep('/opts', withOptions, { scale: 2 }), 4)
    tt.equal(runs('withOptions'), 2)
  })

  t.test(`${bc.name}: 7. sync and async functions; errors propagate unchanged and store nothing`, async (tt) => {
    const { dds } = await setup(tt)
    tt.equal(await dds.keep('/sq', slowSquare, 7), 49)
    tt.equal(await dds.keep('/sq', slowSquare, 7), 49)
    tt.equal(runs('slowSquare'), 1)
    const thrown = await dds.keep('/bad', failing, 'boom').catch((err: unknown) => err)
    tt.ok(thrown instanceof RangeError, 'the thrown error, not a wrapper')
    tt.equal((thrown as Error).message, 'boom')
    const rejected = await dds.keep('/bad2', rejecting, 'nope').catch((err: unknown) => err)
    tt.ok(rejected instanceof TypeError)
    tt.equal(await dds.store.head('/bad'), undefined)
    tt.equal(await dds.store.head('/bad2'), undefined)
    await dds.keep('/bad', failing, 'boom').catch(() => {})
    tt.equal(runs('failing'), 2, 'a failed call is never cached')
  })

  t.test(`${bc.name}: 8. concurrent identical keeps run once; independent ones run concurrently`, async (tt) => {
    const { dds } = await setup(tt)
    const [a, b, c] = await Promise.all([dds.keep('/c', slowSquare, 3), dds.keep('/c', slowSquare, 3), dds.keep('/c', slowSquare, 3)])
    tt.same([a, b, c], [9, 9, 9])
    tt.equal(runs('slowSquare'), 1)
    globalThis.ddsRuns.active = 0
    globalThis.ddsRuns.maxActive = 0
    await Promise.all(Array.from({ length: 5 }, (_, i) => dds.keep(`/par/p${i}`, overlapping, 10 + i)))
    tt.equal(runs('overlapping'), 5)
    tt.ok(runs('maxActive') > 1, `independent keeps awaited together ran at the same time (${runs('maxActive')} at once)`)
  })

  t.test(`${bc.name}: 22. keeps nested in evaluate are reused by later callers`, async (tt) => {
    const { dds } = await setup(tt)
    async function inner (): Promise<number> {
      count('inner')
      return 41
    }
    async function outer (): Promise<number> {
      return (await dds.keep('/a', inner)) + 1
    }
    tt.equal(await dds.evaluate(outer), 42)
    tt.equal(runs('inner'), 1)
    async function other (): Promise<number> {
      count('other')
      return (await outer()) * 2
    }
    tt.equal(await dds.keep('/b', other), 84)
    tt.equal(runs('inner'), 1, 'inner was not run again')
    tt.equal(runs('other'), 1)
    tt.equal(await dds.load('/a'), 41)
  })

  t.test(`${bc.name}: 23. two keeps in one function: a change for the second re-runs only the second`, async (tt) => {
    const { dds } = await setup(tt)
    async function pipeline (n: number): Promise<number> {
      const first = await dds.keep('/first', double, 5)
      const second = await dds.keep('/second', add, first, n)
      return second
    }
    tt.equal(await dds.evaluate(pipeline, 1), 11)
    tt.equal(await dds.evaluate(pipeline, 2), 12)
    tt.equal(runs('double'), 1, 'the first keep is reused')
    tt.equal(runs('add'), 2, 'the second keep re-runs')
  })

  t.test(`${bc.name}: 24. a function that loads a path re-runs when, and only when, its value changes`, async (tt) => {
    const { dds } = await setup(tt)
    const consumer = loadsRaw(dds)
    async function pipeline (x: number): Promise<number> {
      await dds.keep('/pipe/raw', double, x)
      return await dds.keep('/pipe/out', consumer)
    }
    tt.equal(await dds.evaluate(pipeline, 1), 3)
    tt.equal(await dds.evaluate(pipeline, 1), 3)
    tt.equal(runs('consumer'), 1, 'unchanged upstream: reused')
    tt.equal(await dds.evaluate(pipeline, 2), 5)
    tt.equal(runs('double'), 2)
    tt.equal(runs('consumer'), 2, 'upstream value changed: both re-run')
    tt.equal(await dds.evaluate(pipeline, 1), 3)
    tt.equal(runs('consumer'), 2, 'back to the first value: the first result is reused')
    tt.equal(runs('double'), 2)
    // Early cutoff: an upstream that re-runs but returns the same value does not re-run the consumer.
    function alsoTwo (): number { count('alsoTwo'); return 2 }
    async function pipeline2 (): Promise<number> {
      await dds.keep('/pipe/raw', alsoTwo)
      return await dds.keep('/pipe/out', consumer)
    }
    tt.equal(await dds.evaluate(pipeline2), 3)
    tt.equal(runs('alsoTwo'), 1)
    tt.equal(runs('consumer'), 2, 'same upstream value from other code: consumer reused')
  })

  t.test(`${bc.name}: 25. load sees paths written earlier in the same run, at any depth`, async (tt) => {
    const { dds } = await setup(tt)
    async function level2 (): Promise<string> {
      return `l2 saw ${await dds.load<number>('/deep/x')}`
    }
    async function level1 (v: number): Promise<string> {
      await dds.keep('/deep/x', double, v)
      return await dds.keep('/deep/y', level2)
    }
    async function top (v: number): Promise<string> {
      const s = await dds.keep('/deep/z', level1, v)
      return `${s}; top saw ${await dds.load<number>('/deep/x')}`
    }
    tt.equal(await dds.evaluate(top, 1), 'l2 saw 2; top saw 2')
    tt.equal(await dds.evaluate(top, 5), 'l2 saw 10; top saw 10', 'new values inside the run, before the commit')
    tt.equal(await dds.load('/deep/x'), 10)
  })

  t.test(`${bc.name}: 26. load of a missing path throws DDS_PATH_NOT_FOUND`, async (tt) => {
    const { dds } = await setup(tt)
    const err = await dds.load('/nothing/here').catch((e: unknown) => e)
    tt.equal((err as DdsError).code, 'DDS_PATH_NOT_FOUND')
    tt.equal((err as DdsError).data.path, '/nothing/here')
    tt.equal(await codeOf(dds.evaluate(async () => await dds.load('/nothing'))), 'DDS_PATH_NOT_FOUND')
  })

  t.test(`${bc.name}: 27. one path per signature in a run; no overlapping paths`, async (tt) => {
    const { dds } = await setup(tt)
    tt.equal(await codeOf(dds.evaluate(async () => { await dds.keep('/p', double, 1); await dds.keep('/p', double, 2) })), 'DDS_PATH_CONFLICT')
    tt.equal(await dds.store.head('/p'), undefined, 'nothing committed')
    tt.equal(await codeOf(dds.evaluate(async () => { await dds.keep('/p', double, 1); await dds.keep('/p', double, 1) })), 'no error', 'the same keep twice is fine')
    tt.equal(await codeOf(dds.evaluate(async () => { await dds.keep('/f', double, 1); await dds.keep('/f/g', double, 2) })), 'DDS_OVERLAPPING_PATH')
    tt.equal(await codeOf(dds.evaluate(async () => { await dds.keep('/h/i', double, 1); await dds.keep('/h', double, 2) })), 'DDS_OVERLAPPING_PATH')
    tt.equal(await codeOf(dds.evaluate(async () => { await dds.keep('/u/v/w', double, 1); await dds.keep('/u', double, 2) })), 'DDS_OVERLAPPING_PATH', 'a path two levels down')
    tt.equal(await codeOf(dds.evaluate(async () => { await dds.keep('/x/y/z', double, 1); await dds.keep('/x/y', double, 2) })), 'DDS_OVERLAPPING_PATH', 'its parent directory')
    tt.equal(await codeOf(dds.evaluate(async () => { await dds.keep('/k/a', double, 1); await dds.keep('/k/b', double, 2); await dds.keep('/kk', double, 3) })), 'no error', 'siblings, and a name that only starts like a directory')
    tt.equal(await codeOf(dds.keep('/p/q', double, 3)), 'DDS_OVERLAPPING_PATH', 'overlap with a committed path')
    async function self (): Promise<number> { return await dds.keep('/self', self) }
    tt.equal(await codeOf(dds.keep('/self', self)), 'DDS_CIRCULAR_CALL')
  })

  t.test(`${bc.name}: 28. a run that throws commits no path and resumes on the next run`, async (tt) => {
    const { dds } = await setup(tt)
    async function flaky (): Promise<number> {
      count('flaky')
      if (globalThis.ddsRuns.flakyFail === 1) throw new Error('step 2 failed')
      return 7
    }
    async function pipeline (): Promise<number> {
      const a = await dds.keep('/run/a', double, 21)
      const b = await dds.keep('/run/b', flaky)
      return a + b
    }
    globalThis.ddsRuns.flakyFail = 1
    tt.equal(await codeOf(dds.evaluate(pipeline)), 'Error: step 2 failed')
    tt.equal(await dds.store.head('/run/a'), undefined, 'no path committed')
    globalThis.ddsRuns.flakyFail = 0
    tt.equal(await dds.evaluate(pipeline), 49)
    tt.equal(runs('double'), 1, 'the first step resumed from the store')
    tt.equal(runs('flaky'), 2)
    tt.equal(await dds.load('/run/a'), 42)
  })

  t.test(`${bc.name}: 29. values round-trip through keep`, async (tt) => {
    const { dds } = await setup(tt)
    const values: unknown[] = ['s', 1.5, 12n ** 30n, new Date(0), new Map([[1, { a: 2 }]]), new Set(['x']), { n: { e: [null, undefined] } }, new Float32Array([1, 2]), Buffer.from('b'), null, undefined]
    for (const [i, v] of values.entries()) {
      const ident = (x: unknown): unknown => x
      const first = await dds.keep(`/v/k${i}`, ident, v)
      tt.same(first, v)
      const dds2 = await open({ store: dds.store })
      tt.same(await dds2.load(`/v/k${i}`), v, `value ${i} read back`)
      const again = await dds2.keep(`/v/k${i}`, ident, v)
      tt.same(again, v, `value ${i} from a hit`)
      tt.equal(Object.prototype.toString.call(again), Object.prototype.toString.call(v))
    }
  })

  t.test(`${bc.name}: 30. unhashable arguments and unserializable results are named`, async (tt) => {
    const { dds } = await setup(tt)
    class Conn { constructor (readonly host: string) {} }
    const socket = new net.Socket()
    const use = (a: unknown, b: unknown): number => { count('use'); return 1 }
    const err = await dds.keep('/u', use, 1, { conn: new Conn('db') }).catch((e: unknown) => e) as DdsError
    tt.equal(err.code, 'DDS_UNHASHABLE')
    tt.equal(err.data.argument, 'args[1].conn')
    const err2 = await dds.keep('/u', use, socket, 2).catch((e: unknown) => e) as DdsError
    tt.equal(err2.code, 'DDS_UNHASHABLE')
    tt.equal(err2.data.argument, 'args[0]')
    tt.equal(runs('use'), 0)
    const conn = identify(new Conn('db'), 'warehouse')
    tt.equal(await dds.keep('/u', use, 1, { conn }), 1, 'identify() is the escape hatch')
    tt.equal(await dds.keep('/u', use, 1, { conn: identify(new Conn('other host'), 'warehouse') }), 1)
    tt.equal(runs('use'), 1, 'hashed by the given identity')
    const makeFn = (): unknown => ({ predict: () => 1 })
    const err3 = await dds.keep('/model', makeFn).catch((e: unknown) => e) as DdsError
    tt.equal(err3.code, 'DDS_UNSERIALIZABLE')
    tt.equal(err3.data.path, '/model')
    tt.equal(err3.data.field, 'value.predict')
    socket.destroy()
  })

  t.test(`${bc.name}: 31. malformed paths are refused`, async (tt) => {
    const { dds } = await setup(tt)
    for (const bad of ['p', '/a//b', '/a/../b', '/a/', '', 'a/b', '/a/./b']) {
      tt.equal(await codeOf(dds.keep(bad, double, 1)), 'DDS_PATH_INVALID', JSON.stringify(bad))
      tt.equal(await codeOf(dds.load(bad)), 'DDS_PATH_INVALID')
    }
    tt.equal(await codeOf(() => dds.dataFunction('rel', () => 1)), 'DDS_PATH_INVALID')
    tt.equal(await codeOf(dds.keep(5 as unknown as string, double, 1)), 'TypeError: path must be a string, got number')
    tt.equal(runs('double'), 0)
  })

  t.test(`${bc.name}: escape hatches: a pinned version`, async (tt) => {
    const { dds } = await setup(tt)
    const fetchRates = annotate(function fetchRates (): number { count('rates'); return 1.1 }, { version: '2024-06' })
    tt.equal(await dds.keep('/rates', fetchRates), 1.1)
    tt.equal(await dds.keep('/rates', fetchRates), 1.1)
    tt.equal(runs('rates'), 1)
    annotate(fetchRates, { version: '2024-07' })
    tt.equal(await dds.keep('/rates', fetchRates), 1.1)
    tt.equal(runs('rates'), 2, 'a new pinned version runs again')
  })

  t.test(`${bc.name}: events report hits, runs and commits`, async (tt) => {
    const { dds, events } = await setup(tt)
    await dds.keep('/e', double, 1)
    await dds.keep('/e', double, 1)
    tt.same(events.map((e) => e.type), ['store', 'miss', 'computed', 'commit', 'hit'], 'the store opened is said first')
  })
}
