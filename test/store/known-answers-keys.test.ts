/**
 * Known answers that nothing else pins: argument hashes (the canonical form
 * of every kind of value), memo keys and load keys, the artifact roots of
 * each encoding, and a store written by format version 1 (committed under
 * test/fixtures/store-v1), which every later version must open and read.
 * A change here means stored memo entries no longer match: such a change
 * needs a new format or value-hash version, never an updated expectation.
 */
import t from 'tap'
import { cp } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { CID } from 'multiformats/cid'
import { hashValue, memoKey, loadsKey } from '../../lib/value-hash.js'
import { openStore, Pending } from '../../store/store.js'
import { cidOf, parseCID, RAW_CODE } from '../../store/hash.js'
import { verifyStore } from '../../store/verify.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

t.test('argument hashes are pinned', async (t) => {
  const cases: Array<[string, unknown, string]> = [
    ['string', 'hello', 'bafyreiglqnkzhzh2gyz4zfy7zpi6wcamumrclarakshlocd35l4o63l76q'],
    ['integer', 42, 'bafyreid7qp333iwwhfm5gr3hncpqnvdvozud2n4nt24nbe4gzgqcaok4km'],
    ['float', -3.25, 'bafyreigzsrjztd3hsxefjww7562erpgkdl2xp5zm6s4sfran4vm6s5nabm'],
    ['-0', -0, 'bafyreig7odwnrqlu5rdbid7lgunrkovfgjyyevz6smfjqqk2zg4jnjcfwq'],
    ['NaN', Number.NaN, 'bafyreihqbojcbpgsf2kr7whpdlofvdmi37azwu5dtxcida2j7vs7froeme'],
    ['Infinity', Number.POSITIVE_INFINITY, 'bafyreicqazjboamo2ocxdvx7xsu2fh5oibiof5y6m7hsvmxp5ssbezs6ki'],
    ['bigint', 12345678901234567890n, 'bafyreicnczkd2nnvfwcf35balrmikmpjiaxhdeypirjbf2tbtidtubo4o4'],
    ['undefined', undefined, 'bafyreicih57tqumnjge6xtf26evyq6azab6mn2tnxdxqe7s5lxlvdzqpeq'],
    ['null', null, 'bafyreifqwkmiw256ojf2zws6tzjeonw6bpd5vza4i22ccpcq4hjv2ts7cm'],
    ['true', true, 'bafyreibhvppn37ufanewvxvwendgzksh3jpwhk6sxrx2dh3m7s3t5t7noa'],
    ['array', [1, 'a', null], 'bafyreihbgrztbitimfgzpxfxpwzayyqa2sts6mixqa6eoqhqhzjt575bze'],
    ['object', { b: 1, a: [2, 3] }, 'bafyreidst37eotp6duwyfwjgtmerf55ramg5uqrib3a6zjoktqwu3k5ldm'],
    ['Map', new Map<unknown, unknown>([['k', 1], [2, 'v']]), 'bafyreicijxa4kx3rdb6pjusrq3ewgfq6fcw66hd4wzt5btu7xhd3ubi6yi'],
    ['Set', new Set([3, 1, 2]), 'bafyreicdnjpihklb7dcky6upbe2666zzbxulyzmfi3rhva4gta57k3qghu'],
    ['Date', new Date(1700000000000), 'bafyreiet5ibbdovjnu447iwqaf2kha7kx74w764mg6xz3ibl457faeczqm'],
    ['RegExp', /ab+c/gi, 'bafyreihqixavwi6gdf4yc6vupib7gdichgkpwcxvlxuxm5wtetbkgsqota'],
    ['Uint8Array', new Uint8Array([1, 2, 3]), 'bafyreigef77qdz26pcvk6upyvdht5v3a2h3v6y26pyibdjojsec4pubjty'],
    ['Buffer', Buffer.from('hi'), 'bafyreide367gebzm4oqvdlalpbypiguqz2ftd6bjhrslivwgnhccqldnxu'],
    ['Float32Array', new Float32Array([1.5, 2]), 'bafyreihg27nf4e6czxcsgngu7n4crwzoowpmoawsfkxkkyq2qbb3kqazzy'],
    ['ArrayBuffer', new Uint8Array([9, 8]).buffer, 'bafyreic7dwdrv37yq2tsyz4a7mvghq36ue52cejxjg6hvug3c6g53ed6ga'],
    ['DataView', new DataView(new Uint8Array([4, 5]).buffer), 'bafyreihcvmhenlwcj7pu6egckqjfqnwghmxjjpnk6fqwuyj6344vawlufi'],
    ['object with the envelope key', { $dds: 'x' }, 'bafyreif3k73pkvhl5fwzntklyu66pazgtunyqqkkhxxn7mesc6t7vi3dqu']
  ]
  for (const [name, value, expected] of cases) {
    t.equal(hashValue(value, 'args[0]', { mode: 'input' }).toString(), expected, name)
  }
})

