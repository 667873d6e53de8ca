/**
 * A remote's path logs are written by whoever can write the remote: a head
 * dated far in the future (or at a time no date can hold) must not come into
 * the local history, where it would pin the path (every later local value
 * "older"). `pull` refuses it with DDS_INTEGRITY (`data.problem: 'time'`) and
 * pulls the other paths; `ls --remote` lists the other paths and names the
 * damaged one on stderr; `log --remote` and `show` say a coded error, never a
 * stack trace.
 */
import t from 'tap'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { open } from '../../lib/dds.js'
import { openStore } from '../../store/store.js'
import { pullPaths } from '../../store/remote/index.js'
import { dds, rows } from '../cli/helpers/cli.js'
import { remotes } from './helpers/env.js'

const envs = remotes(t)

function text (n: number): string {
  return `text ${n}`
}

const YEAR = 365 * 24 * 3600 * 1000

for (const env of envs) {
  t.test(`${env.name}: a remote head dated far in the future is not pulled`, async (t) => {
    const prefix = env.prefix('future')
    const dir = t.testdir()
    const a = await open({ store: join(dir, 'a'), remote: env.remote(prefix, 0) })
    await a.keep('/x', text, 1)
    await a.keep('/y', text, 2)
    await a.close()
    // The attacker re-dates the head of /x (and its log entry) ten years ahead.
    const head = dagCbor.decode(await env.read(prefix, 'head/x')) as { seq: number, entry: Uint8Array }
    const entry = dagCbor.decode(head.entry) as { time: number }
    const future = Date.now() + 10 * YEAR
    const bytes = dagCbor.encode({ ...entry, time: future })
    await env.overwrite(prefix, 'head/x', dagCbor.encode({ ...head, entry: bytes }))
    const logKey = (await env.keys(prefix, 'log/x/'))[0] as string
    await env.overwrite(prefix, logKey, bytes)

    const b = await openStore({ location: join(dir, 'b'), remote: env.remote(prefix, 1) })
    await t.rejects(pullPaths(b, ['/x']), { code: 'DDS_INTEGRITY', data: { problem: 'time', path: '/x', time: future } })
    await t.rejects(pullPaths(b, ['/y', '/x']), { code: 'DDS_INTEGRITY', data: { problem: 'time' } }, 'refused before anything is fetched')
    t.equal(await b.local.namespace.headEntry('/x'), undefined, 'the local /x is not pinned')
    t.equal(await b.local.namespace.headEntry('/y'), undefined, 'nothing of a refused pull is committed')
    t.same((await pullPaths(b, ['/y'])).moved, [{ path: '/y', seq: 1 }], 'the other paths pull')
    await b.close()

    // The local path stays writable: a value kept there becomes its head.
    const c = await open({ store: join(dir, 'b') })
    await c.keep('/x', text, 3)
    t.equal(await c.load('/x'), 'text 3')
    await c.close()

    // Listing the remote shows the date; nothing crashes.
    const cliEnv = env.cliEnv(prefix, 1)
    const ls = await dds(['ls', '--remote', '--json'], { env: cliEnv })
    t.equal(ls.code, 0, ls.stderr)
    t.same((JSON.parse(ls.stdout) as Array<{ path: string, time: string }>).map((r) => [r.path, r.time]).find((r) => r[0] === '/x'), ['/x', new Date(future).toISOString()])
    const pulled = await dds(['pull', '/x'], { store: join(dir, 'd'), env: cliEnv })
    t.equal(pulled.code, 1)
    t.match(pulled.stderr, /DDS_INTEGRITY/)
    t.notMatch(pulled.stderr, /\n\s+at /, 'no stack trace')
  })

  t.test(`${env.name}: a remote head at a time no date can hold is refused, and the listing goes on`, async (t) => {
    const prefix = env.prefix('invalid')
    const dir = t.testdir()
    const a = await open({ store: join(dir, 'a'), remote: env.remote(prefix, 0) })
    await a.keep('/x', text, 1)
    await a.keep('/y', text, 2)
    await a.close()
    const head = dagCbor.decode(await env.read(prefix, 'head/x')) as { seq: number, entry: Uint8Array }
    const entry = dagCbor.decode(head.entry) as { time: number }
    for (const time of [-1, 2 ** 60, 1.5]) {
      await env.overwrite(prefix, 'head/x', dagCbor.encode({ ...head, entry: dagCbor.encode({ ...entry, time }) }))
      const b = await openStore({ location: join(dir, `b${time}`), remote: env.remote(prefix, 1) })
      await t.rejects(pullPaths(b, ['/x']), { code: 'DDS_INTEGRITY' }, `time ${time}`)
      t.equal(await b.local.namespace.headEntry('/x'), undefined)
      await b.close()
      const cliEnv = env.cliEnv(prefix, 1)
      const ls = await dds(['ls', '--remote'], { env: cliEnv })
      t.equal(ls.code, 1, 'a damaged head makes ls exit 1')
      t.same(rows(ls.stdout).map((r) => r[0]), ['/y'], 'every other path is listed')
      t.match(ls.stderr, /\/x: DDS_INTEGRITY/)
      const log = await dds(['log', '/x', '--remote'], { env: cliEnv })
      t.equal(log.code, 1)
      t.match(log.stderr, /DDS_INTEGRITY/)
      t.notMatch(log.stderr, /\n\s+at /, 'no stack trace')
      const logY = await dds(['log', '/y', '--remote'], { env: cliEnv })
      t.equal(logY.code, 0, logY.stderr)
    }
  })
}
