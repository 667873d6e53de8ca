/**
 * The local socket between a store's leader and its followers, attacked by
 * another local user (run as uid 65534 through setpriv) against a victim who
 * is not root either (uid 1000: root would pass the permission checks an
 * ordinary user fails), and by processes that do not know the store's secret.
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
const leader = fileURLToPath(new URL('../fixtures/socket-leader.mjs', import.meta.url))
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

/** The victim: a user other than root (root would pass permission checks an ordinary user fails). */
const VICTIM = { uid: 1000, gid: 1000 }
/** The victim's private socket directory by default (no XDG_RUNTIME_DIR; TMPDIR is the scratch space). */
const victimDir = join(scratch, `dds-${VICTIM.uid}`)

/** The first line a child prints, as JSON; rejects when it exits before printing one. */
async function firstLine (run: ReturnType<typeof startNode>): Promise<Record<string, unknown>> {
  return await new Promise((resolve, reject) => {
    let out = ''
    run.child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as Record<string, unknown>)
    })
    void run.done.then((e) => { reject(new Error(`exited before answering: ${e.stderr}`)) })
  })
}

interface VictimLeader { store: string, socket: string, run: ReturnType<typeof startNode>, stop: () => Promise<{ a: string | null, b: string | null }> }

/** The victim leading the store `name` (writing /a = 'victim'), as VICTIM, until `stop`. */
async function victimLeads (t: Test, name: string, umask?: string): Promise<VictimLeader> {
  const store = join(scratch, name)
  const run = startNode(leader, umask === undefined ? [store] : [store, umask], { user: VICTIM, env: childEnv })
  t.teardown(() => { run.child.kill('SIGKILL') })
  const ready = await firstLine(run)
  t.match(ready, { role: 'leader', uid: VICTIM.uid }, 'the victim leads its store')
  return {
    store,
    socket: ready.socket as string,
    run,
    stop: async () => {
      run.child.kill('SIGTERM')
      const e = await run.done
      return JSON.parse(e.stdout.trim().split('\n').pop() ?? '{}') as { a: string | null, b: string | null }
    }
  }
}

/** A second process of the victim using the store: reads /a, writes /b through the leader. */
async function victimFollows (t: Test, store: string): Promise<void> {
  const f = await startNode(follower, [store, '/a', '/b'], { user: VICTIM, env: childEnv }).done
  t.equal(f.code, 0, f.stderr)
  t.same(JSON.parse(f.stdout || 'null'), { role: 'follower', value: 'victim' }, "the victim's follower reads the victim's value through the victim's leader")
}

t.test('another user listening first at the victim\'s private directory name', { skip: !CAN_SWITCH_USER && 'needs root and setpriv' }, async (t) => {
  const store = join(scratch, 'squatted')
  // The attacker takes the victim's directory name before any store is opened, opens it to all and listens in it.
  const squat = await startReady(['squat', victimDir, socketName(store)])
  t.teardown(() => { squat.child.kill('SIGTERM') })

  const lead = await victimLeads(t, 'squatted')
  t.not(dirname(lead.socket), victimDir, `the leader listens elsewhere (${lead.socket})`)
  const s = statSync(dirname(lead.socket))
  t.equal(s.mode & 0o777, 0o700, 'in a directory of its own, private')
  t.equal(s.uid, VICTIM.uid, "owned by the victim")
  await victimFollows(t, store)
  t.same(await lead.stop(), { a: 'victim', b: 'from-follower' }, "the follower's write went into the victim's store")
  squat.child.kill('SIGTERM')
  const e = await squat.done
  t.notMatch(e.stdout, /connected/, 'nobody connected to the squatted socket')
  t.equal(statSync(victimDir).uid, NOBODY.uid, "the attacker's directory is left as it was")
  rmSync(victimDir, { recursive: true, force: true })
})

t.test('a file or a link at the victim\'s directory name, and a stale socket of a killed leader', { skip: !CAN_SWITCH_USER && 'needs root and setpriv' }, async (t) => {
  rmSync(victimDir, { recursive: true, force: true })
  const touched = await startNode(attacker, ['touch', victimDir], { user: NOBODY, env: childEnv }).done
  t.equal(touched.code, 0, touched.stderr)
  let lead = await victimLeads(t, 'touched')
  t.not(dirname(lead.socket), victimDir, 'a file at the directory name does not make the store unavailable')
  await victimFollows(t, lead.store)
  t.same(await lead.stop(), { a: 'victim', b: 'from-follower' })
  rmSync(victimDir, { force: true })

  // A link to a directory the attacker can read and write.
  const trap = join(scratch, 'trap')
  const linked = await startNode(attacker, ['link', trap, victimDir], { user: NOBODY, env: childEnv }).done
  t.equal(linked.code, 0, linked.stderr)
  lead = await victimLeads(t, 'linked')
  t.not(dirname(lead.socket), victimDir)
  t.same(readdirSync(trap), [], 'nothing was made in the directory the link points at')
  await victimFollows(t, lead.store)
  t.same(await lead.stop(), { a: 'victim', b: 'from-follower' })
  rmSync(victimDir, { force: true })

  // A leader killed before it could remove its socket and its announcement.
  lead = await victimLeads(t, 'stale')
  t.equal(dirname(lead.socket), victimDir, 'with the name free, the victim uses its private directory')
  lead.run.child.kill('SIGKILL')
  await lead.run.done
  t.ok(statSync(lead.socket).isSocket(), 'the killed leader left its socket behind')
  t.equal(await announced(lead.store), lead.socket, 'and its announcement')
  const next = await victimLeads(t, 'stale')
  t.equal(next.socket, lead.socket, 'the next leader takes the stale name over')
  await victimFollows(t, next.store)
  t.same(await next.stop(), { a: 'victim', b: 'from-follower' })
})

t.test('a group member under a group-writable umask', { skip: !CAN_SWITCH_USER && 'needs root and setpriv' }, async (t) => {
  const lead = await victimLeads(t, 'group', '002')
  t.equal(statSync(join(lead.store, 'secret')).mode & 0o777, 0o600, 'the secret is for the owner alone')
  t.equal(statSync(lead.store).mode & 0o070, 0o070, 'the store itself is open to the group (the umask)')
  const member = { uid: NOBODY.uid, gid: VICTIM.gid }
  let r = await startNode(attacker, ['connect', lead.socket, lead.store], { user: member, env: childEnv }).done
  t.same(JSON.parse(r.stdout), { secret: 'EACCES', raw: 'EACCES', guessed: 'EACCES' }, 'the private directory keeps the group member out')
  // Even with the directory opened up by mistake, the socket lets in only holders of the secret.
  chmodSync(dirname(lead.socket), 0o775)
  r = await startNode(attacker, ['connect', lead.socket, lead.store], { user: member, env: childEnv }).done
  t.same(JSON.parse(r.stdout), { secret: 'EACCES', raw: 'closed', guessed: 'NotAuthenticated' }, r.stderr)
  t.same(await lead.stop(), { a: 'victim', b: null }, 'the deletion sent without the handshake was not served')
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
