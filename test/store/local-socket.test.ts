/**
 * The local socket between a store's leader and its followers, attacked by
 * another local user (run as uid 65534 through setpriv) and by processes
 * that do not know the store's secret.
 */
import t, { type Test } from 'tap'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { openShared, type SharedBackend } from '../../store/shared.js'
import { RpcClient, RpcServer, NotAuthenticated } from '../../store/rpc.js'
import { announce, announced, privateSocketDirectory, socketName, storeSecret } from '../../store/local-socket.js'
import { canonicalLocation, openLevelExclusive } from '../../store/backend.js'
import { CAN_SWITCH_USER, startNode } from '../helpers/spawn.js'

const attacker = fileURLToPath(new URL('../fixtures/socket-attacker.mjs', import.meta.url))
const follower = fileURLToPath(new URL('../fixtures/socket-follower.mjs', import.meta.url))
const NOBODY = { uid: 65534, gid: 65534 }

// Sockets need short paths: this file's scratch space is a fresh directory in /tmp, used as TMPDIR.
const scratch = mkdtempSync('/tmp/dds-sock-test-')
chmodSync(scratch, 0o1777)
process.env.TMPDIR = scratch
delete process.env.XDG_RUNTIME_DIR
t.teardown(() => { rmSync(scratch, { recursive: true, force: true }) })
const childEnv = { TMPDIR: scratch }

function text (s: string): Buffer {
  return Buffer.from(s)
}

async function lead (t: Test, store: string): Promise<SharedBackend> {
  const { backend, release } = await openShared(store)
  t.teardown(release)
  await backend.batch([{ type: 'put', space: 'paths', key: text('/a'), value: text('victim') }])
  t.equal(backend.role, 'leader')
  return backend
}

/** Start an attacker mode and resolve once it printed `ready`. */
async function startReady (args: string[]): Promise<ReturnType<typeof startNode>> {
  const run = startNode(attacker, args, { user: NOBODY, env: childEnv })
  await new Promise<void>((resolve, reject) => {
    run.child.stdout?.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve() })
    void run.done.then((e) => { reject(new Error(`attacker exited: ${e.stderr}`)) })
  })
  return run
}

t.test('another user listening first at the private directory name', { skip: !CAN_SWITCH_USER && 'needs root and setpriv' }, async (t) => {
  const store = join(scratch, 'squatted')
  // The attacker takes this user's directory name before any store is opened, and listens in it.
  const dir = privateSocketDirectory()
  const squat = await startReady(['squat', dir, socketName(canonicalLocation(store))])
  t.teardown(() => { squat.child.kill('SIGTERM') })

  const backend = await lead(t, store)
  const socket = await announced(canonicalLocation(store))
  t.ok(socket !== undefined && dirname(socket) !== dir, `the leader listens elsewhere (${socket})`)
  t.equal(statSync(dirname(socket as string)).mode & 0o777, 0o700, 'in a directory of its own, private')

  const f = await startNode(follower, [store, '/a', '/b'], { env: childEnv }).done
  t.equal(f.code, 0, f.stderr)
  t.same(JSON.parse(f.stdout), { role: 'follower', value: 'victim' }, "a follower reads the victim's value through the real leader")
  t.equal(Buffer.from(await backend.get('paths', text('/b')) ?? []).toString(), 'from-follower', "and its write went into the victim's store")
  squat.child.kill('SIGTERM')
  const e = await squat.done
  t.notMatch(e.stdout, /connected/, 'nobody connected to the squatted socket')
})

t.test('a touched directory name and a stale socket file', { skip: !CAN_SWITCH_USER && 'needs root and setpriv' }, async (t) => {
  const dir = privateSocketDirectory()
  rmSync(dir, { recursive: true, force: true })
  const touched = await startNode(attacker, ['touch', dir], { user: NOBODY, env: childEnv }).done
  t.equal(touched.code, 0, touched.stderr)
  const store = join(scratch, 'touched')
  {
    const { backend, release } = await openShared(store)
    await backend.batch([{ type: 'put', space: 'paths', key: text('/a'), value: text('v1') }])
    t.equal(backend.role, 'leader', 'a file at the directory name does not make the store unavailable')
    await release()
  }
  rmSync(dir, { force: true })
  // A leader killed before removing its socket leaves a file at the name.
  const stale = join(privateSocketDirectory(), socketName(canonicalLocation(store)))
  mkdirSync(dirname(stale), { mode: 0o700, recursive: true })
  writeFileSync(stale, 'stale')
  const backend = await lead(t, store)
  t.equal(await announced(canonicalLocation(store)), stale, 'the leader takes the stale name over')
  const f = await startNode(follower, [store, '/a', '/b'], { env: childEnv }).done
  t.same(JSON.parse(f.stdout), { role: 'follower', value: 'victim' }, f.stderr)
  t.ok(await backend.get('paths', text('/b')) !== undefined)
})

