/**
 * Identical calls on two machines run once: the first takes a lease in the
 * remote and renews it while it computes. A holder killed with SIGKILL stops
 * renewing, and the other machine takes the lease over once it has expired
 * (by the storage server's clock), then computes.
 */
import t from 'tap'
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { open } from '../../lib/dds.js'
import { startNode } from '../helpers/spawn.js'
import { remotes } from './helpers/env.js'
// @ts-expect-error: a plain JS fixture shared with the child process
import { slowSquare } from './fixtures/slow.mjs'

const envs = remotes(t)
const holder = fileURLToPath(new URL('./fixtures/holder.mjs', import.meta.url))
const TTL = 3000

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => { setTimeout(resolve, ms) })
}

function starts (marker: string): string[] {
  return existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean) : []
}

for (const env of envs) {
  t.test(`${env.name}: a killed lease holder is taken over after expiry`, async (t) => {
    const prefix = env.prefix('lease')
    const dir = t.testdir()
    const marker = join(dir, 'starts.txt')
    writeFileSync(marker, '')
    const child = startNode(holder, [join(dir, 'a'), JSON.stringify(env.remote(prefix, 0, { leaseTtl: TTL })), marker], { env: { DDS_TEST_SLOW_MS: '600000' } })
    const deadline = Date.now() + 60_000
    while (starts(marker).length === 0 && Date.now() < deadline) await sleep(20)
    t.equal(starts(marker).length, 1, 'the holder started computing')
    // Let it renew its lease a few times, then kill it.
    await sleep(TTL)
    const leases = await env.keys(prefix, 'lease/')
    t.equal(leases.length, 1, 'it holds a lease in the remote')
    child.child.kill('SIGKILL')
    const exit = await child.done
    t.equal(exit.signal, 'SIGKILL')
    const killed = Date.now()

    const b = await open({ store: join(dir, 'b'), remote: env.remote(prefix, 1, { leaseTtl: TTL }) })
    t.teardown(async () => { await b.close() })
    t.equal(await b.keep('/slow/square', slowSquare as (n: number, m: string) => Promise<number>, 12, marker), 144)
    const waited = Date.now() - killed
    t.equal(starts(marker).length, 2, 'computed once more, by the machine that took over')
    t.ok(waited >= TTL - 1500, `it waited for the lease to expire (${waited} ms after the kill, ttl ${TTL} ms)`)
    t.ok(waited < TTL + 15_000, 'and not much longer')
    t.same(await env.keys(prefix, 'lease/'), [], 'the lease is released')
  })

  t.test(`${env.name}: an identical call on two machines at once runs once`, async (t) => {
    const prefix = env.prefix('once')
    const dir = t.testdir()
    const marker = join(dir, 'starts.txt')
    writeFileSync(marker, '')
    const a = await open({ store: join(dir, 'a'), remote: env.remote(prefix, 0, { leaseTtl: TTL }) })
    const b = await open({ store: join(dir, 'b'), remote: env.remote(prefix, 1, { leaseTtl: TTL }) })
    t.teardown(async () => { await a.close(); await b.close() })
    process.env.DDS_TEST_SLOW_MS = String(2 * TTL)
    try {
      const fn = slowSquare as (n: number, m: string) => Promise<number>
      const events: string[] = []
      const [x, y] = await Promise.all([a.keep('/sq', fn, 7, marker), sleep(50).then(async () => await b.keep('/sq', fn, 7, marker))])
      t.equal(x, 49)
      t.equal(y, 49)
      void events
    } finally {
      delete process.env.DDS_TEST_SLOW_MS
    }
    t.equal(starts(marker).length, 1, 'computed once, across a computation longer than the lease time (renewed)')
  })
}
