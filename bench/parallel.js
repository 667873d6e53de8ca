/**
 * Maps over inputs, side by side with their baselines in one run:
 * - keepEach over 1,000 small inputs against a plain loop of keeps (in one
 *   `evaluate`, so both are one run and one commit), per item, for misses
 *   (fresh inputs every repetition) and for hits (the same inputs again);
 *   a loop of top-level keeps (one commit each) is shown too;
 * - a CPU-bound map over 8 inputs on 1, 2 and 4 worker threads against the
 *   same map on the event loop (the speedup; about 2x at 2 threads on 2 cores),
 *   and on 2 threads against 2 raw worker_threads Workers running the same
 *   steps in the same run (dds-ts's own cost, which machine load does not
 *   hide); the same map of trivial steps (what a map costs besides its steps);
 *   and cold: a fresh instance whose first map starts its workers.
 * - when redis-server is installed: the same CPU-bound map on the BullMQ
 *   queue with 2 `dds worker` processes against the event loop.
 * Contenders run in alternation, so a busy neighbour slows them alike.
 *
 *   node bench/parallel.js [--quick] [--only-part=each|cpu|queue]   ($BENCH_REDIS_PORT: the queue's redis-server)
 */
import { join } from 'node:path'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
// The bundle, as `import 'dds-ts'` gives it: the pool's workers then load the bundled worker entry.
import { open } from '../dist/bundle/index.js'
import { small, burn } from './fixtures/parallel-fns.js'
import { quick, tempDir, isMain, interleaved, compare, figure, report, progress } from './common.js'

const ITEMS = 1000
const MAP_INPUTS = 8
const THREADS = [1, 2, 4]

/** Per-item µs of keepEach against a loop of keeps, misses then hits. */
async function overhead () {
  const dir = tempDir('parallel')
  const dds = await open({ store: join(dir, 'store') })
  const reps = quick ? 3 : 7
  const items = Array.from({ length: ITEMS }, (_, i) => i)
  // Every repetition of a miss maps fresh inputs at fresh paths.
  let round = 0
  const fresh = () => { const r = round++; return items.map((i) => r * ITEMS + i) }
  const each = async (path, inputs) => await dds.keepEach(path, small, inputs)
  const loop = async (path, inputs) => await dds.evaluate(async () => {
    const out = []
    for (let i = 0; i < inputs.length; i++) out.push(await dds.keep(`${path}/${i}`, small, inputs[i]))
    return out
  })
  const topLevel = async (path, inputs) => {
    const out = []
    for (let i = 0; i < inputs.length; i++) out.push(await dds.keep(`${path}/${i}`, small, inputs[i]))
    return out
  }
  const perItem = (samples) => samples.map((ms) => ms * 1000 / ITEMS)

  progress(`parallel: keepEach over ${ITEMS} inputs, misses`)
  const [eachMiss, loopMiss, topMiss] = await interleaved([
    async () => { const r = round; await each(`/each/m${r}`, fresh()) },
    async () => { const r = round; await loop(`/loop/m${r}`, fresh()) },
    async () => { const r = round; await topLevel(`/top/m${r}`, fresh()) }
  ], { n: 1, reps, warmup: 1 })

  progress(`parallel: keepEach over ${ITEMS} inputs, hits`)
  const same = items.map((i) => i + 0.5)
  await each('/each/h', same)
  await loop('/loop/h', same)
  await topLevel('/top/h', same)
  const [eachHit, loopHit, topHit] = await interleaved([
    async () => { await each('/each/h', same) },
    async () => { await loop('/loop/h', same) },
    async () => { await topLevel('/top/h', same) }
  ], { n: 1, reps, warmup: 1 })
  await dds.close()

  // interleaved reports µs per call; one call is a map of ITEMS inputs.
  const ms = (us) => us.map((x) => x / 1000)
  for (const [what, e, l, top] of [['misses', eachMiss, loopMiss, topMiss], ['hits', eachHit, loopHit, topHit]]) {
    const name = `keepEach over ${ITEMS} small inputs, ${what}, per item`
    compare({ group: 'parallel', name, unit: 'µs', ours: perItem(ms(e)), base: perItem(ms(l)), baseline: 'loop of keeps in one evaluate', target: '>= 0.8x' })
    compare({ group: 'parallel', name, unit: 'µs', ours: perItem(ms(e)), base: perItem(ms(top)), baseline: 'loop of top-level keeps' })
  }
}

