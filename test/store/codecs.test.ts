/**
 * User codecs: a class instance CBOR refuses is stored by its owner's codec,
 * whose name and version are in the artifact root (and so in its CID); a
 * store without that codec, or a root naming one nobody registered, fails
 * with DDS_CODEC_MISSING naming it. Malformed codec lists are refused.
 */
import t from 'tap'
import { openStore } from '../../store/store.js'
import { Pending } from '../../store/pending.js'
import { isDdsError, type DdsError } from '../../store/errors.js'
import type { Codec } from '../../store/interface.js'
import { open } from '../../lib/dds.js'

async function failure (p: Promise<unknown>): Promise<DdsError> {
  try {
    await p
  } catch (err) {
    return err as DdsError
  }
  throw new Error('expected a rejection')
}

declare global {
  // eslint-disable-next-line no-var
  var codecRuns: number
}

class Point {
  constructor (readonly x: number, readonly y: number) {}
  norm (): number { return Math.hypot(this.x, this.y) }
}

function pointCodec (version: number | undefined = 1): Codec<Point> {
  return {
    name: 'test/point',
    ...(version === undefined ? {} : { version }),
    accepts: (v) => v instanceof Point,
    encode: (p) => ({ bytes: Buffer.from(JSON.stringify([p.x, p.y])) }),
    decode: (b) => {
      const [x, y] = JSON.parse(Buffer.from(b).toString('utf8')) as [number, number]
      return new Point(x, y)
    }
  }
}

t.test('a user codec stores and reads a class instance; its name and version are in the root', async (t) => {
  const store = await openStore({ backend: 'memory', codecs: [pointCodec()] })
  t.teardown(async () => { await store.close() })
  const info = await store.putArtifact(new Point(3, 4))
  t.equal(info.enc, 'test/point')
  t.equal(info.v, 1)
  const root = await store.getArtifactRoot(info.cid)
  t.same({ enc: root.enc, v: root.v }, { enc: 'test/point', v: 1 })
  const back = await store.readArtifact(info.cid) as Point
  t.ok(back instanceof Point)
  t.equal(back.norm(), 5)
  // Built-in values keep their codecs (and CIDs) beside a user codec.
  t.equal((await store.putArtifact('hello')).cid.toString(), 'bafyreiagkppzfkkpxxzgb3bhj4e3zxbfxzezucjvrc3ocw7pyzggmhkke4')
  // Version is part of the identity.
  const v2 = await openStore({ backend: 'memory', codecs: [pointCodec(2)] })
  t.teardown(async () => { await v2.close() })
  t.not((await v2.putArtifact(new Point(3, 4))).cid.toString(), info.cid.toString())
})

t.test('without its codec (or with another version) an artifact fails with DDS_CODEC_MISSING naming it', async (t) => {
  const dir = t.testdir()
  const a = await openStore({ location: dir, backend: 'classic', codecs: [pointCodec()] })
  const { cid } = await a.putArtifact(new Point(1, 2))
  await a.close()
  const without = await openStore({ location: dir, backend: 'classic' })
  const missing = await failure(without.readArtifact(cid))
  t.ok(isDdsError(missing, 'DDS_CODEC_MISSING'))
  t.same(missing.data, { codec: 'test/point', version: 1, artifact: cid.toString() })
  t.match(missing.message, /test\/point@1/)
  // Without the codec the instance is refused as before, never stored as a plain object.
  await t.rejects(without.putArtifact(new Point(1, 2)), { code: 'DDS_UNSERIALIZABLE' })
  await without.close()
  const other = await openStore({ location: dir, backend: 'classic', codecs: [pointCodec(2)] })
  const mismatch = await failure(other.readArtifact(cid))
  t.equal(mismatch.code, 'DDS_CODEC_MISSING')
  t.match(mismatch.message, /this store has version 2/)
  await other.close()
  const right = await openStore({ location: dir, backend: 'classic', codecs: [pointCodec()] })
  t.equal((await right.readArtifact(cid) as Point).y, 2)
  await right.close()
})

