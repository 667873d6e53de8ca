/**
 * Shared benchmark helpers: timing, repeated runs, medians and the ratio table.
 * Every benchmark measures dds-ts and its baseline side by side in one run.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const MiB = 1024 * 1024
export const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1'

/** A fresh temporary directory, removed at exit. */
export function tempDir (name) {
  const dir = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), `dds-bench-${name}-`))
  process.on('exit', () => { try { rmSync(dir, { recursive: true, force: true }) } catch {} })
  return dir
}

export function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Run `fn` `reps` times (after `warmup` runs) and return the durations in ms. */
export async function timeRuns (fn, { reps = 5, warmup = 1 } = {}) {
  for (let i = 0; i < warmup; i++) await fn(-1 - i)
  const out = []
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint()
    await fn(i)
    out.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  return out
}

/** Per-operation latency in µs of `fn`, over `n` calls, repeated `reps` times. */
export async function latency (fn, { n = 10000, reps = 5 } = {}) {
  for (let i = 0; i < Math.min(n, 1000); i++) await fn(i)
  const per = []
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) await fn(i)
    per.push(Number(process.hrtime.bigint() - t0) / 1e3 / n)
  }
  return per
}

export function stats (xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) }
}

const rows = []

/**
 * Record one comparison. `ours` and `base` are samples (ms or µs, lower is
 * better); the ratio is base/ours, so above 1 means dds-ts is faster and a
 * target such as ">= 0.6x" reads directly.
 */
export function compare ({ group, name, unit, ours, base, baseline, target }) {
  const o = stats(ours)
  const b = stats(base)
  const ratio = b.median / o.median
  const row = { group, name, unit, ours: o, base: b, baseline, ratio, target }
  rows.push(row)
  return row
}

/** Record a single figure with no baseline (a target on its own). */
export function figure ({ group, name, unit, samples, target }) {
  const s = stats(samples)
  const row = { group, name, unit, ours: s, base: undefined, baseline: undefined, ratio: undefined, target }
  rows.push(row)
  return row
}

function fmt (x) {
  if (x === undefined) return ''
  if (x >= 100) return x.toFixed(0)
  if (x >= 10) return x.toFixed(1)
  return x.toFixed(2)
}

/** Print the table of everything recorded (and return the rows as JSON). */
export function report () {
  const lines = []
  lines.push(['group', 'benchmark', 'dds-ts median [min-max]', 'baseline', 'baseline median [min-max]', 'ratio', 'target'].join('\t'))
  for (const r of rows) {
    lines.push([
      r.group, r.name,
      `${fmt(r.ours.median)} ${r.unit} [${fmt(r.ours.min)}-${fmt(r.ours.max)}]`,
      r.baseline ?? '',
      r.base === undefined ? '' : `${fmt(r.base.median)} ${r.unit} [${fmt(r.base.min)}-${fmt(r.base.max)}]`,
      r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`,
      r.target ?? ''
    ].join('\t'))
  }
  console.log(lines.join('\n'))
  if (process.env.BENCH_JSON !== undefined) {
    import('node:fs').then(({ appendFileSync }) => appendFileSync(process.env.BENCH_JSON, rows.map((r) => JSON.stringify(r)).join('\n') + '\n'))
  }
  return rows
}
