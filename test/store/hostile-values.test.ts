/**
 * Values that would not come back as they went in: lone surrogates, values
 * nested 100,000 deep, sparse arrays and null-prototype objects are refused
 * with coded errors (or, as inputs, hashed faithfully), and stored payloads
 * holding what dds-ts never writes (cycles, Error objects) do not decode.
 */
import t from 'tap'
import { Encoder } from 'cbor-x'
import { decodeValue, encodeValue } from '../../store/values.js'
import { isDdsError } from '../../store/errors.js'
import { open } from '../../lib/dds.js'

function codeOf (f: () => unknown): string {
  try { f(); return 'no error' } catch (err) { return isDdsError(err) ? err.code : `${(err as Error).name}: ${(err as Error).message}` }
}
async function codeOfAsync (p: Promise<unknown>): Promise<string> {
  try { await p; return 'no error' } catch (err) { return isDdsError(err) ? err.code : `${(err as Error).name}: ${(err as Error).message}` }
}

function deep (n: number): unknown {
  let v: unknown = 0
  for (let i = 0; i < n; i++) v = [v]
  return v
}

t.test('values that would come back altered are refused with DDS_UNSERIALIZABLE', async (t) => {
  const nullProto = Object.assign(Object.create(null) as object, { a: 1 })
  for (const [what, value] of [
    ['a lone low surrogate', 'x\udfff'],
    ['a lone high surrogate, nested', { a: ['x\ud800'] }],
    ['a key with a lone surrogate', { ['k\udc00']: 1 }],
    ['a Map key with a lone surrogate', new Map([['k\ud800', 1]])],
    ['a sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
    ['a null-prototype object', { inner: nullProto }],
    ['a value nested 100,000 deep', deep(100_000)]
  ] as Array<[string, unknown]>) {
    t.equal(codeOf(() => encodeValue(value)), 'DDS_UNSERIALIZABLE', what)
  }
  t.equal(codeOf(() => encodeValue('a pair: 😀')), 'no error', 'paired surrogates are fine')
  t.equal(codeOf(() => encodeValue([1, undefined, 3])), 'no error', 'undefined elements are not holes')
})

t.test('stored payloads holding what dds-ts never writes do not decode', async (t) => {
  const plain = new Encoder({ structuredClone: true, useRecords: true } as ConstructorParameters<typeof Encoder>[0])
  const cyclic: { self?: unknown, n: number } = { n: 1 }
  cyclic.self = cyclic
  t.equal(codeOf(() => decodeValue('cbor-x/1', undefined, plain.encode(cyclic))), 'DDS_INTEGRITY', 'a cycle through shared references')
  t.equal(codeOf(() => decodeValue('cbor-x/1', undefined, new Encoder().encode(new Error('boom')))), 'DDS_INTEGRITY', 'an Error object (tag 27)')
  const nested = new Uint8Array(100_001).fill(0x81)
  nested[100_000] = 0
  t.equal(codeOf(() => decodeValue('cbor-x/1', undefined, nested)), 'DDS_INTEGRITY', 'arrays nested 100,000 deep')
  const ok = encodeValue({ a: [1, 'two', new Map([[3, new Set([4])]])], d: new Date(5), r: /x/g, b: 10n })
  t.same(decodeValue(ok.enc, ok.type, ok.bytes), { a: [1, 'two', new Map([[3, new Set([4])]])], d: new Date(5), r: /x/g, b: 10n }, 'what dds-ts writes still decodes')
})

t.test('inputs with lone surrogates hash faithfully; too deep inputs are DDS_UNHASHABLE', async (t) => {
  const dds = await open({ backend: 'memory', log: false })
  t.teardown(async () => { await dds.close() })
  const second = (s: string): number => s.charCodeAt(1)
  t.equal(await dds.keep('/low', second, 'x\udfff'), 0xdfff)
  t.equal(await dds.keep('/high', second, 'x\ud800'), 0xd800, 'not a cache hit of the other string')
  t.equal(await dds.keep('/deep', (v: unknown) => typeof v, deep(100_000)).then(() => 'no error', (err) => isDdsError(err) ? err.code : String(err)), 'DDS_UNHASHABLE')
  t.equal(await codeOfAsync(dds.keep('/bad-key', (v: unknown) => typeof v, { ['k\ud800']: 1 })), 'DDS_UNHASHABLE')
  t.equal(await codeOfAsync(dds.keep('/ret', () => 'x\ud800')), 'DDS_UNSERIALIZABLE', 'a result with a lone surrogate')
})
