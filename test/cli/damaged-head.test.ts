/**
 * One garbled head does not take the listing down with it: `ls`, `du` and
 * the web view's /api/paths list every other path and name the damaged one
 * (DDS_INTEGRITY, on stderr or among the page's problems), and `ls` and
 * `du` exit 1, as verify does; `log` and `show` read the history, which is
 * whole, and answer for every path.
 */
import t from 'tap'
import { openStore } from '../../store/store.js'
import { pathKey } from '../../store/keys.js'
import { serve } from '../../lib/serve/server.js'
import { pipeline, SMALL } from './helpers/fake.js'
import { dds, rows } from './helpers/cli.js'

const DAMAGED = '/data/clean'
const OTHERS = ['/data/big', '/data/raw', '/data/sub']

// A head shorter than its sequence number, and one whose entry is not dag-cbor at all.
const GARBAGE: Array<[string, Uint8Array]> = [
  ['short', Uint8Array.of(0, 0, 1)],
  ['undecodable', Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xfe, 0x13)]
]

for (const [kind, bytes] of GARBAGE) {
  t.test(`a ${kind} head: the other paths are listed, the damaged one is named`, async (t) => {
    const dir = t.testdir()
    const store = await openStore({ ...SMALL, location: dir })
    await pipeline(store)
    await store.backend.batch([{ type: 'put', space: 'paths', key: pathKey(DAMAGED), value: bytes }])
    await store.close()

    const ls = await dds(['ls'], { store: dir })
    t.equal(ls.code, 1, 'ls exits 1')
    t.same(rows(ls.stdout).map((r) => r[0]), OTHERS, 'every other path is listed')
    t.match(ls.stderr, new RegExp(`${DAMAGED}: DDS_INTEGRITY`), 'the damaged one is named, coded')
    t.notMatch(ls.stderr, /\n\s+at /, 'no stack trace')
    const json = await dds(['ls', '--json'], { store: dir })
    t.equal(json.code, 1)
    t.same((JSON.parse(json.stdout) as Array<{ path: string }>).map((r) => r.path), OTHERS)
    const under = await dds(['ls', '/data'], { store: dir })
    t.same(rows(under.stdout).map((r) => r[0]), OTHERS, 'under a prefix too')

    const du = await dds(['du', '--json'], { store: dir })
    t.equal(du.code, 1, 'du exits 1')
    const usage = JSON.parse(du.stdout) as { paths: Array<{ path: string }>, problems: Array<{ where: string, code: string }> }
    t.same(usage.paths.map((r) => r.path), OTHERS)
    t.same(usage.problems.map((p) => [p.where, p.code]), [[DAMAGED, 'DDS_INTEGRITY']])
    const duText = await dds(['du'], { store: dir })
    t.equal(duText.code, 1)
    t.match(duText.stderr, new RegExp(`${DAMAGED}: DDS_INTEGRITY`))
    t.same(rows(duText.stdout).map((r) => r[0]), [...OTHERS, 'total'])

    const log = await dds(['log', DAMAGED], { store: dir })
    t.equal(log.code, 0, `the history is not the head: ${log.stderr}`)
    const show = await dds(['show', '/data/raw'], { store: dir })
    t.equal(show.code, 0, `another path shows: ${show.stderr}`)
    const showDamaged = await dds(['show', DAMAGED], { store: dir })
    t.equal(showDamaged.code, 0, `show reads the newest history entry, which is whole: ${showDamaged.stderr}`)
    const verify = await dds(['verify'], { store: dir })
    t.equal(verify.code, 1)
    t.match(verify.stdout, new RegExp(`^paths\tmalformed\t.*${DAMAGED}`, 'm'), 'verify names the head')

    const reopened = await openStore({ location: dir })
    const s = await serve(reopened)
    try {
      const res = await fetch(`http://127.0.0.1:${s.port}/api/paths`)
      t.equal(res.status, 200)
      const page = await res.json() as { items: Array<{ path: string }>, problems: Array<{ where: string, code: string }> }
      t.same(page.items.map((r) => r.path), OTHERS)
      t.same(page.problems.map((p) => [p.where, p.code]), [[DAMAGED, 'DDS_INTEGRITY']])
      // A page after the damaged path does not report it again.
      const later = await (await fetch(`http://127.0.0.1:${s.port}/api/paths?cursor=${encodeURIComponent(DAMAGED)}`)).json() as { items: Array<{ path: string }>, problems: unknown[] }
      t.same(later.items.map((r) => r.path), ['/data/raw', '/data/sub'])
      t.same(later.problems, [])
    } finally {
      await s.close()
      await reopened.close()
    }
  })
}
