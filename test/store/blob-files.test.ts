/**
 * Chunk files (one file per chunk, the layout of stores written before
 * segments) are untrusted: a FIFO, a symbolic link (to /dev/zero or to a
 * file outside the store), a directory, or a huge sparse file planted in
 * place of a chunk is refused with DDS_INTEGRITY by load and verify, without
 * hanging, reading it whole or writing through it; storing the same content
 * again mends a damaged or replaced chunk.
 */
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync, lstatSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { openStore, type Store } from '../../store/store.js'
import { verifyStore } from '../../store/verify.js'
import { isDdsError } from '../../store/errors.js'
import { SMALL } from '../cli/helpers/fake.js'
import { openShared } from '../../store/shared.js'
import { FailingBackend } from '../helpers/stores.js'

const VALUE = new Float64Array(8_000).map((_, i) => i * 0.25)

async function setup (t: Test): Promise<{ store: Store, dir: string, chunk: string, cid: Awaited<ReturnType<Store['putArtifact']>>['cid'] }> {
  const dir = t.testdir()
  // One file per chunk, as stores of the first layout keep them (segments: test/store/segments.test.ts).
  const inner = await openShared(dir)
  const store = await openStore({ ...SMALL, backend: new FailingBackend(inner.backend, { perBlockFiles: true }) })
  t.teardown(async () => { await store.close(); await inner.release() })
  const { cid } = await store.putArtifact(VALUE)
  const blobs = join(dir, 'blobs')
  const sub = readdirSync(blobs).sort()[0] as string
  const chunk = join(blobs, sub, readdirSync(join(blobs, sub)).sort()[0] as string)
  return { store, dir, chunk, cid }
}

async function codeOf (p: Promise<unknown>): Promise<string> {
  try { await p; return 'no error' } catch (err) { return isDdsError(err) ? err.code : `${(err as Error).name}: ${(err as Error).message}` }
}

function plantFifo (file: string): void {
  rmSync(file)
  execFileSync('mkfifo', [file])
}

const plants: Array<[string, (file: string, t: Test) => void]> = [
  ['a FIFO', plantFifo],
  ['a link to /dev/zero', (file) => { rmSync(file); symlinkSync('/dev/zero', file) }],
  ['a link to a file outside the store', (file, t) => {
    const outside = join(mkdtempSync(join(tmpdir(), 'dds-victim-')), 'victim.bin')
    t.teardown(() => { rmSync(join(outside, '..'), { recursive: true, force: true }) })
    writeFileSync(outside, readFileSync(file))
    rmSync(file)
    symlinkSync(outside, file)
  }],
  ['a directory', (file) => { rmSync(file); mkdirSync(file) }],
  ['a sparse 8 GiB file', (file) => { truncateSync(file, 8 * 1024 ** 3) }]
]

for (const [what, plant] of plants) {
  t.test(`a chunk replaced by ${what} is refused, not followed, and mended by storing the content again`, async (t) => {
    const { store, chunk, cid } = await setup(t)
    plant(chunk, t)
    t.equal(await codeOf(store.readArtifact(cid)), 'DDS_INTEGRITY', 'load')
    const report = await verifyStore(store)
    t.ok(report.problems.some((p) => p.step === 'blocks' && p.problem === 'integrity'), 'verify names it and ends')

    await store.putArtifact(VALUE)
    const s = lstatSync(chunk)
    t.ok(s.isFile(), 'the chunk is a regular file again')
    t.same(await store.readArtifact(cid), VALUE)
    t.equal((await verifyStore(store)).ok, true)
  })
}

t.test('a write never goes through a planted link', async (t) => {
  const { store, chunk, cid } = await setup(t)
  const outside = join(mkdtempSync(join(tmpdir(), 'dds-victim-')), 'outside.bin')
  t.teardown(() => { rmSync(join(outside, '..'), { recursive: true, force: true }) })
  writeFileSync(outside, 'not yours to write')
  rmSync(chunk)
  symlinkSync(outside, chunk)
  await store.putArtifact(VALUE)
  t.equal(readFileSync(outside, 'utf8'), 'not yours to write', 'the link target is untouched')
  t.ok(lstatSync(chunk).isFile())
  t.same(await store.readArtifact(cid), VALUE)
})

t.test('a corrupt chunk, a truncated one and one with bytes appended are rewritten when stored again', async (t) => {
  for (const damage of ['flip', 'truncate', 'append'] as const) {
    await t.test(damage, async (t) => { await mend(t, damage) })
  }
})

async function mend (t: Test, damage: 'flip' | 'truncate' | 'append'): Promise<void> {
  {
    const { store, chunk, cid } = await setup(t)
    const size = statSync(chunk).size
    const bytes = readFileSync(chunk)
    if (damage === 'flip') { bytes[3] = (bytes[3] as number) ^ 0xff; writeFileSync(chunk, bytes) }
    if (damage === 'truncate') truncateSync(chunk, size - 5)
    if (damage === 'append') writeFileSync(chunk, Buffer.concat([bytes, Buffer.from('junk')]))
    t.equal((await verifyStore(store)).ok, false, `${damage}: verify sees it`)
    await store.putArtifact(VALUE)
    t.equal(statSync(chunk).size, size, `${damage}: the file has its size again`)
    t.equal((await verifyStore(store)).ok, true, `${damage}: mended`)
    t.same(await store.readArtifact(cid), VALUE)
  }
}
