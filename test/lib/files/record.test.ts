/**
 * Recording in one process: which reads become dependencies (every node:fs
 * form, stat and exists, listings, missing files) and which do not (sources,
 * node_modules, the store), warnings for network, child processes and
 * workers, ttl and volatile, the records (no `files` field when nothing was
 * read), why and bundles carrying the dependencies, and hostile records.
 */
import t, { type Test } from 'tap'
import fs from 'node:fs'
import { readFile as readFileP, readdir as readdirP, stat as statP } from 'node:fs/promises'
import { spawnSync } from 'node:child_process'
import { createServer } from 'node:http'
import { Worker } from 'node:worker_threads'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readFile, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { open, type DdsInstance } from '../../../lib/dds.js'
import { annotate } from '../../../lib/annotations.js'
import { file, dir } from '../../../lib/files/explicit.js'
import { why } from '../../../lib/why.js'
import { exportBundle, importBundle } from '../../../store/bundle.js'
import { toEvaluationRecord } from '../../../store/records.js'
import { ErrorCodes } from '../../../store/errors.js'
import type { DdsEvent } from '../../../lib/interface.js'

interface Setup { dds: DdsInstance, events: DdsEvent[], dir: string, data: string }

async function setup (t: Test): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'dds-files-'))
  const data = join(dir, 'data')
  mkdirSync(data)
  const events: DdsEvent[] = []
  const dds = await open({ store: join(dir, 'store'), onEvent: (e) => { events.push(e) } })
  t.teardown(async () => { await dds.close(); rmSync(dir, { recursive: true, force: true }) })
  return { dds, events, dir, data }
}

const computed = (events: DdsEvent[]): string[] => events.filter((e) => e.type === 'computed').map((e) => (e as { path: string }).path)
const warnings = (events: DdsEvent[]): string[] => events.filter((e) => e.type === 'warning').map((e) => (e as { message: string }).message)

async function recordOf (dds: DdsInstance, path: string): ReturnType<DdsInstance['store']['getEvaluation']> {
  const head = await dds.store.head(path)
  if (head?.evaluation == null) throw new Error(`no head for ${path}`)
  return await dds.store.getEvaluation(head.evaluation)
}

t.test('each node:fs form is recorded and checked', async (t) => {
  const { dds, events, data } = await setup(t)
  const f = join(data, 'a.txt')
  writeFileSync(f, 'one')
  const readers: Record<string, () => Promise<unknown>> = {
    '/sync': async () => readFileSync(f, 'utf8'),
    '/callback': async () => await new Promise((res, rej) => { readFile(f, 'utf8', (e, s) => { if (e) rej(e); else res(s) }) }),
    '/promise': async () => await readFileP(f, { encoding: 'utf8' }),
    '/url': async () => readFileSync(new URL(`file://${f}`)).toString(),
    '/handle': async () => { const h = await fs.promises.open(f); try { return (await h.readFile()).toString() } finally { await h.close() } }
  }
  const runAll = async (): Promise<Record<string, unknown>> => {
    const out: Record<string, unknown> = {}
    for (const [path, fn] of Object.entries(readers)) out[path] = await dds.keep(path, fn)
    return out
  }
  t.same(await runAll(), { '/sync': 'one', '/callback': 'one', '/promise': 'one', '/url': 'one', '/handle': 'one' })
  for (const path of Object.keys(readers)) {
    const r = await recordOf(dds, path)
    t.same(r.files?.map((x) => [x.path, x.kind, x.size]), [[f, 'file', 3]], `${path} records the file`)
    t.equal(Buffer.from(r.files?.[0]?.digest ?? []).toString('hex'), '7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed', `${path}: sha256 of the bytes`)
  }
  events.length = 0
  await runAll()
  t.same(computed(events), [], 'unchanged: all hit')
  writeFileSync(f, 'two')
  t.same(await runAll(), { '/sync': 'two', '/callback': 'two', '/promise': 'two', '/url': 'two', '/handle': 'two' }, 'same size, new content: no stale value')
  t.same(computed(events).sort(), Object.keys(readers).sort())
})

