/**
 * `dds verify --repair` on a store with a lying memo entry and a head that is
 * not its history: both are named, dropped or rebuilt, said on stderr and in
 * --json, and a second verify is clean.
 */
import t from 'tap'
import { openStore } from '../../store/store.js'
import { encodeNode } from '../../store/records.js'
import { pathKey } from '../../store/keys.js'
import { hex } from '../../store/util.js'
import { pipeline, SMALL } from './helpers/fake.js'
import { dds } from './helpers/cli.js'

t.test('verify --repair drops a bad memo entry and rebuilds a bad head', async (t) => {
  const dir = t.testdir()
  const store = await openStore({ ...SMALL, location: dir })
  const p = await pipeline(store)
  // The memo entry of /data/raw now claims /data/clean's output; the head of /data/raw is 3 bytes.
  const raw = await store.backend.get('memo', p.raw.key)
  if (raw === undefined) throw new Error('setup')
  await store.backend.batch([
    { type: 'put', space: 'memo', key: p.raw.key, value: encodeNode({ evaluation: p.raw.evaluation, output: p.clean.output, loads: [], nested: false }) },
    { type: 'put', space: 'paths', key: pathKey('/data/raw'), value: Uint8Array.of(0, 0, 1) }
  ])
  await store.close()

  const r = await dds(['verify', '--repair', '--json'], { store: dir })
  t.equal(r.code, 1, 'problems were found')
  const out = JSON.parse(r.stdout) as { problems: Array<{ step: string, problem: string }>, repaired: Array<{ action: string, space: string, key: string, path?: string }> }
  t.same(out.problems.map((x) => `${x.step} ${x.problem}`).sort(), ['memo inconsistent', 'paths malformed'])
  t.same(out.repaired.map((x) => `${x.action} ${x.space} ${x.path ?? x.key}`).sort(), [`dropped memo ${hex(p.raw.key)}`, 'rebuilt paths /data/raw'])
  t.match(r.stderr, /repair: dropped memo/)
  const again = await dds(['verify'], { store: dir })
  t.equal(again.code, 0, again.stdout)
  t.equal((await dds(['ls'], { store: dir })).code, 0)
})
