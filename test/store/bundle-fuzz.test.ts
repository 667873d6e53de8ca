/**
 * Hostile and broken bundles (SCENARIOS.md 35): more than a thousand generated
 * mutations of a valid bundle — truncations, bit flips, wrong CIDs, missing,
 * duplicated and reordered-into-garbage blocks, absurd varint lengths, wrong
 * roots, and files that are not bundles at all. Each is refused with a coded
 * error and the importing store is exactly as it was (paths, heads, history,
 * memo entries and blocks). Then generated semantic attacks (well-formed
 * bundles that lie: records claiming another computation's memo key, roots
 * repeating one chunk, far-future times, many and overlapping paths), none
 * of which changes the victim's memo answers, head or values.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as dagCbor from '@ipld/dag-cbor'
import { openStore, Pending, type Store } from '../../store/store.js'
import { exportBundle, importBundle } from '../../store/bundle.js'
import { DdsError } from '../../store/errors.js'
import { cidOf, RAW_CODE, DAG_CBOR_CODE } from '../../store/hash.js'
import { open } from '../../lib/dds.js'
import { collect } from '../helpers/stores.js'
import { withManifest } from '../helpers/car.js'
import type { CodeManifest } from '../../store/records.js'

const varint = {
  decode (buf: Uint8Array, offset: number): [number, number] {
    let value = 0
    let scale = 1
    for (let i = offset; i < buf.byteLength; i++) {
      const b = buf[i] as number
      value += (b & 0x7f) * scale
      scale *= 128
      if ((b & 0x80) === 0) return [value, i - offset + 1]
    }
    throw new RangeError('truncated varint')
  },
  encodingLength (n: number): number {
    let len = 1
    while (n >= 128) { n = Math.floor(n / 128); len++ }
    return len
  },
  encodeTo (n: number, out: Uint8Array): Uint8Array {
    let i = 0
    while (n >= 128) { out[i++] = (n % 128) | 0x80; n = Math.floor(n / 128) }
    out[i] = n
    return out
  }
}

interface Section { start: number, end: number, cidStart: number, dataStart: number, cid: CID }

function sections (car: Uint8Array): { headerEnd: number, headerStart: number, blocks: Section[] } {
  const [hlen, hbytes] = varint.decode(car, 0)
  const headerStart = hbytes
  const headerEnd = hbytes + hlen
  const blocks: Section[] = []
  let off = headerEnd
  while (off < car.byteLength) {
    const [len, lbytes] = varint.decode(car, off)
    const cidStart = off + lbytes
    const cid = CID.decodeFirst(car.subarray(cidStart))[0]
    const dataStart = cidStart + cid.bytes.byteLength
    blocks.push({ start: off, end: cidStart + len, cidStart, dataStart, cid })
    off = cidStart + len
  }
  return { headerStart, headerEnd, blocks }
}

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.byteLength }
  return out
}

function section (cid: CID, data: Uint8Array): Uint8Array {
  return concat(varint.encodeTo(cid.bytes.byteLength + data.byteLength, new Uint8Array(varint.encodingLength(cid.bytes.byteLength + data.byteLength))), cid.bytes, data)
}

function header (roots: CID[]): Uint8Array {
  const h = dagCbor.encode({ version: 1, roots })
  return concat(varint.encodeTo(h.byteLength, new Uint8Array(varint.encodingLength(h.byteLength))), h)
}

async function snapshot (store: Store): Promise<string> {
  const out: string[] = []
  for await (const head of store.paths({ deleted: true })) {
    out.push(`head ${head.path} ${head.seq} ${String(head.evaluation)} ${head.time}`)
    for (const e of await collect(store.history(head.path))) out.push(`  ${e.seq} ${String(e.evaluation)} ${String(e.output)} ${e.time}`)
  }
  for await (const { key, entry } of store.memoEntries()) out.push(`memo ${Buffer.from(key).toString('hex')} ${entry.evaluation.toString()}`)
  let blocks = 0
  for await (const _ of store.blockCIDs()) blocks++
  out.push(`blocks ${blocks}`)
  return out.join('\n')
}

function* mutations (car: Uint8Array, rand: () => number): Generator<[string, Uint8Array]> {
  const { headerStart, headerEnd, blocks } = sections(car)
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T
  // Truncations: at every section boundary and at random offsets.
  for (const b of blocks) {
    yield ['truncated at a section start', car.subarray(0, b.start)]
    yield ['truncated inside a CID', car.subarray(0, b.cidStart + 3)]
    yield ['truncated inside a block', car.subarray(0, Math.max(b.dataStart, b.end - 1))]
  }
  yield ['truncated inside the header', car.subarray(0, headerStart + 2)]
  yield ['empty file', new Uint8Array(0)]
  for (let i = 0; i < 250; i++) yield ['truncated at random', car.subarray(0, Math.floor(rand() * car.byteLength))]
  // Bit flips anywhere, and in each part of each section.
  for (let i = 0; i < 600; i++) {
    const m = car.slice()
    const at = Math.floor(rand() * m.byteLength)
    m[at] = (m[at] ?? 0) ^ (1 << Math.floor(rand() * 8))
    yield [`bit flip at ${at}`, m]
  }
  for (const b of blocks) {
    for (const [what, lo, hi] of [['length', b.start, b.cidStart], ['CID', b.cidStart, b.dataStart], ['data', b.dataStart, b.end]] as const) {
      if (hi <= lo) continue
      const m = car.slice()
      const at = lo + Math.floor(rand() * (hi - lo))
      m[at] = (m[at] ?? 0) ^ 0x10
      yield [`bit flip in a block ${what}`, m]
    }
  }
  // Wrong CIDs: a block under another block's CID, or under the CID of other bytes.
  for (const b of blocks) {
    const other = pick(blocks.filter((x) => !x.cid.equals(b.cid)))
    const data = car.subarray(b.dataStart, b.end)
    yield ['a block under another CID', concat(car.subarray(0, b.start), section(other.cid, data), car.subarray(b.end))]
    yield ['a block under the CID of other bytes', concat(car.subarray(0, b.start), section(cidOf(new Uint8Array([1, 2, 3]), b.cid.code), data), car.subarray(b.end))]
    yield ['a CID with another codec', concat(car.subarray(0, b.start), section(CID.createV1(b.cid.code === RAW_CODE ? DAG_CBOR_CODE : RAW_CODE, b.cid.multihash), data), car.subarray(b.end))]
  }
  // Missing and duplicated blocks.
  for (const b of blocks) {
    yield ['a missing block', concat(car.subarray(0, b.start), car.subarray(b.end))]
    yield ['a duplicated block', concat(car.subarray(0, b.end), car.subarray(b.start, b.end), car.subarray(b.end))]
  }
  yield ['garbage appended', concat(car, new Uint8Array(64).map(() => Math.floor(rand() * 256)))]
  yield ['a foreign block appended', concat(car, section(cidOf(new Uint8Array([9]), RAW_CODE), new Uint8Array([9])))]
  // Absurd varint lengths.
  for (const len of [2 ** 31, 2 ** 40, 2 ** 53 - 1, 1 << 30]) {
    yield ['an absurd header length', concat(varint.encodeTo(len, new Uint8Array(varint.encodingLength(len))), car.subarray(headerStart))]
    const b = pick(blocks)
    yield ['an absurd section length', concat(car.subarray(0, b.start), varint.encodeTo(len, new Uint8Array(varint.encodingLength(len))), car.subarray(b.cidStart))]
  }
  yield ['an overlong varint', concat(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), car.subarray(headerStart))]
  // Wrong roots and headers.
  const body = car.subarray(headerEnd)
  for (const b of blocks.slice(1)) yield ['a root that is not a bundle manifest', concat(header([b.cid]), body)]
  yield ['a root that is not in the file', concat(header([cidOf(new Uint8Array([4]), DAG_CBOR_CODE)]), body)]
  yield ['no root', concat(header([]), body)]
  yield ['two roots', concat(header([(blocks[0] as Section).cid, (blocks[0] as Section).cid]), body)]
  const v2 = dagCbor.encode({ version: 2, roots: [(blocks[0] as Section).cid] })
  yield ['another CAR version', concat(varint.encodeTo(v2.byteLength, new Uint8Array(varint.encodingLength(v2.byteLength))), v2, body)]
  // A manifest with a hostile shape: a path key that is not a path, __proto__ keys.
  const manifest = dagCbor.decode(car.subarray((blocks[0] as Section).dataStart, (blocks[0] as Section).end)) as { paths: Record<string, unknown> }
  for (const [what, paths] of [
    ['a manifest path with ..', { '/a/../b': Object.values(manifest.paths)[0] }],
    ['a manifest with a __proto__ path', JSON.parse('{"__proto__": []}')],
    ['a manifest entry that is not a list', { '/x': 5 }],
    ['a manifest entry naming a missing evaluation', { '/x': [{ time: 1, evaluation: cidOf(new Uint8Array([7]), DAG_CBOR_CODE), output: cidOf(new Uint8Array([8]), DAG_CBOR_CODE) }] }]
  ] as Array<[string, unknown]>) {
    const bytes = dagCbor.encode({ ...manifest, paths })
    const cid = cidOf(bytes, DAG_CBOR_CODE)
    yield [what, concat(header([cid]), section(cid, bytes), ...blocks.slice(1).map((b) => car.subarray(b.start, b.end)))]
  }
  // Not bundles at all.
  yield ['a JSON file', new TextEncoder().encode('{"paths": {"/a": []}}')]
  yield ['random bytes', new Uint8Array(4096).map(() => Math.floor(rand() * 256))]
  yield ['a gzip header', new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3])]
  yield ['a text file', new TextEncoder().encode('dds bundle\n'.repeat(100))]
}

t.test('more than 1000 hostile bundles are refused and change nothing', async (t) => {
  const dir = t.testdir()
  // The bundle: a small value, a nested run, and a chunked artifact.
  const source = await open({ store: join(dir, 'source') })
  await source.keep('/fz/small', (n: number) => ({ n, s: 'x'.repeat(n) }), 10)
  await source.evaluate(async () => {
    const a = await source.keep('/fz/a', (n: number) => n * 2, 4)
    return await source.keep('/fz/b', (x: number) => [x, x + 1], a)
  })
  await source.keep('/fz/big', (n: number) => new Float64Array(300_000).fill(n), 1.5)
  const good = join(dir, 'good.car')
  await exportBundle(source.store, ['/fz/small', '/fz/b', '/fz/big'], good, { history: true })
  await source.close()
  const car = new Uint8Array(readFileSync(good))

  // The importing store already holds a path of its own.
  const target: Store = await openStore({ location: join(dir, 'target') })
  t.teardown(async () => { await target.close() })
  const mine = await open({ store: target })
  await mine.keep('/mine/v', () => 'local value')
  const before = await snapshot(target)

  let seed = 987654321
  const rand = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296 }
  const file = join(dir, 'mutant.car')
  let tried = 0
  const accepted: string[] = []
  const uncoded: string[] = []
  const codes = new Map<string, number>()
  for (const [what, bytes] of mutations(car, rand)) {
    tried++
    writeFileSync(file, bytes)
    try {
      await importBundle(target, file)
      accepted.push(what)
    } catch (err) {
      if (err instanceof DdsError) codes.set(err.code, (codes.get(err.code) ?? 0) + 1)
      else uncoded.push(`${what}: ${String(err)}`)
    }
  }
  t.ok(tried >= 1000, `${tried} mutations tried`)
  t.same(accepted, [], 'no mutation was accepted')
  t.same(uncoded, [], 'every refusal is a coded error')
  t.same([...codes.keys()].filter((c) => c !== 'DDS_BUNDLE_INVALID' && c !== 'DDS_INTEGRITY'), [], 'refused as an invalid bundle or an integrity failure')
  t.comment(`refusals by code: ${JSON.stringify(Object.fromEntries(codes))}`)
  t.equal(await snapshot(target), before, 'the importing store is exactly as it was')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was touched')

  // And the genuine bundle still imports.
  const result = await importBundle(target, good)
  t.ok(result.paths.length === 3)
  t.same(await mine.load('/fz/b'), [8, 9])
})

/**
 * Semantic attacks: bundles that are well formed but lie about what they
 * mean. Records claiming the victim's memo key (at the top, in a nested call,
 * under many paths), roots that repeat one chunk, far-future and invalid
 * times, many paths, paths overlapping the victim's. Each is refused with a
 * coded error or accepted without touching the victim: its memo answer, its
 * head, and what its next keep and load return.
 */