t.test('listings, stat and exists, missing files', async (t) => {
  const { dds, events, data } = await setup(t)
  writeFileSync(join(data, 'x'), 'x')
  const missing = join(data, 'later.json')
  const fns = {
    '/readdir': async () => (await readdirP(data)).sort(),
    '/tree': async () => (fs.readdirSync(data, { recursive: true }) as string[]).sort(),
    '/exists': async () => existsSync(missing),
    '/size': async () => (await statP(join(data, 'x'))).size,
    '/optional': async () => { try { return readFileSync(missing, 'utf8') } catch { return 'none' } }
  }
  const runAll = async (): Promise<unknown[]> => { const out = []; for (const [p, fn] of Object.entries(fns)) out.push(await dds.keep(p, fn)); return out }
  t.same(await runAll(), [['x'], ['x'], false, 1, 'none'])
  events.length = 0
  fs.utimesSync(join(data, 'x'), new Date(2030, 1, 1), new Date(2030, 1, 1))
  await runAll()
  t.same(computed(events), [], 'a touch changes no listing, size or existence')
  mkdirSync(join(data, 'sub'))
  writeFileSync(join(data, 'sub', 'deep'), 'd')
  t.same(await runAll(), [['sub', 'x'], ['sub', 'sub/deep', 'x'], false, 1, 'none'])
  t.same(computed(events).sort(), ['/readdir', '/tree'])
  events.length = 0
  writeFileSync(join(data, 'sub', 'deeper'), 'd')
  await runAll()
  t.same(computed(events), ['/tree'], 'a file deeper down changes only the recursive listing')
  events.length = 0
  writeFileSync(missing, '{}')
  t.same(await runAll(), [['later.json', 'sub', 'x'], ['later.json', 'sub', 'sub/deep', 'sub/deeper', 'x'], true, 1, '{}'])
  t.same(computed(events).sort(), ['/exists', '/optional', '/readdir', '/tree'], 'a file that appears re-runs what looked for it')
  events.length = 0
  writeFileSync(join(data, 'x'), 'xx')
  await runAll()
  t.same(computed(events), ['/size'], 'stat depends on the size')
})

t.test('code and the store are not recorded; paths inside the project are relative', async (t) => {
  const { dds } = await setup(t)
  await dds.keep('/code', async () => [
    readFileSync(resolve('lib/dds.ts'), 'utf8').length > 0,
    readFileSync(resolve('node_modules/tap/package.json'), 'utf8').length > 0,
    readFileSync(resolve('package.json'), 'utf8').length > 0,
    existsSync(dds.store.location as string)
  ])
  t.equal((await recordOf(dds, '/code')).files, undefined, 'no files field')
  await dds.keep('/readme', async () => readFileSync('README.md', 'utf8').length)
  t.same((await recordOf(dds, '/readme')).files?.map((f) => f.path), ['README.md'])
})

t.test('a keep that reads nothing keeps the record and memo shape of before', async (t) => {
  const { dds } = await setup(t)
  await dds.keep('/pure', (x: number) => x + 1, 1)
  const head = await dds.store.head('/pure')
  const bytes = await dds.store.getBlock(head?.evaluation as never)
  const node = dagCbor.decode(bytes as Uint8Array) as Record<string, unknown>
  t.same(Object.keys(node).sort(), ['calls', 'code', 'duration', 'fn', 'inputs', 'kind', 'loads', 'output', 'path', 'signature', 'started'])
  let entries = 0
  for await (const { entry } of dds.store.memoEntries()) { entries++; t.equal(entry.files, undefined) }
  t.equal(entries, 1, 'one memo key, as before: no secondary key without loads or files')
})

t.test('a file changing back reuses the earlier evaluation; why names the file', async (t) => {
  const { dds, events, data } = await setup(t)
  const f = join(data, 'w.csv')
  const parse = async (): Promise<number> => readFileSync(f, 'utf8').split('\n').length
  writeFileSync(f, 'a\nb')
  t.equal(await dds.keep('/parse', parse), 2)
  writeFileSync(f, 'a\nb\nc')
  t.equal(await dds.keep('/parse', parse), 3)
  const w = await why(dds.store, '/parse')
  t.same(w.changes.map((c) => [c.kind, c.change, 'path' in c ? c.path : '']), [['file', 'changed', f]])
  t.notOk(w.identical)
  events.length = 0
  writeFileSync(f, 'a\nb')
  t.equal(await dds.keep('/parse', parse), 2)
  t.same(computed(events), [], 'the revert is a hit')
})

t.test('nested keeps record their own files; the caller depends on them', async (t) => {
  const { dds, events, data } = await setup(t)
  const a = join(data, 'a')
  const b = join(data, 'b')
  writeFileSync(a, 'A')
  writeFileSync(b, 'B')
  const inner = async (): Promise<string> => readFileSync(b, 'utf8')
  const outer = async (): Promise<string> => readFileSync(a, 'utf8') + await dds.keep('/inner', inner)
  t.equal(await dds.keep('/outer', outer), 'AB')
  t.same((await recordOf(dds, '/inner')).files?.map((f) => f.path), [b])
  t.same((await recordOf(dds, '/outer')).files?.map((f) => f.path), [a, b])
  events.length = 0
  writeFileSync(b, 'C')
  t.equal(await dds.keep('/outer', outer), 'AC')
  t.same(computed(events).sort(), ['/inner', '/outer'])
})

t.test('file() and dir() arguments are hashed by content and passed as the path', async (t) => {
  const { dds, events, data } = await setup(t)
  const f = join(data, 'in.txt')
  writeFileSync(f, 'v1')
  const use = async (p: string): Promise<string> => p
  t.equal(await dds.keep('/f', use, file(f)), f, 'the function receives the path string')
  events.length = 0
  fs.utimesSync(f, new Date(2031, 1, 1), new Date(2031, 1, 1))
  await dds.keep('/f', use, file(f))
  t.same(computed(events), [], 'touched: same argument')
  writeFileSync(f, 'v2')
  await dds.keep('/f', use, file(f))
  t.same(computed(events), ['/f'])
  events.length = 0
  await dds.keep('/d', use, dir(data))
  writeFileSync(join(data, 'new'), 'n')
  await dds.keep('/d', use, dir(data))
  t.same(computed(events), ['/d', '/d'], 'a directory gaining a file is another argument')
  await t.rejects(dds.keep('/f', use, file(join(data, 'nope'))), { code: ErrorCodes.FILE_NOT_FOUND })
  t.throws(() => file(''), TypeError)
})

