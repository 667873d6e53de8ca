/**
 * The trust model of imports (issue 12, items 1, 7 and 9): a bundle adds memo
 * answers only for its own entries' evaluations and never replaces a local
 * one; --data-only adds none; signed bundles and a store's trusted keys;
 * far-future history times; a root that repeats one chunk cannot make load
 * allocate what it claims; and import stays linear in the number of paths.
 */
import t, { type Test } from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { openStore, Pending, type Store } from '../../store/store.js'
import { exportBundle, importBundle } from '../../store/bundle.js'
import { generateKeyFile, readSecretKey, formatPublicKey, TRUSTED_KEYS_FILE } from '../../store/bundle-sign.js'
import { cidOf, DAG_CBOR_CODE } from '../../store/hash.js'
import type { CodeManifest } from '../../store/records.js'
import { fakeEvaluation, snapshot, SMALL } from '../cli/helpers/fake.js'
import { blocksOf, carBytes, withManifest } from '../helpers/car.js'
import { refusal, testDir } from '../helpers/stores.js'

let stores = 0
async function open (t: Test): Promise<Store> {
  const store = await openStore({ ...SMALL, location: join(testDir(t), `store-${stores++}`) })
  t.teardown(async () => { await store.close() })
  return store
}

/** A store with one path: `path` holding `value`, filed under memo key `key`. */
async function storeWith (t: Test, path: string, value: unknown, key?: Uint8Array): Promise<{ store: Store, key: Uint8Array, evaluation: string }> {
  const store = await open(t)
  const f = await fakeEvaluation(store, { path, value, ...(key === undefined ? {} : { key }) })
  await store.commit([{ path, evaluation: f.evaluation, output: f.output, time: 1_700_000_000_000 }], new Pending())
  return { store, key: f.key, evaluation: f.evaluation.toString() }
}

t.test('a bundle whose record claims another computation\'s memo key does not replace the local answer', async (t) => {
  const dir = testDir(t)
  const victim = await storeWith(t, '/victim/x', 'the victim\'s own value')
  // The attacker computes the victim's memo key (same source) and files its own value under it.
  const attacker = await storeWith(t, '/shared/y', 'the attacker\'s value', victim.key)
  const file = join(dir, 'attack.car')
  await exportBundle(attacker.store, ['/shared/y'], file)

  const result = await importBundle(victim.store, file)
  t.equal(result.paths[0]?.appended, 1, 'the named path is imported')
  t.equal(result.memo, 0, 'no memo answer is added over the local one')
  const answer = await victim.store.lookupMemo(victim.key)
  t.equal(answer?.evaluation.toString(), victim.evaluation, 'the victim\'s key still answers with its own evaluation')
  t.equal(await victim.store.readArtifact((await victim.store.head('/victim/x'))?.output ?? answer!.output), 'the victim\'s own value')
})

t.test('memo answers only for the evaluations of the imported entries and their calls, and none with dataOnly', async (t) => {
  const dir = testDir(t)
  const source = await open(t)
  const sub = await fakeEvaluation(source, { path: '/p/sub', value: 1 })
  const loaded = await fakeEvaluation(source, { path: '/p/loaded', value: 2 })
  const top = await fakeEvaluation(source, { path: '/p/top', value: 3, calls: [sub.evaluation], loads: [{ path: '/p/loaded', evaluation: loaded.evaluation, output: loaded.output }] })
  await source.commit([{ path: '/p/top', evaluation: top.evaluation, output: top.output, time: 1_700_000_000_000 }], new Pending())
  const file = join(dir, 'b.car')
  await exportBundle(source, ['/p/top'], file)

  const target = await open(t)
  const result = await importBundle(target, file)
  t.ok(await target.lookupMemo(top.key) !== undefined, 'the entry\'s evaluation answers its key')
  t.ok(await target.lookupMemo(sub.key) !== undefined, 'the evaluation it called answers its key')
  t.equal(await target.lookupMemo(loaded.key), undefined, 'the evaluation of a loaded path (carried, not imported) answers nothing')
  t.equal(result.memo, 3, 'top (primary and with loads) and sub')

  const plain = await open(t)
  const before = (await snapshot(plain) as Record<string, unknown>)['#memo']
  const data = await importBundle(plain, file, { dataOnly: true })
  t.equal(data.memo, 0)
  t.same((await snapshot(plain) as Record<string, unknown>)['#memo'], before, 'no memo entry at all')
  t.ok(await plain.head('/p/top') !== undefined, 'the value and history came in')
})

