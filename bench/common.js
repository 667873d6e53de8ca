/**
 * Shared benchmark helpers: timing, repeated runs, medians, memory peaks and
 * the ratio table. Every benchmark measures dds-ts and its baseline side by
 * side in one run.
 *
 * Ratios read the same way everywhere: above 1 means dds-ts is better (for
 * times: baseline / dds-ts; for throughputs: dds-ts / baseline). A target
 * ending in `x` applies to the ratio (`>= 0.6x`); any other target applies to
 * the dds-ts median in the row's unit (`< 20 µs`).
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export const KiB = 1024
export const MiB = 1024 * KiB
export const GiB = 1024 * MiB
export const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1'

const made = new Set()
process.on('exit', () => {
  for (const dir of made) { try { rmSync(dir, { recursive: true, force: true }) } catch {} }
})

/** A fresh temporary directory under os.tmpdir() (or $BENCH_TMP), removed at exit. */
export function tempDir (name) {
  const dir = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), `dds-bench-${name}-`))
  made.add(dir)
  return dir
}

/**
 * Run `node args...` in `cwd` without NODE_OPTIONS (a fresh process as a user
 * would start it) and resolve with its stdout; reject with its output when it fails.
 */
export function runNode (args, cwd, extraEnv = {}) {
  return new Promise((resolvePromise, reject) => {
    const env = { ...process.env, ...extraEnv }
    delete env.NODE_OPTIONS
    const p = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.setEncoding('utf8').on('data', (d) => { out += d })
    p.stderr.setEncoding('utf8').on('data', (d) => { err += d })
    p.on('error', reject)
    p.on('close', (code) => code === 0 ? resolvePromise(out) : reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}${err}`)))
  })
}

/** Whether this module is the script node was started with. */
export function isMain (meta) {
  return meta.url === `file://${process.argv[1]}`
}

export function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

export function stats (xs) {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length }
}

/** Milliseconds since `t0` (a process.hrtime.bigint()). */
export function since (t0) {
  return Number(process.hrtime.bigint() - t0) / 1e6
}

/** Run `fn` `reps` times (after `warmup` runs) and return the durations in ms. */
export async function timeRuns (fn, { reps = 5, warmup = 1 } = {}) {
  for (let i = 0; i < warmup; i++) await fn(-1 - i)
  const out = []
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint()
    await fn(i)
    out.push(since(t0))
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
    per.push(since(t0) * 1e3 / n)
  }
  return per
}

/**
 * Latencies of several contenders measured in alternation: each round runs
 * every contender for `n` calls, so that a noisy neighbour slows all of them
 * alike. Returns one array of per-call µs per contender.
 */
export async function interleaved (fns, { n = 10000, reps = 5, warmup = Math.min(n, 1000) } = {}) {
  for (const fn of fns) for (let i = 0; i < warmup; i++) await fn(i)
  const out = fns.map(() => [])
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < fns.length; k++) {
      const fn = fns[(k + r) % fns.length]
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < n; i++) await fn(i)
      out[(k + r) % fns.length].push(since(t0) * 1e3 / n)
    }
  }
  return out
}

// ------------------------------------------------------------------ memory

let gcFn
/** A full garbage collection (exposes gc when node was not started with --expose-gc). */
export function gc () {
  if (gcFn === undefined) {
    if (typeof globalThis.gc === 'function') gcFn = globalThis.gc
    else {
      setFlagsFromString('--expose-gc')
      gcFn = runInNewContext('gc')
    }
  }
  gcFn()
}

function statusKiB (field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))
  return m === null ? NaN : Number(m[1]) * KiB
}

/** Resident set size now, in bytes. */
export function rss () {
  return statusKiB('VmRSS')
}

/** Peak resident set size (VmHWM) since the process started or since resetPeak(), in bytes. */
export function peakRss () {
  return statusKiB('VmHWM')
}

/** Reset the peak resident set size to the current one (Linux: /proc/self/clear_refs). */
export function resetPeak () {
  try { writeFileSync('/proc/self/clear_refs', '5') } catch {}
}

/** Write dirty pages back to disk (untimed, between measurements), so each one starts alike. */
export function flushDisk () {
  try { execFileSync('sync') } catch {}
}

