/**
 * The backend contract (store/interface.ts `Backend`), checked the same way
 * against every implementation: the memory backend, LevelDB opened for this
 * process alone, the shared backend as the leader of its directory, and a
 * second shared backend of the same directory that is a follower, so that
 * every call crosses the local socket (store/rpc.ts) to the leader.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { openLevelExclusive, openMemory, canonicalLocation } from '../../store/backend.js'
import { openShared, SharedBackend } from '../../store/shared.js'
import { readHead, staleCommitRecords } from '../../store/commit.js'
import { historyKey, pathKey } from '../../store/keys.js'
import { cidOf, RAW_CODE } from '../../store/hash.js'
import { newHolder } from '../../store/leases.js'
import { DdsError, ErrorCodes } from '../../store/errors.js'
import type { Backend, BatchOp, RangeOptions, Space } from '../../store/interface.js'

// Sockets need short paths, and this file's leaders must not meet another test's: a scratch TMPDIR.
const scratch = mkdtempSync('/tmp/dds-compliance-')
process.env.TMPDIR = scratch
delete process.env.XDG_RUNTIME_DIR
t.teardown(() => { rmSync(scratch, { recursive: true, force: true }) })

const enc = new TextEncoder()
const b = (s: string): Uint8Array => enc.encode(s)
const s = (v: Uint8Array | undefined): string | undefined => v === undefined ? undefined : Buffer.from(v).toString()
/** A raw block of `text` and the operation that stores it. */
const block = (text: string): { cid: ReturnType<typeof cidOf>, op: BatchOp } => {
  const bytes = b(text)
  const cid = cidOf(bytes, RAW_CODE)
  return { cid, op: { type: 'put', space: 'blocks', key: cid.bytes, value: bytes } }
}

/** How a case opens a fresh backend, and what to do when the test is over. */
interface Case {
  name: string
  open: () => Promise<{ backend: Backend, done: () => Promise<void> }>
}

let n = 0
const dir = (): string => join(scratch, `store-${n++}`)

const cases: Case[] = [
  { name: 'memory', open: async () => { const backend = await openMemory(); return { backend, done: async () => { await backend.close() } } } },
  {
    name: 'classic',
    open: async () => {
      const backend = await openLevelExclusive(canonicalLocation(dir()))
      return { backend, done: async () => { await backend.close() } }
    }
  },
  {
    name: 'shared leader',
    open: async () => {
      const { backend, release } = await openShared(dir())
      return { backend, done: release }
    }
  },
  {
    name: 'shared follower',
    open: async () => {
      const location = canonicalLocation(dir())
      const leader = await openShared(location)
      await leader.backend.get('meta', b('wake'))
      // Outside the per-process registry: a second backend of the directory, which finds the leader's socket.
      const backend = new SharedBackend(location)
      await backend.get('meta', b('wake'))
      if (backend.role !== 'follower' || leader.backend.role !== 'leader') throw new Error(`roles: ${backend.role}, ${leader.backend.role}`)
      return { backend, done: async () => { await backend.close(); await leader.release() } }
    }
  }
]

