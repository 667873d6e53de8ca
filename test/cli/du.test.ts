/**
 * `dds du`: bytes per path, current value and history apart, a block shared
 * by several values counted once in the total, figures checked against the
 * blocks as read back one by one.
 */
import t, { type Test } from 'tap'
import type { CID } from 'multiformats/cid'
import { openStore, type Store } from '../../store/store.js'
import { diskUsage } from '../../lib/inspect.js'
import { fakeEvaluation, SMALL } from './helpers/fake.js'
import { dds, rows } from './helpers/cli.js'

/** The bytes of an artifact's blocks, read one by one (root and chunks), by CID. */
async function blocksOf (store: Store, output: CID): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  out.set(output.toString(), (await store.getBlock(output))!.byteLength)
  for (const c of (await store.getArtifactRoot(output)).chunks ?? []) out.set(c.toString(), (await store.getBlock(c))!.byteLength)
  return out
}

function total (...maps: Array<Map<string, number>>): number {
  const all = new Map<string, number>()
  for (const m of maps) for (const [k, v] of m) all.set(k, v)
  return [...all.values()].reduce((a, b) => a + b, 0)
}

function bytes (n: number, seed: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 31 + seed * 7 + (i >> 8)) % 251)
}

async function fill (t: Test): Promise<{ store: Store, location: string, outputs: Record<string, CID> }> {
  const location = t.testdir()
  const store = await openStore({ ...SMALL, location })
  // /a: two values sharing their first two chunks; /b: the same value as /a now; /c: deleted.
  const v1 = bytes(40_000, 1)
  const v2 = v1.slice()
  v2[39_999] = 7
  const a1 = await fakeEvaluation(store, { path: '/a', value: v1 })
  const a2 = await fakeEvaluation(store, { path: '/a', value: v2 })
  const b = await fakeEvaluation(store, { path: '/b', value: v2, fn: 'b' })
  const c = await fakeEvaluation(store, { path: '/c', value: 'gone soon', fn: 'c' })
  await store.commit([{ path: '/a', evaluation: a1.evaluation, output: a1.output }, { path: '/c', evaluation: c.evaluation, output: c.output }])
  await store.commit([{ path: '/a', evaluation: a2.evaluation, output: a2.output }, { path: '/b', evaluation: b.evaluation, output: b.output }])
  await store.deletePath('/c')
  return { store, location, outputs: { a1: a1.output, a2: a2.output, c: c.output } }
}

t.test('per path and in total, shared blocks once', async (t) => {
  const { store, outputs } = await fill(t)
  t.teardown(async () => { await store.close() })
  const a1 = await blocksOf(store, outputs.a1!)
  const a2 = await blocksOf(store, outputs.a2!)
  const c = await blocksOf(store, outputs.c!)
  t.ok([...a1.keys()].filter((k) => a2.has(k)).length >= 2, 'the two values of /a share chunks')

  const du = await diskUsage(store)
  const only = (m: Map<string, number>, not: Map<string, number>): Map<string, number> => new Map([...m].filter(([k]) => !not.has(k)))
  t.same(du.paths, [
    { path: '/a', current: total(a2), history: total(only(a1, a2)), entries: 2, deleted: false },
    { path: '/b', current: total(a2), history: 0, entries: 1, deleted: false },
    { path: '/c', current: 0, history: total(c), entries: 2, deleted: true }
  ])
  t.same(du.total, { current: total(a2), history: total(only(a1, a2), c), all: total(a1, a2, c) })
  t.ok(du.total.all < du.paths.reduce((n, r) => n + r.current + r.history, 0), 'the total counts /b\'s blocks (those of /a) once')
  t.ok(du.store > du.total.all, 'the store also holds records and manifests')

  const under = await diskUsage(store, { prefix: '/b' })
  t.same(under.paths.map((r) => r.path), ['/b'])
  t.same(under.total, { current: total(a2), history: 0, all: total(a2) })
  await t.rejects(diskUsage(store, { prefix: 'b' }), { code: 'DDS_PATH_INVALID' })
})

t.test('dds du prints rows, a total line and --json', async (t) => {
  const { store, location } = await fill(t)
  const du = await diskUsage(store)
  await store.close()
  const r = await dds(['du'], { store: location })
  t.equal(r.code, 0, r.stderr)
  t.same(rows(r.stdout), [
    ...du.paths.map((p) => [p.path, String(p.current), String(p.history), String(p.entries)]),
    ['total', String(du.total.current), String(du.total.history), '5']
  ])
  t.match(r.stderr, /in values listed; the store holds/)
  const json = await dds(['du', '/a', '--json'], { store: location })
  t.equal(json.code, 0)
  const parsed = JSON.parse(json.stdout) as typeof du
  t.same(parsed.paths.map((p) => p.path), ['/a'])
  t.equal(parsed.total.all, du.paths[0]!.current + du.paths[0]!.history)
  t.equal((await dds(['du', 'a'], { store: location })).code, 1, 'a malformed prefix is a coded error')
  t.equal((await dds(['du', '/a', '/b'], { store: location })).code, 2, 'one prefix at most')
})
