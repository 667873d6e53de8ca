/**
 * A store one can read but not write (here another user's: the victim runs
 * as uid 65534 with setpriv, so root only): the read commands answer from a
 * copy of its index and write nothing under it; the write commands fail
 * with DDS_STORE_UNAVAILABLE and the reason, which `--json` carries.
 */
import t from 'tap'
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../../store/store.js'
import { pipeline, SMALL } from './helpers/fake.js'
import { MAIN } from './helpers/cli.js'
import { CAN_SWITCH_USER, startNode, type Exit } from '../helpers/spawn.js'

const nobody = { uid: 65534, gid: 65534 }

function snapshot (dir: string): string {
  return readdirSync(dir, { recursive: true }).map(String).sort().map((n) => `${n}:${statSync(join(dir, n)).mtimeMs}`).join('\n')
}

t.test('another user\'s store', { skip: CAN_SWITCH_USER ? false : 'needs root and setpriv (CI runs as root)' }, async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'dds-read-only-'))
  t.teardown(() => { rmSync(base, { recursive: true, force: true }) })
  chmodSync(base, 0o755)
  const dir = join(base, 'store')
  const store = await openStore({ location: dir, ...SMALL })
  await pipeline(store)
  await store.close()
  const out = join(base, 'out')
  mkdirSync(out)
  chownSync(out, nobody.uid, nobody.gid)
  const before = snapshot(dir)
  const asVictim = async (...args: string[]): Promise<Exit> => await startNode(MAIN, [...args, '--store', dir], { user: nobody, cwd: out }).done

  const ls = await asVictim('ls')
  t.equal(ls.code, 0, ls.stderr)
  t.match(ls.stdout, '/data/clean')
  t.match(ls.stderr, 'cannot be written (permission)')
  for (const args of [['log', '/data/clean'], ['show', '/data/clean'], ['cat', '/data/raw'], ['cat', '/data/big'], ['why', '/data/clean'], ['graph'], ['table', '/data/clean'], ['export', '/data/clean', '/data/raw', '-o', join(out, 'b.car')]]) {
    const r = await asVictim(...args)
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
  }
  t.equal((await asVictim('cat', '/data/raw')).stdout, 'a,b\n1,2\n')
  t.ok(statSync(join(out, 'b.car')).size > 0, 'the bundle was written')

  for (const args of [['gc'], ['rm', '/data/raw'], ['tag', 'v1', '/data/raw'], ['import', join(out, 'b.car')]]) {
    const r = await asVictim(...args, '--json')
    t.equal(r.code, 1, `${args.join(' ')} fails`)
    const err = JSON.parse(r.stderr.trim().split('\n').pop() as string) as { code: string, message: string, data: { reason: string, location: string } }
    t.equal(err.code, 'DDS_STORE_UNAVAILABLE')
    t.equal(err.data.reason, 'permission')
    t.equal(err.data.location, dir)
  }
  t.equal(snapshot(dir), before, 'nothing under the store changed')
})
