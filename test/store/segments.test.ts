/**
 * Segments: the chunks of one artifact (or one bundle import) in one file,
 * each addressed by its own index entry. One file per write; dedup, verify,
 * gc and bundles per chunk; stores with one file per chunk (the first
 * layout) still read, alone or mixed with segments; a segment replaced by a
 * link, a FIFO or a directory, cut short or damaged is refused with
 * DDS_INTEGRITY; a failed write leaves only an orphan file that gc removes.
 */
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { openStore, type Store } from '../../store/store.js'
import { openShared } from '../../store/shared.js'
import { verifyStore } from '../../store/verify.js'
import { gc } from '../../store/gc.js'
import { exportBundle, importBundle } from '../../store/bundle.js'
import { BLOCK_SEGMENT } from '../../store/keys.js'
import { isDdsError } from '../../store/errors.js'
import { fakeEvaluation, SMALL } from '../cli/helpers/fake.js'
import { FailingBackend, blockPlace } from '../helpers/stores.js'

/** 40 chunks of 16 KiB (all large enough to be files). */
const VALUE = new Float64Array(81_920).map((_, i) => i * 0.5)

function blobFiles (dir: string): string[] {
  const blobs = join(dir, 'blobs')
  const out: string[] = []
  for (const d of readdirSync(blobs)) for (const n of readdirSync(join(blobs, d))) out.push(n)
  return out.sort()
}

async function codeOf (p: Promise<unknown>): Promise<string> {
  try { await p; return 'no error' } catch (err) { return isDdsError(err) ? err.code : `${(err as Error).name}: ${(err as Error).message}` }
}

async function open (t: Test, dir = t.testdir()): Promise<{ store: Store, dir: string }> {
  const store = await openStore({ ...SMALL, location: dir })
  t.teardown(async () => { await store.close() })
  return { store, dir }
}

t.test('the chunks of an artifact go to one segment, each with its own index entry', async (t) => {
  const { store, dir } = await open(t)
  const info = await store.putArtifact(VALUE)
  t.equal(info.chunks, 40)
  const files = blobFiles(dir)
  t.equal(files.length, 1, 'one file')
  t.match(files[0], /^seg[0-9a-f]{32}$/)
  const chunks = (await store.getArtifactRoot(info.cid)).chunks as CID[]
  let position = 0
  for (const c of chunks) {
    const raw = await store.backend.get('blocks', c.bytes)
    t.equal(raw?.[0], BLOCK_SEGMENT)
    const place = await blockPlace(store, c)
    t.equal(place.position, position, 'in order, end to end')
    position += place.size
  }
  t.equal(statSync(join(dir, 'blobs', (files[0] as string).slice(-2), files[0] as string)).size, VALUE.byteLength)
  t.same(await store.readArtifact(info.cid), VALUE)
  t.same(await store.getBlock(chunks[7] as CID), new Uint8Array(VALUE.buffer, 7 * 16384, 16384), 'one chunk alone')
  t.equal((await verifyStore(store)).ok, true)
})

t.test('dedup is per chunk: a second artifact sharing chunks writes only the new ones', async (t) => {
  const { store, dir } = await open(t)
  const a = await store.putArtifact(VALUE)
  const changed = VALUE.slice()
  changed[0] = -1 // the first chunk differs
  const b = await store.putArtifact(changed)
  const files = blobFiles(dir)
  t.equal(files.length, 2)
  const sizes = files.map((f) => statSync(join(dir, 'blobs', f.slice(-2), f)).size).sort((x, y) => x - y)
  t.same(sizes, [16384, VALUE.byteLength], 'the second segment holds one chunk')
  t.same(await store.readArtifact(b.cid), changed, 'its chunks come from both segments')
  t.same(await store.readArtifact(a.cid), VALUE)
  await store.putArtifact(VALUE)
  t.equal(blobFiles(dir).length, 2, 'the same value again writes nothing')
  // A zero array repeats one chunk: it is written once.
  const zeros = await store.putArtifact(new Float64Array(81_920))
  t.equal(blobFiles(dir).length, 3)
  t.same(await store.readArtifact(zeros.cid), new Float64Array(81_920))
})

