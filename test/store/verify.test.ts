/**
 * verifyStore: a clean store has no problem; tampered, missing and malformed
 * blocks are named by CID, with the path and memo entries they break.
 */
import t, { type Test } from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { openStore, type Store } from '../../store/store.js'
import { verifyStore, type Problem } from '../../store/verify.js'
import { pipeline, SMALL } from '../cli/helpers/fake.js'
import { blockPlace } from '../helpers/stores.js'

async function open (t: Test, kind: 'classic' | 'memory' = 'classic'): Promise<Store> {
  const store = await openStore({ ...SMALL, backend: kind, location: t.testdir() })
  t.teardown(async () => { await store.close() })
  return store
}

function brief (problems: Problem[]): string[] {
  return problems.map((p) => [p.step, p.problem, p.cid?.toString(), p.path].filter((x) => x !== undefined).join(' ')).sort()
}

for (const kind of ['classic', 'memory'] as const) {
  t.test(`${kind}: a clean store verifies, step by step`, async (t) => {
    const store = await open(t, kind)
    await pipeline(store)
    await store.deletePath('/data/sub')
    const report = await verifyStore(store)
    t.equal(report.ok, true)
    t.same(report.problems, [])
    t.same(report.steps.map((s) => s.name), ['blocks', 'links', 'paths', 'memo'])
    t.equal(report.steps[0]?.checked, report.blocks)
    t.equal(report.steps[2]?.checked, 5, 'five history entries, the deletion included')
    t.equal(report.steps[3]?.checked, 4, 'four memo entries')
    t.ok(report.bytes > 80_000)
  })

  t.test(`${kind}: a tampered inline block is named, with what it breaks`, async (t) => {
    const store = await open(t, kind)
    const p = await pipeline(store)
    const raw = await store.backend.get('blocks', p.raw.output.bytes) as Uint8Array
    const bad = raw.slice()
    bad[bad.byteLength - 1] = (bad[bad.byteLength - 1] as number) ^ 1
    await store.backend.batch([{ type: 'put', space: 'blocks', key: p.raw.output.bytes, value: bad }])
    const report = await verifyStore(store)
    t.equal(report.ok, false)
    const out = p.raw.output.toString()
    t.same(brief(report.problems), [
      `blocks integrity ${out}`,
      `memo incomplete ${p.clean.evaluation.toString()}`,
      `memo incomplete ${out}`,
      `memo incomplete ${p.raw.evaluation.toString()}`,
      `paths incomplete ${p.clean.evaluation.toString()} /data/clean`,
      `paths incomplete ${out} /data/raw`,
      `paths incomplete ${p.raw.evaluation.toString()} /data/raw`
    ].sort())
  })
}

t.test('a missing chunk and a corrupt chunk file are named', async (t) => {
  const store = await open(t)
  const p = await pipeline(store)
  const chunks = (await store.getArtifactRoot(p.big.output)).chunks as CID[]
  const gone = chunks[1] as CID
  await store.backend.batch([{ type: 'del', space: 'blocks', key: gone.bytes }])
  const flipped = chunks[2] as CID
  const place = await blockPlace(store, flipped)
  t.ok(place.segment, 'the chunks of an artifact share one segment')
  const bytes = await readFile(place.file)
  bytes[place.position + 10] = (bytes[place.position + 10] as number) ^ 0x10
  await writeFile(place.file, bytes)

  const report = await verifyStore(store)
  t.equal(report.ok, false)
  const big = p.big.output.toString()
  t.same(brief(report.problems.filter((x) => x.step !== 'memo')), [
    `blocks integrity ${flipped.toString()}`,
    `links missing ${gone.toString()}`,
    `paths incomplete ${big} /data/big`,
    `paths incomplete ${p.big.evaluation.toString()} /data/big`
  ].sort())
  const missing = report.problems.find((x) => x.problem === 'missing')
  t.equal(missing?.from?.toString(), big, 'names the artifact that links it')
  t.equal(report.orphanFiles, 0, 'the segment of the deleted index entry holds the other chunks: not an orphan')
})

t.test('a head that is not the last history entry is inconsistent', async (t) => {
  const store = await open(t)
  await pipeline(store)
  const { historyKey } = await import('../../store/keys.js')
  const { encodeNode } = await import('../../store/records.js')
  const head = await store.head('/data/raw')
  await store.backend.batch([{ type: 'put', space: 'history', key: historyKey('/data/raw', 2), value: encodeNode({ time: 5, evaluation: head?.evaluation, output: head?.output }) }])
  const report = await verifyStore(store)
  t.same(brief(report.problems), ['paths inconsistent /data/raw'])
})