t.test('signed bundles and trusted keys', async (t) => {
  const dir = testDir(t)
  const source = await storeWith(t, '/s/v', 'signed value')
  const keyFile = join(dir, 'release.key')
  const pub = await generateKeyFile(keyFile)
  t.match(await readFile(`${keyFile}.pub`, 'utf8'), formatPublicKey(pub))
  await t.rejects(generateKeyFile(keyFile), { code: 'EEXIST' }, 'a key file is never overwritten')
  const otherFile = join(dir, 'other.key')
  await generateKeyFile(otherFile)
  const signed = join(dir, 'signed.car')
  const unsigned = join(dir, 'unsigned.car')
  const foreign = join(dir, 'foreign.car')
  await exportBundle(source.store, ['/s/v'], signed, { signWith: await readSecretKey(keyFile) })
  await exportBundle(source.store, ['/s/v'], unsigned)
  await exportBundle(source.store, ['/s/v'], foreign, { signWith: await readSecretKey(otherFile) })

  // A store that lists no key takes both, and says who signed.
  const open1 = await open(t)
  t.equal((await importBundle(open1, signed)).signer, formatPublicKey(pub))
  t.equal((await importBundle(open1, unsigned)).signer, undefined)

  const locked = await open(t)
  await writeFile(join(locked.location as string, TRUSTED_KEYS_FILE), `# release key\n${formatPublicKey(pub)} ci@example\n`)
  const before = await snapshot(locked)
  const e1 = await refusal(async () => await importBundle(locked, unsigned))
  t.match(e1, { code: 'DDS_BUNDLE_UNTRUSTED', data: { problem: 'unsigned' } })
  const e2 = await refusal(async () => await importBundle(locked, foreign))
  t.match(e2, { code: 'DDS_BUNDLE_UNTRUSTED', data: { problem: 'signature' } }, 'a key the store does not trust')
  // A signature that does not verify: the envelope's signature bytes altered, the CID made to match.
  const blocks = await blocksOf(await readFile(signed))
  const envelope = dagCbor.decode(blocks[0]!.bytes) as Record<string, unknown>
  const sig = (envelope.signature as Uint8Array).slice()
  sig[5] = (sig[5] as number) ^ 1
  const forgedBytes = dagCbor.encode({ ...envelope, signature: sig })
  const forgedCid = cidOf(forgedBytes, DAG_CBOR_CODE)
  const forged = join(dir, 'forged.car')
  await writeFile(forged, carBytes([forgedCid], [{ cid: forgedCid, bytes: forgedBytes }, ...blocks.slice(1)]))
  t.match(await refusal(async () => await importBundle(locked, forged)), { code: 'DDS_BUNDLE_UNTRUSTED', data: { problem: 'signature' } })
  // The signature covers the manifest: a signed envelope over another manifest (paths changed) does not verify.
  const manifest = dagCbor.decode(blocks[1]!.bytes) as { paths: Record<string, unknown> }
  const swappedBytes = dagCbor.encode({ ...manifest, paths: { '/s/other': manifest.paths['/s/v'] } })
  const swappedCid = cidOf(swappedBytes, DAG_CBOR_CODE)
  const swappedEnvBytes = dagCbor.encode({ ...envelope, manifest: swappedCid })
  const swappedEnv = cidOf(swappedEnvBytes, DAG_CBOR_CODE)
  const swapped = join(dir, 'swapped.car')
  await writeFile(swapped, carBytes([swappedEnv], [{ cid: swappedEnv, bytes: swappedEnvBytes }, { cid: swappedCid, bytes: swappedBytes }, ...blocks.slice(2)]))
  t.match(await refusal(async () => await importBundle(locked, swapped)), { code: 'DDS_BUNDLE_UNTRUSTED', data: { problem: 'signature' } })
  t.same(await snapshot(locked), before, 'refused bundles change nothing')
  // The trusted one imports; trustedKeys adds keys to the file's.
  t.equal((await importBundle(locked, signed)).paths[0]?.appended, 1)
  const viaOption = await open(t)
  t.match(await refusal(async () => await importBundle(viaOption, unsigned, { trustedKeys: [formatPublicKey(pub)] })), { code: 'DDS_BUNDLE_UNTRUSTED' })
  t.equal((await importBundle(viaOption, signed, { trustedKeys: [formatPublicKey(pub)] })).paths[0]?.appended, 1)
  // A trusted-keys file with a line that is not a key fails rather than trusting less than meant.
  await writeFile(join(viaOption.location as string, TRUSTED_KEYS_FILE), 'not a key\n')
  t.match(await refusal(async () => await importBundle(viaOption, signed)), { code: 'DDS_BUNDLE_UNTRUSTED', data: { problem: 'trusted-keys' } })
  t.match(await refusal(async () => await readSecretKey(`${keyFile}.pub`)), { code: 'DDS_BUNDLE_UNTRUSTED', data: { problem: 'key-file' } })
})