t.test('a store of the first layout (one file per chunk) reads, alone and mixed with segments', async (t) => {
  const dir = t.testdir()
  const inner = await openShared(dir)
  const old = await openStore({ ...SMALL, backend: new FailingBackend(inner.backend, { perBlockFiles: true }) })
  const a = await old.putArtifact(VALUE)
  await old.close()
  await inner.release()
  t.equal(blobFiles(dir).length, 40, 'one file per chunk')

  const { store } = await open(t, dir)
  t.same(await store.readArtifact(a.cid), VALUE)
  const changed = VALUE.slice()
  changed[16384 / 8 * 5] = -1 // chunk 5 differs: a segment of one chunk, the rest are chunk files
  const b = await store.putArtifact(changed)
  t.equal(blobFiles(dir).length, 41)
  t.same(await store.readArtifact(b.cid), changed)
  t.equal((await verifyStore(store)).ok, true)
})

const plants: Array<[string, (file: string, t: Test) => void]> = [
  ['a FIFO', (file) => { rmSync(file); execFileSync('mkfifo', [file]) }],
  ['a link to /dev/zero', (file) => { rmSync(file); symlinkSync('/dev/zero', file) }],
  ['a link to a copy outside the store', (file, t) => {
    const outside = join(mkdtempSync(join(tmpdir(), 'dds-victim-')), 'victim.bin')
    t.teardown(() => { rmSync(join(outside, '..'), { recursive: true, force: true }) })
    writeFileSync(outside, readFileSync(file))
    rmSync(file)
    symlinkSync(outside, file)
  }],
  ['a directory', (file) => { rmSync(file); mkdirSync(file) }],
  ['a truncated copy', (file) => { truncateSync(file, statSync(file).size - 5) }],
  ['an empty file', (file) => { truncateSync(file, 0) }]
]

for (const [what, plant] of plants) {
  t.test(`a segment replaced by ${what} is refused by load, getBlock and verify, and mended by storing again`, async (t) => {
    const { store } = await open(t)
    const info = await store.putArtifact(VALUE)
    const chunks = (await store.getArtifactRoot(info.cid)).chunks as CID[]
    const { file } = await blockPlace(store, chunks[39] as CID)
    plant(file, t)
    t.equal(await codeOf(store.readArtifact(info.cid)), 'DDS_INTEGRITY', 'load')
    t.equal(await codeOf(store.getBlock(chunks[39] as CID)), 'DDS_INTEGRITY', 'one chunk')
    const report = await verifyStore(store)
    t.ok(report.problems.some((p) => p.step === 'blocks' && p.problem === 'integrity'), 'verify names it and ends')
    await store.putArtifact(VALUE)
    t.same(await store.readArtifact(info.cid), VALUE, 'storing the content again writes a new segment')
    t.equal((await verifyStore(store)).ok, true)
  })
}

t.test('a damaged byte in a segment is named by load and by verify, chunk by chunk', async (t) => {
  const { store } = await open(t)
  const info = await store.putArtifact(VALUE)
  const chunks = (await store.getArtifactRoot(info.cid)).chunks as CID[]
  const place = await blockPlace(store, chunks[12] as CID)
  const bytes = readFileSync(place.file)
  bytes[place.position + 100] = (bytes[place.position + 100] as number) ^ 1
  writeFileSync(place.file, bytes)
  const err = await store.readArtifact(info.cid).catch((e: unknown) => e)
  t.ok(isDdsError(err, 'DDS_INTEGRITY'))
  t.equal((err as { data: { cid: string } }).data.cid, (chunks[12] as CID).toString(), 'names the chunk')
  const report = await verifyStore(store)
  t.same(report.problems.filter((p) => p.step === 'blocks').map((p) => p.cid?.toString()), [(chunks[12] as CID).toString()], 'only that chunk')
  t.ok(await store.getBlock(chunks[11] as CID), 'its neighbours read')
})

