/**
 * gc: frees what nothing reaches, keeps what history and memo entries reach,
 * trims history with keepHistory, and leaves a store that verifies.
 */
import t, { type Test } from 'tap'
import { utimes, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { openStore, type Store } from '../../store/store.js'
import { gc } from '../../store/gc.js'
import { verifyStore } from '../../store/verify.js'
import { cidOf, RAW_CODE } from '../../store/hash.js'
import { fakeEvaluation, pipeline, snapshot, SMALL } from '../cli/helpers/fake.js'
import { collect } from '../helpers/stores.js'

async function open (t: Test, kind: 'classic' | 'memory' = 'classic'): Promise<Store> {
  const store = await openStore({ ...SMALL, backend: kind, location: t.testdir() })
  t.teardown(async () => { await store.close() })
  return store
}

async function blockCount (store: Store): Promise<number> {
  return (await collect(store.blockCIDs())).length
}

for (const kind of ['classic', 'memory'] as const) {
  t.test(`${kind}: a store with no garbage loses nothing`, async (t) => {
    const store = await open(t, kind)
    await pipeline(store)
    const n = await blockCount(store)
    const before = await snapshot(store)
    const report = await gc(store)
    t.same({ ...report, kept: 0 }, { dryRun: false, blocks: 0, bytes: 0, history: 0, memo: 0, files: 0, fileBytes: 0, kept: 0 })
    t.equal(report.kept, n)
    t.same(await snapshot(store), before)
    t.equal((await verifyStore(store)).ok, true)
  })

  t.test(`${kind}: orphans are freed; a dry run only counts them`, async (t) => {
    const store = await open(t, kind)
    await pipeline(store)
    const n = await blockCount(store)
    const orphan = await store.putArtifact(new Uint8Array(40_000).map((_, i) => i % 251))
    const small = await store.putArtifact('lonely')
    t.equal(await blockCount(store), n + 5, 'three chunks and two roots')

    const dry = await gc(store, { dryRun: true })
    t.equal(dry.dryRun, true)
    t.equal(dry.blocks, 5)
    t.ok(dry.bytes >= 40_000)
    t.equal(await blockCount(store), n + 5, 'dry run deleted nothing')

    const report = await gc(store)
    t.equal(report.blocks, 5)
    t.equal(report.bytes, dry.bytes)
    t.equal(await blockCount(store), n)
    t.equal(await store.hasBlock(orphan.cid), false)
    t.equal(await store.hasBlock(small.cid), false)
    t.equal((await verifyStore(store)).ok, true)
  })
}

t.test('memo entries are roots: a computed but never committed value survives', async (t) => {
  const store = await open(t)
  const f = await fakeEvaluation(store, { path: '/x', value: 'kept by memo' })
  await gc(store)
  t.equal(await store.readArtifact(f.output), 'kept by memo')
})

t.test('keepHistory drops older entries, their memo entries and their blocks', async (t) => {
  const store = await open(t)
  const p = await pipeline(store)
  const v2 = await fakeEvaluation(store, { path: '/data/big', value: new Float64Array(5000).fill(2), fn: 'makeBig' })
  const v3 = await fakeEvaluation(store, { path: '/data/big', value: 'three', fn: 'makeBig' })
  await store.commit([{ path: '/data/big', evaluation: v2.evaluation, output: v2.output, time: 1_800_000_000_000 }])
  await store.commit([{ path: '/data/big', evaluation: v3.evaluation, output: v3.output, time: 1_800_000_000_001 }])
  t.equal((await collect(store.history('/data/big'))).length, 3)

  const report = await gc(store, { keepHistory: 2, graceMs: 0 })
  t.equal(report.history, 1)
  t.equal(report.memo, 1, 'the memo entry of the dropped evaluation')
  t.ok(report.blocks >= 6, 'its record, root and chunks')
  t.same((await collect(store.history('/data/big'))).map((e) => e.evaluation?.toString()), [v3.evaluation.toString(), v2.evaluation.toString()])
  t.equal(await store.lookupMemo(p.big.key), undefined)
  t.equal(await store.hasBlock(p.big.output), false)
  t.ok((await store.lookupMemo(v2.key))?.evaluation.equals(v2.evaluation))
  t.same(await store.readArtifact(v2.output), new Float64Array(5000).fill(2))
  // /data/clean loads /data/raw and calls /data/sub: all kept.
  t.equal(await store.readArtifact(p.raw.output), 'a,b\n1,2\n')
  t.same(await store.readArtifact(p.sub.output), { rows: 1 })
  t.equal((await verifyStore(store)).ok, true)
})

t.test('keepHistory keeps what a retained evaluation loaded, even when its path moved on', async (t) => {
  const store = await open(t)
  const p = await pipeline(store)
  const raw2 = await fakeEvaluation(store, { path: '/data/raw', value: 'new raw' })
  await store.commit([{ path: '/data/raw', evaluation: raw2.evaluation, output: raw2.output, time: 1_800_000_000_000 }])
  await gc(store, { keepHistory: 1, graceMs: 0 })
  t.equal(await store.readArtifact(p.raw.output), 'a,b\n1,2\n', 'loaded by /data/clean')
  t.ok((await store.lookupMemo(p.raw.key)) !== undefined, 'its evaluation is reachable, so its memo entry stays')
  t.equal((await verifyStore(store)).ok, true)
})

t.test('a deleted path is freed once its history is trimmed; recent memo entries are spared by the grace', async (t) => {
  const store = await open(t)
  const f = await fakeEvaluation(store, { path: '/tmp', value: 'temporary', started: Date.now() })
  await store.commit([{ path: '/tmp', evaluation: f.evaluation, output: f.output }])
  await store.deletePath('/tmp')
  const graced = await gc(store, { keepHistory: 1 })
  t.equal(graced.history, 1)
  t.equal(graced.memo, 0, 'a recent evaluation keeps its memo entry')
  t.equal(await store.readArtifact(f.output), 'temporary')
  const report = await gc(store, { keepHistory: 1, graceMs: 0 })
  t.equal(report.memo, 1)
  t.equal(await store.hasBlock(f.output), false)
  t.equal(await store.head('/tmp'), undefined)
  t.equal((await verifyStore(store)).ok, true)
})

t.test('blob files with no index entry are removed after the grace', async (t) => {
  const store = await open(t)
  await pipeline(store)
  const dir = store.backend.files?.directory as string
  const bytes = Buffer.alloc(20_000, 3)
  const cid = cidOf(bytes, RAW_CODE).toString()
  await mkdir(join(dir, cid.slice(-2)), { recursive: true })
  const file = join(dir, cid.slice(-2), cid)
  await writeFile(file, bytes)
  t.equal((await gc(store)).files, 0, 'a fresh file may belong to a writer about to commit')
  const old = new Date(Date.now() - 2 * 3600_000)
  await utimes(file, old, old)
  const report = await gc(store)
  t.equal(report.files, 1)
  t.equal(report.fileBytes, 20_000)
  t.equal((await verifyStore(store)).orphanFiles, 0)
})

t.test('bad options are refused', async (t) => {
  const store = await open(t, 'memory')
  await t.rejects(gc(store, { keepHistory: 0 }), RangeError)
  await t.rejects(gc(store, { graceMs: -1 }), RangeError)
})
