/**
 * What a newcomer touches first (issue 18): every promise-returning API
 * reports errors after argument validation by rejecting (never a synchronous
 * throw a `.catch` cannot see), DDS_PATH_CONFLICT says what differed, and a
 * data function's anonymous body is named after its path in records.
 */
import t, { type Test } from 'tap'
import { open, type DdsInstance } from '../../lib/dds.js'
import { configure, closeDefault, dataFunction, evaluate, keep, load } from '../../lib/default.js'
import { lineage, toDot } from '../../lib/graph.js'
import { ErrorCodes, isDdsError } from '../../store/errors.js'

/** Call `f` (which must not be an async function: that would hide a synchronous throw) and return its promise; a synchronous throw fails the test. */
function promised (t: Test, what: string, f: () => Promise<unknown>): Promise<unknown> {
  try {
    const p = f()
    t.ok(p instanceof Promise, `${what} returns a promise`)
    return p
  } catch (err) {
    t.fail(`${what} threw synchronously: ${String(err)}`)
    return Promise.resolve()
  }
}

async function caught (p: Promise<unknown>): Promise<unknown> {
  return await p.then(() => undefined, (err: unknown) => err)
}

t.test('a data function called with an argument rejects', async (t) => {
  const dds = await open({ backend: 'memory' })
  t.teardown(async () => { await dds.close() })
  const raw = dds.dataFunction('/raw', () => 5)
  const call = raw as unknown as (x: number) => Promise<number>
  const err = await caught(promised(t, 'raw(1)', () => call(1)))
  t.ok(isDdsError(err, ErrorCodes.ARG_IN_DATA_FUNCTION), 'with DDS_ARG_IN_DATA_FUNCTION')
  t.same((err as { data: unknown }).data, { path: '/raw', arguments: 1 })
  // The bare call, as a user writes it with .catch.
  let code: unknown
  await call(1).catch((e: { code: string }) => { code = e.code })
  t.equal(code, ErrorCodes.ARG_IN_DATA_FUNCTION)
  t.equal(await raw(), 5, 'called without arguments it works')
})

t.test('keep, evaluate, load and the module-level ones reject on bad input', async (t) => {
  const dds: DdsInstance = await open({ backend: 'memory' })
  configure({ backend: 'memory' })
  t.teardown(async () => { await dds.close(); await closeDefault(); configure({}) })
  const cases: Array<[string, () => Promise<unknown>, (e: unknown) => boolean]> = [
    ['dds.keep(bad path)', () => dds.keep('no-slash', () => 1), (e) => isDdsError(e, ErrorCodes.PATH_INVALID)],
    ['dds.keep(non-function)', () => dds.keep('/a', 3 as unknown as () => number), (e) => e instanceof TypeError],
    ['dds.evaluate(non-function)', () => dds.evaluate(3 as unknown as () => number), (e) => e instanceof TypeError],
    ['dds.load(missing)', () => dds.load('/missing'), (e) => isDdsError(e, ErrorCodes.PATH_NOT_FOUND)],
    ['dds.load(bad path)', () => dds.load('/a/../b'), (e) => isDdsError(e, ErrorCodes.PATH_INVALID)],
    ['keep(bad path)', () => keep('x', () => 1), (e) => isDdsError(e, ErrorCodes.PATH_INVALID)],
    ['evaluate(non-function)', () => evaluate(null as unknown as () => number), (e) => e instanceof TypeError],
    ['load(missing)', () => load('/nothing'), (e) => isDdsError(e, ErrorCodes.PATH_NOT_FOUND)],
    ['dataFunction(...)(1)', () => (dataFunction('/d', () => 1) as unknown as (x: number) => Promise<number>)(1), (e) => isDdsError(e, ErrorCodes.ARG_IN_DATA_FUNCTION)],
    ['a thrown error inside keep', () => dds.keep('/boom', () => { throw new RangeError('mine') }), (e) => e instanceof RangeError && e.message === 'mine']
  ]
  for (const [what, f, check] of cases) {
    const err = await caught(promised(t, what, f))
    t.ok(check(err), `${what} rejects with the right error (${String(err)})`)
  }
})

t.test('DDS_PATH_CONFLICT says whether the function, its code or the arguments differ', async (t) => {
  const dds = await open({ backend: 'memory' })
  t.teardown(async () => { await dds.close() })
  const inc = (x: number): number => x + 1
  const dec = (x: number): number => x - 1
  const adder = (k: number) => (x: number): number => x + k

  const fnErr = await caught(dds.evaluate(async () => { await dds.keep('/p', inc, 1); await dds.keep('/p', dec, 1) }))
  t.ok(isDdsError(fnErr, ErrorCodes.PATH_CONFLICT))
  t.same((fnErr as { data: unknown }).data, { path: '/p', differs: 'function' })

  const argErr = await caught(dds.evaluate(async () => { await dds.keep('/q', inc, 1); await dds.keep('/q', inc, 2) }))
  t.same((argErr as { data: unknown }).data, { path: '/q', differs: 'arguments', arguments: [0] })
  t.match((argErr as Error).message, /args\[0\]/, 'the message names the argument')

  const moreArgs = await caught(dds.evaluate(async () => { await dds.keep('/r', Math.max, 1); await dds.keep('/r', Math.max, 1, 2) }))
  t.same((moreArgs as { data: unknown }).data, { path: '/r', differs: 'arguments', arguments: [1] }, 'an extra argument counts')

  const codeErr = await caught(dds.evaluate(async () => { await dds.keep('/s', adder(1), 1); await dds.keep('/s', adder(2), 1) }))
  t.same((codeErr as { data: unknown }).data, { path: '/s', differs: 'code' }, 'the same function with another captured value')
})

t.test('an anonymous data function is named after its path in records and the graph', async (t) => {
  const dds = await open({ backend: 'memory' })
  t.teardown(async () => { await dds.close() })
  const raw = dds.dataFunction('/weather/raw', () => [1, 2, 3])
  const named = dds.dataFunction('/weather/named', function readNamed () { return 4 })
  await raw()
  await named()
  const nameAt = async (path: string): Promise<string> => {
    const head = await dds.store.head(path)
    if (head?.evaluation == null) throw new Error(`no head at ${path}`)
    return (await dds.store.getEvaluation(head.evaluation)).fn.name
  }
  t.equal(await nameAt('/weather/raw'), '/weather/raw')
  t.equal(await nameAt('/weather/named'), 'readNamed', 'a function with a name keeps it')
  const dot = toDot(await lineage(dds.store, ['/weather/raw']))
  t.notMatch(dot, /\(anonymous\)/)
  t.match(dot, /\/weather\/raw\(\)/)
})
