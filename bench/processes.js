/**
 * Several processes on one store: 1, 2, 4 and 8 child processes (quick: 1, 2,
 * 4) each make M keeps that miss (distinct arguments and paths), then, after all have
 * finished, the same M keeps again (hits). The first process to open the
 * store holds LevelDB and serves the others over its unix socket. Reported:
 * total keeps per second over all processes (wall time from the start signal
 * to the last process done) for the miss phase, the hit phase and both, and
 * the ratio to one process.
 *
 *   node bench/processes.js [--quick]
 */
import { fork } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { quick, tempDir, isMain, since, compare, figure, report, progress } from './common.js'

const COUNTS = quick ? [1, 2, 4] : [1, 2, 4, 8]
const M = quick ? 20 : 100
const REPS = quick ? 2 : 3

function work (worker, j) {
  return { worker, j, sum: worker * 1000 + j }
}

/** A child: open the store, then run each phase when told to. */
async function worker (location, id) {
  const { open } = await import('../dist/lib/index.js')
  const dds = await open({ store: location })
  // Warm up the signature, the code paths and the store connection (not timed).
  for (let j = 0; j < 20; j++) await dds.keep(`/mp/warm${id}/p${j}`, work, id, -1 - j)
  for (let j = 0; j < 20; j++) await dds.keep(`/mp/warm${id}/p${j}`, work, id, -1 - j)
  process.send({ ready: true })
  process.on('message', async (msg) => {
    if (msg.phase === 'exit') {
      await dds.close()
      process.disconnect()
      return
    }
    const before = { ...dds.store.backend.stats }
    for (let j = 0; j < M; j++) await dds.keep(`/mp/w${id}/p${j}`, work, id, j)
    const after = dds.store.backend.stats
    process.send({ done: msg.phase, handovers: after.handovers - before.handovers, elections: after.elections - before.elections })
  })
}

const self = fileURLToPath(import.meta.url)

async function round (n, location) {
  const children = []
  const ready = []
  for (let i = 0; i < n; i++) {
    const c = fork(self, ['--worker', location, String(i)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
    children.push(c)
    ready.push(new Promise((resolve, reject) => {
      c.once('message', resolve)
      c.once('exit', (code) => { if (code !== 0) reject(new Error(`worker exited with ${code}`)) })
    }))
  }
  await Promise.all(ready)
  const changes = {}
  const phase = async (name) => {
    const done = children.map((c) => new Promise((resolve) => c.once('message', resolve)))
    const t0 = process.hrtime.bigint()
    for (const c of children) c.send({ phase: name })
    const msgs = await Promise.all(done)
    const ms = since(t0)
    changes[name] = msgs.reduce((a, m) => a + m.handovers, 0) / (n * M)
    return ms
  }
  const miss = await phase('miss')
  const hit = await phase('hit')
  const exited = children.map((c) => new Promise((resolve) => c.once('exit', resolve)))
  for (const c of children) c.send({ phase: 'exit' })
  await Promise.all(exited)
  const keeps = n * M
  return { miss: keeps / (miss / 1000), hit: keeps / (hit / 1000), all: 2 * keeps / ((miss + hit) / 1000), handoversPerMiss: changes.miss }
}

export async function main () {
  const results = new Map()
  for (const n of COUNTS) {
    progress(`processes: ${n}`)
    const samples = { miss: [], hit: [], all: [], handoversPerMiss: [] }
    for (let r = 0; r < REPS; r++) {
      const dir = tempDir('processes')
      const res = await round(n, join(dir, 'store'))
      for (const k of Object.keys(samples)) samples[k].push(res[k])
    }
    results.set(n, samples)
  }
  const one = results.get(1)
  for (const [n, s] of results) {
    const label = `${n} process${n > 1 ? 'es' : ''} x ${M} keeps`
    for (const [k, what] of [['miss', 'misses'], ['hit', 'hits'], ['all', 'misses + hits']]) {
      if (n === 1) figure({ group: 'processes', name: `${what}: ${label}`, unit: 'keeps/s', samples: s[k], better: 'higher' })
      else {
        // Issue 13, goal 6: 8 processes reach at least the total throughput of one, for hits and for misses.
        const target = n === 8 && k !== 'all' ? '>= 1x' : undefined
        compare({ group: 'processes', name: `${what}: ${label}`, unit: 'keeps/s', ours: s[k], base: one[k], baseline: '1 process', better: 'higher', target })
      }
    }
    if (n > 1) figure({ group: 'processes', name: `leader hand-overs per miss: ${label}`, unit: 'count', samples: s.handoversPerMiss })
  }
}

if (isMain(import.meta)) {
  const i = process.argv.indexOf('--worker')
  if (i >= 0) await worker(process.argv[i + 1], Number(process.argv[i + 2]))
  else {
    await main()
    report()
  }
}
