/**
 * A store whose stored entries are garbled or hold impossible times, met
 * through the real `dds` binary: `ls`, `log`, `show`, `cat`, `why`, `gc` and
 * `verify` answer or end with a coded error (exit 0 or 1), never a crash with
 * an uncoded RangeError; the healthy paths still read.
 */
import t from 'tap'
import { openStore } from '../../store/store.js'
import { decodeNode, encodeNode } from '../../store/records.js'
import { decodeHead, encodeHead, historyKey, pathKey } from '../../store/keys.js'
import { pipeline, SMALL } from './helpers/fake.js'
import { dds } from './helpers/cli.js'

t.test('garbled heads and impossible times: coded errors or answers, never a crash', async (t) => {
  const dir = t.testdir()
  const store = await openStore({ ...SMALL, location: dir })
  await pipeline(store)
  const [short, future, ...rest] = ['/data/raw', '/data/clean', '/data/big', '/data/sub'] as const
  // One head shorter than a sequence number; one whose entry's time is past what a Date can hold.
  const value = await store.backend.get('paths', pathKey(future))
  if (value === undefined) throw new Error('setup')
  const { seq, entry } = decodeHead(value)
  const far = encodeNode({ ...(decodeNode(entry) as Record<string, unknown>), time: 9e15 })
  await store.backend.batch([
    { type: 'put', space: 'paths', key: pathKey(short), value: Uint8Array.of(0, 0, 1) },
    { type: 'put', space: 'paths', key: pathKey(future), value: encodeHead(seq, far) },
    { type: 'put', space: 'history', key: historyKey(future, seq), value: far }
  ])
  await store.close()

  const commands = [
    ['ls'], ['ls', '--json'], ['log', short], ['log', future], ['log', future, '--json'], ['show', short], ['show', future],
    ['cat', short], ['cat', future], ['why', future], ['gc', '--dry-run'], ['gc']
  ]
  for (const args of commands) {
    const r = await dds(args, { store: dir })
    const what = `dds ${args.join(' ')}`
    t.ok(r.code === 0 || r.code === 1, `${what}: exit ${String(r.code)}`)
    t.notMatch(r.stderr, /RangeError|TypeError|\n\s+at /, `${what}: no uncoded error, no stack`)
    if (r.code === 1) t.match(r.stderr, /DDS_[A-Z_]+/, `${what}: a coded error`)
  }
  const v = await dds(['verify'], { store: dir })
  t.equal(v.code, 1, 'verify finds problems')
  t.notMatch(v.stderr, /RangeError|\n\s+at /)
  t.match(v.stdout, new RegExp(`^paths\tmalformed\t.*${short}`, 'm'), 'it names the short head')
  t.match(v.stdout, new RegExp(`^paths\tmalformed\t.*${future}`, 'm'), 'and the impossible time')
  const repaired = await dds(['verify', '--repair'], { store: dir })
  t.notMatch(repaired.stderr, /RangeError|\n\s+at /, repaired.stderr)
  for (const p of rest) {
    const r = await dds(['cat', p, '--json'], { store: dir })
    t.equal(r.code, 0, `${p}, untouched, still reads: ${r.stderr}`)
  }
})
