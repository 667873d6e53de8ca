/**
 * Bundles: export, import into empty and non-empty stores, the CAR they are
 * (read back with @ipld/car, every block re-hashed here), and refusal of
 * truncated, corrupted and hostile files with the store left as it was.
 */
import t, { type Test } from 'tap'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { CarReader } from '@ipld/car/reader'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { openStore, Pending, type Store } from '../../store/store.js'
import { exportBundle, importBundle } from '../../store/bundle.js'
import { verifyStore } from '../../store/verify.js'
import { cidOf, DAG_CBOR_CODE, RAW_CODE } from '../../store/hash.js'
import { encodeNode } from '../../store/records.js'
import { fakeEvaluation, pipeline, snapshot, SMALL } from '../cli/helpers/fake.js'
import { collect, refusal } from '../helpers/stores.js'
import { blocksOf, carBytes as car, varint } from '../helpers/car.js'

const dirs = new WeakMap<Test, string>()
/** One temporary directory per test (tap recreates it on each testdir() call). */
function tmp (t: Test, name: string): string {
  let dir = dirs.get(t)
  if (dir === undefined) {
    dir = t.testdir()
    dirs.set(t, dir)
  }
  return join(dir, name)
}

let stores = 0
async function open (t: Test, kind: 'classic' | 'memory' = 'classic'): Promise<Store> {
  const store = await openStore({ ...SMALL, backend: kind, location: tmp(t, `store-${stores++}`) })
  t.teardown(async () => { await store.close() })
  return store
}

async function blockCount (store: Store): Promise<number> {
  return (await collect(store.blockCIDs())).length
}

for (const kind of ['classic', 'memory'] as const) {
  t.test(`${kind}: export, import into an empty store: same history, values, memo`, async (t) => {
    const src = await open(t)
    const p = await pipeline(src)
    const file = tmp(t, 'b.car')
    const exported = await exportBundle(src, ['/data/clean', '/data/big', '/data/raw'], file)
    t.same(Object.keys(exported.manifest.paths), ['/data/big', '/data/clean', '/data/raw'])

    const dst = await open(t, kind)
    const result = await importBundle(dst, file)
    t.ok(result.root.equals(exported.root))
    t.equal(result.blocks, exported.blocks, 'every block of the file was read')
    t.same(result.paths.map((x) => [x.path, x.appended, x.skipped, x.kept]), [['/data/big', 1, 0, undefined], ['/data/clean', 1, 0, undefined], ['/data/raw', 1, 0, undefined]])
    for (const path of ['/data/raw', '/data/big', '/data/clean']) {
      const a = await src.head(path)
      const b = await dst.head(path)
      t.equal(b?.evaluation?.toString(), a?.evaluation?.toString(), `${path}: same evaluation`)
      t.equal(b?.time, a?.time, `${path}: original time`)
      t.equal(b?.imported, true, `${path}: marked imported`)
    }
    t.same(await dst.readArtifact(p.big.output), p.bigValue)
    t.equal(await dst.readArtifact(p.raw.output), 'a,b\n1,2\n')
    // The child evaluation came along through `calls`, and the memo entries answer the same keys.
    t.equal((await dst.getEvaluation(p.sub.evaluation)).path, '/data/sub')
    for (const f of [p.raw, p.big, p.sub, p.clean]) t.ok((await dst.lookupMemo(f.key))?.evaluation.equals(f.evaluation), 'memo entry')
    t.equal(result.memo, 5, 'four evaluations, and /data/clean also under its key with its loads')
    t.equal(await dst.head('/data/sub'), undefined, 'only exported paths are committed')
    const report = await verifyStore(dst)
    t.same(report.problems, [])

    // Importing again changes nothing.
    const before = await snapshot(dst)
    const again = await importBundle(dst, file)
    t.equal(again.written, 0)
    t.same(again.paths.map((x) => x.kept), ['same', 'same', 'same'])
    t.same(await snapshot(dst), before)
  })
}

