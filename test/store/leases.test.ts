/**
 * Leases: exclusive and shared holders, idempotent re-acquire, and liveness
 * (a dead process, or a pid reused by a newer process, holds nothing).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { applyLease, holderAlive, newHolder, type LeaseHolder } from '../../store/leases.js'
import { openMemory } from '../../store/backend.js'

t.test('exclusive and shared holders', async (t) => {
  const kv = await openMemory()
  t.teardown(async () => { await kv.close() })
  const a = newHolder('exclusive', 1000)
  const b = newHolder('exclusive', 1000)
  t.equal((await applyLease(kv, { op: 'acquire', name: 'x', holder: a })).granted, true)
  t.equal((await applyLease(kv, { op: 'acquire', name: 'x', holder: a })).granted, true, 'acquiring again is granted (a retried request)')
  const refused = await applyLease(kv, { op: 'acquire', name: 'x', holder: b })
  t.equal(refused.granted, false)
  t.same(refused.holders.map((h) => h.id), [a.id])
  await applyLease(kv, { op: 'release', name: 'x', holder: a })
  t.equal((await applyLease(kv, { op: 'acquire', name: 'x', holder: b })).granted, true)

  const r1 = newHolder('shared', 1000)
  const r2 = newHolder('shared', 1000)
  const w = newHolder('exclusive', 1000)
  t.equal((await applyLease(kv, { op: 'acquire', name: 'gc', holder: r1 })).granted, true)
  t.equal((await applyLease(kv, { op: 'acquire', name: 'gc', holder: r2 })).granted, true, 'shared holders coexist')
  t.equal((await applyLease(kv, { op: 'acquire', name: 'gc', holder: w })).granted, false, 'exclusive waits for shared holders')
  await applyLease(kv, { op: 'release', name: 'gc', holder: r1 })
  await applyLease(kv, { op: 'release', name: 'gc', holder: r2 })
  t.equal((await applyLease(kv, { op: 'acquire', name: 'gc', holder: w })).granted, true)
  t.equal((await applyLease(kv, { op: 'acquire', name: 'gc', holder: newHolder('shared', 1000) })).granted, false, 'shared waits for an exclusive holder')
})

t.test('a holder is alive only while its own process is', async (t) => {
  const me = newHolder('exclusive', 1000)
  t.equal(holderAlive(me), true)
  t.equal(holderAlive({ ...me, start: (me.start ?? 0) + 1 }), me.start === undefined, 'this pid, another start: a reused pid')

  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'])
  const other: LeaseHolder = { ...me, pid: child.pid as number }
  delete other.start
  t.equal(holderAlive(other), true, 'a live process')
  child.kill('SIGKILL')
  await new Promise((resolve) => child.on('exit', resolve))
  t.equal(holderAlive(other), false, 'a dead process')

  const remote: LeaseHolder = { ...me, host: 'another-machine', expires: Date.now() + 60_000 }
  t.equal(holderAlive(remote), true, 'another machine: until the lease expires')
  t.equal(holderAlive({ ...remote, expires: Date.now() - 1 }), false)
})
