/**
 * Large reads inside a kept function, hashed on the hashing thread: the
 * recorded digest equals the hit check's (sha256 of the file) for every read
 * form, a touch stays a hit and a changed byte re-runs; the digest is of the
 * bytes read when the file changes while or after it is read, when the caller
 * changes the buffer or a chunk, and when a read fails midway; the thread
 * serves interleaved jobs in order, gives a job up, and leaves no warning
 * and no process that will not exit.
 */
import t, { type Test } from 'tap'
import fs, { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync, createReadStream, openSync, writeSync, closeSync, readdirSync } from 'node:fs'
import { readFile as readFileP } from 'node:fs/promises'
import { createHash, randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { open, type DdsInstance } from '../../../lib/dds.js'
import { fileDigest } from '../../../lib/files/digest.js'
import { hashThread, FillDigest, StreamDigest, OFF_THREAD_MIN } from '../../../lib/files/hash-thread.js'
import { readWholeSync, readWhole } from '../../../lib/files/whole-read.js'
import type { DdsEvent } from '../../../lib/interface.js'
import { repoRoot, tsxLoader } from '../../helpers/project.js'

const SIZE = 5 * 1024 * 1024 + 12345
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex')
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

interface Setup { dds: DdsInstance, events: DdsEvent[], data: string }

async function setup (t: Test): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'dds-large-'))
  const data = join(dir, 'data')
  mkdirSync(data)
  const events: DdsEvent[] = []
  const dds = await open({ store: join(dir, 'store'), onEvent: (e) => { events.push(e) } })
  t.teardown(async () => { await dds.close(); rmSync(dir, { recursive: true, force: true }) })
  return { dds, events, data }
}

const computed = (events: DdsEvent[]): string[] => events.filter((e) => e.type === 'computed').map((e) => (e as { path: string }).path)
const warnings = (events: DdsEvent[]): string[] => events.filter((e) => e.type === 'warning').map((e) => (e as { message: string }).message)

async function recordedDigest (dds: DdsInstance, path: string): Promise<string> {
  const head = await dds.store.head(path)
  if (head?.evaluation == null) throw new Error(`no head for ${path}`)
  const r = await dds.store.getEvaluation(head.evaluation)
  return hex(r.files?.[0]?.digest)
}

