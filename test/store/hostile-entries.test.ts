/**
 * Stored index entries that lie or are garbled: a memo entry pointing at
 * another valid artifact is not served, malformed heads, history, memo and
 * block keys are coded DDS_INTEGRITY errors, verify names every one and goes
 * on, and `repairStore` drops or rebuilds what can be done without.
 */
import t, { type Test } from 'tap'
import { open, type DdsInstance } from '../../lib/dds.js'
import { openStore, type Store } from '../../store/store.js'
import { verifyStore } from '../../store/verify.js'
import { repairStore } from '../../store/repair.js'
import { decodeNode, encodeNode, toMemoEntry, type MemoEntry } from '../../store/records.js'
import { historyKey, pathKey } from '../../store/keys.js'
import { isDdsError } from '../../store/errors.js'
import { hex } from '../../store/util.js'

declare global {
  // eslint-disable-next-line no-var
  var hostileRuns: Record<string, number>
}
globalThis.hostileRuns = {}
const ran = (name: string): number => globalThis.hostileRuns[name] ?? 0

function letterA (): string { globalThis.hostileRuns.a = ran('a') + 1; return 'value of a' }
function letterB (): string { globalThis.hostileRuns.b = ran('b') + 1; return 'value of b' }

async function setup (t: Test, kind: 'classic' | 'memory'): Promise<{ dds: DdsInstance, store: Store }> {
  const store = await openStore({ backend: kind, location: t.testdir() })
  const dds = await open({ store, log: false })
  t.teardown(async () => { await dds.close(); await store.close() })
  return { dds, store }
}

/** The memo entries filed for the evaluation a path points at. */
async function memoOf (store: Store, path: string): Promise<Array<{ key: Uint8Array, entry: MemoEntry }>> {
  const head = await store.headEntry(path)
  const out: Array<{ key: Uint8Array, entry: MemoEntry }> = []
  for await (const [key, value] of store.backend.entries('memo')) {
    const entry = toMemoEntry(decodeNode(value))
    if (head?.evaluation !== null && head?.evaluation !== undefined && entry.evaluation.equals(head.evaluation)) out.push({ key, entry })
  }
  return out
}

async function codeOf (p: Promise<unknown>): Promise<string> {
  try { await p; return 'no error' } catch (err) { return isDdsError(err) ? err.code : `${(err as Error).name}` }
}

