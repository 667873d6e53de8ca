/**
 * Bundles against the file system: export and import of a store holding
 * 1 GiB of artifacts (8 x 128 MiB Float64Arrays, 1 MiB chunks), against
 * copying the same bytes with fs: the bundle file with fs.copyFile (one file,
 * copied in the kernel; the import's target, >= 0.5x), and the store's blob
 * files one by one (one segment per artifact; one file per chunk in stores of
 * the first layout: what the export reads and the import writes). Also the peak memory of
 * each operation, which must stay far below the bundle size (both stream).
 * Then import against the number of paths: a bundle of 4n small paths
 * against one of n, per path (the ratio is about 1 when import is linear,
 * about 0.25 when it is quadratic), and 100,000 paths (full run).
 *
 *   node bench/bundle.js [--quick]    (quick: 256 MiB)
 *   node bench/bundle.js --paths      (only the rows against the number of paths, 100,000 included)
 */
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { openStore } from '../dist/store/index.js'
import { exportBundle, importBundle } from '../dist/store/bundle.js'
import { MiB, quick, tempDir, isMain, gc, rss, peakRss as highWater, resetPeak, compare, figure, report, progress } from './common.js'

const ARTIFACT = 128 * MiB
const COUNT = quick ? 2 : 8
const reps = quick ? 2 : 3

/** The peak resident set size while `fn` runs (VmHWM), above the resident set at its start, in MiB. */
async function peakRss (fn) {
  gc()
  const start = rss()
  resetPeak()
  await fn()
  return (highWater() - start) / MiB
}

async function main () {
  progress(`bundle: ${COUNT} x ${ARTIFACT / MiB} MiB`)
  const dir = tempDir('bundle')
  const src = join(dir, 'src')
  const store = await openStore({ location: src })
  const paths = []
  for (let i = 0; i < COUNT; i++) {
    const value = new Float64Array(ARTIFACT / 8)
    for (let j = 0; j < value.length; j++) value[j] = Math.random()
    const { cid } = await store.putArtifact(value)
    const path = `/bench/a${i}`
    // A bare record is enough for a bundle: fabricate one per artifact.
    const { Pending } = await import('../dist/store/pending.js')
    const pending = new Pending()
    const { evaluation } = await store.stageEvaluation(
      { algorithm: 'bench', entry: 'bench#a', declarations: {}, values: {}, packages: {}, unavailable: [] },
      { kind: 'keep', path, fn: { name: 'a' }, signature: new Uint8Array(32).fill(i), inputs: [], loads: [], calls: [], output: cid, started: Date.now(), duration: 1 },
      [new Uint8Array(32).fill(i)], pending)
    await store.write(pending)
    await store.commit([{ path, evaluation, output: cid }])
    paths.push(path)
  }
  const total = COUNT * ARTIFACT
  const bundle = join(dir, 'b.car')

  const blobs = join(src, 'blobs')
  const names = []
  for (const d of await readdir(blobs)) for (const f of await readdir(join(blobs, d))) names.push([d, f])
  await store.close()

  // One round runs everything once, so that each operation and its baselines
  // meet the same state of the page cache and of the disk's write-back.
  const copy = join(dir, 'copy.car')
  const to = join(dir, 'files')
  const location = join(dir, 'dst')
  const exp = []; const cp = []; const files = []; const imp = []
  let exportPeak = 0
  let importPeak = 0
  let size = 0
  const timed = async (fn) => { const t0 = process.hrtime.bigint(); await fn(); return Number(process.hrtime.bigint() - t0) / 1e6 }
  for (let round = -1; round < reps; round++) {
    const src2 = await openStore({ location: src })
    await rm(bundle, { force: true })
    let peak = 0
    const e = await timed(async () => { peak = await peakRss(() => exportBundle(src2, paths, bundle)) })
    await src2.close()
    size = (await stat(bundle)).size
    await rm(copy, { force: true })
    const c = await timed(() => copyFile(bundle, copy))
    await rm(to, { recursive: true, force: true })
    const f = await timed(async () => {
      for (const [d, n] of names) {
        await mkdir(join(to, d), { recursive: true })
        await copyFile(join(blobs, d, n), join(to, d, n))
      }
    })
    await rm(location, { recursive: true, force: true })
    const dst = await openStore({ location })
    let ipeak = 0
    const i = await timed(async () => { ipeak = await peakRss(() => importBundle(dst, bundle)) })
    await dst.close()
    if (round < 0) continue
    exp.push(e); cp.push(c); files.push(f); imp.push(i)
    exportPeak = Math.max(exportPeak, peak)
    importPeak = Math.max(importPeak, ipeak)
  }

  const mib = (ms) => ms.map((x) => (size / MiB) / (x / 1000))
  compare({ group: 'bundle', name: `export ${total / MiB} MiB of artifacts`, unit: 'ms', ours: exp, base: files, baseline: `fs.copyFile of the ${names.length} blob files` })
  compare({ group: 'bundle', name: `export ${total / MiB} MiB of artifacts`, unit: 'ms', ours: exp, base: cp, baseline: 'fs.copyFile of the bundle' })
  compare({ group: 'bundle', name: `import ${total / MiB} MiB bundle (verify, then write)`, unit: 'ms', ours: imp, base: files, baseline: `fs.copyFile of the ${names.length} blob files` })
  compare({ group: 'bundle', name: `import ${total / MiB} MiB bundle (verify, then write)`, unit: 'ms', ours: imp, base: cp, baseline: 'fs.copyFile of the bundle', target: '>= 0.5x' })
  figure({ group: 'bundle', name: 'export throughput', unit: 'MiB/s', samples: mib(exp) })
  figure({ group: 'bundle', name: 'import throughput', unit: 'MiB/s', samples: mib(imp) })
  figure({ group: 'bundle', name: 'fs.copyFile throughput', unit: 'MiB/s', samples: mib(cp) })
  figure({ group: 'bundle', name: 'export peak RSS growth', unit: 'MiB', samples: [exportPeak], target: `<< ${total / MiB}` })
  figure({ group: 'bundle', name: 'import peak RSS growth', unit: 'MiB', samples: [importPeak], target: `<< ${total / MiB}` })
  await rm(dir, { recursive: true, force: true })
  await manyPaths()
}

