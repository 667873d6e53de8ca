/**
 * A remote must enforce conditional writes, or concurrent writers would lose
 * each other's entries: one that ignores them is refused at open with
 * DDS_REMOTE_UNSAFE, before anything is written. A remote that cannot be
 * reached is DDS_REMOTE_UNAVAILABLE after bounded retries. These run without
 * Ceph: the endpoints are local fakes.
 */
import t from 'tap'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { openStore } from '../../store/store.js'
import { open } from '../../lib/dds.js'
import { openRemote } from '../../store/remote/index.js'
import { fakeS3 } from './helpers/fake-s3.js'

const credentials = { accessKeyId: 'fake', secretAccessKey: 'fake' }

t.test('a store that ignores If-None-Match is refused', async (t) => {
  const fake = await fakeS3({ ifNoneMatch: false, ifMatch: true })
  t.teardown(fake.close)
  await t.rejects(openRemote({ url: 's3://team/dds', s3: { endpoint: fake.endpoint, credentials } }), { code: 'DDS_REMOTE_UNSAFE' })
  await t.rejects(openStore({ location: t.testdir(), remote: { url: 's3://team/dds', s3: { endpoint: fake.endpoint, credentials } } }), { code: 'DDS_REMOTE_UNSAFE' })
  t.notOk(fake.requests.some((r) => /\/dds\/(blocks|memo|log|head|dds-remote)/.test(r)), 'nothing of the store was written')
})

t.test('a store that ignores If-Match is refused', async (t) => {
  const fake = await fakeS3({ ifNoneMatch: true, ifMatch: false })
  t.teardown(fake.close)
  await t.rejects(openRemote({ url: 's3://team/dds', s3: { endpoint: fake.endpoint, credentials } }), { code: 'DDS_REMOTE_UNSAFE' })
})

t.test('a store that enforces both is accepted, and the library opens with it', async (t) => {
  const fake = await fakeS3({ ifNoneMatch: true, ifMatch: true })
  t.teardown(fake.close)
  const remote = await openRemote({ url: 's3://team/dds', s3: { endpoint: fake.endpoint, credentials } })
  await remote.close()
  const dds = await open({ store: t.testdir(), remote: { url: 's3://team/dds', s3: { endpoint: fake.endpoint, credentials } } })
  t.equal(await dds.keep('/x', (n: number) => n + 1, 1), 2)
  await dds.close()
  t.ok(fake.requests.some((r) => r.startsWith('PUT team/dds/head/x')), 'the path went to the remote log')
})

t.test('an unreachable remote is DDS_REMOTE_UNAVAILABLE after bounded retries', async (t) => {
  // A port that was just free: nothing listens there.
  const probe = net.createServer()
  await new Promise<void>((resolve) => { probe.listen(0, '127.0.0.1', resolve) })
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => { probe.close(() => { resolve() }) })
  const t0 = Date.now()
  const err = await openRemote({ url: 's3://team/dds', s3: { endpoint: `http://127.0.0.1:${port}`, credentials, retries: 2 } }).then(() => undefined, (e: unknown) => e)
  t.match(err, { code: 'DDS_REMOTE_UNAVAILABLE', data: { remote: 's3://team/dds' } })
  t.ok(Date.now() - t0 < 20_000, 'within bounded time')
})

t.test('a gateway that stops answering times out as DDS_REMOTE_UNAVAILABLE', async (t) => {
  // Accepts connections, never answers.
  const sockets = new Set<net.Socket>()
  const silent = net.createServer((s) => { sockets.add(s) })
  await new Promise<void>((resolve) => { silent.listen(0, '127.0.0.1', resolve) })
  t.teardown(async () => { for (const s of sockets) s.destroy(); await new Promise<void>((resolve) => { silent.close(() => { resolve() }) }) })
  const { port } = silent.address() as AddressInfo
  const t0 = Date.now()
  await t.rejects(openRemote({ url: 's3://team/dds', s3: { endpoint: `http://127.0.0.1:${port}`, credentials, retries: 1, timeout: 500 } }), { code: 'DDS_REMOTE_UNAVAILABLE' })
  t.ok(Date.now() - t0 < 15_000, `gave up after ${Date.now() - t0} ms`)
})

t.test('remote URLs are checked', async (t) => {
  await t.rejects(openRemote('http://bucket/x'), TypeError)
  await t.rejects(openRemote('s3://Bad_Bucket/x'), TypeError)
  await t.rejects(openRemote('s3://bucket/../x'), TypeError)
})
