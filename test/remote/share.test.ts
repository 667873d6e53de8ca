/**
 * Two machines (two local stores, each talking to its own gateway) sharing
 * one remote: what one keeps is a hit on the other, large values travel as
 * verified streams, histories interleave without loss, heads come from the
 * remote, and push/pull move paths with everything they reach.
 */
import t from 'tap'
import { join } from 'node:path'
import { open } from '../../lib/dds.js'
import { openStore } from '../../store/store.js'
import { pushPaths, pullPaths } from '../../store/remote/index.js'
import type { DdsEvent } from '../../lib/interface.js'
import { remotes } from './helpers/env.js'

const envs = remotes(t)

declare global {
  // Executions are counted outside the analysed code.
  var __ddsRemoteRuns: Record<string, number> | undefined
}

function ran (name: string): void {
  const runs = globalThis.__ddsRemoteRuns ?? (globalThis.__ddsRemoteRuns = {})
  runs[name] = (runs[name] ?? 0) + 1
}

function runs (name: string): number {
  return globalThis.__ddsRemoteRuns?.[name] ?? 0
}

function triple (x: number): { x: number, label: string } {
  ran('triple')
  return { x: x * 3, label: `triple of ${x}` }
}

function blob (n: number): Buffer {
  ran('blob')
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 10)) & 0xff
  return b
}

function checksum (b: Uint8Array): number {
  let sum = 0
  for (let i = 0; i < b.byteLength; i += 4096) sum = (sum * 31 + (b[i] ?? 0)) >>> 0
  return sum
}

function version (v: number): string {
  ran('version')
  return `value ${v}`
}

