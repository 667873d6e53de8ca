/**
 * Type tests: the compiler (tsconfig.check.json, run by `npm test`) proves
 * that a kept function's result type is preserved and its arguments are
 * checked; `@ts-expect-error` lines fail the build if they ever compile.
 */
import t from 'tap'
import { open, type Kept } from '../../lib/index.js'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectType<T> (_value: T): void {}
function assertType<_T extends true> (): void {}

t.test('kept functions keep their types', async (t) => {
  const dds = await open({ backend: 'memory' })
  t.teardown(async () => { await dds.close() })

  const n = await dds.keep('/types/n', (x: number) => x * 2, 21)
  expectType<number>(n)
  assertType<Equal<typeof n, number>>()

  const s = await dds.keep('/types/s', async (a: string, b: number) => a.repeat(b), 'ab', 2)
  assertType<Equal<typeof s, string>>()

  const o = await dds.keep('/types/o', (rows: Array<{ id: number }>) => new Map(rows.map((r) => [r.id, r])), [{ id: 1 }])
  assertType<Equal<typeof o, Map<number, { id: number }>>>()

  const f = dds.dataFunction('/types/f', () => ({ ok: true as const }))
  const fv = await f()
  assertType<Equal<typeof fv, { ok: true }>>()

  const e = await dds.evaluate(async (k: number) => [k, String(k)] as const, 3)
  expectType<readonly [number, string]>(e)

  const l = await dds.load<Float64Array>('/types/n').catch(() => new Float64Array())
  expectType<Float64Array>(l)
  assertType<Equal<Kept<() => Promise<Set<string>>>, Set<string>>>()

  // @ts-expect-error a wrong argument type is refused
  await dds.keep('/types/bad', (x: number) => x, 'not a number').catch(() => {})
  // @ts-expect-error a missing argument is refused
  await dds.keep('/types/bad2', (x: number, y: number) => x + y, 1).catch(() => {})
  // @ts-expect-error a data function takes no arguments
  await t.rejects(f(1), { code: 'DDS_ARG_IN_DATA_FUNCTION' })

  t.equal(n, 42)
  t.equal(s, 'abab')
  t.same(fv, { ok: true })
})