t.test('the bundle is a CARv1 an independent reader accepts, every block matching its CID', async (t) => {
  const src = await open(t)
  await pipeline(src)
  const file = tmp(t, 'b.car')
  const exported = await exportBundle(src, ['/data/clean', '/data/big'], file)
  const bytes = await readFile(file)
  const reader = await CarReader.fromBytes(bytes)
  t.equal(reader.version, 1)
  const roots = await reader.getRoots()
  t.equal(roots.length, 1)
  t.equal(roots[0]?.toString(), exported.root.toString())
  const seen = new Set<string>()
  let n = 0
  for await (const { cid, bytes } of reader.blocks()) {
    n++
    t.notOk(seen.has(cid.toString()), 'no duplicate')
    seen.add(cid.toString())
    t.equal(cid.multihash.code, 0x12)
    t.same(new Uint8Array(createHash('sha256').update(bytes).digest()), cid.multihash.digest, `block ${cid} hashes to its CID`)
  }
  t.equal(n, exported.blocks)
  const root = await reader.get(roots[0] as never)
  const manifest = dagCbor.decode(root?.bytes as Uint8Array) as { format: string, paths: Record<string, unknown[]> }
  t.equal(manifest.format, 'dds-bundle/1')
  t.same(Object.keys(manifest.paths), ['/data/big', '/data/clean'])
})

t.test('--history exports every entry, oldest first, and import replays them', async (t) => {
  const src = await open(t)
  const a = await fakeEvaluation(src, { path: '/p', value: 'one' })
  const b = await fakeEvaluation(src, { path: '/p', value: 'two' })
  await src.commit([{ path: '/p', evaluation: a.evaluation, output: a.output, time: 1000 }])
  await src.commit([{ path: '/p', evaluation: b.evaluation, output: b.output, time: 2000 }])
  await src.commit([{ path: '/p', evaluation: a.evaluation, output: a.output, time: 3000, hit: true }])
  const file = tmp(t, 'h.car')
  const exported = await exportBundle(src, ['/p'], file, { history: true })
  t.same(exported.manifest.paths['/p']?.map((e) => e.time), [1000, 2000, 3000])
  const headOnly = await exportBundle(src, ['/p'], tmp(t, 'one.car'))
  t.same(headOnly.manifest.paths['/p']?.map((e) => e.time), [3000])

  const dst = await open(t)
  await importBundle(dst, file)
  const h = await collect(dst.history('/p'))
  t.same(h.map((e) => [e.seq, e.time, e.evaluation?.toString(), e.hit === true, e.imported]), [
    [3, 3000, a.evaluation.toString(), true, true],
    [2, 2000, b.evaluation.toString(), false, true],
    [1, 1000, a.evaluation.toString(), false, true]
  ])
})

t.test('--history carries deletions; a deleted path cannot be exported alone', async (t) => {
  const src = await open(t)
  const a = await fakeEvaluation(src, { path: '/gone', value: 'was here' })
  await src.commit([{ path: '/gone', evaluation: a.evaluation, output: a.output, time: 1000 }])
  await src.deletePath('/gone')
  t.equal((await refusal(async () => await exportBundle(src, ['/gone'], tmp(t, 'x.car')))).code, 'DDS_PATH_NOT_FOUND')
  const file = tmp(t, 'h.car')
  await exportBundle(src, ['/gone'], file, { history: true })
  const dst = await open(t, 'memory')
  const result = await importBundle(dst, file)
  t.same(result.paths, [{ path: '/gone', appended: 2, skipped: 0 }])
  t.equal(await dst.head('/gone'), undefined)
  t.same((await collect(dst.history('/gone'))).map((e) => e.evaluation?.toString() ?? null), [null, a.evaluation.toString()])
  t.equal(await dst.readArtifact(a.output), 'was here')
})

t.test('a newer local head is kept, and reported', async (t) => {
  const src = await open(t)
  const old = await fakeEvaluation(src, { path: '/p', value: 'old' })
  await src.commit([{ path: '/p', evaluation: old.evaluation, output: old.output, time: 1000 }])
  const file = tmp(t, 'b.car')
  await exportBundle(src, ['/p'], file)

  const dst = await open(t)
  const mine = await fakeEvaluation(dst, { path: '/p', value: 'mine' })
  await dst.commit([{ path: '/p', evaluation: mine.evaluation, output: mine.output, time: 5000 }])
  const result = await importBundle(dst, file)
  t.same(result.paths, [{ path: '/p', appended: 0, skipped: 1, kept: 'newer' }])
  t.ok((await dst.head('/p'))?.evaluation?.equals(mine.evaluation))
  t.equal((await collect(dst.history('/p'))).length, 1)
})