for (const env of envs) {
  t.test(`${env.name}: a keep on one machine is a hit on the other`, async (t) => {
    const prefix = env.prefix('hit')
    const dir = t.testdir()
    const events: Array<[string, DdsEvent['type']]> = []
    const a = await open({ store: join(dir, 'a'), remote: env.remote(prefix, 0), onEvent: (e) => events.push(['a', e.type]) })
    const b = await open({ store: join(dir, 'b'), remote: env.remote(prefix, 1), onEvent: (e) => events.push(['b', e.type]) })
    t.teardown(async () => { await a.close(); await b.close() })
    const before = runs('triple')
    t.same(await a.keep('/calc/triple', triple, 14), { x: 42, label: 'triple of 14' })
    t.equal(runs('triple'), before + 1, 'computed on a')
    t.same(await b.keep('/calc/triple', triple, 14), { x: 42, label: 'triple of 14' })
    t.equal(runs('triple'), before + 1, 'not computed again on b')
    t.same(events, [['a', 'store'], ['b', 'store'], ['a', 'miss'], ['a', 'computed'], ['a', 'commit'], ['b', 'hit']], 'b hit, and had nothing to commit')
    const head = await b.store.remote?.head('/calc/triple')
    t.equal(head?.seq, 1, 'one entry in the remote log')
    t.same(await b.load('/calc/triple'), { x: 42, label: 'triple of 14' })
    // Another call is computed where it is first made.
    t.same(await b.keep('/calc/other', triple, 5), { x: 15, label: 'triple of 5' })
    t.equal(runs('triple'), before + 2)
    t.same(await a.keep('/calc/other', triple, 5), { x: 15, label: 'triple of 5' })
    t.equal(runs('triple'), before + 2, 'and is a hit back on a')
  })

  t.test(`${env.name}: a large value goes up as one pack and comes down verified, into the local cache`, async (t) => {
    const prefix = env.prefix('large')
    const dir = t.testdir()
    const a = await open({ store: join(dir, 'a'), remote: env.remote(prefix, 0) })
    const b = await open({ store: join(dir, 'b'), remote: env.remote(prefix, 1) })
    const n = 3 * 1024 * 1024 + 12345
    const before = runs('blob')
    const value = await a.keep('/data/blob', blob, n)
    t.equal(value.byteLength, n)
    const keys = await env.keys(prefix)
    t.equal(keys.filter((k) => k.startsWith('packs/')).length, 1, 'one pack')
    t.equal(keys.filter((k) => k.startsWith('blocks/')).length, 4, 'blocks: artifact root, code manifest, evaluation record, argument')
    const got = await b.keep('/data/blob', blob, n)
    t.equal(runs('blob'), before + 1, 'computed once')
    t.ok(Buffer.compare(got, value) === 0, 'the same bytes on b')
    const loaded = await b.load<Buffer>('/data/blob')
    t.ok(Buffer.compare(loaded, value) === 0)
    await a.close()
    await b.close()
    // The chunks are in b's own store now: readable without the remote.
    const local = await openStore({ location: join(dir, 'b') })
    t.teardown(async () => { await local.close() })
    const entry = await local.lookupMemo((await local.memoEntries()[Symbol.asyncIterator]().next()).value.key)
    t.ok(entry !== undefined)
    const bytes = await local.readArtifact(entry?.output as never) as Buffer
    t.ok(Buffer.compare(bytes, value) === 0, 'cached locally')
  })

  t.test(`${env.name}: a large kept value passed as an argument travels as an artifact`, async (t) => {
    const prefix = env.prefix('argument')
    const dir = t.testdir()
    // Computed before the remote existed; only the path that used it is pushed.
    const alone = await open({ store: join(dir, 'a') })
    const big = await alone.keep('/data/input', blob, 2 * 1024 * 1024 + 7)
    t.equal(await alone.keep('/data/sum', checksum, big), checksum(big))
    await alone.close()
    const a = await openStore({ location: join(dir, 'a'), remote: env.remote(prefix, 0) })
    await pushPaths(a, ['/data/sum'])
    const record = await a.getEvaluation((await a.local.namespace.headEntry('/data/sum'))?.evaluation as never)
    await a.close()
    const keys = await env.keys(prefix)
    t.same(keys.filter((k) => k.startsWith('packs/')), [`packs/${record.inputs[0]?.toString() ?? ''}`], 'the argument went up as one pack')
    t.notOk(keys.some((k) => k.startsWith('blocks/bafk')), 'no chunk went up on its own')
    const b = await openStore({ location: join(dir, 'b'), remote: env.remote(prefix, 1) })
    await pullPaths(b, ['/data/sum'])
    await b.close()
    const local = await openStore({ location: join(dir, 'b') })
    t.equal(checksum(await local.readArtifact(record.inputs[0] as never) as Uint8Array), checksum(big), 'and came down whole')
    await local.close()
  })

  t.test(`${env.name}: DDS_REMOTE names the remote of the default store`, async (t) => {
    const prefix = env.prefix('env')
    const vars = env.cliEnv(prefix)
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
    Object.assign(process.env, vars)
    try {
      const dds = await open({ store: t.testdir() })
      t.equal(dds.store.remote?.url, env.url(prefix))
      await dds.close()
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })

  t.test(`${env.name}: above the multipart limit, a large value goes up in parts`, { skip: env.name === 's3' ? false : 'multipart uploads are S3\'s' }, async (t) => {
    const prefix = env.prefix('multipart')
    const dir = t.testdir()
    const a = await open({ store: join(dir, 'a'), remote: env.remote(prefix, 0, { s3: { multipartAbove: 1024 * 1024 } }) })
    const b = await open({ store: join(dir, 'b'), remote: env.remote(prefix, 1) })
    t.teardown(async () => { await a.close(); await b.close() })
    const n = 17 * 1024 * 1024 + 3
    const value = await a.keep('/data/parts', blob, n)
    t.ok(Buffer.compare(await b.load<Buffer>('/data/parts'), value) === 0, 'the same bytes come down')
  })

  t.test(`${env.name}: histories interleave across machines; heads come from the remote`, async (t) => {
    const prefix = env.prefix('history')
    const dir = t.testdir()
    const a = await open({ store: join(dir, 'a'), remote: env.remote(prefix, 0) })
    const b = await open({ store: join(dir, 'b'), remote: env.remote(prefix, 1) })
    t.teardown(async () => { await a.close(); await b.close() })
    t.equal(await a.keep('/v', version, 1), 'value 1')
    t.equal(await b.keep('/v', version, 2), 'value 2')
    t.equal(await a.load('/v'), 'value 2', 'a loads what b kept last')
    t.equal(await a.keep('/v', version, 1), 'value 1', 'a hit on its own earlier value')
    t.equal(await b.load('/v'), 'value 1')
    const remote = a.store.remote
    if (remote === undefined) throw new Error('no remote')
    const log = []
    for await (const e of remote.history('/v')) log.push({ seq: e.seq, hit: e.hit === true })
    t.same(log, [{ seq: 3, hit: true }, { seq: 2, hit: false }, { seq: 1, hit: false }], 'three entries, newest first')
    const limited = []
    for await (const e of remote.history('/v', { limit: 2 })) limited.push(e.seq)
    t.same(limited, [3, 2])
    await b.store.deletePath('/v')
    await t.rejects(a.load('/v'), { code: 'DDS_PATH_NOT_FOUND' }, 'a deletion on b is seen on a')
    const listed = []
    for await (const e of remote.paths({ deleted: true })) listed.push([e.path, e.seq, e.evaluation === null])
    t.same(listed, [['/v', 4, true]])
    const live = []
    for await (const e of remote.paths()) live.push(e.path)
    t.same(live, [])
    // A path may not become a directory of a live one, in the remote either.
    t.equal(await a.keep('/dir/leaf', version, 7), 'value 7')
    await t.rejects(b.keep('/dir', version, 8), { code: 'DDS_OVERLAPPING_PATH' })
  })

  t.test(`${env.name}: push and pull move paths with everything they reach`, async (t) => {
    const prefix = env.prefix('sync')
    const dir = t.testdir()
    // Computed before the team had a remote.
    const alone = await open({ store: join(dir, 'a') })
    const before = runs('triple')
    await alone.keep('/old/result', triple, 100)
    await alone.keep('/old/blob', blob, 2 * 1024 * 1024 + 1)
    await alone.close()
    const a = await openStore({ location: join(dir, 'a'), remote: env.remote(prefix, 0) })
    const pushed = await pushPaths(a, ['/old/result', '/old/blob'])
    t.same(pushed.moved.map((m) => [m.path, m.seq]).sort(), [['/old/blob', 1], ['/old/result', 1]])
    t.same((await pushPaths(a, ['/old/result'])).skipped, ['/old/result'], 'pushing again changes nothing')
    await a.close()

    const b = await openStore({ location: join(dir, 'b'), remote: env.remote(prefix, 1) })
    const pulled = await pullPaths(b, ['/old/result', '/old/blob'])
    t.same(pulled.moved.map((m) => m.path).sort(), ['/old/blob', '/old/result'])
    await b.close()
    // Everything is local on b now.
    const offline = await open({ store: join(dir, 'b') })
    t.same(await offline.load('/old/result'), { x: 300, label: 'triple of 100' })
    t.equal((await offline.load<Buffer>('/old/blob')).byteLength, 2 * 1024 * 1024 + 1)
    await offline.close()
    // And the memo answers went up with the push: a third machine hits.
    const c = await open({ store: join(dir, 'c'), remote: env.remote(prefix, 1) })
    t.same(await c.keep('/old/result', triple, 100), { x: 300, label: 'triple of 100' })
    t.equal(runs('triple'), before + 1, 'computed once, before the remote existed')
    await c.close()
    await t.rejects(pushPaths(await openStore({ location: join(dir, 'd'), remote: env.remote(prefix, 0) }), ['/nothing']), { code: 'DDS_PATH_NOT_FOUND' })
  })
}
