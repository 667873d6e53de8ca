/**
 * gc --keep-history racing a keep that hits an old evaluation: whatever a
 * commit makes reachable while gc runs survives it. Once with the commit
 * placed inside gc's mark phase on purpose, then in a bounded loop of
 * concurrent runs, each followed by load and verify.
 */
import t, { type Test } from 'tap'
import { open, type DdsInstance } from '../../lib/dds.js'
import { openStore, type Store } from '../../store/store.js'
import { gc } from '../../store/gc.js'
import { verifyStore } from '../../store/verify.js'

function version (n: number): string { return `version ${n}` }

async function setup (t: Test, kind: 'classic' | 'memory'): Promise<{ dds: DdsInstance, store: Store }> {
  const store = await openStore({ backend: kind, location: t.testdir() })
  const dds = await open({ store, log: false })
  t.teardown(async () => { await dds.close(); await store.close() })
  return { dds, store }
}

async function checkSurvived (t: Test, dds: DdsInstance, store: Store, what: string): Promise<void> {
  t.equal(await dds.load('/p'), 'version 1', `${what}: the head the keep committed still loads`)
  const report = await verifyStore(store)
  t.same(report.problems.map((p) => p.message), [], `${what}: verify is clean`)
}

for (const kind of ['classic', 'memory'] as const) {
  t.test(`${kind}: a hit committed during gc's mark phase survives the sweep`, async (t) => {
    const { dds, store } = await setup(t, kind)
    await dds.keep('/p', version, 1)
    await dds.keep('/p', version, 2)
    // gc reads the memo index after marking the paths: the keep runs there, inside the mark.
    const memoEntries = store.memoEntries.bind(store)
    let hits = 0
    store.memoEntries = async function * () {
      t.equal(await dds.keep('/p', version, 1), 'version 1')
      hits++
      yield * memoEntries()
    }
    const report = await gc(store, { keepHistory: 1, graceMs: 0 })
    t.equal(hits, 1)
    t.equal(report.history, 1, 'the old entry of /p was trimmed')
    await checkSurvived(t, dds, store, 'placed')
  })

  t.test(`${kind}: gc and hits on old evaluations, concurrently, in a bounded loop`, async (t) => {
    const { dds, store } = await setup(t, kind)
    for (let i = 0; i < 12; i++) {
      await dds.keep('/p', version, 1)
      await dds.keep('/p', version, 2)
      await Promise.all([
        gc(store, { keepHistory: 1, graceMs: 0 }),
        (async () => { for (let k = 0; k < i % 4; k++) await Promise.resolve(); return await dds.keep('/p', version, 1) })()
      ])
      t.equal(await dds.load('/p'), 'version 1', `round ${i}`)
    }
    await checkSurvived(t, dds, store, 'looped')
  })
}