/** Start the hashing thread and wait until it runs, so that the reads below take the off-thread path. */
async function threadUp (): Promise<void> {
  const th = hashThread()
  if (th === undefined) throw new Error('the hashing thread cannot start')
  for (let i = 0; i < 500 && !th.ready; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  if (!th.ready) throw new Error('the hashing thread did not start')
}

const streamed = async (f: string, onChunk?: (c: Buffer, i: number) => void): Promise<Buffer> => await new Promise((resolve, reject) => {
  const chunks: Buffer[] = []
  createReadStream(f).on('data', (c) => {
    const b = c as Buffer
    chunks.push(Buffer.from(b))
    onChunk?.(b, chunks.length - 1)
  }).on('end', () => { resolve(Buffer.concat(chunks)) }).on('error', reject)
})

t.before(threadUp)

t.test('every read form records the digest the hit check computes; a touch is a hit, a changed byte re-runs', async (t) => {
  const { dds, events, data } = await setup(t)
  const f = join(data, 'big.bin')
  const bytes = randomBytes(SIZE)
  writeFileSync(f, bytes)
  const readers: Record<string, () => Promise<string>> = {
    '/sync': async () => sha(readFileSync(f)),
    '/promise': async () => sha(await readFileP(f)),
    '/callback': async () => await new Promise((resolve, reject) => { fs.readFile(f, (e, b) => { if (e !== null) reject(e); else resolve(sha(b)) }) }),
    '/stream': async () => sha(await streamed(f)),
    '/text': async () => sha(Buffer.from(readFileSync(f, 'latin1'), 'latin1'))
  }
  const runAll = async (): Promise<string[]> => { const out = []; for (const [p, fn] of Object.entries(readers)) out.push(await dds.keep(p, fn)); return out }
  t.same(await runAll(), Object.keys(readers).map(() => sha(bytes)), 'each read returns the file')
  for (const p of Object.keys(readers)) t.equal(await recordedDigest(dds, p), hex(fileDigest(f)), `${p}: the digest the check computes`)
  t.same(warnings(events), [], 'the hashing thread is no effect of the function')
  events.length = 0
  fs.utimesSync(f, new Date(2031, 1, 1), new Date(2031, 1, 1))
  await runAll()
  t.same(computed(events), [], 'touched but unchanged: all hit (the check re-hashes and agrees)')
  const fd = openSync(f, 'r+')
  writeSync(fd, Buffer.from([bytes[SIZE >> 1] as number ^ 1]), 0, 1, SIZE >> 1)
  closeSync(fd)
  bytes[SIZE >> 1] = (bytes[SIZE >> 1] as number) ^ 1
  t.same(await runAll(), Object.keys(readers).map(() => sha(bytes)), 'one byte changed in the middle: no stale value')
  t.same(computed(events).sort(), Object.keys(readers).sort())
})

t.test('the digest is of the bytes read: the buffer or a chunk changed by the caller, the file changed after the read', async (t) => {
  const { dds, events, data } = await setup(t)
  const f = join(data, 'big.bin')
  const bytes = randomBytes(SIZE)
  writeFileSync(f, bytes)
  const mutateBuffer = async (): Promise<number> => { const b = readFileSync(f); b.fill(0); return b.length }
  const mutatePromise = async (): Promise<number> => { const b = await readFileP(f); b.fill(0); return b.length }
  const mutateChunks = async (): Promise<number> => (await streamed(f, (c) => { c.fill(0) })).length
  for (const [p, fn] of [['/buffer', mutateBuffer], ['/promise', mutatePromise], ['/chunks', mutateChunks]] as const) {
    t.equal(await dds.keep(p, fn), SIZE)
    t.equal(await recordedDigest(dds, p), sha(bytes), `${p}: the file's digest, not the zeroes`)
  }
  events.length = 0
  for (const [p, fn] of [['/buffer', mutateBuffer], ['/promise', mutatePromise], ['/chunks', mutateChunks]] as const) await dds.keep(p, fn)
  t.same(computed(events), [], 'the file is unchanged: all hit')

  // Changed after the read, before the function returns: the record holds what was read, so the next call re-runs.
  const g = join(data, 'g.bin')
  writeFileSync(g, bytes)
  const other = randomBytes(SIZE)
  const readThenChange = async (): Promise<string> => { const b = readFileSync(g); writeFileSync(g, other); return sha(b) }
  t.equal(await dds.keep('/after', readThenChange), sha(bytes))
  t.equal(await recordedDigest(dds, '/after'), sha(bytes), 'the digest of the bytes read')
  events.length = 0
  t.equal(await dds.keep('/after', readThenChange), sha(other), 're-runs: the file is not what was read')
  t.same(computed(events), ['/after'])
  events.length = 0
  t.equal(await dds.keep('/after', readThenChange), sha(other))
  t.same(computed(events), [], 'what it read is what the file holds now: a hit')
})

t.test('a file changed while it is read: the digest is of the bytes the function saw, and the next call re-runs', async (t) => {
  const { dds, events, data } = await setup(t)
  const f = join(data, 'big.bin')
  const first = Buffer.alloc(SIZE, 1)
  writeFileSync(f, first)
  // After the first chunk, the whole file is rewritten in place: the stream goes on reading the new bytes.
  const midway = async (): Promise<[number, string]> => {
    const all = await streamed(f, (_c, i) => { if (i === 0) { const fd = openSync(f, 'r+'); writeSync(fd, Buffer.alloc(SIZE, 2), 0, SIZE, 0); closeSync(fd) } })
    return [all.filter((x) => x === 2).length, sha(all)]
  }
  const [n, seen] = await dds.keep('/midway', midway)
  t.ok(n > 0 && n < SIZE, 'the function saw old bytes, then new ones')
  t.equal(await recordedDigest(dds, '/midway'), seen, 'the digest of what passed')
  t.not(seen, hex(fileDigest(f)), 'which is not what the file holds now')
  events.length = 0
  t.equal((await dds.keep('/midway', midway))[0], SIZE, 're-run: all new bytes')
  t.same(computed(events), ['/midway'])
  events.length = 0
  await dds.keep('/midway', midway)
  t.same(computed(events), [], 'read whole and unchanged since: a hit')

  // The synchronous chunked read, its read call changing the file after the first chunk.
  writeFileSync(f, first)
  let calls = 0
  const changing = (fd: number, buf: Uint8Array, off: number, len: number, pos: null): number => {
    if (calls++ === 1) writeFileSync(f, Buffer.alloc(SIZE, 3))
    return fs.readSync(fd, buf, off, len, pos)
  }
  const r = readWholeSync(f, 'r', changing)
  t.equal(r.buf.length, SIZE)
  t.ok(r.buf[0] === 1 && r.buf[SIZE - 1] === 3, 'old bytes, then new ones')
  t.equal(hex(r.digest), sha(r.buf), 'the digest of the bytes returned')
})

t.test('a read that fails midway throws, closes the file, and leaves the thread serving the next read', async (t) => {
  const { data } = await setup(t)
  const f = join(data, 'big.bin')
  const bytes = randomBytes(SIZE)
  writeFileSync(f, bytes)
  const fds = (): number => readdirSync('/proc/self/fd').length
  const before = fds()
  let calls = 0
  const failing = (fd: number, buf: Uint8Array, off: number, len: number, pos: null): number => {
    if (calls++ === 3) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })
    return fs.readSync(fd, buf, off, len, pos)
  }
  t.throws(() => readWholeSync(f, 'r', failing), { code: 'EIO' })
  t.equal(fds(), before, 'the descriptor is closed')
  const again = readWholeSync(f, 'r')
  t.equal(hex(again.digest), sha(bytes), 'the next read has the right digest (the failed job was dropped)')
  const p = await readWhole(f, {})
  t.equal(hex(p.digest), sha(bytes), 'and so has the promise form')

  // A stream destroyed midway inside a kept function that catches the error: the file's digest is taken from the disk.
  const { dds } = await setup(t)
  const broken = async (): Promise<string> => await new Promise((resolve) => {
    const s = createReadStream(f)
    let n = 0
    s.on('data', () => { if (++n === 3) s.destroy(new Error('stop')) }).on('error', () => { resolve('stopped') })
  })
  t.equal(await dds.keep('/broken', broken), 'stopped')
  t.equal(await recordedDigest(dds, '/broken'), sha(bytes), 'an unfinished stream is hashed from the disk')
})

