/**
 * The shared store suite: every backend must pass it unchanged.
 */
import t, { type Test } from 'tap'
import { CID } from 'multiformats/cid'
import { openStore, Pending, type Store } from '../../store/store.js'
import { openMemory } from '../../store/backend.js'
import { openShared } from '../../store/shared.js'
import { DdsError } from '../../store/errors.js'
import { cidOf, RAW_CODE } from '../../store/hash.js'
import type { CodeManifest } from '../../store/records.js'
import { FailingBackend, blockPlace, collect, type BackendCase } from '../helpers/stores.js'

export const manifest: CodeManifest = {
  algorithm: 'test/1',
  entry: 'src/a.ts#f',
  declarations: { 'src/a.ts#f': new Uint8Array(32).fill(1) },
  values: {},
  packages: { fakedep: '1.0.0' },
  unavailable: []
}

/** Store a value as the output of a fake evaluation and return the evaluation CID. */
export async function fakeEvaluation (store: Store, value: unknown, path: string, key = new Uint8Array(32).fill(7)): Promise<{ evaluation: CID, output: CID }> {
  const pending = new Pending()
  const art = await store.stageArtifact(value, pending)
  const { evaluation } = await store.stageEvaluation(manifest, {
    kind: 'keep', path, fn: { name: 'f', file: 'src/a.ts', line: 1, column: 1 }, signature: key, inputs: [], loads: [], calls: [], output: art.cid, started: 1700000000000, duration: 1.5
  }, [key], pending)
  await store.write(pending)
  return { evaluation, output: art.cid }
}

function code (fn: () => unknown): Promise<string> {
  return Promise.resolve().then(fn).then(() => 'no error', (err: unknown) => (err instanceof DdsError ? err.code : `not a DdsError: ${String(err)}`))
}

