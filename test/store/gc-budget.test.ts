/**
 * gc under a budget: drops history by value (last use, compute time per
 * byte) until the store fits, drops what is unused for maxAge, never a head,
 * a tagged entry or a recent one, and frees exactly the bytes it reports.
 */
import t, { type Test } from 'tap'
import { openStore, type Store } from '../../store/store.js'
import { gc } from '../../store/gc.js'
import { budgetFromEnv, parseAge, parseSize } from '../../store/budget.js'
import { storeBytes } from '../../store/footprint.js'
import { putTag } from '../../store/tags.js'
import { verifyStore } from '../../store/verify.js'
import { fakeEvaluation, SMALL, type Fake } from '../cli/helpers/fake.js'

const DAY = 86_400_000
const OLD = Date.now() - 100 * DAY

function bytes (n: number, seed: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 13 + seed * 101 + (i >> 7)) % 253)
}

interface Filled { store: Store, old: Record<string, Fake>, head: Fake }

/** /p: four old values (a big cheap one, a small costly one, a big costly one, a tagged one), then its head. */
async function fill (t: Test): Promise<Filled> {
  const store = await openStore({ ...SMALL, location: t.testdir() })
  t.teardown(async () => { await store.close() })
  const spec = {
    bigCheap: { value: bytes(60_000, 1), duration: 1 },
    smallCostly: { value: bytes(3_000, 2), duration: 60_000 },
    bigCostly: { value: bytes(60_000, 3), duration: 600_000 },
    tagged: { value: bytes(30_000, 4), duration: 1 }
  }
  const old: Record<string, Fake> = {}
  let time = OLD
  for (const [name, s] of Object.entries(spec)) {
    old[name] = await fakeEvaluation(store, { path: '/p', fn: name, started: time, ...s })
    await store.commit([{ path: '/p', evaluation: old[name].evaluation, output: old[name].output, time: time += 1000 }])
  }
  const seqOf = async (f: Fake): Promise<number> => {
    for await (const e of store.history('/p')) if (e.evaluation?.equals(f.evaluation) === true) return e.seq
    throw new Error('no entry')
  }
  const tagged = old.tagged!
  await putTag(store.backend, { name: 'v1', path: '/p', seq: await seqOf(tagged), evaluation: tagged.evaluation, output: tagged.output, time: Date.now() })
  const head = await fakeEvaluation(store, { path: '/p', fn: 'now', value: bytes(20_000, 5), started: OLD + DAY })
  await store.commit([{ path: '/p', evaluation: head.evaluation, output: head.output, time: OLD + DAY }])
  return { store, old, head }
}

async function outputs (store: Store): Promise<string[]> {
  const out: string[] = []
  for await (const e of store.history('/p')) out.push(String(e.output))
  return out
}

async function check (t: Test, f: Filled): Promise<void> {
  t.same(await f.store.readArtifact(f.head.output), bytes(20_000, 5), 'the head still loads')
  t.same(await f.store.readArtifact(f.old.tagged!.output), bytes(30_000, 4), 'the tagged value still loads')
  const report = await verifyStore(f.store)
  t.same(report.problems, [], 'verify is clean')
}