t.test('a group member under a group-writable umask', { skip: !CAN_SWITCH_USER && 'needs root and setpriv' }, async (t) => {
  const old = process.umask(0o002)
  t.teardown(() => { process.umask(old) })
  const store = join(scratch, 'group')
  const backend = await lead(t, store)
  const socket = await announced(backend.location) as string
  t.equal(statSync(join(backend.location, 'secret')).mode & 0o777, 0o600, 'the secret is for the owner alone')
  const member = { uid: 65534, gid: process.getgid?.() ?? 0 }
  let r = await startNode(attacker, ['connect', socket, backend.location], { user: member, env: childEnv }).done
  t.same(JSON.parse(r.stdout), { secret: 'EACCES', raw: 'EACCES', guessed: 'EACCES' }, 'the private directory keeps the group member out')
  // Even with the directory opened up by mistake, the socket lets in only holders of the secret.
  chmodSync(dirname(socket), 0o775)
  r = await startNode(attacker, ['connect', socket, backend.location], { user: member, env: childEnv }).done
  t.same(JSON.parse(r.stdout), { secret: 'EACCES', raw: 'closed', guessed: 'NotAuthenticated' }, r.stderr)
  t.equal(Buffer.from(await backend.get('paths', text('/a')) ?? []).toString(), 'victim', 'the request sent without the handshake was not served')
})

t.test('a follower with the wrong secret, and a leader without it', async (t) => {
  const store = join(scratch, 'secret')
  const backend = await lead(t, store)
  const socket = await announced(backend.location) as string
  await t.rejects(RpcClient.connect(socket, randomBytes(32)), NotAuthenticated, 'a wrong secret is refused')
  const good = await RpcClient.connect(socket, await storeSecret(backend.location))
  t.same(Buffer.from(await good.call('get', { space: 'paths', key: text('/a') }) as Uint8Array).toString(), 'victim', 'the right one is let in')
  good.close()

  // An impostor announced in a store nobody leads: its proof fails, and the victim leads itself.
  const other = join(scratch, 'impostor')
  const fakeDb = await openLevelExclusive(join(scratch, 'fake-db'))
  t.teardown(async () => { await fakeDb.close() })
  const fake = new RpcServer(fakeDb, randomBytes(32))
  const fakePath = join(scratch, 'fake.sock')
  await fake.listen(fakePath)
  t.teardown(async () => { await fake.close() })
  const loc = canonicalLocation(other)
  await storeSecret(loc)
  await announce(loc, fakePath)
  const { backend: victim, release } = await openShared(other, { openTimeout: 5000 })
  t.teardown(release)
  await victim.batch([{ type: 'put', space: 'paths', key: text('/x'), value: text('mine') }])
  t.equal(victim.role, 'leader', 'the victim did not follow the impostor')
  t.equal(await fakeDb.get('paths', text('/x')), undefined, "the victim's write did not reach the impostor's database")
  t.not(await announced(loc), fakePath, 'the victim announced its own socket')
})

t.test('the secret: made once, refused when readable by others', async (t) => {
  const dir = mkdtempSync(join(scratch, 'secret-'))
  const [a, b] = await Promise.all([storeSecret(dir), storeSecret(dir)])
  t.same(a, b, 'two processes making it at once agree')
  t.equal(readFileSync(join(dir, 'secret')).byteLength, 32)
  chmodSync(join(dir, 'secret'), 0o644)
  await t.rejects(storeSecret(dir), { code: 'DDS_STORE_UNAVAILABLE' })
  t.same(readdirSync(dir), ['secret'], 'no temporary file is left')
})
