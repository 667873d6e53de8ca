/**
 * The benchmark suite: runs every benchmark in its own process, then prints
 * one table (dds-ts and its baseline side by side, median [min-max] of
 * repeated runs, ratio above 1 = dds-ts better), the targets met and missed,
 * and how long each part took.
 *
 *   npm run bench                 full suite (under 15 minutes on 2 cores)
 *   npm run bench -- --quick      smaller sizes and fewer repetitions (under 2 minutes)
 *   npm run bench -- --only=keep,scale
 *   npm run bench -- --json=out.jsonl   also keep the rows as JSON lines
 *
 * Temporary stores go under os.tmpdir() (or $BENCH_TMP) and are removed.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statfsSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { quick, machine, formatTable, fmt, GiB } from './common.js'

const here = dirname(fileURLToPath(import.meta.url))

/** The suite, in order. */
const BENCHES = [
  ['cold', 'a fresh process: import, and process start to the first value of a hit'],
  ['keep', 'cache hit of keep on small values'],
  ['artifacts', 'miss and load of 1 KiB .. 1 GiB artifacts, peak memory'],
  ['signature', 'code signatures: cold and warm, 1 / 20 / 100 files'],
  ['scale', 'hit latency and open time as the store grows'],
  ['processes', 'several processes on one store'],
  ['bundle', 'bundle export and import'],
  ['files', 'recording the files a kept function reads: hits, 100 MiB reads'],
  ['serve', 'the web view\'s first pages on 10,000 paths and a 5,000-entry history'],
  ['arrow', 'store and load of a 10M-row, 8-column Arrow table'],
  ['parallel', 'keepEach per-item overhead; a CPU-bound map on 1, 2, 4 worker threads, raw Workers, cold, on the queue'],
  ['plan', 'dds plan on a pipeline reaching 100 files, before and after an edit']
]

function arg (name) {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`))
  return a === undefined ? undefined : a.slice(name.length + 3)
}

function runBench (name, json) {
  return new Promise((resolve) => {
    const args = ['--expose-gc', join(here, `${name}.js`), ...(quick ? ['--quick'] : [])]
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, BENCH_JSON: json } })
    p.on('close', (code) => resolve(code))
  })
}

async function main () {
  const only = arg('only')?.split(',')
  const selected = BENCHES.filter(([name]) => only === undefined || only.includes(name))
  const started = process.hrtime.bigint()
  console.log(`dds-ts benchmarks (${quick ? 'quick' : 'full'})`)
  console.log(machine())
  const tmp = process.env.BENCH_TMP ?? tmpdir()
  const free = statfsSync(tmp).bavail * statfsSync(tmp).bsize
  const needed = quick ? 2 * GiB : 8 * GiB
  if (free < needed) console.log(`warning: ${(free / GiB).toFixed(1)} GiB free in ${tmp}; the ${quick ? 'quick' : 'full'} suite writes up to ${needed / GiB} GiB there at once`)
  console.log('')

  const dir = mkdtempSync(join(tmp, 'dds-bench-run-'))
  const json = join(dir, 'rows.jsonl')
  const times = []
  const failed = []
  try {
    for (const [name, what] of selected) {
      process.stderr.write(`${name}: ${what}\n`)
      const t0 = process.hrtime.bigint()
      const code = await runBench(name, json)
      const s = Number(process.hrtime.bigint() - t0) / 1e9
      times.push([name, s])
      if (code !== 0) failed.push(`${name} (exit ${code})`)
    }
    let rows = []
    try {
      rows = readFileSync(json, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))
    } catch {}
    console.log(formatTable(rows))
    console.log('')
    const targets = rows.filter((r) => r.met !== undefined)
    const missed = targets.filter((r) => !r.met)
    console.log(`targets: ${targets.length - missed.length} of ${targets.length} met`)
    for (const r of missed) {
      const value = r.target.trim().endsWith('x') ? `${r.ratio.toFixed(2)}x` : `${fmt(r.ours.median)} ${r.unit}`
      console.log(`  missed: ${r.group} / ${r.name}${r.baseline === undefined ? '' : ` vs ${r.baseline}`}: ${value}, target ${r.target}`)
    }
    const total = Number(process.hrtime.bigint() - started) / 1e9
    console.log(`time: ${times.map(([n, s]) => `${n} ${s.toFixed(0)} s`).join(', ')}; total ${total.toFixed(0)} s`)
    const out = arg('json')
    if (out !== undefined) copyFileSync(json, out)
    if (failed.length > 0) {
      console.log(`failed: ${failed.join(', ')}`)
      process.exitCode = 1
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
