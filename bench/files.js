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
 *   the plain read (the floor of a digest computed on one thread). For each
 *   read kind, the CPU time of the kept read (the process's: both threads)
 *   against the same read plus sha256 on one thread (information: what the
 *   hand-off to the hashing thread costs, whatever the machine's load).
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
import { quick, tempDir, isMain, interleaved, timeRuns, compare, report, progress, figure, MiB } from './common.js'

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
  const stream = (h) => new Promise((resolve, reject) => {
    let n = 0
    createReadStream(f).on('data', (c) => { n += c.length; h?.update(c) }).on('end', () => resolve(n)).on('error', reject)
  })
  // One run: its wall time and the CPU time of the whole process (both threads when the digest is on the hashing thread).
  const timed = async (fn) => {
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    await fn()
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    const c = process.cpuUsage(c0)
    return { ms, cpu: (c.user + c.system) / 1000 }
  }
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
  const hashed = (read) => async () => { const h = createHash('sha256'); await read(h); return h.digest() }
  for (const [name, read] of [
    ['fs.promises.readFile', async (h) => { const b = await readFile(f); h?.update(b); return b.length }],
    ['readFileSync', async (h) => { const b = readFileSync(f); h?.update(b); return b.length }],
    ['createReadStream', stream]
  ]) {
    progress(`files: ${label} read with ${name}`)
    const runs = { plain: [], kept: [], serial: [] }
    const contenders = { plain: () => read(), kept: () => recorded(() => read()), serial: hashed(read) }
    // Alternate, so that a busy machine slows all alike.
    for (let r = 0; r < reps; r++) {
      for (const [k, fn] of Object.entries(contenders)) {
        if (r === 0) await fn()
        runs[k].push(await timed(fn))
      }
    }
    const ms = (k) => runs[k].map((x) => x.ms)
    const cpu = (k) => runs[k].map((x) => x.cpu)
    compare({ group: 'files', name: `${label} read inside a kept function: ${name}`, unit: 'ms', ours: ms('kept'), base: ms('plain'), baseline: 'the same read outside keep', target: '>= 0.83x' })
    // What the wall-clock ratio cannot tell on a shared machine: the work the kept read does, against the
    // same read plus sha256 on one thread (1x: the hand-off to the hashing thread costs nothing).
    compare({ group: 'files', name: `${label} ${name} kept, CPU time (both threads)`, unit: 'ms', ours: cpu('kept'), base: cpu('serial'), baseline: 'CPU of the same read + sha256 on one thread', note: 'information' })
    figure({ group: 'files', name: `${label} ${name} outside keep, CPU time`, unit: 'ms', samples: cpu('plain'), note: 'information' })
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
