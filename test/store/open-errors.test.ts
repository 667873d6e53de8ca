/**
 * Every failure to open a store is one coded error with its reason in
 * `data.reason` (and the file in `data.file`), not a raw errno two causes
 * down; and a store that cannot be written can still be read from a copy
 * that writes nothing under it. The victim of another user's store runs as
 * uid 65534 (setpriv, root only); the full disk is a 2 MiB tmpfs and the
 * read-only filesystem a read-only bind mount (root only, unmounted after).
 */
import t, { type Test } from 'tap'
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore } from '../../store/index.js'
import { CAN_SWITCH_USER, startNode } from '../helpers/spawn.js'

const fixture = fileURLToPath(new URL('../fixtures/open-store.mjs', import.meta.url))
const holder = fileURLToPath(new URL('../fixtures/hold-level.mjs', import.meta.url))
const nobody = { uid: 65534, gid: 65534 }
const ROOT = process.getuid?.() === 0
const noRoot = ROOT ? false : 'needs root (setpriv, mount)'

interface Outcome {
  opened: boolean
  readOnly?: string | null
  format?: boolean
  wrote?: boolean
  writeError?: { code: string | null, reason: string | null }
  error?: { code: string | null, reason: string | null, file: string | null, message: string }
}

async function run (location: string, mode: string, user?: { uid: number, gid: number }): Promise<Outcome> {
  const { done } = startNode(fixture, [location, mode], user === undefined ? {} : { user })
  const exit = await done
  return JSON.parse(exit.stdout.trim().split('\n').pop() as string) as Outcome
}

async function makeStore (t: Test, dir: string): Promise<void> {
  const store = await openStore({ location: dir })
  await store.putArtifact('kept before')
  await store.close()
  t.ok(statSync(join(dir, 'db')).isDirectory())
}

