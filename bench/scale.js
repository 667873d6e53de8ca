/**
 * Hit latency and open time as the store grows to 1 k, 100 k and 1 M stored
 * evaluations (quick: 1 k, 10 k and 30 k).
 *
 * The first 1,000 evaluations are real keeps (`keep('/scale/p<i>', square, i)`);
 * the rest are added in bulk through the store's documented staging path,
 * exactly what a miss writes (an input block, the artifact, the code
 * manifest, the evaluation record and its memo entry), in batches of 2,000.
 * After a bulk write the benchmark waits, with the store open, until LevelDB's
 * background compaction is done (the process neither computes nor writes), as
 * a user's next session would find the store. At each size the store is
 * closed and a fresh process measures:
 * - hit: `keep` of one of the 1,000 real keeps, in random order, against the
 *   same keeps on a copy of the store taken at 1 k evaluations, measured in
 *   alternation (the curve should stay flat: ratio near 1);
 * - open: `open({ store })` of the instance (the database opens on its first
 *   read) against a bare `classic-level` open of the same database.
 *
 *   node bench/scale.js [--quick]
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { open } from '../dist/lib/index.js'
import { Pending } from '../dist/store/pending.js'
import { quick, tempDir, isMain, since, interleaved, compare, figure, report, progress } from './common.js'

const REAL = 1000
const LEVELS = quick ? [1000, 10_000, 30_000] : [1000, 100_000, 1_000_000]
const BATCH = 2000

function square (n) {
  return { n, square: n * n, label: `square of ${n}` }
}

const manifest = {
  algorithm: 'dds-sig/1',
  entry: 'bench/scale.js#filler',
  declarations: { 'bench/scale.js#filler': new Uint8Array(32).fill(7) },
  values: {},
  packages: {},
  unavailable: []
}

/**
 * Add `count` evaluations through Store.stageArtifact / stageNode /
 * stageEvaluation, written in batches; a batch is written while the next one
 * is staged.
 */
async function fill (store, from, count) {
  const t0 = process.hrtime.bigint()
  let writing = Promise.resolve()
  for (let start = from; start < from + count; start += BATCH) {
    const pending = new Pending()
    for (let i = start; i < Math.min(from + count, start + BATCH); i++) {
      const input = await store.stageNode({ v: 1, n: i }, pending)
      const art = await store.stageArtifact({ n: i, square: i * i, label: `filler ${i}` }, pending)
      const key = randomBytes(32)
      await store.stageEvaluation(manifest, {
        kind: 'keep', path: `/fill/f${i % 1000}`, fn: { name: 'filler', file: 'bench/scale.js', line: 1, column: 1 },
        signature: key, inputs: [input], loads: [], calls: [], output: art.cid, started: Date.now(), duration: 1
      }, [key], pending)
    }
    await writing
    writing = store.write(pending)
  }
  await writing
  return since(t0)
}

/** Bytes this process has passed to write() so far (LevelDB's compaction included). */
function written () {
  try {
    return Number(/^wchar:\s*(\d+)/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0)
  } catch {
    return 0
  }
}

/**
 * Wait until LevelDB's background compaction is done: the process neither
 * uses CPU nor writes for half a second. Returns the ms waited.
 */
async function settle () {
  const t0 = process.hrtime.bigint()
  while (since(t0) < 300_000) {
    const c = process.cpuUsage()
    const w = written()
    await new Promise((resolve) => setTimeout(resolve, 500))
    const d = process.cpuUsage(c)
    if ((d.user + d.system) / 1000 < 25 && written() - w < 64 * 1024) break
  }
  return since(t0)
}

/** In a fresh process: hits against the 1 k copy in alternation, then open times against a bare LevelDB open. */
async function measure (location, small, n, reps) {
  const order = Array.from({ length: n }, () => Math.floor(Math.random() * REAL))
  let dds = await open({ store: location })
  const ref = await open({ store: small })
  const [hit, refHit] = await interleaved([
    async (i) => { const k = order[i % n]; await dds.keep(`/scale/p${k}`, square, k) },
    async (i) => { const k = order[i % n]; await ref.keep(`/scale/p${k}`, square, k) }
  ], { n, reps })
  await ref.close()
  await dds.close()
  // Each open turns the previous session's log into a table: these come last, so the hits above do not meet their compaction.
  const ours = []
  const bare = []
  for (let r = 0; r < reps; r++) {
    let t0 = process.hrtime.bigint()
    dds = await open({ store: location })
    ours.push(since(t0))
    await dds.close()
    t0 = process.hrtime.bigint()
    const db = new ClassicLevel(join(location, 'db'), { keyEncoding: 'view', valueEncoding: 'view' })
    await db.open()
    bare.push(since(t0))
    await db.close()
  }
  return { ours, bare, hit, refHit }
}

const self = fileURLToPath(import.meta.url)

function measureInChild (location, small, n, reps) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [self, '--measure', location, small, String(n), String(reps)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    p.stdout.setEncoding('utf8').on('data', (d) => { out += d })
    p.on('error', reject)
    p.on('close', (code) => code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`scale measurement exited with ${code}`)))
  })
}

export async function main () {
  const dir = tempDir('scale')
  const location = join(dir, 'store')
  const reps = quick ? 5 : 9
  const n = quick ? 1000 : 3000

  let dds = await open({ store: location })
  for (let i = 0; i < REAL; i++) await dds.keep(`/scale/p${i}`, square, i)
  await dds.close()
  // The reference: the same 1,000 keeps in a store that stays at 1 k evaluations.
  const small = join(dir, 'store-1k')
  cpSync(location, small, { recursive: true })
  let stored = REAL
  for (const level of LEVELS) {
    if (level > stored) {
      progress(`scale: adding ${level - stored} evaluations`)
      dds = await open({ store: location })
      const ms = await fill(dds.store, stored, level - stored)
      figure({ group: 'scale', name: `bulk staging to ${level.toLocaleString('en')} (stageEvaluation + write)`, unit: 'evaluations/s', samples: [(level - stored) / (ms / 1000)], better: 'higher' })
      // Compaction runs only while the database is open: wait for it before closing.
      figure({ group: 'scale', name: `compaction after the bulk write to ${level.toLocaleString('en')}`, unit: 'ms', samples: [await settle()] })
      await dds.close()
      stored = level
    }
    progress(`scale: ${level} evaluations`)
    const m = await measureInChild(location, small, n, reps)
    const label = `${level.toLocaleString('en')} evaluations`
    compare({ group: 'scale', name: `open: ${label}`, unit: 'ms', ours: m.ours, base: m.bare, baseline: 'classic-level open of the same db', note: 'fresh process; the first open after a bulk write replays the log' })
    compare({ group: 'scale', name: `hit: ${label}`, unit: 'µs', ours: m.hit, base: m.refHit, baseline: `hit at ${REAL.toLocaleString('en')} evaluations`, target: level >= 1_000_000 ? '>= 0.67x' : undefined })
  }
}

if (isMain(import.meta)) {
  const i = process.argv.indexOf('--measure')
  if (i >= 0) {
    const [location, small, n, reps] = process.argv.slice(i + 1)
    process.stdout.write(JSON.stringify(await measure(location, small, Number(n), Number(reps))))
  } else {
    await main()
    report()
  }
}
