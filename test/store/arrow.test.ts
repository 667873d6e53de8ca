/**
 * Arrow tables as artifacts: round trips of every common type family on both
 * backends (inline and chunked), column buffers as views over the bytes read,
 * identity by content, a pinned CID, a RecordBatch kept as one, and refusals
 * (no package: DDS_DEPENDENCY_MISSING; a table inside a plain object is not
 * stored as an object).
 */
import t from 'tap'
import * as arrow from 'apache-arrow'
import { classic, memory } from '../helpers/stores.js'
import { openStore } from '../../store/store.js'
import { Codecs } from '../../store/codecs.js'
import { arrowCodec, isArrowRecordBatch, isArrowTable } from '../../store/arrow.js'
import { open } from '../../lib/dds.js'

/** One column of each type family in common use, with nulls where the type allows them. */
function sampleTable (rows = 5): arrow.Table {
  const n = rows
  const idx = Array.from({ length: n }, (_, i) => i)
  const dec = new Uint32Array(n * 4)
  for (let i = 0; i < n; i++) dec[i * 4] = i * 125 // 1.25 * i at scale 2
  const decimal = arrow.makeVector(arrow.makeData({ type: new arrow.Decimal(2, 10, 128), length: n, data: dec }))
  return new arrow.Table({
    i32: arrow.vectorFromArray(idx.map((i) => (i % 4 === 3 ? null : i - 2)), new arrow.Int32()),
    i64: arrow.vectorFromArray(idx.map((i) => BigInt(i) * 10_000_000_000n), new arrow.Int64()),
    u8: arrow.vectorFromArray(idx.map((i) => i % 256), new arrow.Uint8()),
    f64: arrow.vectorFromArray(idx.map((i) => (i === 1 ? null : i / 3)), new arrow.Float64()),
    f32: arrow.vectorFromArray(idx.map((i) => i * 0.5), new arrow.Float32()),
    decimal,
    str: arrow.vectorFromArray(idx.map((i) => (i === 2 ? null : `row ${i} é`)), new arrow.Utf8()),
    large: arrow.vectorFromArray(idx.map((i) => 'x'.repeat(i % 7)), new arrow.LargeUtf8()),
    dict: arrow.vectorFromArray(idx.map((i) => ['red', 'green', 'blue'][i % 3] ?? null), new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32())),
    ts: arrow.vectorFromArray(idx.map((i) => 1_700_000_000_000 + i * 1000), new arrow.TimestampMillisecond()),
    list: arrow.vectorFromArray(idx.map((i) => (i === 4 ? null : idx.slice(0, i % 3))), new arrow.List(new arrow.Field('item', new arrow.Int32(), true))),
    struct: arrow.vectorFromArray(idx.map((i) => (i === 0 ? null : { x: i, y: `y${i}` })), new arrow.Struct([new arrow.Field('x', new arrow.Int32(), true), new arrow.Field('y', new arrow.Utf8(), true)])),
    nulls: arrow.vectorFromArray(idx.map(() => null), new arrow.Null())
  })
}

/** Every row as JSON (bigints as strings): what a reader of the table sees. */
function rows (table: arrow.Table): string {
  return JSON.stringify(table.toArray(), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))
}

async function collect (source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const piece of source) out.push(piece)
  return out
}

t.test('detection needs no import of the package and knows tables from look-alikes', async (t) => {
  const table = sampleTable()
  t.ok(isArrowTable(table))
  t.ok(isArrowRecordBatch(table.batches[0]))
  t.notOk(isArrowTable({ batches: [], numRows: 0, schema: {} }))
  t.notOk(isArrowTable(table.batches[0]))
  class Table { batches = []; numRows = 0; schema = {} }
  t.notOk(isArrowTable(new Table()), 'a class merely named Table has no tag')
})

for (const bc of [memory, classic]) {
  for (const [layout, options] of [['inline', {}], ['chunked', { inlineLimit: 1024, chunkSize: 1000 }]] as const) {
    t.test(`${bc.name}, ${layout}: every type family round-trips`, async (t) => {
      const store = await bc.open(t.testdir(), options)
      t.teardown(async () => { await store.close() })
      const table = sampleTable(layout === 'inline' ? 5 : 400)
      const info = await store.putArtifact(table)
      t.equal(info.enc, 'arrow-ipc')
      t.equal(info.v, 1)
      if (layout === 'chunked') t.ok(info.chunks > 1)
      const back = await store.readArtifact(info.cid) as arrow.Table
      t.ok(back instanceof arrow.Table)
      t.equal(back.numRows, table.numRows)
      t.same(back.schema.fields.map((f) => `${f.name}: ${String(f.type)} ${f.nullable}`), table.schema.fields.map((f) => `${f.name}: ${String(f.type)} ${f.nullable}`))
      t.equal(rows(back), rows(table), 'the same rows')
      t.ok(Buffer.from(arrow.tableToIPC(back, 'stream')).equals(Buffer.concat(await collect(store.artifactBytes(info.cid)))), 'the payload is its IPC stream')
      t.equal(back.get(3)?.i32, null)
      t.equal(back.get(1)?.i64, 10_000_000_000n)
      t.equal(back.get(2)?.str, null)
      t.equal(back.get(4)?.dict, 'green')
      t.same(back.get(2)?.list?.toArray(), Int32Array.from([0, 1]))
      t.same(back.get(3)?.struct?.toJSON(), { x: 3, y: 'y3' })
      // Column buffers are views over the bytes read, not copies.
      const values = back.getChild('f32')?.data[0]?.values as Float32Array
      t.equal(values.buffer.byteLength, info.size, 'a view over the payload')
    })
  }
}