async function collect<T> (it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

async function keysIn (backend: Backend, space: Space, range?: RangeOptions): Promise<string[]> {
  return (await collect(backend.keys(space, range))).map((k) => s(k) as string)
}

async function entriesIn (backend: Backend, space: Space, range?: RangeOptions): Promise<string[]> {
  return (await collect(backend.entries(space, range))).map(([k, v]) => `${s(k)}=${s(v)}`)
}

function suite (c: Case): void {
  const open = async (tt: Test): Promise<Backend> => {
    const { backend, done } = await c.open()
    tt.teardown(done)
    return backend
  }

  t.test(`${c.name}: get, getMany and batch`, async (tt) => {
    const backend = await open(tt)
    tt.equal(await backend.get('memo', b('k')), undefined, 'an absent key')
    await backend.batch([
      { type: 'put', space: 'memo', key: b('k'), value: b('v1') },
      { type: 'put', space: 'blocks', key: b('k'), value: b('other space') },
      { type: 'put', space: 'memo', key: b('gone'), value: b('x') }
    ])
    tt.equal(s(await backend.get('memo', b('k'))), 'v1')
    tt.equal(s(await backend.get('blocks', b('k'))), 'other space', 'key spaces are apart')
    const got = await backend.get('memo', b('k'))
    tt.ok(got instanceof Uint8Array, 'values are bytes')
    // Read before they change: a backend that keeps what it read (a follower) must still read its own writes.
    tt.equal(s(await backend.get('memo', b('gone'))), 'x')
    await backend.batch([{ type: 'put', space: 'memo', key: b('k'), value: b('v2') }, { type: 'del', space: 'memo', key: b('gone') }])
    tt.equal(s(await backend.get('memo', b('k'))), 'v2', 'a put replaces')
    tt.equal(await backend.get('memo', b('gone')), undefined, 'a del removes')
    tt.equal(s(await backend.get('memo', b('k'), { fresh: true })), 'v2', 'a fresh read')
    tt.same((await backend.getMany('memo', [b('gone'), b('k'), b('k')])).map(s), [undefined, 'v2', 'v2'], 'getMany keeps order, absent as undefined')
    tt.same(await backend.getMany('memo', []), [], 'getMany of nothing')
    await backend.batch([])
    await backend.batch([{ type: 'put', space: 'meta', key: b('durable'), value: b('1') }], { sync: true })
    tt.equal(s(await backend.get('meta', b('durable'))), '1', 'a synced batch')
  })

  t.test(`${c.name}: a failing batch applies nothing`, async (tt) => {
    const backend = await open(tt)
    await backend.batch([{ type: 'put', space: 'memo', key: b('before'), value: b('kept') }])
    const bad: BatchOp[] = [
      { type: 'put', space: 'memo', key: b('first'), value: b('1') },
      { type: 'del', space: 'memo', key: b('before') },
      { type: 'put', space: 'no such space' as Space, key: b('x'), value: b('2') }
    ]
    await tt.rejects(backend.batch(bad), 'an operation on an unknown space fails the batch')
    tt.equal(await backend.get('memo', b('first')), undefined, 'the put before it was not applied')
    tt.equal(s(await backend.get('memo', b('before'))), 'kept', 'nor the delete')
  })

  t.test(`${c.name}: entries and keys in ranges, reversed and limited`, async (tt) => {
    const backend = await open(tt)
    const names = ['a', 'b', 'b0', 'ba', 'c', 'd']
    // Written out of order, and with a neighbour in another space that must not show up.
    await backend.batch([...names].reverse().map((k) => ({ type: 'put' as const, space: 'history' as const, key: b(k), value: b(k.toUpperCase()) })))
    await backend.batch([{ type: 'put', space: 'paths', key: b('bb'), value: b('elsewhere') }])
    tt.same(await keysIn(backend, 'history'), names, 'all keys in byte order')
    tt.same(await entriesIn(backend, 'history', { gte: b('b'), lt: b('c') }), ['b=B', 'b0=B0', 'ba=BA'], 'gte/lt')
    tt.same(await keysIn(backend, 'history', { gt: b('b'), lte: b('c') }), ['b0', 'ba', 'c'], 'gt/lte')
    tt.same(await keysIn(backend, 'history', { reverse: true }), [...names].reverse(), 'reverse')
    tt.same(await keysIn(backend, 'history', { lt: b('c'), reverse: true, limit: 2 }), ['ba', 'b0'], 'reverse with an upper bound and a limit')
    tt.same(await entriesIn(backend, 'history', { gt: b('a'), limit: 3 }), ['b=B', 'b0=B0', 'ba=BA'], 'limit from a lower bound')
    tt.same(await keysIn(backend, 'history', { limit: 0 }), [], 'limit 0')
    tt.same(await keysIn(backend, 'history', { gt: b('d') }), [], 'an empty range')
    tt.same(await keysIn(backend, 'history', { gte: b('c'), lt: b('b') }), [], 'an inverted range')
    tt.same(await keysIn(backend, 'paths'), ['bb'], 'the other space holds its own key only')
  })

  t.test(`${c.name}: a range longer than one page`, async (tt) => {
    const backend = await open(tt)
    const many = Array.from({ length: 1500 }, (_, i) => `k${String(i).padStart(5, '0')}`)
    await backend.batch(many.map((k) => ({ type: 'put' as const, space: 'blocks' as const, key: b(k), value: b(k) })))
    tt.same(await keysIn(backend, 'blocks'), many, 'every key once, in order')
    const back = await entriesIn(backend, 'blocks', { reverse: true, limit: 1100 })
    tt.equal(back.length, 1100)
    tt.equal(back[0], 'k01499=k01499')
    tt.equal(back[1099], 'k00400=k00400')
  })

  t.test(`${c.name}: commit`, async (tt) => {
    const backend = await open(tt)
    const e1 = block('evaluation 1')
    const o1 = block('output 1')
    const r1 = await backend.commit([{ path: '/a', evaluation: e1.cid, output: o1.cid, time: 1000 }], [e1.op, o1.op])
    tt.same(r1, { appended: [{ path: '/a', seq: 1 }], skipped: [] })
    tt.equal(s(await backend.get('blocks', o1.cid.bytes)), 'output 1', 'the staged blocks were written with it')
    const head = readHead(await backend.get('paths', pathKey('/a')) as Uint8Array)
    tt.equal(head.seq, 1)
    tt.equal(head.entry.evaluation?.toString(), e1.cid.toString(), 'the head')
    tt.ok(await backend.get('history', historyKey('/a', 1)) !== undefined, 'the history entry')

    const again = await backend.commit([{ path: '/a', evaluation: e1.cid, output: o1.cid, time: 2000 }], [])
    tt.same(again, { appended: [], skipped: ['/a'] }, 'the same evaluation again is skipped')

    const e2 = block('evaluation 2')
    const r2 = await backend.commit([{ path: '/a', evaluation: e2.cid, output: o1.cid, time: 3000 }], [e2.op])
    tt.same(r2.appended, [{ path: '/a', seq: 2 }], 'a new evaluation appends')

    // Refused commits leave nothing behind, their staged blocks included.
    const stray = block('stray')
    const overlap = await backend.commit([{ path: '/a/b', evaluation: e1.cid, output: o1.cid }], [stray.op]).catch((err: unknown) => err)
    tt.ok(overlap instanceof DdsError && overlap.code === ErrorCodes.OVERLAPPING_PATH, `overlap refused (${String(overlap)})`)
    tt.equal(await backend.get('blocks', stray.cid.bytes), undefined, 'no staged block of the refused commit')
    tt.equal(await backend.get('paths', pathKey('/a/b')), undefined, 'no head')
    const missing = block('never stored')
    const absent = await backend.commit([{ path: '/c', evaluation: missing.cid, output: missing.cid }], [stray.op]).catch((err: unknown) => err)
    tt.ok(absent instanceof DdsError && absent.code === ErrorCodes.NOT_FOUND, `a head at a block not held is refused (${String(absent)})`)
    tt.equal(await backend.get('blocks', stray.cid.bytes), undefined, 'nothing written')
    tt.equal(await backend.get('paths', pathKey('/c')), undefined)

    const del = await backend.commit([{ path: '/a', evaluation: null, output: null, time: 4000 }], [])
    tt.same(del.appended, [{ path: '/a', seq: 3 }], 'a delete appends')
    const r3 = await backend.commit([{ path: '/a/b', evaluation: e1.cid, output: o1.cid }], [])
    tt.same(r3.appended, [{ path: '/a/b', seq: 1 }], 'once /a is deleted, /a/b may be written')
  })

  t.test(`${c.name}: a commit with a token, retried, is told what it did the first time`, async (tt) => {
    const backend = await open(tt)
    const e = block('evaluation t')
    const o = block('output t')
    const token = 'ab'.repeat(16)
    const update = [{ path: '/t', evaluation: e.cid, output: o.cid, time: 1000 }]
    const first = await backend.commit(update, [e.op, o.op], { token })
    tt.same(first, { appended: [{ path: '/t', seq: 1 }], skipped: [] })
    // Its answer lost, the commit is sent again: the same answer, and no second entry.
    const retry = await backend.commit(update, [e.op, o.op], { token })
    tt.same(retry, first, 'the retry reports the entry the first application appended')
    tt.equal(await backend.get('history', historyKey('/t', 2)), undefined, 'nothing appended twice')
    // Without the token the same update is a skip, as before.
    tt.same(await backend.commit(update, []), { appended: [], skipped: ['/t'] })
    tt.ok(await backend.get('meta', b(`commit/${token}`)) !== undefined, 'the record is kept')
    // A later commit removes the records it is told to forget.
    const e2 = block('evaluation t2')
    await backend.commit([{ path: '/t', evaluation: e2.cid, output: o.cid, time: 2000 }], [e2.op], { forget: [token] })
    tt.equal(await backend.get('meta', b(`commit/${token}`)), undefined, 'forgotten')
    // Tokens that are not 32 hex digits name no record and remove none.
    await backend.batch([{ type: 'put', space: 'meta', key: b('commit/../x'), value: b('{}') }])
    const e3 = block('evaluation t3')
    const odd = await backend.commit([{ path: '/t', evaluation: e3.cid, output: o.cid, time: 3000 }], [e3.op], { token: '../x', forget: ['../x', 'AB'.repeat(16)] })
    tt.same(odd.appended, [{ path: '/t', seq: 3 }])
    tt.equal(s(await backend.get('meta', b('commit/../x'))), '{}', 'an odd token touches no key')
    // A damaged record is no answer: the retry applies the commit (which changes nothing).
    const t2 = 'cd'.repeat(16)
    await backend.batch([{ type: 'put', space: 'meta', key: b(`commit/${t2}`), value: b('{"result":{"appended":[{"path":1}]}}') }])
    tt.same(await backend.commit([{ path: '/t', evaluation: e3.cid, output: o.cid, time: 4000 }], [], { token: t2 }), { appended: [], skipped: ['/t'] })
    // gc's sweep: records written before the cut-off (or without a time) go, newer ones stay.
    const t3 = 'ef'.repeat(16)
    const e4 = block('evaluation t4')
    await backend.commit([{ path: '/t', evaluation: e4.cid, output: o.cid, time: 5000 }], [e4.op], { token: t3 })
    const stale = await staleCommitRecords(backend, Date.now() - 60_000)
    tt.same(stale.map((op) => s(op.key)).sort(), ['commit/../x', `commit/${t2}`], 'only the records with no time are stale')
    const all = await staleCommitRecords(backend, Date.now() + 60_000)
    tt.same(all.map((op) => s(op.key)).sort(), ['commit/../x', `commit/${t2}`, `commit/${t3}`])
  })

  t.test(`${c.name}: leases`, async (tt) => {
    const backend = await open(tt)
    const one = newHolder('exclusive', 60_000)
    const two = newHolder('exclusive', 60_000)
    const reader = newHolder('shared', 60_000)
    tt.same(await backend.lease({ op: 'acquire', name: 'L', holder: one }), { granted: true, holders: [] })
    tt.same(await backend.lease({ op: 'acquire', name: 'L', holder: one }), { granted: true, holders: [] }, 'acquiring again is granted (a retry)')
    const refused = await backend.lease({ op: 'acquire', name: 'L', holder: two })
    tt.equal(refused.granted, false, 'a second exclusive holder is refused')
    tt.same(refused.holders.map((h) => h.id), [one.id], 'and told who holds it')
    tt.equal((await backend.lease({ op: 'acquire', name: 'L', holder: reader })).granted, false, 'so is a shared one')
    tt.equal((await backend.lease({ op: 'acquire', name: 'M', holder: two })).granted, true, 'another name is free')
    tt.equal((await backend.lease({ op: 'renew', name: 'L', holder: { ...one, expires: Date.now() + 120_000 } })).granted, true, 'the holder renews')
    tt.equal((await backend.lease({ op: 'renew', name: 'L', holder: two })).granted, false, 'a non-holder cannot renew')
    tt.equal((await backend.lease({ op: 'release', name: 'L', holder: one })).granted, true)
    tt.equal((await backend.lease({ op: 'acquire', name: 'L', holder: reader })).granted, true, 'free after release: shared')
    tt.equal((await backend.lease({ op: 'acquire', name: 'L', holder: newHolder('shared', 60_000) })).granted, true, 'shared holders share')
    tt.equal((await backend.lease({ op: 'acquire', name: 'L', holder: two })).granted, false, 'but exclude an exclusive one')
  })

  t.test(`${c.name}: blob files`, async (tt) => {
    const backend = await open(tt)
    const files = backend.files
    if (backend.location === undefined) {
      tt.equal(files, undefined, 'an in-memory backend has no blob files')
      return
    }
    if (files === undefined) throw new Error('a backend with a directory has blob files')
    const name = 'abcdef0123456789'
    tt.equal(await files.has(name), false)
    tt.equal(await files.read(name, 1024), undefined, 'an absent file reads as undefined')
    tt.equal(await files.readInto(name, new Uint8Array(4), 0), -1, 'and readInto says -1')
    await files.write(name, b('hello blob'))
    tt.equal(await files.has(name), true)
    tt.equal(s(await files.read(name, 1024)), 'hello blob')
    const target = new Uint8Array(14).fill(0x2e)
    tt.equal(await files.readInto(name, target, 2), 10, 'readInto returns the bytes read')
    tt.equal(s(target), '..hello blob..', 'at the offset')
    await files.write(name, b('hello blob'))
    tt.same((await collect(files.list())).map((f) => [f.name, f.size]), [[name, 10]], 'listed once, with its size')
    await files.remove(name)
    await files.remove(name)
    tt.equal(await files.has(name), false, 'removed (twice is fine)')
    await tt.rejects(files.read('../../etc/passwd', 1024), TypeError, 'a name that is not a blob name is refused')
    await tt.rejects(files.write('../escape0000', b('x')), TypeError, 'also for a write')
  })

  t.test(`${c.name}: close`, async (tt) => {
    const { backend, done } = await c.open()
    await backend.batch([{ type: 'put', space: 'meta', key: b('k'), value: b('v') }])
    await done()
    await tt.rejects(backend.get('meta', b('k')), 'a read after close fails')
    await tt.rejects(backend.batch([{ type: 'put', space: 'meta', key: b('k'), value: b('w') }]), 'a write after close fails')
  })
}

for (const c of cases) suite(c)

t.test('the follower and the leader see one database', async (t) => {
  const location = canonicalLocation(dir())
  const leader = await openShared(location)
  t.teardown(leader.release)
  await leader.backend.batch([{ type: 'put', space: 'paths', key: b('/x'), value: b('from leader') }])
  const follower = new SharedBackend(location)
  t.teardown(async () => { await follower.close() })
  t.equal(s(await follower.get('paths', b('/x'))), 'from leader')
  t.equal(follower.role, 'follower')
  await follower.batch([{ type: 'put', space: 'paths', key: b('/y'), value: b('from follower') }])
  t.equal(s(await leader.backend.get('paths', b('/y'))), 'from follower')
  t.same(await keysIn(follower, 'paths'), ['/x', '/y'])
})