t.test('network, child processes and workers: one warning each; ttl and volatile', async (t) => {
  const { dds, events } = await setup(t)
  const server = createServer((_req, res) => { res.end('hello') })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => { r() }))
  t.teardown(() => { server.close() })
  const port = (server.address() as { port: number }).port
  const get = async (): Promise<string> => {
    const a = await (await fetch(`http://127.0.0.1:${port}/`)).text()
    const b = await (await fetch(`http://127.0.0.1:${port}/again`)).text()
    return a + b
  }
  t.equal(await dds.keep('/net', get), 'hellohello')
  t.equal(warnings(events).length, 1, 'one warning for the evaluation')
  t.match(warnings(events)[0], /\/net used the network.*ttl/)
  events.length = 0
  await dds.keep('/net', get)
  t.same(computed(events), [], 'without a rule it is kept like anything else')

  const fetchTtl0 = annotate(async () => await (await fetch(`http://127.0.0.1:${port}/`)).text(), { ttl: 0 })
  const fetchDay = annotate(async () => await (await fetch(`http://127.0.0.1:${port}/`)).text(), { ttl: '1d' })
  const stamp = annotate(async () => 'same', { volatile: true })
  events.length = 0
  for (let i = 0; i < 2; i++) {
    await dds.keep('/ttl0', fetchTtl0)
    await dds.keep('/day', fetchDay)
    await dds.keep('/volatile', stamp)
    await dds.keep('/after', (s: string) => s + '!', await dds.keep('/volatile2', stamp))
  }
  t.same(computed(events), ['/ttl0', '/day', '/volatile', '/volatile2', '/after', '/ttl0', '/volatile', '/volatile2'],
    'ttl 0 and volatile run each time, ttl 1d once; what depends on an unchanged volatile value hits')
  t.same(warnings(events), [], 'a freshness rule silences the network warning')
  t.throws(() => annotate(() => 1, { ttl: '6 weeks' }), RangeError)
  t.throws(() => annotate(() => 1, { volatile: 'yes' as never }), TypeError)

  events.length = 0
  await dds.keep('/child', async () => {
    spawnSync(process.execPath, ['-e', ''])
    spawnSync(process.execPath, ['-e', ''])
    const w = new Worker('process.exit(0)', { eval: true })
    await new Promise((r) => w.on('exit', r))
    return 1
  })
  t.same(warnings(events).map((m) => m.replace(/:.*/, '')), ['the function kept at /child started a child process', 'the function kept at /child started a worker thread'])
})

t.test('bundles carry file dependencies', async (t) => {
  const a = await setup(t)
  const f = join(a.data, 'rows')
  writeFileSync(f, 'r1')
  const read = async (): Promise<string> => readFileSync(f, 'utf8')
  await a.dds.keep('/rows', read)
  const car = join(a.dir, 'b.car')
  await exportBundle(a.dds.store, ['/rows'], car)
  const b = await setup(t)
  await importBundle(b.dds.store, car)
  t.same((await recordOf(b.dds, '/rows')).files?.map((x) => x.path), [f])
  await b.dds.keep('/rows', read)
  t.same(computed(b.events), [], 'unchanged file: the imported evaluation is a hit')
  writeFileSync(f, 'r2')
  t.equal(await b.dds.keep('/rows', read), 'r2', 'changed file: computed again')
})

t.test('hostile records: bad file references are refused, device paths never hold', async (t) => {
  const base = { kind: 'keep', path: '/x', fn: { name: 'f' }, code: (await import('multiformats/cid')).CID.parse('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'), signature: new Uint8Array(32), inputs: [], loads: [], calls: [], output: (await import('multiformats/cid')).CID.parse('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'), started: 0, duration: 0 }
  const ref = { path: 'data/x', kind: 'file', digest: new Uint8Array(32), size: 1, mtime: 0, ino: 0, dev: 0 }
  for (const bad of [{ ...ref, kind: 'socket' }, { ...ref, digest: new Uint8Array(5) }, { ...ref, size: 'big' }, 'data/x']) {
    t.throws(() => toEvaluationRecord({ ...base, files: [bad] }), { code: ErrorCodes.INTEGRITY })
  }
  const { filesHold } = await import('../../../lib/files/digest.js')
  t.notOk(filesHold([{ ...ref, path: '/dev/zero', kind: 'file', size: 0 } as never]), 'a device is not read')
  t.notOk(filesHold([{ ...ref, path: '/proc/self/status', kind: 'file', size: 0 } as never]))
})