t.test('identity by content: an identical table is the same artifact; the CID is pinned', async (t) => {
  const store = await openStore({ backend: 'memory' })
  t.teardown(async () => { await store.close() })
  const a = await store.putArtifact(arrow.tableFromArrays({ id: Int32Array.from([1, 2, 3]), name: ['a', 'b', 'c'] }))
  const b = await store.putArtifact(arrow.tableFromArrays({ id: Int32Array.from([1, 2, 3]), name: ['a', 'b', 'c'] }))
  t.equal(a.cid.toString(), b.cid.toString())
  t.equal(a.cid.toString(), 'bafyreidiwxjdqoamom7fs3xy6px5phcxhkdp2gayiibhioekcqn3xotbnq', 'pinned: a change of the Arrow encoding breaks this on purpose')
  const c = await store.putArtifact(arrow.tableFromArrays({ id: Int32Array.from([1, 2, 4]), name: ['a', 'b', 'c'] }))
  t.not(c.cid.toString(), a.cid.toString())
})

t.test('a RecordBatch comes back as a RecordBatch; an empty table as an empty table', async (t) => {
  const store = await openStore({ backend: 'memory' })
  t.teardown(async () => { await store.close() })
  const table = sampleTable()
  const batch = await store.readArtifact((await store.putArtifact(table.batches[0])).cid) as arrow.RecordBatch
  t.ok(batch instanceof arrow.RecordBatch)
  t.equal(batch.numRows, 5)
  const empty = table.slice(0, 0)
  const back = await store.readArtifact((await store.putArtifact(empty)).cid) as arrow.Table
  t.equal(back.numRows, 0)
  t.equal(back.numCols, table.numCols)
})

t.test('without apache-arrow a table fails with DDS_DEPENDENCY_MISSING; inside an object it is refused', async (t) => {
  const absent = arrowCodec(async () => { throw Object.assign(new Error('Cannot find package'), { code: 'ERR_MODULE_NOT_FOUND' }) })
  const codecs = new Codecs([], absent)
  const table = sampleTable()
  const codec = codecs.encoderFor(table)
  t.equal(codec.name, 'arrow-ipc', 'recognised without the package')
  await t.rejects(async () => await codec.encode(table, 'value'), { code: 'DDS_DEPENDENCY_MISSING', data: { package: 'apache-arrow' } })
  await t.rejects(async () => await codec.decode(new Uint8Array(8), {}), { code: 'DDS_DEPENDENCY_MISSING' })
  const store = await openStore({ backend: 'memory' })
  t.teardown(async () => { await store.close() })
  await t.rejects(store.putArtifact({ table }), { code: 'DDS_UNSERIALIZABLE', data: { field: 'value.table' } })
})

t.test('corrupt IPC bytes are DDS_INTEGRITY', async (t) => {
  await t.rejects(async () => await arrowCodec().decode(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), {}), { code: 'DDS_INTEGRITY' })
  await t.rejects(async () => await arrowCodec().decode(new Uint8Array(8), { type: 'Vector' }), { code: 'DDS_INTEGRITY' })
})

t.test('a kept table is passed to another keep by its stored identity (early cutoff downstream)', async (t) => {
  const dds = await open({ backend: 'memory', log: false })
  t.teardown(async () => { await dds.close() })
  globalThis.arrowRuns = 0
  const build = (n: number): arrow.Table => arrow.tableFromArrays({ v: Float64Array.from({ length: 3 }, (_, i) => i * n) })
  const total = (table: arrow.Table): number => {
    globalThis.arrowRuns++
    let s = 0
    for (const x of table.getChild('v') ?? []) s += x as number
    return s
  }
  const a = await dds.keep('/table', build, 2)
  t.equal(await dds.keep('/total', total, a), 6)
  // Rebuilt from another argument but equal in content: downstream is spared.
  const b = await dds.keep('/table', (n: number) => arrow.tableFromArrays({ v: Float64Array.from({ length: 3 }, (_, i) => i * n) }), 2)
  t.equal(await dds.keep('/total', total, b), 6)
  t.equal(globalThis.arrowRuns, 1)
})

declare global {
  // eslint-disable-next-line no-var
  var arrowRuns: number
}