t.test('an overlapping live path is refused before anything is written', async (t) => {
  const src = await open(t)
  const a = await fakeEvaluation(src, { path: '/f/g', value: 'x' })
  await src.commit([{ path: '/f/g', evaluation: a.evaluation, output: a.output, time: 1000 }])
  const file = tmp(t, 'b.car')
  await exportBundle(src, ['/f/g'], file)
  const dst = await open(t)
  const f = await fakeEvaluation(dst, { path: '/f', value: 'y' })
  await dst.commit([{ path: '/f', evaluation: f.evaluation, output: f.output, time: 500 }])
  const before = await snapshot(dst)
  const blocks = await blockCount(dst)
  const err = await refusal(async () => await importBundle(dst, file))
  t.equal(err.code, 'DDS_OVERLAPPING_PATH')
  t.same(await snapshot(dst), before)
  t.equal(await blockCount(dst), blocks)
})

t.test('export of a path with no value, or with a block missing, is refused and leaves no file', async (t) => {
  const src = await open(t)
  const p = await pipeline(src)
  const dir = tmp(t, 'files')
  await mkdir(dir, { recursive: true })
  t.equal((await refusal(async () => await exportBundle(src, ['/nope'], join(dir, 'x.car')))).code, 'DDS_PATH_NOT_FOUND')
  const chunk = (await src.getArtifactRoot(p.big.output)).chunks?.[1] as CID
  await src.deleteBlocks([chunk])
  const err = await refusal(async () => await exportBundle(src, ['/data/big'], join(dir, 'y.car')))
  t.equal(err.code, 'DDS_NOT_FOUND')
  t.equal(err.data.cid, chunk.toString())
  const { readdir } = await import('node:fs/promises')
  t.same(await readdir(dir), [], 'no partial or temporary file')
})

