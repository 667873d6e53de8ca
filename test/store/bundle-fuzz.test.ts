/**
 * Hostile and broken bundles (SCENARIOS.md 35): more than a thousand generated
 * mutations of a valid bundle — truncations, bit flips, wrong CIDs, missing,
 * duplicated and reordered-into-garbage blocks, absurd varint lengths, wrong
 * roots, and files that are not bundles at all. Each is refused with a coded
 * error and the importing store is exactly as it was (paths, heads, history,
 * memo entries and blocks).
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as dagCbor from '@ipld/dag-cbor'
import { openStore, type Store } from '../../store/store.js'
import { exportBundle, importBundle } from '../../store/bundle.js'
import { DdsError } from '../../store/errors.js'
import { cidOf, RAW_CODE, DAG_CBOR_CODE } from '../../store/hash.js'
import { open } from '../../lib/dds.js'
import { collect } from '../helpers/stores.js'

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