export function storeSuite (bc: BackendCase): void {
  const open = async (tt: Test, options = {}): Promise<Store> => {
    const store = await bc.open(tt.testdir(), options)
    tt.teardown(async () => { await store.close() })
    return store
  }

  t.test(`${bc.name}: values of every kind round-trip`, async (tt) => {
    const store = await open(tt)
    const values: Array<[string, unknown]> = [
      ['empty string', ''],
      ['string', 'héllo wörld ✓'],
      ['integer', 42],
      ['negative float', -3.25],
      ['large integer', 2 ** 53 - 1],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['true', true],
      ['null', null],
      ['undefined', undefined],
      ['small BigInt', 5n],
      ['huge BigInt', 123456789012345678901234567890n],
      ['Date', new Date('2024-06-01T12:34:56.789Z')],
      ['Map', new Map<unknown, unknown>([[1, 'a'], ['k', { x: [1, 2] }]])],
      ['Set', new Set([1, 'b', 3n])],
      ['RegExp', /ab+c/gi],
      ['nested objects', { a: { b: { c: [1, { d: 'e' }, null, undefined] } }, list: [[1], [2, [3]]] }],
      ['array with undefined', [1, undefined, 3]],
      ['Buffer', Buffer.from('raw bytes \x00\x01')],
      ['Uint8Array', new Uint8Array([0, 1, 2, 255])],
      ['ArrayBuffer', new Uint8Array([9, 8, 7]).buffer],
      ['Float64Array', new Float64Array([1.5, -2.25, Math.PI])],
      ['Float32Array', new Float32Array([1.5, 2.5])],
      ['Int32Array', new Int32Array([-1, 2, -3])],
      ['BigInt64Array', new BigInt64Array([-1n, 2n ** 62n])],
      ['Uint8ClampedArray', new Uint8ClampedArray([1, 255])],
      ['typed arrays inside an object', { f: new Float64Array([1, 2]), u: new Uint16Array([3]), b: Buffer.from('x') }],
      ['object with a constructor key', JSON.parse('{"constructor": {"prototype": {"x": 1}}, "a": 1}')]
    ]
    for (const [name, value] of values) {
      const info = await store.putArtifact(value)
      const back = await store.readArtifact(info.cid)
      tt.same(back, value, name)
      tt.equal(Object.prototype.toString.call(back), Object.prototype.toString.call(value), `${name}: same type`)
      if (value !== null && typeof value === 'object') tt.equal(Object.getPrototypeOf(back), Object.getPrototypeOf(value), `${name}: same prototype`)
    }
    tt.equal(({} as Record<string, unknown>).x, undefined, 'no prototype was touched')
  })

  t.test(`${bc.name}: a multi-chunk artifact round-trips and streams`, async (tt) => {
    const store = await open(tt, { chunkSize: 64 * 1024, inlineLimit: 64 * 1024 })
    const big = new Float64Array(100_000).map((_, i) => i * 0.5)
    const info = await store.putArtifact(big)
    tt.equal(info.chunks, Math.ceil(big.byteLength / (64 * 1024)))
    const back = await store.readArtifact(info.cid) as Float64Array
    tt.ok(back instanceof Float64Array)
    tt.same(back, big)
    let total = 0
    for await (const chunk of store.artifactBytes(info.cid)) total += chunk.byteLength
    tt.equal(total, big.byteLength)
    const text = 'x'.repeat(200_000)
    const t2 = await store.putArtifact(text)
    tt.equal(await store.readArtifact(t2.cid), text)
    const obj = { rows: Array.from({ length: 20_000 }, (_, i) => ({ i, name: `row${i}` })) }
    const t3 = await store.putArtifact(obj)
    tt.ok(t3.chunks > 1)
    tt.same(await store.readArtifact(t3.cid), obj)
    // The same content stored again shares its blocks.
    const again = await store.putArtifact(big.slice())
    tt.ok(again.cid.equals(info.cid))
  })

  t.test(`${bc.name}: a stream is stored as the same artifact as its bytes`, async (tt) => {
    const store = await open(tt, { chunkSize: 1000, inlineLimit: 1000 })
    const bytes = new Uint8Array(10_500).map((_, i) => i % 251)
    async function * pieces (): AsyncIterable<Uint8Array> {
      for (let i = 0; i < bytes.byteLength; i += 777) yield bytes.subarray(i, i + 777)
    }
    const pending = new Pending()
    const fromStream = await store.stageStream('bytes', undefined, pieces(), pending)
    await store.write(pending)
    const direct = await store.putArtifact(bytes)
    tt.ok(fromStream.cid.equals(direct.cid), 'same CID whatever the input chunking')
    tt.same(await store.readArtifact(fromStream.cid), bytes)
    const small = new Pending()
    const tiny = await store.stageStream('utf8', undefined, (async function * () { yield Buffer.from('ab'); yield Buffer.from('c') })(), small)
    await store.write(small)
    tt.equal(await store.readArtifact(tiny.cid), 'abc')
  })

  t.test(`${bc.name}: unserializable values are refused naming the field`, async (tt) => {
    const store = await open(tt)
    class Model { predict (): number { return 1 } }
    const cases: Array<[string, unknown, string]> = [
      ['function', () => 1, 'value'],
      ['nested function', { model: { predict: () => 1 } }, 'value.model.predict'],
      ['class instance', { m: new Model() }, 'value.m'],
      ['symbol', { s: Symbol('x') }, 'value.s'],
      ['promise', [Promise.resolve(1)], 'value[0]'],
      ['map value', new Map([['k', () => 1]]), 'value.get("k")'],
      ['DataView', new DataView(new ArrayBuffer(2)), 'value']
    ]
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    cases.push(['cycle', cyclic, 'value.self'])
    for (const [name, value, field] of cases) {
      try {
        await store.putArtifact(value)
        tt.fail(`${name}: accepted`)
      } catch (err) {
        tt.equal((err as DdsError).code, 'DDS_UNSERIALIZABLE', `${name}: code`)
        tt.equal((err as DdsError).data.field, field, `${name}: field`)
      }
    }
  })

  t.test(`${bc.name}: paths are validated`, async (tt) => {
    const store = await open(tt)
    const { evaluation, output } = await fakeEvaluation(store, 1, '/ok')
    for (const bad of ['p', '/a//b', '/a/../b', '/a/./b', '/a/', '/', '', '/a b', '/a\u0000b', '/a\nb', '/é', `/${'x'.repeat(1100)}`, '/a/b\\c']) {
      tt.equal(await code(async () => await store.commit([{ path: bad, evaluation, output }])), 'DDS_PATH_INVALID', JSON.stringify(bad).slice(0, 40))
    }
    tt.equal(await code(async () => await store.head(42 as unknown as string)), 'not a DdsError: TypeError: path must be a string, got number')
    for (const good of ['/a', '/b/b-c/d_e.f', '/A1/.hidden', '/x/..y']) {
      tt.equal(await code(async () => await store.commit([{ path: good, evaluation, output }])), 'no error', good)
    }
  })

  t.test(`${bc.name}: overlapping paths are refused, in one commit and across commits`, async (tt) => {
    const store = await open(tt)
    const { evaluation, output } = await fakeEvaluation(store, 1, '/f')
    tt.equal(await code(async () => await store.commit([{ path: '/f', evaluation, output }, { path: '/f/g', evaluation, output }])), 'DDS_OVERLAPPING_PATH')
    tt.equal(await store.head('/f'), undefined, 'nothing committed')
    await store.commit([{ path: '/f', evaluation, output }])
    tt.equal(await code(async () => await store.commit([{ path: '/f/g', evaluation, output }])), 'DDS_OVERLAPPING_PATH')
    tt.equal(await code(async () => await store.commit([{ path: '/f/g/h', evaluation, output }])), 'DDS_OVERLAPPING_PATH')
    await store.commit([{ path: '/d/e', evaluation, output }])
    tt.equal(await code(async () => await store.commit([{ path: '/d', evaluation, output }])), 'DDS_OVERLAPPING_PATH')
    tt.equal(await code(async () => await store.commit([{ path: '/f-g', evaluation, output }, { path: '/d.e', evaluation, output }])), 'no error', 'siblings with a common prefix are fine')
    await store.deletePath('/f')
    tt.equal(await code(async () => await store.commit([{ path: '/f/g', evaluation, output }])), 'no error', 'allowed once /f is deleted')
  })

  t.test(`${bc.name}: history is append-only, newest first, with tombstones`, async (tt) => {
    const store = await open(tt)
    const a = await fakeEvaluation(store, 'a', '/p', new Uint8Array(32).fill(1))
    const b = await fakeEvaluation(store, 'b', '/p', new Uint8Array(32).fill(2))
    await store.commit([{ path: '/p', evaluation: a.evaluation, output: a.output }])
    const again = await store.commit([{ path: '/p', evaluation: a.evaluation, output: a.output, hit: true }])
    tt.same(again, { appended: [], skipped: ['/p'] }, 'same head: no new entry')
    await store.commit([{ path: '/p', evaluation: b.evaluation, output: b.output }])
    await store.commit([{ path: '/p', evaluation: a.evaluation, output: a.output, hit: true }])
    const h = await collect(store.history('/p'))
    tt.same(h.map((e) => e.seq), [3, 2, 1])
    tt.same(h.map((e) => e.evaluation?.toString()), [a.evaluation, b.evaluation, a.evaluation].map(String))
    tt.same(h.map((e) => e.hit === true), [true, false, false])
    tt.ok((h[0]?.time ?? 0) >= (h[2]?.time ?? Infinity))
    tt.same((await collect(store.history('/p', { limit: 1 }))).map((e) => e.seq), [3])
    tt.equal((await store.head('/p'))?.seq, 3)
    await store.deletePath('/p')
    tt.equal(await store.head('/p'), undefined, 'deleted')
    tt.equal((await store.headEntry('/p'))?.evaluation, null, 'tombstone is the head entry')
    tt.same((await collect(store.history('/p'))).map((e) => e.evaluation === null), [true, false, false, false])
    tt.equal(await code(async () => await store.deletePath('/p')), 'DDS_PATH_NOT_FOUND')
    tt.same(await collect(store.history('/never')), [])
  })

  t.test(`${bc.name}: a path never points at data the store does not hold`, async (tt) => {
    const store = await open(tt)
    const { evaluation, output } = await fakeEvaluation(store, 'v', '/present')
    const absent = cidOf(new Uint8Array([1, 2, 3, 4]), 0x71)
    tt.equal(await code(async () => await store.commit([{ path: '/gone', evaluation: absent, output }])), 'DDS_NOT_FOUND', 'a missing evaluation')
    tt.equal(await code(async () => await store.commit([{ path: '/gone', evaluation, output: absent }])), 'DDS_NOT_FOUND', 'a missing output')
    tt.equal(await store.headEntry('/gone'), undefined, 'nothing appended')
    await store.deleteBlocks([evaluation])
    tt.equal(await code(async () => await store.commit([{ path: '/present', evaluation, output }])), 'DDS_NOT_FOUND', 'collected after it was looked up')
  })

  t.test(`${bc.name}: paths are listed in order, by prefix`, async (tt) => {
    const store = await open(tt)
    const { evaluation, output } = await fakeEvaluation(store, 1, '/x')
    await store.commit(['/b/z', '/a', '/b/y', '/bb', '/c'].map((path) => ({ path, evaluation, output })))
    await store.deletePath('/c')
    tt.same((await collect(store.paths())).map((e) => e.path), ['/a', '/b/y', '/b/z', '/bb'])
    tt.same((await collect(store.paths({ prefix: '/b' }))).map((e) => e.path), ['/b/y', '/b/z'])
    tt.same((await collect(store.paths({ deleted: true }))).map((e) => e.path), ['/a', '/b/y', '/b/z', '/bb', '/c'])
  })

  t.test(`${bc.name}: records, manifests and memo entries read back`, async (tt) => {
    const store = await open(tt)
    const key = new Uint8Array(32).fill(9)
    const { evaluation, output } = await fakeEvaluation(store, { v: 1 }, '/r', key)
    const rec = await store.getEvaluation(evaluation)
    tt.equal(rec.path, '/r')
    tt.ok(rec.output.equals(output))
    tt.same(await store.getManifest(rec.code), manifest)
    const memo = await store.lookupMemo(key)
    tt.ok(memo?.evaluation.equals(evaluation))
    tt.equal(await store.lookupMemo(new Uint8Array(32)), undefined)
    tt.equal(await code(async () => await store.getEvaluation(output)), 'DDS_INTEGRITY', 'an artifact is not a record')
    tt.equal(await code(async () => await store.getEvaluation(cidOf(new Uint8Array([1]), 0x71))), 'DDS_NOT_FOUND')
    tt.equal(await code(async () => await store.getEvaluation(cidOf(new Uint8Array([1]), RAW_CODE))), 'DDS_NOT_FOUND')
    tt.equal(await store.getBlock(cidOf(new Uint8Array([1, 2, 3]), RAW_CODE)), undefined, 'absent block is undefined')
    tt.equal(await store.hasBlock(output), true)
  })

  t.test(`${bc.name}: a failed batch leaves nothing visible, and the next run succeeds`, async (tt) => {
    const inner = bc.name === 'classic' ? (await openShared(tt.testdir())) : { backend: await openMemory(), release: async () => {} }
    const failing = new FailingBackend(inner.backend)
    const store = await openStore({ backend: failing, chunkSize: 128 * 1024, inlineLimit: 128 * 1024, fileThreshold: 64 * 1024 })
    tt.teardown(async () => { await store.close().catch(() => {}); await inner.release() })
    const key = new Uint8Array(32).fill(3)
    const value = new Float64Array(100_000).map((_, i) => i)

    failing.failBatchWith = 'memo'
    tt.equal(await code(async () => await fakeEvaluation(store, value, '/big', key)), 'not a DdsError: Error: injected batch failure')
    tt.equal(await store.lookupMemo(key), undefined, 'no memo entry')

    if (failing.files !== undefined) {
      failing.resetFileCount()
      failing.failFileWriteAt = 3
      tt.equal(await code(async () => await fakeEvaluation(store, value, '/big', key)), 'not a DdsError: Error: injected write failure')
      tt.equal(await store.lookupMemo(key), undefined, 'no memo entry after a failed chunk write')
    }

    const ok = await fakeEvaluation(store, value, '/big', key)
    failing.failBatchWith = 'paths'
    tt.equal(await code(async () => await store.commit([{ path: '/big', evaluation: ok.evaluation, output: ok.output }, { path: '/other', evaluation: ok.evaluation, output: ok.output }])), 'not a DdsError: Error: injected batch failure')
    tt.equal(await store.head('/big'), undefined, 'no head')
    tt.equal(await store.head('/other'), undefined, 'no head for the other path of the batch either')
    tt.same(await collect(store.history('/big')), [], 'no history')
    await store.commit([{ path: '/big', evaluation: ok.evaluation, output: ok.output }])
    tt.ok((await store.head('/big'))?.evaluation?.equals(ok.evaluation))
    tt.same(await store.readArtifact(ok.output), value)
  })

  t.test(`${bc.name}: a tampered block is refused with DDS_INTEGRITY`, async (tt) => {
    const store = await open(tt, { fileThreshold: 1024, inlineLimit: 4096, chunkSize: 4096 })
    const small = await store.putArtifact('small value')
    const raw = await store.backend.get('blocks', small.cid.bytes)
    tt.ok(raw !== undefined)
    const tampered = (raw as Uint8Array).slice()
    tampered[tampered.byteLength - 1] = (tampered[tampered.byteLength - 1] ?? 0) ^ 1
    await store.backend.batch([{ type: 'put', space: 'blocks', key: small.cid.bytes, value: tampered }])
    try {
      await store.readArtifact(small.cid)
      tt.fail('read a tampered block')
    } catch (err) {
      tt.equal((err as DdsError).code, 'DDS_INTEGRITY')
      tt.equal((err as DdsError).data.cid, small.cid.toString())
    }
    if (store.backend.files !== undefined) {
      const big = await store.putArtifact(new Uint8Array(20_000).fill(5))
      const root = await store.getArtifactRoot(big.cid)
      const chunk = root.chunks?.[1] as CID
      const { readFile, writeFile } = await import('node:fs/promises')
      // Its own file, or its range of the artifact's segment.
      const { file, position } = await blockPlace(store, chunk)
      const bytes = await readFile(file)
      bytes[position + 100] = (bytes[position + 100] ?? 0) ^ 0x40
      await writeFile(file, bytes)
      tt.equal(await code(async () => await store.readArtifact(big.cid)), 'DDS_INTEGRITY', 'flipped bit in a chunk')
      await writeFile(file, bytes.subarray(0, position + 10))
      tt.equal(await code(async () => await store.readArtifact(big.cid)), 'DDS_INTEGRITY', 'truncated chunk')
    }
  })

  t.test(`${bc.name}: hostile keys in stored payloads never reach a prototype`, async (tt) => {
    const store = await open(tt)
    // A CBOR map {"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 2}}}, as a foreign writer could store it.
    const hostile = new Uint8Array([0xa2, 0x69, ...new TextEncoder().encode('__proto__'), 0xa1, 0x68, ...new TextEncoder().encode('polluted'), 0x01,
      0x6b, ...new TextEncoder().encode('constructor'), 0xa1, 0x69, ...new TextEncoder().encode('prototype'), 0xa1, 0x68, ...new TextEncoder().encode('polluted'), 0x02])
    const pending = new Pending()
    const info = await store.stagePayload('cbor-x/1', undefined, hostile, pending)
    await store.write(pending)
    const back = await store.readArtifact(info.cid) as Record<string, unknown>
    tt.equal(Object.getPrototypeOf(back), Object.prototype, 'an ordinary object')
    tt.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
    tt.equal((back as { polluted?: unknown }).polluted, undefined, 'no inherited field')
    tt.equal(Object.hasOwn(back, '__proto__'), false, 'no own __proto__ key that could be merged later')
    tt.equal(await code(async () => await store.putArtifact(JSON.parse('{"__proto__": {"polluted": 3}}'))), 'DDS_UNSERIALIZABLE', 'writing such a key is refused')
  })

  t.test(`${bc.name}: blake3 stores address blocks with blake3`, async (tt) => {
    const store = await open(tt, { hash: 'blake3' })
    const info = await store.putArtifact('hello')
    tt.equal(info.cid.multihash.code, 0x1e)
    tt.equal(await store.readArtifact(info.cid), 'hello')
    tt.equal(store.hashName, 'blake3')
  })
}