t.test('history times far in the future or invalid are refused and change nothing', async (t) => {
  const dir = testDir(t)
  const source = await storeWith(t, '/t/v', 'value')
  const good = join(dir, 'good.car')
  await exportBundle(source.store, ['/t/v'], good)
  const bundle = await readFile(good)
  const target = await open(t)
  const before = await snapshot(target)
  const file = join(dir, 'future.car')
  for (const time of [Date.now() + 400 * 24 * 3600 * 1000, 8.64e15, Number.MAX_SAFE_INTEGER, -5, 1.5]) {
    await writeFile(file, await withManifest(bundle, (m) => ({ ...m, paths: { '/t/v': [{ ...m.paths['/t/v']![0], time }] } })))
    t.match(await refusal(async () => await importBundle(target, file)), { code: 'DDS_BUNDLE_INVALID', data: { problem: 'time', path: '/t/v' } }, `time ${time}`)
  }
  t.same(await snapshot(target), before)
  // A time a little ahead (another machine's clock) is fine.
  await writeFile(file, await withManifest(bundle, (m) => ({ ...m, paths: { '/t/v': [{ ...m.paths['/t/v']![0], time: Date.now() + 60_000 }] } })))
  t.equal((await importBundle(target, file)).paths[0]?.appended, 1)
})

t.test('a root listing one chunk many times: load refuses over the limit before allocating, the bytes stream', async (t) => {
  const dir = testDir(t)
  const source = await open(t)
  const chunk = new Uint8Array(SMALL.chunkSize).fill(7)
  const pending = new Pending()
  const chunkCid = cidOf(chunk, 0x55)
  await source.stageBlock(chunkCid, chunk, pending)
  const repeats = 4096 // 64 MiB claimed by a bundle of one chunk
  const root = { enc: 'bytes', size: repeats * SMALL.chunkSize, chunkSize: SMALL.chunkSize, chunks: Array.from({ length: repeats }, () => chunkCid) }
  const rootBytes = dagCbor.encode(root)
  const rootCid = cidOf(rootBytes, DAG_CBOR_CODE)
  await source.stageBlock(rootCid, rootBytes, pending)
  await source.write(pending)
  const f = await fakeEvaluation(source, { path: '/z/zeros', value: 0 })
  // The evaluation's output is swapped for the repeated root by re-filing the record.
  const record = await source.getEvaluation(f.evaluation)
  const pending2 = new Pending()
  const { evaluation } = await source.stageEvaluation(await source.getNode(record.code, 'code manifest') as CodeManifest, { ...record, output: rootCid }, [], pending2)
  await source.write(pending2)
  await source.commit([{ path: '/z/zeros', evaluation, output: rootCid, time: 1_700_000_000_000 }], new Pending())
  const file = join(dir, 'zeros.car')
  await exportBundle(source, ['/z/zeros'], file)
  t.ok((await readFile(file)).byteLength < 200 * 1024, 'the bundle is tiny')

  const target = await openStore({ ...SMALL, location: join(dir, 'target'), loadLimit: 1 << 20 })
  t.teardown(async () => { await target.close() })
  await importBundle(target, file)
  t.match(await refusal(async () => await target.readArtifact(rootCid)), { code: 'DDS_LOAD_TOO_LARGE', data: { size: repeats * SMALL.chunkSize, limit: 1 << 20 } })
  let streamed = 0
  let largest = 0
  for await (const bytes of target.artifactBytes(rootCid)) {
    streamed += bytes.byteLength
    largest = Math.max(largest, bytes.byteLength)
  }
  t.equal(streamed, repeats * SMALL.chunkSize, 'the bytes stream, one chunk at a time')
  t.equal(largest, SMALL.chunkSize)
  await t.rejects(openStore({ backend: 'memory', loadLimit: -1 }), RangeError)
})

t.test('import is linear in the number of paths', async (t) => {
  const dir = testDir(t)
  const source = await open(t)
  const n = 4000
  const updates = []
  const pending = new Pending()
  const f = await fakeEvaluation(source, { path: '/many/0', value: 'v' })
  for (let i = 0; i < n; i++) updates.push({ path: `/many/p${i}`, evaluation: f.evaluation, output: f.output, time: 1_700_000_000_000 + i })
  await source.commit(updates, pending)
  const file = join(dir, 'many.car')
  await exportBundle(source, updates.map((u) => u.path), file)
  const target = await open(t)
  const started = process.hrtime.bigint()
  const result = await importBundle(target, file)
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  t.equal(result.paths.filter((p) => p.appended === 1).length, n)
  t.comment(`${n} paths imported in ${ms.toFixed(0)} ms`)
})