t.test('maxSize drops the cheap big value first, then the next least valuable; bytes freed are what disappears', async (t) => {
  const f = await fill(t)
  const before = await storeBytes(f.store)
  // Room for everything but about one big value: only the cheap big one must go.
  const dry = await gc(f.store, { budget: { maxSize: before - 50_000 }, graceMs: 0, dryRun: true })
  t.equal(await storeBytes(f.store), before, 'a dry run deletes nothing')
  const report = await gc(f.store, { budget: { maxSize: before - 50_000 }, graceMs: 0 })
  t.same({ ...report, kept: 0 }, { ...dry, dryRun: false, kept: 0 }, 'the dry run said what the gc did')
  t.equal(report.history, 1)
  const after = await storeBytes(f.store)
  t.equal(before - after, report.bytes, 'reported bytes are what disappeared')
  t.equal(report.budget?.after, after)
  t.equal(report.budget?.met, true)
  t.ok(after <= before - 50_000)
  const left = await outputs(f.store)
  t.notOk(left.includes(String(f.old.bigCheap!.output)), 'the cheap big value went')
  t.ok(left.includes(String(f.old.smallCostly!.output)) && left.includes(String(f.old.bigCostly!.output)), 'the costly ones stayed')
  t.equal(await f.store.hasBlock(f.old.bigCheap!.output), false)
  await check(t, f)

  // A budget below what heads and tags hold: every other entry goes, and it says the budget was not met.
  const tight = await gc(f.store, { budget: { maxSize: 1 }, graceMs: 0 })
  t.equal(tight.history, 2)
  t.equal(tight.budget?.met, false)
  t.equal(after - await storeBytes(f.store), tight.bytes)
  t.same((await outputs(f.store)).sort(), [String(f.head.output), String(f.old.tagged!.output)].sort())
  await check(t, f)
})

t.test('maxAge drops what was not used for that long; a recorded hit keeps a value young', async (t) => {
  const f = await fill(t)
  f.store.usage.note(f.old.smallCostly!.evaluation)
  await f.store.usage.flush()
  const before = await storeBytes(f.store)
  const report = await gc(f.store, { budget: { maxAge: 30 * DAY }, graceMs: 0 })
  t.equal(report.history, 2, 'the two values unused for 100 days went')
  t.equal(before - await storeBytes(f.store), report.bytes)
  const left = await outputs(f.store)
  t.ok(left.includes(String(f.old.smallCostly!.output)), 'the one used now stayed')
  t.notOk(left.includes(String(f.old.bigCheap!.output)) || left.includes(String(f.old.bigCostly!.output)))
  await check(t, f)
})

t.test('recent evaluations are spared by the grace period', async (t) => {
  const store = await openStore({ ...SMALL, location: t.testdir() })
  t.teardown(async () => { await store.close() })
  const a = await fakeEvaluation(store, { path: '/q', value: bytes(20_000, 8), started: Date.now() })
  const b = await fakeEvaluation(store, { path: '/q', value: bytes(20_000, 9), started: Date.now() })
  await store.commit([{ path: '/q', evaluation: a.evaluation, output: a.output }])
  await store.commit([{ path: '/q', evaluation: b.evaluation, output: b.output }])
  const report = await gc(store, { budget: { maxSize: 1, maxAge: 0 } })
  t.equal(report.history, 0, 'an evaluation that just ended may belong to a running process')
  t.equal(report.bytes, 0)
})

t.test('sizes, ages and budgets are checked', async (t) => {
  t.equal(parseSize('10G'), 10 * 1024 ** 3)
  t.equal(parseSize('1.5GiB'), 1.5 * 1024 ** 3)
  t.equal(parseSize('300k'), 300 * 1024)
  t.equal(parseSize('4096'), 4096)
  t.equal(parseSize('12MB'), 12 * 1024 ** 2)
  for (const bad of ['', 'G', '-1G', '10X', '1e3', '10 G G', 'iB']) t.throws(() => parseSize(bad), RangeError, bad)
  t.throws(() => parseSize('9999999P'), RangeError)
  t.equal(parseAge('30d'), 30 * DAY)
  t.equal(parseAge('2w'), 14 * DAY)
  t.equal(parseAge('90m'), 90 * 60_000)
  for (const bad of ['30', 'd', '-1d', '3y', '']) t.throws(() => parseAge(bad), RangeError, bad)
  const store = await openStore({ backend: 'memory' })
  t.teardown(async () => { await store.close() })
  await t.rejects(gc(store, { budget: {} }), RangeError)
  await t.rejects(gc(store, { budget: { maxSize: -1 } }), RangeError)
  await t.rejects(gc(store, { budget: { maxAge: 1.5 } }), RangeError)
})