/**
 * k raw worker_threads Workers, started and with the step's module loaded
 * before use, no dds-ts: the floor of the same map on the same threads (what
 * the machine gives two threads in this run), one input per worker at a time.
 */
async function rawWorkers (k) {
  const code = `const { parentPort, workerData } = require('node:worker_threads');
import(workerData.fns).then((fns) => {
  parentPort.on('message', ({ id, input }) => { parentPort.postMessage({ id, value: fns.burn(input) }) })
  parentPort.postMessage('ready')
})`
  const fns = new URL('./fixtures/parallel-fns.js', import.meta.url).href
  const workers = Array.from({ length: k }, () => new Worker(code, { eval: true, workerData: { fns } }))
  await Promise.all(workers.map((w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject) })))
  return {
    map: async (inputs) => {
      const out = new Array(inputs.length)
      let next = 0
      await Promise.all(workers.map(async (w) => {
        while (next < inputs.length) {
          const id = next++
          out[id] = await new Promise((resolve) => { w.once('message', (m) => { resolve(m.value) }); w.postMessage({ id, input: inputs[id] }) })
        }
      }))
      return out
    },
    close: async () => { await Promise.all(workers.map(async (w) => { await w.terminate() })) }
  }
}

/**
 * Wall time of a CPU-bound map over 8 inputs on k worker threads against the
 * event loop, and against 2 raw Workers (dds-ts's own cost, whatever the load);
 * warm (the pools started before timing, as a long-running pipeline sees them)
 * and cold (a fresh instance: the workers start, load dds-ts and the module).
 */