/** A directory of its own outside tap's fixtures, removed after this test's own teardowns (unmounts first). */
function ownDir (t: Test, first: Array<() => void> = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'dds-open-errors-'))
  chmodSync(dir, 0o755)
  t.teardown(() => {
    try {
      for (const f of first) f()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
  return dir
}

/** Names and modification times of everything under `dir`: what "writes nothing" is checked against. */
function snapshot (dir: string): string {
  return readdirSync(dir, { recursive: true }).map(String).sort().map((n) => `${n}:${statSync(join(dir, n)).mtimeMs}`).join('\n')
}

t.test('a regular file where the store should be: not-a-directory', async (t) => {
  const dir = t.testdir({ store: 'not a directory' })
  for (const location of [join(dir, 'store'), join(dir, 'store', 'below')]) {
    const out = await run(location, 'write')
    t.equal(out.opened, false)
    t.equal(out.error?.code, 'DDS_STORE_UNAVAILABLE')
    t.equal(out.error?.reason, 'not-a-directory')
    t.ok(out.error?.message.includes(location), 'the message names the path')
    // No copy gets around it.
    t.equal((await run(location, 'fallback')).error?.reason, 'not-a-directory')
  }
})

t.test('readOnly opens a copy: reads answer, writes are refused, nothing under the store changes', async (t) => {
  const dir = join(t.testdir(), 'store')
  await makeStore(t, dir)
  const before = snapshot(dir)
  const out = await run(dir, 'read')
  t.equal(out.opened, true)
  t.equal(out.readOnly, 'read-only')
  t.equal(out.format, true)
  t.equal(out.writeError?.code, 'DDS_STORE_UNAVAILABLE')
  t.equal(out.writeError?.reason, 'read-only')
  t.equal(snapshot(dir), before)
})

t.test('readOnly of a directory that is no store, or no directory at all, is refused', async (t) => {
  const dir = t.testdir({ empty: {} })
  t.equal((await run(join(dir, 'empty'), 'read')).error?.code, 'DDS_STORE_UNAVAILABLE')
  t.equal((await run(join(dir, 'missing'), 'read')).error?.code, 'DDS_STORE_UNAVAILABLE')
})

t.test('held by a process that serves no socket: locked, and still readable', async (t) => {
  const dir = join(t.testdir(), 'store')
  await makeStore(t, dir)
  const { child, done } = startNode(holder, [dir])
  t.teardown(async () => { child.kill(); await done })
  await new Promise<void>((resolve) => { child.stdout?.on('data', (d: Buffer) => { if (String(d).includes('held')) resolve() }) })
  const out = await run(dir, 'write')
  t.equal(out.error?.code, 'DDS_STORE_UNAVAILABLE')
  t.equal(out.error?.reason, 'locked')
  const read = await run(dir, 'fallback')
  t.equal(read.opened, true)
  t.equal(read.readOnly, 'locked')
  t.equal(read.writeError?.reason, 'locked')
})

t.test('another user\'s store: permission, naming the file; read through a copy', { skip: CAN_SWITCH_USER ? false : 'needs root and setpriv' }, async (t) => {
  const base = t.testdir()
  chmodSync(base, 0o755)
  const dir = join(base, 'store')
  await makeStore(t, dir)
  const before = snapshot(dir)
  const out = await run(dir, 'write', nobody)
  t.equal(out.error?.code, 'DDS_STORE_UNAVAILABLE')
  t.equal(out.error?.reason, 'permission')
  t.ok(out.error?.file?.startsWith(dir), 'data.file is under the store')
  const read = await run(dir, 'fallback', nobody)
  t.equal(read.opened, true)
  t.equal(read.readOnly, 'permission')
  t.equal(read.writeError?.reason, 'permission')
  t.equal(snapshot(dir), before, 'the victim wrote nothing under the store')
  // Where the store would be created in a directory the user may not write.
  t.equal((await run(join(dir, 'new'), 'write', nobody)).error?.reason, 'permission')
})

t.test('one\'s own store after chmod -R a-w: permission, still readable', { skip: CAN_SWITCH_USER ? false : 'needs root and setpriv' }, async (t) => {
  const first: Array<() => void> = []
  const base = ownDir(t, first)
  const dir = join(base, 'store')
  mkdirSync(dir)
  chownSync(dir, nobody.uid, nobody.gid)
  t.equal((await run(dir, 'write', nobody)).wrote, true)
  execFileSync('chmod', ['-R', 'a-w', dir])
  first.push(() => { execFileSync('chmod', ['-R', 'u+w', dir]) })
  const out = await run(dir, 'write', nobody)
  t.equal(out.error?.reason, 'permission')
  const read = await run(dir, 'fallback', nobody)
  t.equal(read.readOnly, 'permission')
  t.equal(read.format, true)
})

t.test('a read-only filesystem: read-only, still readable', { skip: noRoot }, async (t) => {
  const first: Array<() => void> = []
  const base = ownDir(t, first)
  mkdirSync(join(base, 'mnt'))
  const dir = join(base, 'src', 'store')
  await makeStore(t, dir)
  const mnt = join(base, 'mnt')
  execFileSync('mount', ['--bind', join(base, 'src'), mnt])
  first.push(() => { execFileSync('umount', [mnt]) })
  execFileSync('mount', ['-o', 'remount,ro,bind', mnt])
  const out = await run(join(mnt, 'store'), 'write')
  t.equal(out.error?.reason, 'read-only')
  const read = await run(join(mnt, 'store'), 'fallback')
  t.equal(read.readOnly, 'read-only')
  t.equal(read.format, true)
})

t.test('a full disk: disk-full with what to free, still readable', { skip: noRoot }, async (t) => {
  const first: Array<() => void> = []
  const mnt = join(ownDir(t, first), 'mnt')
  mkdirSync(mnt)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt])
  first.push(() => { execFileSync('umount', [mnt]) })
  const dir = join(mnt, 'store')
  await makeStore(t, dir)
  // Fill the filesystem to the last byte.
  try { execFileSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=64k'], { stdio: 'ignore' }) } catch { /* stops at ENOSPC */ }
  writeFileSync(join(mnt, 'probe'), '')
  const out = await run(dir, 'write')
  t.equal(out.error?.code, 'DDS_STORE_UNAVAILABLE')
  t.equal(out.error?.reason, 'disk-full')
  t.match(out.error?.message, /free/)
  const read = await run(dir, 'fallback')
  t.equal(read.readOnly, 'disk-full')
  t.equal(read.format, true)
})