t.test('hostile bundles are refused with DDS_BUNDLE_INVALID and the store is unchanged', async (t) => {
  const src = await open(t)
  const p = await pipeline(src)
  const dir = tmp(t, 'files')
  await mkdir(dir, { recursive: true })
  const file = join(dir, 'good.car')
  await exportBundle(src, ['/data/clean', '/data/big'], file)
  const good = await readFile(file)
  const blocks = await blocksOf(good)
  const root = blocks[0]?.cid as CID

  const dst = await open(t)
  const mine = await fakeEvaluation(dst, { path: '/data/clean', value: 'local' })
  await dst.commit([{ path: '/data/clean', evaluation: mine.evaluation, output: mine.output, time: 1 }])
  const before = await snapshot(dst)
  const count = await blockCount(dst)

  let n = 0
  const refuse = async (name: string, bytes: Uint8Array, problem?: string, cid?: CID): Promise<void> => {
    const f = join(dir, `bad-${n++}.car`)
    await writeFile(f, bytes)
    const err = await refusal(async () => await importBundle(dst, f))
    t.equal(err.code, 'DDS_BUNDLE_INVALID', `${name}: code`)
    if (problem !== undefined) t.equal(err.data.problem, problem, `${name}: problem`)
    if (cid !== undefined) t.equal(err.data.cid, cid.toString(), `${name}: names the block`)
  }

  await refuse('empty file', new Uint8Array(0), 'truncated')
  await refuse('a text file', Buffer.from('path,value\n/data/raw,1\n'.repeat(20)))
  await refuse('absurd header length', Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 'too-large')
  await refuse('CARv2 header', car([root], [], { version: 2 }), 'header')
  await refuse('two roots', car([root, root], blocks), 'root')
  await refuse('root not in the file', car([cidOf(Buffer.from('elsewhere'), DAG_CBOR_CODE)], blocks), 'root')
  await refuse('root is not a manifest', car([p.clean.evaluation], blocks), 'manifest')
  const last = blocks[blocks.length - 1] as { cid: CID, bytes: Uint8Array }
  await refuse('duplicate block', car([root], [...blocks, last]), 'duplicate', last.cid)
  const chunk = (await src.getArtifactRoot(p.big.output)).chunks?.[2] as CID
  await refuse('missing chunk', car([root], blocks.filter((b) => !b.cid.equals(chunk))), 'missing', chunk)
  await refuse('missing child evaluation', car([root], blocks.filter((b) => !b.cid.equals(p.sub.evaluation))), 'missing', p.sub.evaluation)
  const swapped = blocks.map((b) => (b.cid.equals(chunk) ? { cid: chunk, bytes: (blocks.find((x) => x.cid.equals(p.raw.output)) as { bytes: Uint8Array }).bytes } : b))
  await refuse('block under a wrong CID', car([root], swapped), 'hash-mismatch', chunk)
  {
    // An argument block (optional) under a CID of another codec: same hash, same count, not reached.
    const input = blocks.find((b) => b.cid.code === DAG_CBOR_CODE && dagCbor.decode(b.bytes) === 42) as { cid: CID, bytes: Uint8Array }
    const recoded = CID.createV1(RAW_CODE, input.cid.multihash)
    await refuse('a block under a CID of another codec', car([root], blocks.map((b) => (b === input ? { cid: recoded, bytes: b.bytes } : b))), 'extra', recoded)
  }
  {
    // A section length far beyond the file.
    const bytes = car([root], blocks.slice(0, 2))
    const tail = Buffer.concat([bytes, varint(2 ** 40), Buffer.alloc(10)])
    await refuse('absurd section length', tail, 'too-large')
  }
  {
    // Links that form a cycle cannot have matching hashes: the CIDs lie.
    const fakeA = cidOf(Buffer.from('a'), DAG_CBOR_CODE)
    const fakeB = cidOf(Buffer.from('b'), DAG_CBOR_CODE)
    await refuse('a link cycle', car([root], [...blocks, { cid: fakeA, bytes: dagCbor.encode({ next: fakeB }) }, { cid: fakeB, bytes: dagCbor.encode({ next: fakeA }) }]), 'hash-mismatch', fakeA)
  }
  {
    // A well-hashed artifact root claiming an absurd size, over real chunks.
    const realRoot = await src.getArtifactRoot(p.big.output)
    const hostileRoot = encodeNode({ enc: 'bytes', size: 2 ** 50, chunkSize: 2 ** 49, chunks: realRoot.chunks?.slice(0, 2) })
    const hostileCid = cidOf(hostileRoot, DAG_CBOR_CODE)
    const pending = new Pending()
    await src.stageBlock(hostileCid, hostileRoot, pending)
    const { evaluation } = await src.stageEvaluation((await src.getManifest((await src.getEvaluation(p.raw.evaluation)).code)), {
      kind: 'keep', path: '/x', fn: { name: 'x' }, signature: new Uint8Array(32), inputs: [], loads: [], calls: [], output: hostileCid, started: 1, duration: 1
    }, [], pending)
    await src.write(pending)
    const manifest = encodeNode({ format: 'dds-bundle/1', created: 1, paths: { '/x': [{ time: 1, evaluation, output: hostileCid }] } })
    const mcid = cidOf(manifest, DAG_CBOR_CODE)
    const rec = { cid: evaluation, bytes: await src.getBlock(evaluation) as Uint8Array }
    const code = (await src.getEvaluation(evaluation)).code
    const parts = [{ cid: mcid, bytes: manifest }, rec, { cid: code, bytes: await src.getBlock(code) as Uint8Array }, { cid: hostileCid, bytes: hostileRoot }]
    for (const c of realRoot.chunks?.slice(0, 2) ?? []) parts.push({ cid: c, bytes: await src.getBlock(c) as Uint8Array })
    await refuse('absurd artifact size', car([mcid], parts), 'wrong-size')
  }
  {
    const manifest = encodeNode({ format: 'dds-bundle/1', created: 1, paths: { 'not/a/path': [{ time: 1, evaluation: p.raw.evaluation, output: p.raw.output }] } })
    const mcid = cidOf(manifest, DAG_CBOR_CODE)
    await refuse('invalid path', car([mcid], [{ cid: mcid, bytes: manifest }, ...blocks]), 'path')
    const other = encodeNode({ format: 'something-else', paths: {} })
    const ocid = cidOf(other, DAG_CBOR_CODE)
    await refuse('another format', car([ocid], [{ cid: ocid, bytes: other }]), 'manifest')
    const wrongOut = encodeNode({ format: 'dds-bundle/1', created: 1, paths: { '/data/raw': [{ time: 1, evaluation: p.raw.evaluation, output: p.big.output }] } })
    const wcid = cidOf(wrongOut, DAG_CBOR_CODE)
    await refuse('entry output is not its evaluation\'s', car([wcid], [{ cid: wcid, bytes: wrongOut }, ...blocks.slice(1)]), 'inconsistent')
  }
  {
    const raw = cidOf(Buffer.from('x'), RAW_CODE)
    await refuse('raw root', car([raw], [{ cid: raw, bytes: Buffer.from('x') }]), 'manifest')
  }

  // Every truncation and every single bit flip of a small bundle is refused.
  const smallFile = join(dir, 'small.car')
  await exportBundle(src, ['/data/clean'], smallFile)
  const small = await readFile(smallFile)
  for (let cut = 0; cut < small.byteLength; cut += 7) await refuse(`truncated at ${cut}`, small.subarray(0, cut))
  for (let i = 0; i < small.byteLength; i += 3) {
    const flipped = Buffer.from(small)
    flipped[i] = (flipped[i] as number) ^ (1 << (i % 8))
    await refuse(`bit flipped at ${i}`, flipped)
  }

  t.same(await snapshot(dst), before, 'paths, heads, history and memo unchanged')
  t.equal(await blockCount(dst), count, 'no block written')
  t.equal((await refusal(async () => await importBundle(dst, join(dir, 'missing.car')))).code, 'DDS_NOT_FOUND')
  // The good bundle still imports.
  await importBundle(dst, file)
  t.ok((await dst.head('/data/big'))?.evaluation?.equals(p.big.evaluation))
})

