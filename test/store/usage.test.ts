/**
 * "Last used": hits are noted in memory and written in one batch with the
 * next commit, by the timer or at close; a hit itself writes nothing.
 */
import t from 'tap'
import { open } from '../../lib/dds.js'
import { openStore } from '../../store/store.js'
import { lastUses, UsageLog } from '../../store/usage.js'
import { USED_PREFIX, usedKey } from '../../store/keys.js'
import type { BatchOp } from '../../store/interface.js'
import { exportBundle, importBundle } from '../../store/bundle.js'
import { join } from 'node:path'

function double (x: number): number { return x * 2 }
function triple (x: number): number { return x * 3 }

t.test('hits write nothing until a commit or close carries them, in one batch', async (t) => {
  const location = t.testdir()
  const store = await openStore({ location })
  const dds = await open({ store, log: false })
  await dds.keep('/d', double, 2)
  const head = await store.head('/d')
  t.ok(head !== undefined)
  t.same([...(await lastUses(store.backend)).keys()], [], 'a computed value has no last use yet: its run is its use')

  const batches: BatchOp[][] = []
  const batch = store.backend.batch.bind(store.backend)
  store.backend.batch = async (ops, options) => { batches.push(ops); await batch(ops, options) }
  const commit = store.backend.commit.bind(store.backend)
  store.backend.commit = async (updates, ops, options) => { batches.push(ops); return await commit(updates, ops, options) }
  for (let i = 0; i < 50; i++) t.equal(await dds.keep('/d', double, 2), 4)
  t.same(batches, [], '50 hits: no write')

  const before = Date.now()
  await dds.keep('/t', triple, 2) // a miss: its commit carries the pending hits
  // The meta space holds other records too (persisted code analyses): count the last-use ones.
  const carried = batches.flat().filter((op) => op.space === 'meta' && Buffer.from(op.key).toString('latin1').startsWith(USED_PREFIX))
  t.equal(carried.length, 1, 'one last-use put for the 50 hits of one evaluation')
  const uses = await lastUses(store.backend)
  const used = uses.get(head!.evaluation!.toString())
  t.ok(used !== undefined && used >= before, 'the time is that of the flush, not earlier')

  batches.length = 0
  await dds.keep('/t', triple, 2)
  await dds.close()
  await store.close()
  t.equal(batches.length, 1, 'close writes the hits left')
  const again = await openStore({ location })
  t.ok((await lastUses(again.backend)).has((await again.head('/t'))!.evaluation!.toString()), 'persisted')
  await again.close()
})

t.test('the timer flushes; a read-only or failing backend loses only the times', async (t) => {
  const store = await openStore({ backend: 'memory' })
  t.teardown(async () => { await store.close() })
  const dds = await open({ store, log: false })
  await dds.keep('/d', double, 1)
  const evaluation = (await store.head('/d'))!.evaluation!

  const errors: unknown[] = []
  const timers: Array<() => void> = []
  const log = new UsageLog(store.backend, 5000, (fn) => { timers.push(fn); return { unref () {} } })
  log.onError = (err) => { errors.push(err) }
  log.note(evaluation)
  log.note(evaluation)
  t.equal(timers.length, 1, 'one timer for any number of hits')
  timers[0]!()
  await log.flush() // queued behind the timer's write
  t.ok((await lastUses(store.backend)).has(evaluation.toString()), 'the timer wrote the hit')

  const failing = new UsageLog({ ...store.backend, batch: async () => { throw new Error('disk full') } } as unknown as typeof store.backend)
  failing.onError = (err) => { errors.push(err) }
  failing.note(evaluation)
  await failing.flush()
  failing.stop()
  t.match(errors, [{ message: 'disk full' }], 'the failure is reported, not thrown')

  const readOnly = new UsageLog({ ...store.backend, readOnly: 'opened read-only' } as unknown as typeof store.backend)
  readOnly.note(evaluation)
  t.same(readOnly.drain(), [], 'nothing to write into a read-only store')
  readOnly.stop()
  t.equal(usedKey(evaluation.bytes).byteLength, 5 + evaluation.bytes.byteLength)
})

t.test('a question about an answer is not a use: peekMemo and a bundle import write no last-use time', async (t) => {
  const dir = t.testdir()
  const source = await openStore({ backend: 'memory' })
  const target = await openStore({ backend: 'memory' })
  t.teardown(async () => { await source.close(); await target.close() })
  const dds = await open({ store: source, log: false })
  await dds.keep('/d', double, 5)
  const file = join(dir, 'd.car')
  await exportBundle(source, ['/d'], file)
  await importBundle(target, file)
  // The second import finds every memo key answered already (what it asks of each key is a peek).
  await importBundle(target, file)
  const [key] = await collectKeys(target)
  t.ok(key !== undefined, 'the import brought a memo entry')
  t.ok((await target.peekMemo(key!)) !== undefined)
  await target.usage.flush()
  t.same([...(await lastUses(target.backend)).keys()], [], 'imports and peeks left no last use')
  t.ok((await target.lookupMemo(key!)) !== undefined)
  await target.usage.flush()
  t.equal((await lastUses(target.backend)).size, 1, 'a lookup (what a keep does) is one')
})

async function collectKeys (store: Awaited<ReturnType<typeof openStore>>): Promise<Uint8Array[]> {
  const keys: Uint8Array[] = []
  for await (const { key } of store.memoEntries()) keys.push(key)
  return keys
}