t.test('generated semantic attacks never change another path\'s value', async (t) => {
  const dir = t.testdir()
  const target: Store = await openStore({ location: join(dir, 'victim'), loadLimit: 1 << 20 })
  t.teardown(async () => { await target.close() })
  const victim = await open({ store: target })
  const victimFn = (): string => 'the victim\'s value'
  t.equal(await victim.keep('/mine/v', victimFn), 'the victim\'s value')
  const memo = await collect(target.memoEntries())
  const victimHead = await target.head('/mine/v')
  const claimed = memo.map((m) => m.key)
  const memoBefore = memo.map((m) => `${Buffer.from(m.key).toString('hex')}=${m.entry.evaluation.toString()}`).sort()

  const source = await openStore({ location: join(dir, 'attacker'), inlineLimit: 1024, chunkSize: 1024, fileThreshold: 512 })
  t.teardown(async () => { await source.close() })
  let seed = 424242
  const rand = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 4294967296 }
  const file = join(dir, 'attack.car')
  const outcomes = new Map<string, number>()
  const uncoded: string[] = []
  let n = 0
  let time = 1_700_000_000_000
  /** An attacker's evaluation of `value` filed under `key`, calling `calls`. */
  const evaluation = async (value: unknown, key: Uint8Array, calls: CID[] = []): Promise<{ evaluation: CID, output: CID }> => {
    const pending = new Pending()
    const art = await source.stageArtifact(value, pending)
    const manifest = { algorithm: 'test/1', entry: 'src/f.ts#f', declarations: {}, values: {}, packages: {}, unavailable: [] }
    const { evaluation } = await source.stageEvaluation(manifest, { kind: 'keep', path: '/x', fn: { name: 'f', file: 'src/f.ts', line: 1, column: 1 }, signature: key, inputs: [], loads: [], calls, output: art.cid, started: 1, duration: 1 }, [key], pending)
    await source.write(pending)
    return { evaluation, output: art.cid }
  }
  const attack = async (what: string, bundle: Uint8Array): Promise<void> => {
    n++
    writeFileSync(file, bundle)
    try {
      await importBundle(target, file)
      outcomes.set(`${what}: accepted`, (outcomes.get(`${what}: accepted`) ?? 0) + 1)
    } catch (err) {
      if (err instanceof DdsError) outcomes.set(`${what}: ${err.code}`, (outcomes.get(`${what}: ${err.code}`) ?? 0) + 1)
      else uncoded.push(`${what}: ${String(err)}`)
    }
  }
  const exported = async (paths: string[]): Promise<Uint8Array> => {
    await exportBundle(source, paths, file)
    return new Uint8Array(readFileSync(file))
  }

  for (let round = 0; round < 6; round++) {
    const key = claimed[Math.floor(rand() * claimed.length)] as Uint8Array
    // A record at the top of a path claiming the victim's key.
    const top = await evaluation(`forged ${round}`, key)
    const many = Array.from({ length: 1 + Math.floor(rand() * 150) }, (_, i) => `/shared/r${round}/p${i}`)
    await source.commit(many.map((path) => ({ path, evaluation: top.evaluation, output: top.output, time: time++ })), new Pending())
    await attack('a record claiming the victim\'s memo key under many paths', await exported(many))
    // A nested call claiming it, under an honest-looking top.
    const nested = await evaluation(`nested ${round}`, key)
    const outer = await evaluation({ round }, randomKey(rand), [nested.evaluation])
    await source.commit([{ path: `/shared/n${round}`, evaluation: outer.evaluation, output: outer.output, time: time++ }], new Pending())
    await attack('a nested call claiming the victim\'s memo key', await exported([`/shared/n${round}`]))
    // Far-future and invalid times.
    const plain = await exported([`/shared/n${round}`])
    const bad = [Date.now() + (2 + rand() * 1e6) * 24 * 3600 * 1000, 8.64e15 + Math.floor(rand() * 1e9), -1 - Math.floor(rand() * 1e6), 0.5 + rand()][round % 4] as number
    await attack('a far-future or invalid time', await withManifest(plain, (m) => ({ ...m, paths: Object.fromEntries(Object.entries(m.paths).map(([p, es]) => [p, es.map((e) => ({ ...e, time: bad }))])) })))
    // The victim's own path, newer, as a path of a bundle that names it, and paths overlapping it.
    await attack('a path under the victim\'s path', await withManifest(plain, (m) => ({ ...m, paths: { '/mine/v/x': Object.values(m.paths)[0] } })))
    await attack('a directory of the victim\'s path', await withManifest(plain, (m) => ({ ...m, paths: { '/mine': Object.values(m.paths)[0] } })))
    // A root that repeats one chunk many times.
    const chunk = new Uint8Array(1024).fill(round)
    const chunkCid = cidOf(chunk, RAW_CODE)
    const repeats = 2048 + Math.floor(rand() * 20_000)
    const rootBytes = dagCbor.encode({ enc: 'bytes', size: repeats * 1024, chunkSize: 1024, chunks: Array.from({ length: repeats }, () => chunkCid) })
    const rootCid = cidOf(rootBytes, DAG_CBOR_CODE)
    const pending = new Pending()
    await source.stageBlock(chunkCid, chunk, pending)
    await source.stageBlock(rootCid, rootBytes, pending)
    await source.write(pending)
    const zeros = await evaluation(0, key)
    const record = await source.getEvaluation(zeros.evaluation)
    const p2 = new Pending()
    const forged = await source.stageEvaluation(await source.getNode(record.code, 'code manifest') as CodeManifest, { ...record, output: rootCid }, [], p2)
    await source.write(p2)
    await source.commit([{ path: `/shared/z${round}`, evaluation: forged.evaluation, output: rootCid, time: time++ }], new Pending())
    await attack('a root repeating one chunk', await exported([`/shared/z${round}`]))
    await t.rejects(target.readArtifact(rootCid), { code: round === 0 ? 'DDS_LOAD_TOO_LARGE' : /DDS_LOAD_TOO_LARGE|DDS_NOT_FOUND/ }, 'loading it is refused, not allocated')
  }

  t.ok(n >= 36, `${n} semantic attacks tried`)
  t.same(uncoded, [], 'every refusal is a coded error')
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`)
  for (const [what] of outcomes) {
    if (/time|under the victim|directory of the victim/.test(what)) t.notMatch(what, /accepted/, `${what}`)
  }
  // The victim checks.
  const memoAfter = (await collect(target.memoEntries())).filter((m) => claimed.some((k) => Buffer.from(k).equals(m.key))).map((m) => `${Buffer.from(m.key).toString('hex')}=${m.entry.evaluation.toString()}`).sort()
  t.same(memoAfter, memoBefore, 'the victim\'s memo answers are its own')
  t.same(String((await target.head('/mine/v'))?.evaluation), String(victimHead?.evaluation), 'the victim\'s head did not move')
  t.equal(await victim.keep('/mine/v', victimFn), 'the victim\'s value', 'its next keep returns its own value')
  t.equal(await victim.load('/mine/v'), 'the victim\'s value')
})

function randomKey (rand: () => number): Uint8Array {
  return Uint8Array.from({ length: 32 }, () => Math.floor(rand() * 256))
}