async function speedup () {
  const reps = quick ? 3 : 5
  // About 100 ms (quick: 30 ms) per input on an idle core of this machine.
  const rounds = quick ? 750 : 2500
  const dir = tempDir('parallel-cpu')
  const loopDds = await open({ store: join(dir, 'loop') })
  const pools = []
  for (const k of THREADS) pools.push([k, await open({ store: join(dir, `threads-${k}`), threads: k })])
  let round = 0
  const fresh = (n = rounds) => { const r = round++; return Array.from({ length: MAP_INPUTS }, (_, i) => ({ seed: r * MAP_INPUTS + i, rounds: n })) }
  const check = (got, inputs) => {
    if (got.length !== inputs.length || got.some((h) => typeof h !== 'string')) throw new Error('a map lost inputs')
  }
  // Start every pool's threads and load the module in each before timing.
  for (const [k, dds] of pools) {
    progress(`parallel: starting ${k} worker thread${k > 1 ? 's' : ''}`)
    await dds.keepEach(`/warm/${k}`, burn, Array.from({ length: k }, (_, i) => ({ seed: -1 - i, rounds: 1 })), { runOn: 'threads', concurrency: k })
  }
  const raw = await rawWorkers(2)
  const two = pools.find(([k]) => k === 2)[1]
  const onLoop = (n) => async () => { const r = round; const inputs = fresh(n); check(await loopDds.keepEach(`/cpu/${r}`, burn, inputs), inputs) }
  const onPool = (dds, n) => async () => { const r = round; const inputs = fresh(n); check(await dds.keepEach(`/cpu/${r}`, burn, inputs, { runOn: 'threads', concurrency: MAP_INPUTS }), inputs) }
  const onRaw = (n) => async () => { const inputs = fresh(n); round++; check(await raw.map(inputs), inputs) }

  progress(`parallel: CPU-bound map over ${MAP_INPUTS} inputs, event loop, 1/2/4 threads, 2 raw Workers`)
  const runs = [onLoop(), ...pools.map(([, dds]) => onPool(dds)), onRaw()]
  const [loopMs, ...rest] = (await interleaved(runs, { n: 1, reps, warmup: 1 })).map((us) => us.map((x) => x / 1000))
  const threadMs = rest.slice(0, THREADS.length)
  const rawMs = rest[THREADS.length]

  // The same map of steps that take no time: what a map costs besides its steps (dispatch, copies, store writes, the commit).
  progress(`parallel: map over ${MAP_INPUTS} trivial inputs, event loop, 2 threads, 2 raw Workers`)
  const [loopTiny, twoTiny, rawTiny] = (await interleaved([onLoop(1), onPool(two, 1), onRaw(1)], { n: 1, reps: reps * 2, warmup: 1 })).map((us) => us.map((x) => x / 1000))
  await raw.close()
  for (const dds of [loopDds, ...pools.map(([, d]) => d)]) await dds.close()

  // Cold: a fresh instance (fresh store) per repetition, its first map, and close.
  progress(`parallel: CPU-bound map over ${MAP_INPUTS} inputs, cold (fresh instance, workers started in the map)`)
  let fresh2 = 0
  const cold = await interleaved([
    async () => { const dds = await open({ store: join(dir, `cold-${fresh2++}`), threads: 2 }); const inputs = fresh(); check(await dds.keepEach('/cpu', burn, inputs, { runOn: 'threads', concurrency: MAP_INPUTS }), inputs); await dds.close() },
    async () => { const w = await rawWorkers(2); const inputs = fresh(); check(await w.map(inputs), inputs); await w.close() },
    async () => { const dds = await open({ store: join(dir, `cold-${fresh2++}`) }); const inputs = fresh(); check(await dds.keepEach('/cpu', burn, inputs), inputs); await dds.close() }
  ], { n: 1, reps, warmup: 0 })
  const [coldTwo, coldRaw, coldLoop] = cold.map((us) => us.map((x) => x / 1000))

  const name = (what) => `CPU-bound map over ${MAP_INPUTS} inputs, ${what}`
  figure({ group: 'parallel', name: name('event loop'), unit: 'ms', samples: loopMs, note: `${availableParallelism()} cores` })
  THREADS.forEach((k, i) => {
    compare({ group: 'parallel', name: name(`${k} worker thread${k > 1 ? 's' : ''}`), unit: 'ms', ours: threadMs[i], base: loopMs, baseline: 'event loop', ...(k === 2 ? { target: '>= 1.6x' } : {}) })
  })
  compare({ group: 'parallel', name: name('2 worker threads'), unit: 'ms', ours: threadMs[THREADS.indexOf(2)], base: rawMs, baseline: '2 raw Workers', target: '>= 0.9x', note: 'dds-ts\'s own cost' })
  compare({ group: 'parallel', name: name('2 raw Workers (no dds-ts)'), unit: 'ms', ours: rawMs, base: loopMs, baseline: 'event loop', note: 'what the machine gave 2 threads' })
  compare({ group: 'parallel', name: `map over ${MAP_INPUTS} trivial inputs, 2 worker threads`, unit: 'ms', ours: twoTiny, base: rawTiny, baseline: '2 raw Workers' })
  compare({ group: 'parallel', name: `map over ${MAP_INPUTS} trivial inputs, 2 worker threads`, unit: 'ms', ours: twoTiny, base: loopTiny, baseline: 'event loop (stores and commits too)' })
  compare({ group: 'parallel', name: name('2 worker threads, cold'), unit: 'ms', ours: coldTwo, base: coldRaw, baseline: '2 raw Workers, cold' })
  compare({ group: 'parallel', name: name('2 worker threads, cold'), unit: 'ms', ours: coldTwo, base: coldLoop, baseline: 'event loop, fresh instance' })
}

