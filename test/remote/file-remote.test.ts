/**
 * The shared-directory remote against hostile and broken directories: keys
 * that try to leave it, symbolic links planted in it, a writer killed in
 * the middle of an upload, truncated objects, stale and live locks, and
 * processes racing on its create-only and compare-and-swap writes.
 */
import t from 'tap'
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { open } from '../../lib/dds.js'
import { openRemote } from '../../store/remote/index.js'
import { DirectoryObjectStore, lockFile, objectFile } from '../../store/remote/file-store.js'
import { parseFileUrl } from '../../store/remote/file-remote.js'
import { startNode } from '../helpers/spawn.js'

const race = fileURLToPath(new URL('./fixtures/file-race.mjs', import.meta.url))
const utf8 = new TextEncoder()

function text (n: number): string {
  return `text ${n}`
}

/** Every file under `dir`, relative. */
function files (dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1)).sort()
}

t.test('file URLs are checked', async (t) => {
  t.equal(parseFileUrl('file:///mnt/team/dds'), '/mnt/team/dds')
  t.throws(() => parseFileUrl('file:relative/dir'), TypeError)
  t.throws(() => parseFileUrl('file:///x?y=1'), TypeError)
  t.throws(() => parseFileUrl('file://otherhost/x'), TypeError)
  await t.rejects(openRemote('ftp://x/y'), TypeError)
  await t.rejects(openRemote({ url: pathToFileURL(join(t.testdir(), 'missing')).href, file: { createDirectory: false } }), { code: 'DDS_REMOTE_UNAVAILABLE' })
})

t.test('keys cannot leave the directory', async (t) => {
  const dir = t.testdir({ share: {} })
  const root = join(dir, 'share')
  const objects = new DirectoryObjectStore(root, 'file://test')
  for (const key of ['../escaped', 'a/../../escaped', '..', '.hidden', 'x/./y', '%2E%2E/escaped']) {
    t.ok((await objects.put(key, utf8.encode(key), { ifNoneMatch: true })).ok, `${key} is written`)
    t.same((await objects.get(key))?.bytes, utf8.encode(key), `${key} reads back`)
  }
  t.same(readdirSync(dir), ['share'], 'nothing outside the directory')
  const listed = []
  for await (const k of objects.list('')) listed.push(k)
  t.same(listed.sort(), ['%2E%2E/escaped', '..', '../escaped', '.hidden', 'a/../../escaped', 'x/./y'].sort(), 'every key lists as itself')
  t.throws(() => objectFile(root, 'a//b'), TypeError)
  await t.rejects(objects.get(''), TypeError)
  // Paths and lease names are checked or escaped before they become keys.
  const remote = await openRemote(pathToFileURL(root).href)
  t.teardown(async () => { await remote.close() })
  await t.rejects(remote.head('/../etc/passwd'), { code: 'DDS_PATH_INVALID' })
  const lease = await remote.lease('../../outside')
  await lease.release()
  t.same(readdirSync(dir), ['share'])
})

t.test('symbolic links planted in the directory are refused', async (t) => {
  const dir = t.testdir({ outside: { 'secret~': 'not yours' } })
  const root = join(dir, 'share')
  const url = pathToFileURL(root).href
  const a = await open({ store: join(dir, 'a'), remote: url })
  await a.keep('/x', text, 1)
  const head = await a.store.headEntry('/x')
  await a.close()
  // An object replaced by a link to a file elsewhere.
  const block = objectFile(root, `blocks/${head?.output?.toString() ?? ''}`).file
  const bytes = readFileSync(block)
  writeFileSync(join(dir, 'outside', 'copy'), bytes)
  const { rmSync } = await import('node:fs')
  rmSync(block)
  symlinkSync(join(dir, 'outside', 'copy'), block)
  const b = await open({ store: join(dir, 'b'), remote: url })
  await t.rejects(b.load('/x'), { code: 'DDS_REMOTE_UNSAFE' })
  await b.close()
  // A directory replaced by a link to a directory elsewhere: nothing is read from or written there.
  const heads = join(root, 'head')
  rmSync(heads, { recursive: true })
  symlinkSync(join(dir, 'outside'), heads)
  const c = await open({ store: join(dir, 'c'), remote: url })
  await t.rejects(c.keep('/y', text, 2), { code: 'DDS_REMOTE_UNSAFE' })
  await t.rejects(c.load('/secret'), { code: 'DDS_REMOTE_UNSAFE' })
  await c.close()
  t.same(readdirSync(join(dir, 'outside')).sort(), ['copy', 'secret~'], 'nothing was written outside')
  // A listing does not follow links.
  const objects = new DirectoryObjectStore(root, url)
  const listed = []
  for await (const k of objects.list('')) listed.push(k)
  t.notOk(listed.some((k) => k.startsWith('head/')), 'the linked directory is not listed')
})

