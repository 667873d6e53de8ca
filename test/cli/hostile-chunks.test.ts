/**
 * Chunk files planted in a store, met through the real `dds` binary: `cat`
 * and `verify` on a FIFO or a link to /dev/zero in place of a chunk end with
 * DDS_INTEGRITY instead of hanging or filling memory, and `import` never
 * writes through a link planted where a chunk of the bundle will go.
 */
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open } from '../../lib/dds.js'
import { dds } from './helpers/cli.js'

function series (n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => i * 0.5)
}

/** A store holding /num/series (its chunks in a segment file); returns it and its blob files (relative to the store). */
async function withChunks (t: Test, dir: string, name: string): Promise<{ store: string, chunks: string[] }> {
  const store = join(dir, name)
  const d = await open({ store })
  await d.keep('/num/series', series, 400_000)
  await d.close()
  const blobs = join(store, 'blobs')
  const chunks = readdirSync(blobs).sort().flatMap((sub) => readdirSync(join(blobs, sub)).sort().map((f) => join('blobs', sub, f)))
  t.ok(chunks.length >= 1, `${chunks.length} blob files`)
  return { store, chunks }
}

const plants: Array<[string, (file: string) => void]> = [
  ['a FIFO', (file) => { rmSync(file); execFileSync('mkfifo', [file]) }],
  ['a link to /dev/zero', (file) => { rmSync(file); symlinkSync('/dev/zero', file) }]
]

for (const [what, plant] of plants) {
  t.test(`cat and verify with ${what} in place of a chunk: a coded error, no hang`, async (t) => {
    const { store, chunks } = await withChunks(t, t.testdir(), 'store')
    plant(join(store, chunks[0] as string))
    for (const args of [['cat', '/num/series', '--raw'], ['cat', '/num/series', '--json']]) {
      const r = await dds([...args, '--json'], { store })
      t.equal(r.code, 1, `${args.join(' ')} exits 1`)
      t.ok(r.bytes.byteLength < 8 << 20, 'without printing what the file would give')
      t.match(JSON.parse(r.stderr.trim().split('\n').pop() ?? '{}'), { code: 'DDS_INTEGRITY' }, args.join(' '))
    }
    const v = await dds(['verify'], { store })
    t.equal(v.code, 1)
    t.match(v.stdout, /^blocks\tintegrity\t/m, 'verify names the chunk and ends')
  })
}

t.test('import never writes through a link planted where a chunk will go', async (t) => {
  const dir = t.testdir()
  const { store: source, chunks } = await withChunks(t, dir, 'source')
  const bundle = join(dir, 'series.car')
  const e = await dds(['export', '/num/series', '-o', bundle], { store: source })
  t.equal(e.code, 0, e.stderr)

  // The victim's store, with links at the names the bundle's chunks get, pointing at files of its own.
  const victim = join(dir, 'victim')
  const d = await open({ store: victim })
  await d.keep('/own', () => 'mine')
  await d.close()
  const outside = mkdtempSync(join(tmpdir(), 'dds-outside-'))
  t.teardown(() => { rmSync(outside, { recursive: true, force: true }) })
  for (const [i, rel] of chunks.entries()) {
    const target = join(outside, `file-${i}`)
    writeFileSync(target, 'not to be written')
    mkdirSync(join(victim, rel, '..'), { recursive: true })
    symlinkSync(target, join(victim, rel))
  }
  const r = await dds(['import', bundle], { store: victim })
  t.equal(r.code, 0, r.stderr)
  for (const [i, rel] of chunks.entries()) {
    t.equal(readFileSync(join(outside, `file-${i}`), 'utf8'), 'not to be written', `${rel}: the link's target is untouched`)
  }
  // What the import wrote are regular files of its own, beside the planted links.
  const planted = new Set(chunks)
  const blobs = join(victim, 'blobs')
  const written = readdirSync(blobs).flatMap((sub) => readdirSync(join(blobs, sub)).map((f) => join('blobs', sub, f))).filter((rel) => !planted.has(rel))
  t.ok(written.length >= 1, 'the import wrote blob files')
  for (const rel of written) t.ok(lstatSync(join(victim, rel)).isFile(), `${rel}: a regular file`)
  const c = await dds(['cat', '/num/series', '--raw'], { store: victim })
  t.equal(c.code, 0, c.stderr)
  t.same(new Float64Array(c.bytes.buffer.slice(c.bytes.byteOffset, c.bytes.byteOffset + c.bytes.byteLength)), series(400_000), 'the imported value reads back whole')
  t.equal((await dds(['verify'], { store: victim })).code, 0)
})