t.test('a segment longer than its chunks (bytes appended) still reads what its entries name, without reading the rest', async (t) => {
  const { store } = await open(t)
  const info = await store.putArtifact(VALUE)
  const place = await blockPlace(store, ((await store.getArtifactRoot(info.cid)).chunks as CID[])[0] as CID)
  truncateSync(place.file, 8 * 1024 ** 3)
  t.same(await store.readArtifact(info.cid), VALUE)
})

t.test('a failed segment write leaves no entry; gc removes the orphan segment', async (t) => {
  const dir = t.testdir()
  const inner = await openShared(dir)
  const failing = new FailingBackend(inner.backend)
  const store = await openStore({ ...SMALL, backend: failing })
  t.teardown(async () => { await store.close(); await inner.release() })
  failing.failFileWriteAt = 10
  t.match(await codeOf(fakeEvaluation(store, { path: '/big', value: VALUE, fn: 'big' })), /injected write failure/)
  t.equal(blobFiles(dir).length, 1, 'the partial segment is there')
  let markers = 0
  for await (const [, v] of store.backend.entries('blocks')) if (v[0] === BLOCK_SEGMENT) markers++
  t.equal(markers, 0, 'no index entry names it')
  t.equal((await verifyStore(store)).ok, true)
  const report = await gc(store, { graceMs: 0 })
  t.equal(report.files, 1, 'an orphan file')
  t.same(blobFiles(dir), [])
})

t.test('gc removes a segment when its last block goes, keeps one another artifact still uses, and reports what it frees', async (t) => {
  const { store, dir } = await open(t)
  const a = await fakeEvaluation(store, { path: '/a', value: VALUE, fn: 'a' })
  await store.commit([{ path: '/a', evaluation: a.evaluation, output: a.output }])
  const changed = VALUE.slice()
  changed[0] = -1
  const b = await fakeEvaluation(store, { path: '/b', value: changed, fn: 'b' })
  await store.commit([{ path: '/b', evaluation: b.evaluation, output: b.output }])
  t.equal(blobFiles(dir).length, 2)

  // /b reads 39 of its chunks from /a's segment: deleting /a frees only /a's first chunk, which stays in the segment.
  await store.commit([{ path: '/a', evaluation: null, output: null }])
  const first = await gc(store, { keepHistory: 1, graceMs: 0 })
  t.ok(first.blocks > 0)
  t.equal(blobFiles(dir).length, 2, 'the shared segment stays')
  t.same(await store.readArtifact(b.output), changed)
  t.equal((await verifyStore(store)).ok, true)

  await store.commit([{ path: '/b', evaluation: null, output: null }])
  const dry = await gc(store, { keepHistory: 1, graceMs: 0, dryRun: true })
  t.equal(blobFiles(dir).length, 2, 'a dry run removes nothing')
  const second = await gc(store, { keepHistory: 1, graceMs: 0 })
  t.same(blobFiles(dir), [], 'both segments go with their last blocks')
  t.equal(second.bytes, dry.bytes, 'the dry run said the same')
  t.ok(second.bytes >= 40 * 16384, `${second.bytes} bytes freed`)
  t.equal(second.files, 0, 'not counted as orphans')
})

t.test('a bundle carries segment chunks unchanged; its import writes one segment', async (t) => {
  const root = t.testdir()
  const { store } = await open(t, join(root, 'one'))
  const a = await fakeEvaluation(store, { path: '/a', value: VALUE, fn: 'a' })
  await store.commit([{ path: '/a', evaluation: a.evaluation, output: a.output }])
  const file = join(root, 'a.car')
  await exportBundle(store, ['/a'], file)
  const { store: other, dir } = await open(t, join(root, 'other'))
  await importBundle(other, file)
  t.equal(blobFiles(dir).length, 1, 'one segment for the import')
  const head = await other.head('/a')
  t.same(await other.readArtifact(head?.output as CID), VALUE)
  t.equal((await verifyStore(other)).ok, true)
})
