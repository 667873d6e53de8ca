/**
 * What comes down from the remote is checked against its CID before it is
 * used or cached: a block, a chunk of a large artifact or a memo answer
 * replaced with other bytes is refused with DDS_INTEGRITY, and nothing of it
 * lands in the local store. A memo answer filed under a key its record does
 * not claim is not taken, and a remote answer never replaces a local one.
 */
import t from 'tap'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { open } from '../../lib/dds.js'
import { openStore } from '../../store/store.js'
import { pullPaths } from '../../store/remote/index.js'
import { remotes } from './helpers/env.js'
import { encodeNode } from '../../store/records.js'
import { cidOf, DAG_CBOR_CODE } from '../../store/hash.js'
import type { CID } from 'multiformats/cid'

const envs = remotes(t)

function text (n: number): string {
  return `text ${n}`
}

/** The same call gives another value each time it runs (what it reads is not part of its signature). */
function stamp (n: number): string {
  return `${n} ${Math.random()}`
}

function bytes (n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + (i >> 20) * 7) & 0xff
  return out
}

for (const env of envs) {
  t.test(`${env.name}: a corrupted block is refused`, async (t) => {
    const prefix = env.prefix('block')
    const dir = t.testdir()
    const a = await open({ store: join(dir, 'a'), remote: env.remote(prefix, 0) })
    await a.keep('/x', text, 1)
    const head = await a.store.headEntry('/x')
    await a.close()
    const rootKey = `blocks/${head?.output?.toString() ?? ''}`
    const original = await env.read(prefix, rootKey)
    const damaged = original.slice()
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 0x01
    await env.overwrite(prefix, rootKey, damaged)

    const b = await open({ store: join(dir, 'b'), remote: env.remote(prefix, 1) })
    await t.rejects(b.load('/x'), { code: 'DDS_INTEGRITY', data: { cid: head?.output?.toString() } })
    t.equal(await b.store.local.blocks.getBlock(head?.output as never), undefined, 'not cached')
    await b.close()
    // Put right again, it loads.
    await env.overwrite(prefix, rootKey, original)
    const c = await open({ store: join(dir, 'c'), remote: env.remote(prefix, 1) })
    t.equal(await c.load('/x'), 'text 1')
    await c.close()
  })

  t.test(`${env.name}: a corrupted chunk of a large artifact is refused, and no chunk is cached`, async (t) => {
    const prefix = env.prefix('pack')
    const dir = t.testdir()
    const a = await open({ store: join(dir, 'a'), remote: env.remote(prefix, 0) })
    await a.keep('/big', bytes, 3 * 1024 * 1024)
    const head = await a.store.headEntry('/big')
    const root = await a.store.getArtifactRoot(head?.output as never)
    await a.close()
    const packKey = `packs/${head?.output?.toString() ?? ''}`
    const original = await env.read(prefix, packKey)
    const damaged = original.slice()
    damaged[2 * 1024 * 1024 + 5] = (damaged[2 * 1024 * 1024 + 5] ?? 0) ^ 0xff
    await env.overwrite(prefix, packKey, damaged)

    const b = await open({ store: join(dir, 'b'), remote: env.remote(prefix, 1) })
    await t.rejects(b.load('/big'), { code: 'DDS_INTEGRITY', data: { cid: root.chunks?.[2]?.toString() } })
    for (const c of root.chunks ?? []) t.notOk(await b.store.hasBlock(c), `chunk ${c.toString().slice(-6)} not in the local store`)
    // Cut short: refused too.
    await env.overwrite(prefix, packKey, original.subarray(0, original.byteLength - 10))
    await t.rejects(b.load('/big'), { code: 'DDS_INTEGRITY' })
    await env.overwrite(prefix, packKey, original)
    t.equal((await b.load<Uint8Array>('/big')).byteLength, 3 * 1024 * 1024)
    await b.close()
  })

  t.test(`${env.name}: a memo answer with a record that is not its own is refused`, async (t) => {
    const prefix = env.prefix('memo')
    const dir = t.testdir()
    const a = await open({ store: join(dir, 'a'), remote: env.remote(prefix, 0) })
    await a.keep('/one', text, 1)
    await a.keep('/two', text, 2)
    await a.close()
    const memo = (await env.keys(prefix, 'memo/')).sort()
    t.equal(memo.length, 2)
    // Each answer says it answers the other's key.
    const [k1, k2] = memo as [string, string]
    const [m1, m2] = [await env.read(prefix, k1), await env.read(prefix, k2)]
    await env.overwrite(prefix, k1, m2)
    await env.overwrite(prefix, k2, m1)
    // The same calls at other paths: their heads carry no answer, so the memo answers are read.
    const b = await open({ store: join(dir, 'b'), remote: env.remote(prefix, 1) })
    await t.rejects(b.keep('/elsewhere/one', text, 1), { code: 'DDS_INTEGRITY' })
    // Bytes that are not an answer at all.
    await env.overwrite(prefix, k1, new TextEncoder().encode('not cbor at all'))
    await env.overwrite(prefix, k2, new TextEncoder().encode('not cbor at all'))
    await t.rejects(b.keep('/elsewhere/two', text, 2), { code: 'DDS_INTEGRITY' })
    await b.close()
    const local = await openStore({ location: join(dir, 'b') })
    let cached = 0
    for await (const e of local.memoEntries()) { void e; cached++ }
    t.equal(cached, 0, 'no memo entry was cached')
    await local.close()
  })

  t.test(`${env.name}: a head carrying another evaluation's memo answer is refused`, async (t) => {
    const prefix = env.prefix('head')
    const dir = t.testdir()
    const a = await open({ store: join(dir, 'a'), remote: env.remote(prefix, 0) })
    await a.keep('/one', text, 1)
    await a.keep('/two', text, 2)
    await a.close()
    const h1 = dagCbor.decode(await env.read(prefix, 'head/one')) as Record<string, unknown>
    const h2 = dagCbor.decode(await env.read(prefix, 'head/two')) as Record<string, unknown>
    t.ok(h1.memo !== undefined, 'heads carry the memo answer of their evaluation')
    await env.overwrite(prefix, 'head/one', dagCbor.encode({ ...h1, memo: h2.memo }))
    const b = await open({ store: join(dir, 'b'), remote: env.remote(prefix, 1) })
    await t.rejects(b.keep('/one', text, 1), { code: 'DDS_INTEGRITY' })
    await t.rejects(b.load('/one'), { code: 'DDS_INTEGRITY' })
    // A record that does not hash to its CID.
    const memo = h1.memo as Record<string, unknown>
    const record = (memo.record as Uint8Array).slice()
    record[record.length - 1] = (record[record.length - 1] ?? 0) ^ 1
    await env.overwrite(prefix, 'head/one', dagCbor.encode({ ...h1, memo: { ...memo, record } }))
    await t.rejects(b.load('/one'), { code: 'DDS_INTEGRITY' })
    t.equal(await b.keep('/two', text, 2), 'text 2', 'other paths are not affected')
    await b.close()
  })

  t.test(`${env.name}: a remote memo answer under a key its record does not claim is not taken`, async (t) => {
    const prefix = env.prefix('claims')
    const dir = t.testdir()
    const a = await open({ store: join(dir, 'a'), remote: env.remote(prefix, 0) })
    await a.keep('/x', text, 1)
    await a.keep('/y', text, 2)
    const answers = new Map<string, { key: Uint8Array, evaluation: string }>()
    for await (const { key, entry } of a.store.local.memo.memoEntries()) {
      const record = await a.store.getEvaluation(entry.evaluation)
      answers.set(record.path ?? '', { key, evaluation: entry.evaluation.toString() })
    }
    const x = answers.get('/x')
    const y = answers.get('/y')
    if (x === undefined || y === undefined) throw new Error('no memo answers')
    // The attacker files, under /x's key, a record of /y that loaded a path
    // (so the remote cannot tell its other key from its signature alone).
    const yEvaluation = (await a.store.headEntry('/y'))?.evaluation as CID
    const yRecord = await a.store.getEvaluation(yEvaluation)
    const forged = encodeNode({ ...yRecord, loads: [{ path: '/z', evaluation: yEvaluation, output: yRecord.output }] })
    const forgedCid = cidOf(forged, DAG_CBOR_CODE)
    await a.close()
    const hex = (k: Uint8Array): string => Buffer.from(k).toString('hex')
    await env.overwrite(prefix, `memo/${hex(x.key)}`, dagCbor.encode({ key: x.key, evaluation: forgedCid, record: forged }))

    const b = await open({ store: join(dir, 'b'), remote: env.remote(prefix, 1) })
    t.equal(await b.store.lookupMemo(x.key), undefined, 'the forged answer is not taken')
    t.equal((await b.store.lookupMemo(y.key))?.evaluation.toString(), y.evaluation, 'the honest one is')
    t.equal(await b.keep('/x', text, 1), 'text 1', 'the keep computes its own value')
    await b.close()
  })

  t.test(`${env.name}: a remote answer never replaces a local one, on a keep or a pull`, async (t) => {
    const prefix = env.prefix('local-first')
    const dir = t.testdir()
    const a = await open({ store: join(dir, 'a'), remote: env.remote(prefix, 0) })
    const theirs = await a.keep('/x', stamp, 1)
    await a.close()
    // b answers the same key itself, before it knows the remote.
    const alone = await open({ store: join(dir, 'b') })
    const mine = await alone.keep('/x', stamp, 1)
    t.not(mine, theirs, 'two answers to one key')
    const [answer] = await collectMemo(alone.store)
    await alone.close()
    if (answer === undefined) throw new Error('no memo answer')

    const b = await open({ store: join(dir, 'b'), remote: env.remote(prefix, 1) })
    t.equal(await b.keep('/x', stamp, 1), mine, 'the keep returns the local answer')
    t.equal(await b.keep('/y', stamp, 1), mine, 'and so does the same call at a new path')
    await pullPaths(b.store, ['/x'])
    t.equal((await b.store.lookupMemo(answer.key))?.evaluation.toString(), answer.evaluation, 'after a pull the key still answers with the local evaluation')
    t.equal(await b.keep('/z', stamp, 1), mine, 'a keep after the pull too')
    await b.close()
  })
}

async function collectMemo (store: { local: { memo: { memoEntries: () => AsyncIterable<{ key: Uint8Array, entry: { evaluation: CID } }> } } }): Promise<Array<{ key: Uint8Array, evaluation: string }>> {
  const out = []
  for await (const { key, entry } of store.local.memo.memoEntries()) out.push({ key, evaluation: entry.evaluation.toString() })
  return out
}