for (const kind of ['classic', 'memory'] as const) {
  t.test(`${kind}: a memo entry pointing at another valid artifact is not served, and verify names it`, async (t) => {
    const { dds, store } = await setup(t, kind)
    globalThis.hostileRuns = {}
    t.equal(await dds.keep('/a', letterA), 'value of a')
    t.equal(await dds.keep('/b', letterB), 'value of b')
    const [a] = await memoOf(store, '/a')
    const bHead = await store.headEntry('/b')
    if (a === undefined || bHead?.output == null) throw new Error('setup')
    // The attacker's entry: /a's evaluation, /b's (valid, present) output.
    await store.backend.batch([{ type: 'put', space: 'memo', key: a.key, value: encodeNode({ ...a.entry, output: bHead.output }) }])

    const report = await verifyStore(store)
    t.equal(report.ok, false)
    t.same(report.problems.map((p) => [p.step, p.problem, p.memo]), [['memo', 'inconsistent', hex(a.key)]])

    t.equal(await dds.keep('/a', letterA), 'value of a', 'the true value, not /b\'s')
    t.equal(ran('a'), 2, 'computed again rather than served')
    t.equal(await dds.keep('/a', letterA), 'value of a')
    t.equal(ran('a'), 2, 'the recomputed entry replaced the bad one')
    t.equal((await verifyStore(store)).ok, true)
  })

  t.test(`${kind}: a memo entry filed under a key its evaluation does not answer is not served`, async (t) => {
    const { dds, store } = await setup(t, kind)
    globalThis.hostileRuns = {}
    await dds.keep('/a', letterA)
    await dds.keep('/b', letterB)
    const [a] = await memoOf(store, '/a')
    const [b] = await memoOf(store, '/b')
    if (a === undefined || b === undefined) throw new Error('setup')
    // /a's key now answers with /b's whole (self-consistent) entry.
    await store.backend.batch([{ type: 'put', space: 'memo', key: a.key, value: encodeNode(b.entry) }])
    t.same((await verifyStore(store)).problems.map((p) => [p.step, p.problem, p.memo]), [['memo', 'inconsistent', hex(a.key)]])
    t.equal(await dds.keep('/a', letterA), 'value of a')
    t.equal(ran('a'), 2)
  })

  t.test(`${kind}: a memo entry whose evaluation is gone is computed again, once`, async (t) => {
    const { dds, store } = await setup(t, kind)
    globalThis.hostileRuns = {}
    await dds.keep('/a', letterA)
    const [a] = await memoOf(store, '/a')
    if (a === undefined) throw new Error('setup')
    await store.backend.batch([{ type: 'del', space: 'blocks', key: a.entry.evaluation.bytes }])
    t.equal(await dds.keep('/a', letterA), 'value of a')
    t.equal(ran('a'), 2)
    t.equal(await dds.keep('/a', letterA), 'value of a')
    t.equal(ran('a'), 2, 'not "run again" forever')
  })

  t.test(`${kind}: garbled keys and values are coded errors; verify names each and goes on; repair drops them`, async (t) => {
    const { dds, store } = await setup(t, kind)
    globalThis.hostileRuns = {}
    await dds.keep('/a', letterA)
    await dds.keep('/b', letterB)
    await dds.keep('/c', letterA)
    const [a] = await memoOf(store, '/a')
    const [b] = await memoOf(store, '/b')
    const cHead = await store.headEntry('/c')
    if (a === undefined || b === undefined || cHead === undefined) throw new Error('setup')
    const badBlockKey = Uint8Array.of(1, 2, 3)
    await store.backend.batch([
      // A head shorter than its sequence number.
      { type: 'put', space: 'paths', key: pathKey('/a'), value: Uint8Array.of(0, 0, 1) },
      // A head that is valid but not its last history entry.
      { type: 'put', space: 'paths', key: pathKey('/c'), value: (await store.backend.get('paths', pathKey('/b'))) as Uint8Array },
      { type: 'put', space: 'memo', key: a.key, value: Uint8Array.of(0xff, 0x00) },
      { type: 'put', space: 'memo', key: b.key, value: encodeNode({ evaluation: 'nope' }) },
      { type: 'put', space: 'blocks', key: badBlockKey, value: Uint8Array.of(0, 1) },
      { type: 'put', space: 'history', key: historyKey('/b', 7), value: Uint8Array.of(0xa1) },
      { type: 'put', space: 'paths', key: Uint8Array.of(0x2f, 0xff), value: Uint8Array.of(1) }
    ])
    t.equal(await codeOf(store.headEntry('/a')), 'DDS_INTEGRITY', 'a short head is corruption, not a RangeError')
    t.equal(await codeOf(dds.load('/a')), 'DDS_INTEGRITY')

    const report = await verifyStore(store)
    const seen = report.problems.map((p) => `${p.step} ${p.problem} ${p.space ?? '-'} ${p.path ?? p.memo ?? p.key ?? ''}`).sort()
    t.same(seen, [
      'blocks malformed blocks 010203',
      `memo malformed memo ${hex(a.key)}`,
      `memo malformed memo ${hex(b.key)}`,
      'paths inconsistent paths /c',
      'paths malformed history /b',
      'paths malformed paths /a',
      'paths malformed paths 2fff'
    ].sort())

    const repairs = await repairStore(store, report.problems)
    t.same(repairs.map((r) => `${r.action} ${r.space} ${r.path ?? r.key}`).sort(), [
      'dropped blocks 010203',
      `dropped memo ${hex(a.key)}`,
      `dropped memo ${hex(b.key)}`,
      'dropped paths 2fff',
      'rebuilt paths /a',
      'rebuilt paths /c'
    ].sort())
    t.same((await store.headEntry('/c'))?.evaluation?.toString(), cHead.evaluation?.toString(), 'the head is its history again')
    const after = await verifyStore(store)
    t.same(after.problems.map((p) => `${p.step} ${p.problem} ${p.space ?? '-'} ${p.path ?? ''}`), ['paths malformed history /b'], 'history is reported, never dropped')
    t.equal(await dds.load('/a'), 'value of a')
    t.equal(await dds.keep('/a', letterA), 'value of a')
    t.equal(ran('a'), 2, '/a computed again once its memo entry was dropped (/c reused the first run)')
  })
}
