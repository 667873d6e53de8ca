/**
 * What recording the files a kept function reads costs:
 * - the hit of a keep that reads no file, against the same hit on another
 *   build of dds-ts (`BENCH_BASE=/path/to/other/dist/lib/index.js`, e.g.
 *   main's: the row is left out without it);
 * - the hit of a keep that read 10 files, against a hit reading none plus
 *   10 `statSync` calls (the allowed cost: one stat per file, a few µs more);
 * - reading 100 MiB inside a kept function (recorded, hashed as the bytes
 *   pass on the hashing thread, which the first run, a warm-up, starts)
 *   against the same read outside any keep: `fs.promises.readFile`,
 *   `readFileSync` and a stream; and sha256 of the same bytes alone against
 *   the plain read (the floor of a digest computed on one thread).
 *
 *   node bench/files.js [--quick]
 */
import { createHash } from 'node:crypto'
import { createReadStream, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { open } from '../dist/lib/index.js'
import { Recorder, recording } from '../dist/lib/files/recorder.js'
import { installFsHooks } from '../dist/lib/files/fs-hooks.js'
import { quick, tempDir, isMain, interleaved, timeRuns, compare, report, progress, MiB } from './common.js'

function pure (x) {
  return x + 1
}

async function hitWithoutFiles (dir) {
  const base = process.env.BENCH_BASE
  if (base === undefined || base === '') {
    progress('files: BENCH_BASE not set, the hit of a keep without files is not compared with another build')
    return
  }
  progress('files: hit of a keep without files, this build and BENCH_BASE')
  const other = await import(pathToFileURL(base).href)
  const ours = await open({ store: join(dir, 'ours') })
  const theirs = await other.open({ store: join(dir, 'theirs') })
  await ours.keep('/pure', pure, 1)
  await theirs.keep('/pure', pure, 1)
  const n = quick ? 2000 : 10000
  const [a, b] = await interleaved([
    async () => { await ours.keep('/pure', pure, 1) },
    async () => { await theirs.keep('/pure', pure, 1) }
  ], { n, reps: quick ? 3 : 7 })
  compare({ group: 'files', name: 'hit, no files read', unit: 'µs', ours: a, base: b, baseline: `the same on ${base}`, target: '>= 0.9x' })
  await ours.close()
  await theirs.close()
}

async function hitWithTenFiles (dir) {
  progress('files: hit of a keep that read 10 files')
  const data = join(dir, 'ten')
  mkdirSync(data)
  const files = Array.from({ length: 10 }, (_, i) => join(data, `f${i}.csv`))
  for (const f of files) writeFileSync(f, 'x,y\n1,2\n'.repeat(100))
  const readTen = () => files.reduce((s, f) => s + readFileSync(f).length, 0)
  // The same closure without the reads: the signature hashes the closure's `files` on every hit, in both.
  const readNone = () => files.reduce((s, f) => s + f.length, 0)
  const dds = await open({ store: join(dir, 'ten-store') })
  await dds.keep('/ten', readTen)
  await dds.keep('/none', readNone)
  const n = quick ? 2000 : 10000
  const [ten, noneAndStats] = await interleaved([
    async () => { await dds.keep('/ten', readTen) },
    async () => {
      await dds.keep('/none', readNone)
      for (const f of files) statSync(f)
    }
  ], { n, reps: quick ? 3 : 7 })
  compare({ group: 'files', name: 'hit, 10 files read', unit: 'µs', ours: ten, base: noneAndStats, baseline: 'the same closure reading no file + 10 statSync', target: '>= 0.85x' })
  await dds.close()
}

async function bigRead (dir) {
  const size = quick ? 32 * MiB : 100 * MiB
  const label = `${size / MiB} MiB`
  const f = join(dir, 'big.bin')
  const chunk = Buffer.alloc(MiB)
  for (let i = 0; i < MiB; i++) chunk[i] = (i * 31) & 255
  writeFileSync(f, Buffer.concat(Array.from({ length: size / MiB }, () => chunk)))
  installFsHooks()
  const reps = quick ? 3 : 7
  const recorded = async (fn) => { const r = new Recorder(); const v = await recording(r, fn); r.finish(); return v }
  const stream = () => new Promise((resolve, reject) => {
    let n = 0
    createReadStream(f).on('data', (c) => { n += c.length }).on('end', () => resolve(n)).on('error', reject)
  })
  // The floor of any digest computed on this thread: sha256 of the bytes alone, against the plain read.
  progress(`files: sha256 of ${label} alone`)
  const bytes = readFileSync(f)
  const hashRuns = []
  const readRuns = []
  for (let r = 0; r < reps; r++) {
    hashRuns.push(...await timeRuns(async () => createHash('sha256').update(bytes).digest(), { reps: 1, warmup: r === 0 ? 1 : 0 }))
    readRuns.push(...await timeRuns(async () => readFileSync(f).length, { reps: 1, warmup: r === 0 ? 1 : 0 }))
  }
  compare({ group: 'files', name: `sha256 of ${label} alone (no read)`, unit: 'ms', ours: hashRuns, base: readRuns, baseline: 'readFileSync of the same file', note: 'information: the floor of a digest on one thread' })
  for (const [name, read] of [
    ['fs.promises.readFile', async () => (await readFile(f)).length],
    ['readFileSync', async () => readFileSync(f).length],
    ['createReadStream', stream]
  ]) {
    progress(`files: ${label} read with ${name}`)
    const plainRuns = []
    const keptRuns = []
    // Alternate, so that a busy machine slows both alike.
    for (let r = 0; r < reps; r++) {
      plainRuns.push(...await timeRuns(read, { reps: 1, warmup: r === 0 ? 1 : 0 }))
      keptRuns.push(...await timeRuns(() => recorded(read), { reps: 1, warmup: r === 0 ? 1 : 0 }))
    }
    compare({ group: 'files', name: `${label} read inside a kept function: ${name}`, unit: 'ms', ours: keptRuns, base: plainRuns, baseline: 'the same read outside keep', target: '>= 0.83x' })
  }
}

export async function main () {
  const dir = tempDir('files')
  await hitWithoutFiles(dir)
  await hitWithTenFiles(dir)
  await bigRead(dir)
}

if (isMain(import.meta)) {
  await main()
  report()
}
