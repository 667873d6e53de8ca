/**
 * gc racing a bundle import and a pull run by another process (a `dds`
 * child, a follower of this process's database): gc collects in a loop,
 * with no grace, for as long as the child runs, and afterwards everything
 * the import or pull committed loads and the store verifies. Bounded by the
 * child's life; no sleep decides the interleaving.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import { open } from '../../lib/dds.js'
import { openStore, type Store } from '../../store/store.js'
import { exportBundle } from '../../store/bundle-export.js'
import { gc } from '../../store/gc.js'
import { verifyStore } from '../../store/verify.js'
import { dds } from '../cli/helpers/cli.js'
import { fileEnv } from '../remote/helpers/file.js'

function big (n: number): Uint8Array {
  return new Uint8Array(300_000).map((_, i) => (i * 7 + n * 13 + (i >> 9)) % 251)
}

function small (n: number): string { return `value ${n}` }

/** Run gc again and again until `child` settles; returns how many ran. */
async function collectWhile (store: Store, child: Promise<unknown>): Promise<number> {
  let done = false
  void child.finally(() => { done = true })
  let n = 0
  while (!done) {
    await gc(store, { graceMs: 0, keepHistory: 1 })
    n++
  }
  return n
}

async function check (t: Test, store: Store, paths: Record<string, unknown>, what: string): Promise<void> {
  const reader = await open({ store, log: false })
  for (const [path, value] of Object.entries(paths)) t.same(await reader.load(path), value, `${what}: ${path} loads`)
  t.same((await verifyStore(store)).problems, [], `${what}: verify is clean`)
}

t.test('gc in a loop while another process imports bundles', async (t) => {
  const dir = t.testdir()
  const source = await open({ store: join(dir, 'source'), log: false, fileThreshold: 64 * 1024 })
  const store = await openStore({ location: join(dir, 'target'), fileThreshold: 64 * 1024 })
  t.teardown(async () => { await store.close() })
  for (let round = 0; round < 4; round++) {
    await source.keep(`/big/${round}`, big, round)
    await source.keep(`/small/${round}`, small, round)
    const file = join(dir, `round-${round}.car`)
    await exportBundle(source.store, [`/big/${round}`, `/small/${round}`], file)
    const child = dds(['import', file], { store: join(dir, 'target') })
    const gcs = await collectWhile(store, child)
    const r = await child
    t.equal(r.code, 0, `round ${round}: import succeeded (${gcs} collections ran meanwhile) ${r.stderr}`)
    await check(t, store, { [`/big/${round}`]: big(round), [`/small/${round}`]: small(round) }, `round ${round}`)
  }
  await source.close()
})

t.test('gc in a loop while another process pulls', async (t) => {
  const env = fileEnv(t)
  const prefix = env.prefix('gc-race')
  const dir = t.testdir()
  // The writer keeps into the team's remote; this process holds the target store, which has none.
  const writer = await open({ store: join(dir, 'writer'), remote: env.remote(prefix, 0), log: false, fileThreshold: 64 * 1024 })
  const store = await openStore({ location: join(dir, 'target'), fileThreshold: 64 * 1024 })
  t.teardown(async () => { await store.close() })
  for (let round = 0; round < 4; round++) {
    await writer.keep(`/big/${round}`, big, round)
    const child = dds(['pull', `/big/${round}`], { store: join(dir, 'target'), env: env.cliEnv(prefix, 1) })
    const gcs = await collectWhile(store, child)
    const r = await child
    t.equal(r.code, 0, `round ${round}: pull succeeded (${gcs} collections ran meanwhile) ${r.stderr}`)
    await check(t, store, { [`/big/${round}`]: big(round) }, `round ${round}`)
  }
  await writer.close()
})