/** Start `cmd args`, resolve once its stdout has printed `ready` (or reject when it exits first). */
function startUntil (cmd, args, env, ready) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const exited = new Promise((resolve) => { child.on('exit', resolve) })
  const started = new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d; if (ready.test(out)) resolve() })
    child.stderr.setEncoding('utf8').on('data', (d) => { out += d })
    child.on('error', reject)
    void exited.then((code) => { reject(new Error(`${cmd} ${args.join(' ')} exited with ${code} before it was ready:\n${out}`)) })
  })
  return { child, started, exited }
}

/**
 * The CPU-bound map on the job queue: a redis-server of its own
 * ($BENCH_REDIS_PORT, default 16379), 2 `dds worker` processes sharing a
 * file:// remote with the caller, against the same map on the event loop.
 * Left out when redis-server is not installed.
 */
async function onQueue () {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    progress('parallel: redis-server is not installed, no queue row')
    return
  }
  const reps = quick ? 3 : 5
  const rounds = quick ? 750 : 2500
  const port = Number(process.env.BENCH_REDIS_PORT ?? 16379)
  const dir = tempDir('parallel-queue')
  const repo = fileURLToPath(new URL('..', import.meta.url))
  const remote = pathToFileURL(join(dir, 'remote')).href
  mkdirSync(join(dir, 'remote'))
  mkdirSync(join(dir, 'redis'))
  progress(`parallel: queue on redis-server :${port}, 2 dds worker processes`)
  const redis = startUntil('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', join(dir, 'redis')], {}, /Ready to accept connections/)
  const workers = []
  try {
    await redis.started
    const url = `redis://127.0.0.1:${port}`
    const cli = join(repo, 'dist/lib/cli/main.js')
    for (let i = 0; i < 2; i++) {
      workers.push(startUntil(process.execPath, [cli, 'worker', '--queue', url, '--store', join(dir, `worker-${i}`), '--root', repo, '--modules', 'bench/fixtures/parallel-fns.js'], { DDS_REMOTE: remote }, /^ready$/m))
    }
    await Promise.all(workers.map(async (w) => await w.started))
    const caller = await open({ store: join(dir, 'caller'), remote, queue: url })
    const loop = await open({ store: join(dir, 'loop') })
    let round = 0
    const fresh = () => { const r = round++; return Array.from({ length: MAP_INPUTS }, (_, i) => ({ seed: 1e6 + r * MAP_INPUTS + i, rounds })) }
    // Connect to the queue and have each worker load the module before timing.
    await caller.keepEach('/warm', burn, Array.from({ length: 4 }, (_, i) => ({ seed: -1 - i, rounds: 1 })), { runOn: 'queue', concurrency: 4 })
    const [queueMs, loopMs] = (await interleaved([
      async () => { const r = round; await caller.keepEach(`/cpu/${r}`, burn, fresh(), { runOn: 'queue', concurrency: MAP_INPUTS }) },
      async () => { const r = round; await loop.keepEach(`/cpu/${r}`, burn, fresh()) }
    ], { n: 1, reps, warmup: 1 })).map((us) => us.map((x) => x / 1000))
    await caller.close()
    await loop.close()
    compare({ group: 'parallel', name: `CPU-bound map over ${MAP_INPUTS} inputs, queue, 2 dds worker processes`, unit: 'ms', ours: queueMs, base: loopMs, baseline: 'event loop', note: 'BullMQ, local redis-server, file:// remote' })
  } finally {
    for (const w of workers) w.child.kill('SIGTERM')
    await Promise.all(workers.map(async (w) => await w.exited))
    redis.child.kill('SIGTERM')
    await redis.exited
  }
}

export async function main () {
  const only = process.argv.find((a) => a.startsWith('--only-part='))?.slice('--only-part='.length)
  if (only === undefined || only === 'each') await overhead()
  if (only === undefined || only === 'cpu') await speedup()
  if (only === undefined || only === 'queue') await onQueue()
}

if (isMain(import.meta)) {
  await main()
  report()
}