/** A bundle of `n` paths, each one small history entry (all naming one evaluation), in `dir`. */
async function pathsBundle (dir, n) {
  const { Pending } = await import('../dist/store/pending.js')
  const store = await openStore({ location: join(dir, `src-${n}`) })
  const { cid } = await store.putArtifact('v')
  const pending = new Pending()
  const key = new Uint8Array(32).fill(7)
  const { evaluation } = await store.stageEvaluation(
    { algorithm: 'bench', entry: 'bench#p', declarations: {}, values: {}, packages: {}, unavailable: [] },
    { kind: 'keep', path: '/many/p0', fn: { name: 'p' }, signature: key, inputs: [], loads: [], calls: [], output: cid, started: Date.now(), duration: 1 },
    [key], pending)
  await store.write(pending)
  const paths = Array.from({ length: n }, (_, i) => `/many/p${i}`)
  const time = Date.now() - 3_600_000
  await store.commit(paths.map((path, i) => ({ path, evaluation, output: cid, time: time + i })))
  const file = join(dir, `paths-${n}.car`)
  await exportBundle(store, paths, file)
  await store.close()
  return file
}

/** Milliseconds to import `file` into a fresh store, `reps` times. */
async function importTimes (dir, file, reps) {
  const times = []
  for (let r = 0; r < reps; r++) {
    const location = join(dir, `dst-${r}`)
    await rm(location, { recursive: true, force: true })
    const dst = await openStore({ location })
    const t0 = process.hrtime.bigint()
    await importBundle(dst, file)
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
    await dst.close()
    await rm(location, { recursive: true, force: true })
  }
  return times
}

const pathsOnly = process.argv.includes('--paths')

async function manyPaths () {
  const n = quick && !pathsOnly ? 2500 : 10_000
  progress(`bundle: import of ${n} and ${4 * n} paths`)
  const dir = tempDir('bundle-paths')
  const small = await importTimes(dir, await pathsBundle(dir, n), reps + 1)
  const large = await importTimes(dir, await pathsBundle(dir, 4 * n), reps + 1)
  const perPath = (ms, count) => ms.map((x) => x * 1000 / count)
  compare({ group: 'bundle', name: `import of ${4 * n} paths, per path`, unit: 'µs', ours: perPath(large, 4 * n), base: perPath(small, n), baseline: `per path at ${n} paths`, target: '>= 0.7x' })
  if (!quick || pathsOnly) {
    const all = await importTimes(dir, await pathsBundle(dir, 100_000), 3)
    figure({ group: 'bundle', name: 'import of 100000 paths', unit: 'ms', samples: all, target: '<= 5000' })
    compare({ group: 'bundle', name: 'import of 100000 paths, per path', unit: 'µs', ours: perPath(all, 100_000), base: perPath(small, n), baseline: `per path at ${n} paths`, target: '>= 0.7x' })
  }
  await rm(dir, { recursive: true, force: true })
}

if (isMain(import.meta)) {
  if (pathsOnly) await manyPaths()
  else await main()
  report()
}
export { main, manyPaths }
