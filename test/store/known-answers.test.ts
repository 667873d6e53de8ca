/**
 * Exact CIDs of a few artifacts and records. A change of encoding (cbor-x
 * options, root layout, record fields, hash) breaks these on purpose: such a
 * change needs a new format version.
 */
import t from 'tap'
import { openStore } from '../../store/store.js'
import { encodeNode } from '../../store/records.js'
import { cidOf, DAG_CBOR_CODE } from '../../store/hash.js'
import { fakeEvaluation } from './suite.js'

t.test('artifact CIDs are pinned', async (t) => {
  const store = await openStore({ backend: 'memory' })
  t.teardown(async () => { await store.close() })
  const cases: Array<[string, unknown, string]> = [
    ['string', 'hello', 'bafyreiagkppzfkkpxxzgb3bhj4e3zxbfxzezucjvrc3ocw7pyzggmhkke4'],
    ['number (cbor-x)', 42, 'bafyreiggtqdnp5ul5h3m633443ovhqtcxxy7sygt6bsciaky35fmqx4ju4'],
    ['object (cbor-x)', { a: 1, b: [true, null] }, 'bafyreicwbxte7albg6yo6vliz5sjwicvx6vc7ievoky5a22aptuqpbjbhi'],
    ['Float64Array', new Float64Array([1, 2]), 'bafyreihi6oturisizj7wsjtzygawn2kqic42uax2bo557hjlcozgxsm5cu'],
    ['Buffer', Buffer.from('hi'), 'bafyreibun6w4w67rifzkyxfcz2bguhcrsznvuvf7i3r3oz77wn66qlvply'],
    ['3 MB chunked Uint8Array', new Uint8Array(3_000_000).fill(1), 'bafyreibadnxpe3codrf5qhtzkuxu4f6shztg7s67kmhoar75nroxofslsi']
  ]
  for (const [name, value, expected] of cases) {
    t.equal((await store.putArtifact(value)).cid.toString(), expected, name)
  }
  const b3 = await openStore({ backend: 'memory', hash: 'blake3' })
  t.equal((await b3.putArtifact('hello')).cid.toString(), 'bafyr4ihz22qm5qareih6pnsesofdjvluyvs73fdobaqmfv5syncfhqjzqu', 'blake3 string')
  await b3.close()
})

t.test('record, manifest and history entry CIDs are pinned', async (t) => {
  const store = await openStore({ backend: 'memory' })
  t.teardown(async () => { await store.close() })
  const e = await fakeEvaluation(store, 'out', '/p', new Uint8Array(32).fill(7))
  t.equal(e.output.toString(), 'bafyreifhzhqhc5dmejxmbe64jgrkpwgvzid6smlghmnnu2lcm52kxndzcy', 'output')
  t.equal(e.evaluation.toString(), 'bafyreibapnijwrhkf2ey6gf7g7lzq7bs7q6oeidguvjb3ep4futv2woyli', 'evaluation record')
  t.equal((await store.getEvaluation(e.evaluation)).code.toString(), 'bafyreif6jndeumyhr6qvfqpmq2q4m7gqonobmuwnv2agvfmpiiluxj5e3e', 'code manifest')
  const entry = encodeNode({ time: 1700000000000, evaluation: e.evaluation, output: e.output })
  t.equal(cidOf(entry, DAG_CBOR_CODE).toString(), 'bafyreiey7ml24g4atc2spufxqzj6zon2bxu4ng5urs3b2ubjkqyy5vureq', 'history entry')
})
