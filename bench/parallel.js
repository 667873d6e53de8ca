/**
 * Maps over inputs, side by side with their baselines in one run:
 * - keepEach over 1,000 small inputs against a plain loop of keeps (in one
 *   `evaluate`, so both are one run and one commit), per item, for misses
 *   (fresh inputs every repetition) and for hits (the same inputs again);
 *   a loop of top-level keeps (one commit each) is shown too;
 * - a CPU-bound map over 8 inputs on 1, 2 and 4 worker threads against the
 *   same map on the event loop (the speedup; about 2x at 2 threads on 2 cores).
 * Contenders run in alternation, so a busy neighbour slows them alike.
 *
 *   node bench/parallel.js [--quick]
 */
import { join } from 'node:path'
import { availableParallelism } from 'node:os'
import { open } from '../dist/lib/index.js'
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

/** Wall time of a CPU-bound map over 8 inputs on k worker threads against the event loop. */
async function speedup () {
  const reps = quick ? 3 : 5
  // About 100 ms (quick: 30 ms) per input on this machine's cores.
  const rounds = quick ? 300 : 1000
  const dir = tempDir('parallel-cpu')
  const loopDds = await open({ store: join(dir, 'loop') })
  const pools = []
  for (const k of THREADS) pools.push([k, await open({ store: join(dir, `threads-${k}`), threads: k })])
  let round = 0
  const fresh = () => { const r = round++; return Array.from({ length: MAP_INPUTS }, (_, i) => ({ seed: r * MAP_INPUTS + i, rounds })) }
  const check = (got, inputs) => {
    if (got.length !== inputs.length || got.some((h) => typeof h !== 'string')) throw new Error('a map lost inputs')
  }
  // Start every pool's threads and load the module in each before timing.
  for (const [k, dds] of pools) {
    progress(`parallel: starting ${k} worker thread${k > 1 ? 's' : ''}`)
    await dds.keepEach(`/warm/${k}`, burn, Array.from({ length: k }, (_, i) => ({ seed: -1 - i, rounds: 1 })), { runOn: 'threads', concurrency: k })
  }
  progress(`parallel: CPU-bound map over ${MAP_INPUTS} inputs, event loop and 1/2/4 threads`)
  const runs = [
    async () => { const r = round; const inputs = fresh(); check(await loopDds.keepEach(`/cpu/${r}`, burn, inputs), inputs) },
    ...pools.map(([, dds]) => async () => { const r = round; const inputs = fresh(); check(await dds.keepEach(`/cpu/${r}`, burn, inputs, { runOn: 'threads', concurrency: MAP_INPUTS }), inputs) })
  ]
  const [loopMs, ...threadMs] = (await interleaved(runs, { n: 1, reps, warmup: 1 })).map((us) => us.map((x) => x / 1000))
  for (const dds of [loopDds, ...pools.map(([, d]) => d)]) await dds.close()

  figure({ group: 'parallel', name: `CPU-bound map over ${MAP_INPUTS} inputs, event loop`, unit: 'ms', samples: loopMs, note: `${availableParallelism()} cores` })
  THREADS.forEach((k, i) => {
    compare({ group: 'parallel', name: `CPU-bound map over ${MAP_INPUTS} inputs, ${k} worker thread${k > 1 ? 's' : ''}`, unit: 'ms', ours: threadMs[i], base: loopMs, baseline: 'event loop', ...(k === 2 ? { target: '>= 1.6x' } : {}) })
  })
}

export async function main () {
  if (!process.argv.includes('--cpu-only')) await overhead()
  await speedup()
}

if (isMain(import.meta)) {
  await main()
  report()
}