t.test('memo keys and load keys are pinned', async (t) => {
  const code = new Uint8Array(32).fill(3)
  const a = hashValue('a', 'a', { mode: 'input' })
  const raw = cidOf(new Uint8Array([1]), RAW_CODE)
  t.equal(hex(memoKey(code, [a, raw])), '4ed0f9245639130743c695b1bfd163a589fc9dc1baccbfa54e4de27ac2e3d210', 'with inputs')
  t.equal(hex(memoKey(code, [])), 'f2aef2dfd4b687032e88726fb3eac52807203e2160ae52b3fe922b2fdf75452e', 'without inputs')
  // The order of loads does not matter: they are sorted by path.
  const expected = '1d346d427c9e1aaec61c7cbc4bd29aaa437d949b4f1399043ca5924d2db42499'
  t.equal(hex(loadsKey(code, [{ path: '/b', output: raw }, { path: '/a', output: a }])), expected, 'load key')
  t.equal(hex(loadsKey(code, [{ path: '/a', output: a }, { path: '/b', output: raw }])), expected, 'load key, other order')
})

t.test('artifact roots of every encoding are pinned', async (t) => {
  const store = await openStore({ backend: 'memory' })
  t.teardown(async () => { await store.close() })
  const cases: Array<[string, unknown, string]> = [
    ['bytes', new Uint8Array([1, 2, 3]), 'bafyreihyiemtpde7sdhjb3r74qn6gjzegri7a2nqw3bibzghgg24cuv65m'],
    ['arraybuffer', new Uint8Array([1, 2]).buffer, 'bafyreiellr4krbusrsfiurow4hhjvogtfngzioz2xipb7owaj6royfsvzm'],
    ['Int16Array', new Int16Array([-1, 2]), 'bafyreie34gfxtf7yoko2no4rpi6u4ekltw64cksqbeh3fw6u24tjet2sqa'],
    ['BigInt64Array', new BigInt64Array([5n]), 'bafyreidigs4xxgychsjpgwyxdo3cf3sxueytlpxkey4dfgjx7d6x22otw4'],
    ['empty string', '', 'bafyreiekmealfk4kbx7qmhlvbyairf4vjn5gr4lbaijfr6fvl4lmjiyl7y'],
    ['Map (cbor-x)', new Map([['a', 1]]), 'bafyreihr32zdgt7tigxrb5pfzhoacij5o3hcn57je2ut2ffmrrmhvjc73e'],
    ['Date (cbor-x)', new Date(1700000000000), 'bafyreih7bbciapc5k552khnvyy7sxy4iwbw4zps5kqtgxlbk7ep76nrtsi']
  ]
  for (const [name, value, expected] of cases) {
    const { cid } = await store.putArtifact(value)
    t.equal(cid.toString(), expected, name)
    t.same(await store.readArtifact(cid), value, `${name} reads back`)
  }
  // A streamed artifact is chunked the same way whatever pieces the stream yields.
  async function * source (): AsyncIterable<Uint8Array> {
    yield new Uint8Array(1_500_000).fill(2)
    yield new Uint8Array(700_000).fill(3)
  }
  const pending = new Pending()
  const info = await store.stageStream('bytes', undefined, source(), pending)
  await store.write(pending)
  t.equal(info.cid.toString(), 'bafyreih6i37k6sfsna2pt7a5fp7r267hxrhdbzv6rr5ijlviauamttipcm', 'streamed chunked bytes')
})