t.test('dds gc --max-size / --max-age', async (t) => {
  const { dds, rows } = await import('../cli/helpers/cli.js')
  const location = t.testdir()
  const store = await openStore({ ...SMALL, location })
  const a = await fakeEvaluation(store, { path: '/r', value: bytes(30_000, 1), started: OLD })
  const b = await fakeEvaluation(store, { path: '/r', value: bytes(30_000, 2), started: OLD })
  await store.commit([{ path: '/r', evaluation: a.evaluation, output: a.output, time: OLD }])
  await store.commit([{ path: '/r', evaluation: b.evaluation, output: b.output, time: OLD + 1 }])
  const before = await storeBytes(store)
  await store.close()
  t.equal((await dds(['gc', '--max-size', '10Q'], { store: location })).code, 2, 'a bad size is a usage mistake')
  t.equal((await dds(['gc', '--max-age', '30'], { store: location })).code, 2, 'an age needs a unit')
  const r = await dds(['gc', '--max-age', '30d', '--grace', '0'], { store: location })
  t.equal(r.code, 0, r.stderr)
  const out = Object.fromEntries(rows(r.stdout))
  t.equal(out.history, '1')
  t.equal(out['budget-met'], 'yes')
  const again = await openStore({ location })
  t.equal(before - await storeBytes(again), Number(out.bytes), 'the printed bytes are what disappeared')
  t.same(await again.readArtifact(b.output), bytes(30_000, 2))
  await again.close()
})

function fresh (n: number): string { return `fresh ${n}` }

t.test('a store budget is applied after a run, in the background, reported as an event', async (t) => {
  const { open } = await import('../../lib/dds.js')
  const { budgetEvent } = await import('../../lib/retention.js')
  const location = t.testdir()
  const filled = await openStore({ ...SMALL, location })
  const a = await fakeEvaluation(filled, { path: '/r', value: bytes(30_000, 1), started: OLD })
  const b = await fakeEvaluation(filled, { path: '/r', value: bytes(30_000, 2), started: OLD })
  await filled.commit([{ path: '/r', evaluation: a.evaluation, output: a.output, time: OLD }])
  await filled.commit([{ path: '/r', evaluation: b.evaluation, output: b.output, time: OLD + 1 }])
  await filled.close()

  let done: (e: unknown) => void = () => {}
  const collected = new Promise((resolve) => { done = resolve })
  const dds = await open({ store: location, budget: { maxAge: 30 * DAY }, log: false, onEvent: (e) => { if (e.type === 'gc' || e.type === 'warning') done(e) } })
  t.equal(await dds.keep('/s', fresh, 1), 'fresh 1', 'the run returns its result; the collection follows it')
  t.match(await collected, { type: 'gc', history: 1, met: true })
  t.same(await dds.load('/r'), bytes(30_000, 2), 'the head stays')
  t.equal(await dds.store.hasBlock(a.output), false, 'the old unused value went')
  await dds.close()

  t.match(budgetEvent({ type: 'gc-failed', error: new Error('disk full') }), { type: 'warning', message: /disk full/ })
  t.throws(() => budgetFromEnv('max-size=10Q'), { code: 'DDS_BUDGET_INVALID' })
  t.throws(() => budgetFromEnv('size=10G'), { code: 'DDS_BUDGET_INVALID' })
  t.same(budgetFromEnv('max-size=10G, max-age=30d'), { maxSize: 10 * 1024 ** 3, maxAge: 30 * DAY })
  t.equal(budgetFromEnv(''), undefined)
  process.env.DDS_BUDGET = 'max-age=2w'
  t.teardown(() => { delete process.env.DDS_BUDGET })
  const fromEnv = await open({ store: t.testdir(), log: false })
  t.same(fromEnv.store.budget, { maxAge: 14 * DAY }, 'DDS_BUDGET applies when open() is given no budget')
  await fromEnv.close()
  await t.rejects(openStore({ backend: 'memory', budget: { maxSize: -5 } }), RangeError)
})