// ------------------------------------------------------------------ rows and the table

const rows = []

function check (target, ratio, med) {
  if (target === undefined || target === '') return undefined
  const m = /^(>=|<=|<|>)\s*([\d.]+)\s*(x?)/.exec(target)
  if (m === null) return undefined
  const value = m[3] === 'x' ? ratio : med
  if (value === undefined) return undefined
  const bound = Number(m[2])
  switch (m[1]) {
    case '>=': return value >= bound
    case '>': return value > bound
    case '<=': return value <= bound
    default: return value < bound
  }
}

/**
 * Record one comparison. `ours` and `base` are samples in `unit`; with
 * `better: 'lower'` (times, memory) the ratio is base/ours, with
 * `better: 'higher'` (throughputs) it is ours/base: above 1, dds-ts wins.
 */
export function compare ({ group, name, unit, ours, base, baseline, target, better = 'lower', note }) {
  const o = stats(ours)
  const b = stats(base)
  const [num, den] = better === 'higher' ? [o.median, b.median] : [b.median, o.median]
  const ratio = num > 0 && den > 0 ? num / den : undefined
  const row = { group, name, unit, ours: o, base: b, baseline, ratio, target, better, met: check(target, ratio, o.median), note }
  rows.push(row)
  return row
}

/** Record a figure with no baseline (a target on its own, or information). */
export function figure ({ group, name, unit, samples, target, better = 'lower', note }) {
  const o = stats(samples)
  const row = { group, name, unit, ours: o, base: undefined, baseline: undefined, ratio: undefined, target, better, met: check(target, undefined, o.median), note }
  rows.push(row)
  return row
}

export function fmt (x) {
  if (x === undefined || Number.isNaN(x)) return ''
  const a = Math.abs(x)
  if (a >= 100) return x.toFixed(0)
  if (a >= 10) return x.toFixed(1)
  if (a >= 1) return x.toFixed(2)
  return x.toPrecision(2)
}

function cell (s) {
  return s === undefined ? '' : `${fmt(s.median)} [${fmt(s.min)}-${fmt(s.max)}]`
}

/** The rows as an aligned text table. */
export function formatTable (list) {
  const header = ['group', 'benchmark', 'unit', 'dds-ts median [min-max]', 'baseline', 'baseline median [min-max]', 'ratio', 'target', 'met']
  const body = list.map((r) => [
    r.group, r.name, r.unit, cell(r.ours), r.baseline ?? '', cell(r.base),
    r.ratio === undefined ? '' : `${r.ratio >= 0.01 ? r.ratio.toFixed(2) : r.ratio.toPrecision(1)}x`,
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO'
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)))
  const line = (cols) => cols.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')
}

/** Print the table of everything this process recorded and append the rows to $BENCH_JSON. */
export function report () {
  if (process.env.BENCH_JSON !== undefined) {
    appendFileSync(process.env.BENCH_JSON, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : ''))
  } else {
    console.log(formatTable(rows))
  }
  return rows
}

/** Progress on stderr, so that stdout stays the table. */
export function progress (msg) {
  process.stderr.write(`  ${msg}\n`)
}

// ------------------------------------------------------------------ the machine

function sh (cmd, args) {
  try { return execFileSync(cmd, args, { encoding: 'utf8' }).trim() } catch { return '(unavailable)' }
}

/** What the figures were measured on: nproc, free -h, node -v, CPU model, df -h of the temp dir. */
export function machine () {
  let model = cpus()[0]?.model ?? 'unknown'
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m !== null) model = m[1]
  } catch {}
  return [
    `date: ${new Date().toISOString()}`,
    `nproc: ${sh('nproc', [])}`,
    `cpu: ${model}`,
    `memory: ${(totalmem() / GiB).toFixed(1)} GiB`,
    `node: ${process.version}`,
    `load average at start: ${sh('cat', ['/proc/loadavg'])}`,
    '$ free -h', sh('free', ['-h']),
    `$ df -h ${process.env.BENCH_TMP ?? tmpdir()}`, sh('df', ['-h', process.env.BENCH_TMP ?? tmpdir()])
  ].join('\n')
}