t.test('a hostile root naming an unknown codec, or a malformed one, is refused', async (t) => {
  const store = await openStore({ backend: 'memory', codecs: [pointCodec()] })
  t.teardown(async () => { await store.close() })
  const stage = async (root: unknown): Promise<import('multiformats/cid').CID> => {
    const pending = new Pending()
    const cid = await store.stageNode(root, pending)
    await store.commit([], pending)
    return cid
  }
  const data = Buffer.from('[1,2]')
  const unknown = await stage({ enc: 'evil/unregistered', size: data.byteLength, data })
  const err = await failure(store.readArtifact(unknown))
  t.equal(err.code, 'DDS_CODEC_MISSING')
  t.same(err.data, { codec: 'evil/unregistered', artifact: unknown.toString() })
  // A root claiming a registered codec without its version is not read by it.
  const noVersion = await stage({ enc: 'test/point', size: data.byteLength, data })
  await t.rejects(store.readArtifact(noVersion), { code: 'DDS_CODEC_MISSING' })
  for (const [what, root] of [
    ['codec name not a string', { enc: 7, size: 2, data: Buffer.from('ab') }],
    ['empty codec name', { enc: '', size: 2, data: Buffer.from('ab') }],
    ['overlong codec name', { enc: 'x'.repeat(65), size: 2, data: Buffer.from('ab') }],
    ['codec version a map', { enc: 'test/point', v: { a: 1 }, size: 2, data: Buffer.from('ab') }],
    ['negative codec version', { enc: 'test/point', v: -1, size: 2, data: Buffer.from('ab') }]
  ] as const) {
    const cid = await stage(root)
    await t.rejects(store.readArtifact(cid), { code: 'DDS_INTEGRITY' }, what)
  }
})

t.test('malformed codec lists are refused at open', async (t) => {
  const base = pointCodec()
  await t.rejects(openStore({ backend: 'memory', codecs: 'nope' as never }), TypeError)
  await t.rejects(openStore({ backend: 'memory', codecs: [{ ...base, name: 'bad name!' }] }), TypeError)
  await t.rejects(openStore({ backend: 'memory', codecs: [{ ...base, decode: undefined as never }] }), TypeError)
  await t.rejects(openStore({ backend: 'memory', codecs: [{ ...base, version: 1.5 }] }), TypeError)
  await t.rejects(openStore({ backend: 'memory', codecs: [{ ...base, name: 'cbor-x/1' }] }), RangeError)
  await t.rejects(openStore({ backend: 'memory', codecs: [{ ...base, name: 'arrow-ipc' }] }), RangeError)
  await t.rejects(openStore({ backend: 'memory', codecs: [base, base] }), RangeError)
})

t.test('a codec that returns no bytes is a TypeError; one that streams pieces is chunked', async (t) => {
  const store = await openStore({ backend: 'memory', inlineLimit: 16, chunkSize: 16, codecs: [
    { name: 'test/liar', accepts: (v) => v instanceof Point && v.x === 0, encode: () => ({ bytes: 'no' as never }), decode: () => null },
    {
      name: 'test/stream',
      accepts: (v) => v instanceof Point,
      encode: (p: Point) => ({ pieces: (function * () { for (let i = 0; i < p.x; i++) yield Buffer.from('0123456789') })() }),
      decode: (b) => new Point(b.byteLength / 10, 0)
    }
  ] })
  t.teardown(async () => { await store.close() })
  await t.rejects(store.putArtifact(new Point(0, 0)), TypeError)
  const info = await store.putArtifact(new Point(5, 0))
  t.equal(info.size, 50)
  t.equal(info.chunks, 4)
  t.equal((await store.readArtifact(info.cid) as Point).x, 5)
})

t.test('open({ codecs }) keeps class instances and hits on them', async (t) => {
  const dds = await open({ backend: 'memory', codecs: [pointCodec()], log: false })
  t.teardown(async () => { await dds.close() })
  globalThis.codecRuns = 0
  const make = (n: number): Point => { globalThis.codecRuns++; return new Point(n, n) }
  const a = await dds.keep('/point', make, 2)
  const b = await dds.keep('/point', make, 2)
  t.equal(globalThis.codecRuns, 1)
  t.ok(a instanceof Point && b instanceof Point)
  t.equal((b as Point).x, 2)
})