t.test('a writer killed during an upload leaves no object, only a temporary file', async (t) => {
  const root = t.testdir()
  const script = join(root, 'killed.mjs')
  const marker = join(root, 'started')
  writeFileSync(script, `
    import { writeFileSync } from 'node:fs'
    import { DirectoryObjectStore } from ${JSON.stringify(new URL('../../dist/store/remote/file-store.js', import.meta.url).href)}
    const objects = new DirectoryObjectStore(${JSON.stringify(join(root, 'share'))}, 'file://test')
    async function * forever () {
      yield new Uint8Array(65536)
      writeFileSync(${JSON.stringify(marker)}, '')
      await new Promise(() => {})
    }
    await objects.upload('packs/big', forever, 1 << 30)
  `)
  mkdirSync(join(root, 'share'))
  const child = startNode(script, [])
  while (!existsSync(marker)) await new Promise((resolve) => setTimeout(resolve, 10))
  child.child.kill('SIGKILL')
  await child.done
  const objects = new DirectoryObjectStore(join(root, 'share'), 'file://test')
  t.equal(await objects.head('packs/big'), undefined, 'no object')
  t.match(files(join(root, 'share')), [/^packs\/\.tmp-[0-9a-f]+$/], 'a temporary file is left')
  const listed = []
  for await (const k of objects.list('')) listed.push(k)
  t.same(listed, [], 'and is not listed')
  // An upload that sends fewer bytes than it announced is no object either.
  async function * short (): AsyncIterable<Uint8Array> { yield new Uint8Array(10) }
  await t.rejects(objects.upload('packs/short', short, 20), RangeError)
  t.equal(await objects.head('packs/short'), undefined)
})

t.test('truncated objects are refused, not used', async (t) => {
  const dir = t.testdir()
  const root = join(dir, 'share')
  const url = pathToFileURL(root).href
  const a = await open({ store: join(dir, 'a'), remote: url })
  await a.keep('/x', text, 1)
  await a.keep('/y', text, 2)
  const head = await a.store.headEntry('/x')
  await a.close()
  truncateSync(objectFile(root, `blocks/${head?.output?.toString() ?? ''}`).file, 3)
  truncateSync(objectFile(root, 'head/y').file, 5)
  const b = await open({ store: join(dir, 'b'), remote: url })
  t.teardown(async () => { await b.close() })
  await t.rejects(b.load('/x'), { code: 'DDS_INTEGRITY' })
  await t.rejects(b.load('/y'), { code: 'DDS_INTEGRITY' })
})

t.test('a stale lock is broken; a live one makes a compare-and-swap wait, then answer "conflict"', async (t) => {
  const root = t.testdir()
  const objects = new DirectoryObjectStore(root, 'file://test', { staleLock: 2000 })
  const first = await objects.put('k/v', utf8.encode('1'), { ifNoneMatch: true })
  if (!first.ok) throw new Error('not created')
  const { dir, name } = objectFile(root, 'k/v')
  writeFileSync(lockFile(dir, name), 'someone else')
  t.same(await objects.put('k/v', utf8.encode('2'), { ifMatch: first.etag }), { ok: false, conflict: true }, 'a live lock: conflict')
  t.same((await objects.get('k/v'))?.bytes, utf8.encode('1'), 'unchanged')
  const old = (Date.now() - 60_000) / 1000
  utimesSync(lockFile(dir, name), old, old)
  const second = await objects.put('k/v', utf8.encode('2'), { ifMatch: first.etag })
  t.equal(second.ok, true, 'a stale lock is broken')
  t.same((await objects.get('k/v'))?.bytes, utf8.encode('2'))
  t.same(await objects.put('k/v', utf8.encode('3'), { ifMatch: first.etag }), { ok: false, conflict: false }, 'a replaced version does not match')
  t.same(files(root), ['.clock', 'k/v~'], 'no lock or temporary file is left behind (the clock file stays)')
})

t.test('processes racing: one create wins; no compare-and-swap increment is lost', async (t) => {
  const root = t.testdir()
  const go = join(root, 'go')
  const share = join(root, 'share')
  mkdirSync(share)
  const objects = new DirectoryObjectStore(share, 'file://test')
  await objects.put('race/counter', utf8.encode('0'))
  const creators = Array.from({ length: 8 }, (_, i) => startNode(race, [share, 'create', `c${i}`, '0', go]))
  const counters = Array.from({ length: 4 }, (_, i) => startNode(race, [share, 'cas', `w${i}`, '15', go]))
  writeFileSync(go, '')
  const exits = await Promise.all([...creators, ...counters].map((c) => c.done))
  for (const e of exits) t.equal(e.code, 0, e.stderr)
  const created = exits.slice(0, 8).map((e) => (JSON.parse(e.stdout) as { created: boolean }).created)
  t.equal(created.filter(Boolean).length, 1, 'exactly one of 8 racing creates won')
  const winner = new TextDecoder().decode((await objects.get('race/one'))?.bytes)
  t.equal(winner, `c${created.indexOf(true)}`, 'and its bytes are there')
  t.equal(new TextDecoder().decode((await objects.get('race/counter'))?.bytes), '60', '4 x 15 increments, none lost')
})