t.test('the thread hashes interleaved jobs in order, gives a job up, and takes only what fits without waiting', async (t) => {
  const th = hashThread()
  if (th === undefined) { t.fail('no hashing thread'); return }
  const parts = [randomBytes(3 << 20), randomBytes(700_000), randomBytes(1)]
  const a = new StreamDigest(OFF_THREAD_MIN)
  const b = new StreamDigest(OFF_THREAD_MIN)
  const dropped = new StreamDigest(OFF_THREAD_MIN)
  for (const p of parts) { a.update(p); dropped.update(p); b.update(p.subarray(0, 10)) }
  a.end()
  b.end()
  t.equal(dropped.result(), undefined, 'a stream not ended has no digest')
  t.equal(hex(a.result()), sha(Buffer.concat(parts)))
  t.equal(hex(b.result()), sha(Buffer.concat(parts.map((p) => p.subarray(0, 10)))))
  t.equal(a.result(), undefined, 'a result is taken once')

  const big = randomBytes(40 << 20)
  const fill = new FillDigest(big.length)
  fill.filled(big, big.length)
  t.equal(hex(fill.digest(big)), sha(big), 'more than the ring holds: the rest is passed when the read is done')
  const job = th.begin()
  const taken = th.offer(job, big)
  t.ok(taken > 0 && taken < big.length, 'offer takes only what the free slots hold')
  th.drop(job)
  const small = new FillDigest(100)
  small.filled(Buffer.from('abc'), 3)
  t.equal(hex(small.digest(Buffer.from('abcdef'))), sha(Buffer.from('abcdef')), 'a small buffer is hashed here')
})

t.test('a process that read a large file in a kept function exits by itself', async (t) => {
  const dir = t.testdir({})
  const f = join(dir, 'big.bin')
  writeFileSync(f, randomBytes(SIZE))
  const script = join(dir, 'x.mjs')
  writeFileSync(script, `import { readFileSync } from 'node:fs'
const { open } = await import(${JSON.stringify(pathToFileURL(join(repoRoot, 'lib/dds.ts')).href)})
const dds = await open({ store: ${JSON.stringify(join(dir, 'store'))} })
const read = () => readFileSync(${JSON.stringify(f)}).length
for (let i = 0; i < 3; i++) await dds.keep('/n' + i, read)
await dds.close()
console.log('done')
`)
  const r = spawnSync(process.execPath, ['--import', tsxLoader, script], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 })
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stdout.trim(), 'done')
})
