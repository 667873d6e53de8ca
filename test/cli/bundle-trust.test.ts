/**
 * The trust commands end to end: dds keygen, dds export --sign, a store's
 * trusted-keys file, dds import refusing unsigned bundles, --data-only.
 */
import t from 'tap'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { open } from '../../lib/dds.js'
import { openStore } from '../../store/store.js'
import { collect } from '../helpers/stores.js'
import { dds, rows } from './helpers/cli.js'

t.test('keygen, export --sign, trusted-keys and import --data-only', async (t) => {
  const dir = t.testdir()
  const src = join(dir, 'src')
  const made = await open({ store: src })
  await made.keep('/w/clean', () => 'a,b\n1,2\n')
  await made.close()

  const key = join(dir, 'release.key')
  const gen = await dds(['keygen', key])
  t.equal(gen.code, 0)
  const pub = (rows(gen.stdout)[0] as string[])[0] as string
  t.match(pub, /^dds-ed25519 [0-9a-f]{64}$/)
  t.equal(readFileSync(`${key}.pub`, 'utf8').trim(), pub)
  t.equal(statSync(key).mode & 0o777, 0o600, 'the secret key is private')
  t.equal((await dds(['keygen', key])).code, 2, 'an existing key is never overwritten')

  const signed = join(dir, 'signed.car')
  const unsigned = join(dir, 'unsigned.car')
  t.equal((await dds(['export', '/w/clean', '-o', signed, '--sign', key], { store: src })).code, 0)
  t.equal((await dds(['export', '/w/clean', '-o', unsigned], { store: src })).code, 0)
  t.equal((await dds(['export', '/w/clean', '-o', join(dir, 'x.car'), '--sign', `${key}.pub`], { store: src })).code, 1, 'a public key does not sign')

  // --data-only: the value, no memo answer.
  const plain = join(dir, 'plain')
  const data = await dds(['import', unsigned, '--data-only', '--json'], { store: plain })
  t.equal(data.code, 0)
  t.equal((JSON.parse(data.stdout) as { memo: number }).memo, 0)
  const check = await openStore({ location: plain })
  t.same(await collect(check.memoEntries()), [], 'no memo entry')
  t.ok(await check.head('/w/clean') !== undefined)
  await check.close()

  // A store that trusts the key refuses the unsigned bundle and takes the signed one.
  const locked = join(dir, 'locked')
  const first = await dds(['import', signed, '--data-only'], { store: locked })
  t.equal(first.code, 0)
  t.match(first.stderr, `signed by ${pub}`)
  writeFileSync(join(locked, 'trusted-keys'), `# release\n${pub}\n`)
  const refused = await dds(['import', unsigned, '--json'], { store: locked })
  t.equal(refused.code, 1)
  t.match(refused.stderr, 'DDS_BUNDLE_UNTRUSTED')
  const taken = await dds(['import', signed, '--json'], { store: locked })
  t.equal(taken.code, 0)
  t.match(JSON.parse(taken.stdout), { signer: pub })
})