t.test('a store written by format version 1 opens and reads', async (t) => {
  const dir = t.testdir()
  // A copy: opening replays the log and writes, and the fixture must stay as it was committed.
  await cp(fileURLToPath(new URL('../fixtures/store-v1', import.meta.url)), join(dir, 's'), { recursive: true })
  const store = await openStore({ location: join(dir, 's') })
  t.teardown(async () => { await store.close() })
  const heads: Array<[string, number, string | null, string | null, number]> = []
  for await (const e of store.paths({ deleted: true })) heads.push([e.path, e.seq, e.evaluation?.toString() ?? null, e.output?.toString() ?? null, e.time])
  t.same(heads, [
    ['/data/big', 1, 'bafyreigvvv6uvoqe2ra2j26l2zooddpjlmayms4dzl3yitgkbjnocjhpja', 'bafyreighe73sobkizvcc56673eespk5l6d7qsswu3tnzqpwljkuugrbdsm', 1700000000000],
    ['/data/floats', 1, 'bafyreidbzu52kmrs5xirowgutv3y2bndffhbaqqimw3ige7tkl5sua7qda', 'bafyreiaeuqc6udu6lwijvsve2socxsnbxufex65o57tgnw7laogi6xyar4', 1700000000000],
    ['/data/table', 1, 'bafyreicck2crzeanpzcohgt4bmnrdw3bcoyginm6p7i6s5clh6mcvneaqa', 'bafyreibldzf2hzaqz6qz7ur3upcv7lg7or3paazftjysj5lyq6lh6pdykq', 1700000000000],
    ['/greeting', 2, 'bafyreid2b4l73wggvmof2aj32aie4uafi6dftawzepxhv3ukxryahg7dvm', 'bafyreihix3ors7vmxsypkiubheheciibnkzaqeyuorpgorbzni3c5sxmru', 1700000001000],
    ['/old', 2, null, null, 1700000002000]
  ])
  const seqs: Array<[number, string | undefined, boolean]> = []
  for await (const e of store.history('/greeting')) seqs.push([e.seq, e.evaluation?.toString(), e.hit === true])
  t.same(seqs, [[2, 'bafyreid2b4l73wggvmof2aj32aie4uafi6dftawzepxhv3ukxryahg7dvm', true], [1, 'bafyreidoiw7trfufro4hpjoz52h56ulioecf5yfmkm35x5c6cfoza4x244', false]])
  const read = async (path: string): Promise<unknown> => {
    const head = await store.head(path)
    if (head === undefined || head.output === null) throw new Error(`${path} has no value`)
    return await store.readArtifact(head.output)
  }
  t.equal(await read('/greeting'), 'hello again')
  t.same(await read('/data/table'), { rows: [1, 2, 3], label: 'x' })
  t.same(await read('/data/floats'), new Float64Array([1.5, -2, 3e10]))
  const big = await read('/data/big') as Uint8Array
  t.equal(big.byteLength, 10_000)
  t.ok(big.every((b, i) => b === i % 251), 'the chunked artifact (file blocks) reads back')
  t.equal(await store.head('/old'), undefined, 'a deleted path stays deleted')
  const memo = await store.lookupMemo(new Uint8Array(32).fill(2))
  t.equal(memo?.evaluation.toString(), 'bafyreicck2crzeanpzcohgt4bmnrdw3bcoyginm6p7i6s5clh6mcvneaqa', 'memo entry')
  const record = await store.getEvaluation(parseCID('bafyreicck2crzeanpzcohgt4bmnrdw3bcoyginm6p7i6s5clh6mcvneaqa'))
  t.equal(record.path, '/data/table')
  t.equal((record.output as CID).toString(), 'bafyreibldzf2hzaqz6qz7ur3upcv7lg7or3paazftjysj5lyq6lh6pdykq')
  const report = await verifyStore(store)
  t.equal(report.ok, true, 'verify finds nothing wrong')
  t.same(report.problems, [])
})