t.test('chunks written before a refusal stay invisible, and gc removes them', async (t) => {
  const src = await open(t)
  const p = await pipeline(src)
  const file = tmp(t, 'b.car')
  await exportBundle(src, ['/data/big'], file)
  const blocks = await blocksOf(await readFile(file))
  const last = blocks[blocks.length - 1] as { cid: CID, bytes: Uint8Array }
  const bad = tmp(t, 'bad.car')
  await writeFile(bad, car([blocks[0]?.cid as CID], [...blocks.slice(0, -1), { cid: last.cid, bytes: Buffer.from('not it') }]))
  const dst = await open(t)
  const before = await snapshot(dst)
  t.equal((await refusal(async () => await importBundle(dst, bad))).data.problem, 'hash-mismatch')
  t.same(await snapshot(dst), before)
  t.equal(await blockCount(dst), 0, 'no index entry')
  t.equal(await dst.hasBlock((await src.getArtifactRoot(p.big.output)).chunks?.[0] as CID), false)
  const report = await verifyStore(dst)
  t.equal(report.ok, true)
  t.ok(report.orphanFiles > 0, 'verified chunks were written as files nothing indexes')
  const { gc } = await import('../../store/gc.js')
  t.equal((await gc(dst, { graceMs: 0 })).files, report.orphanFiles)
  t.equal((await verifyStore(dst)).orphanFiles, 0)
})

t.test('a bundle holding more or fewer blocks than its manifest counts is refused', async (t) => {
  const src = await open(t)
  await pipeline(src)
  const file = tmp(t, 'b.car')
  await exportBundle(src, ['/data/raw'], file)
  const blocks = await blocksOf(await readFile(file))
  const extraBytes = Buffer.from('nobody links me')
  const extra = cidOf(extraBytes, RAW_CODE)
  const padded = tmp(t, 'padded.car')
  await writeFile(padded, car([blocks[0]?.cid as CID], [...blocks, { cid: extra, bytes: extraBytes }]))
  const dst = await open(t)
  const err = await refusal(async () => await importBundle(dst, padded))
  t.equal(err.code, 'DDS_BUNDLE_INVALID')
  t.equal(err.data.problem, 'count')
  t.equal(await dst.hasBlock(extra), false)
  // Cut at a block boundary, dropping a block that is only there for display.
  const input = blocks.find((b) => b.cid.code === DAG_CBOR_CODE && dagCbor.decode(b.bytes) === 'data/raw.csv')
  t.ok(input, 'the argument block is in the bundle')
  const cut = tmp(t, 'cut.car')
  await writeFile(cut, car([blocks[0]?.cid as CID], blocks.filter((b) => b !== input)))
  t.equal((await refusal(async () => await importBundle(dst, cut))).data.problem, 'count')
})
