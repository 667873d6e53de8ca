/**
 * Artifacts through the public API, against the file system:
 * - a cache miss (`keep` of a function returning the artifact: signature,
 *   input hash, chunking, sha256 of every chunk, files, index batch, commit)
 *   against `fs.writeFile` of the same bytes plus a sha256 over them (the floor
 *   of a verified content-addressed write);
 * - `load` of the path against `fs.readFile` of the file;
 * - the peak memory of each, in a fresh child process per operation:
 *   VmHWM during the operation minus the resident set before the artifact
 *   existed, so it counts the artifact itself plus what the operation needs.
 *
 * Sizes 1 KiB, 1 MiB, 64 MiB and 1 GiB (quick: up to 64 MiB), as a
 * Float64Array and as a Buffer. Each repetition writes new bytes (a stamp in
 * every 1 MiB), so nothing is deduplicated; dds-ts and fs alternate within a
 * repetition and dirty pages are written back (untimed) before each large
 * write, so both meet the same disk state.
 *
 *   node bench/artifacts.js [--quick]
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { open, identify } from '../dist/lib/index.js'
import {
  KiB, MiB, GiB, quick, tempDir, isMain, since, gc, rss, peakRss, resetPeak, flushDisk,
  compare, figure, report, progress
} from './common.js'

const SIZES = quick ? [KiB, MiB, 64 * MiB] : [KiB, MiB, 64 * MiB, GiB]
const KINDS = ['Float64Array', 'Buffer']
const STAMP = 1 * MiB

/** Operations per repetition and repetitions, by size. */
function plan (size) {
  if (size <= KiB) return { ops: quick ? 100 : 300, reps: quick ? 3 : 5, warmup: 1 }
  if (size <= MiB) return { ops: quick ? 10 : 30, reps: quick ? 3 : 5, warmup: 1 }
  if (size <= 64 * MiB) return { ops: 1, reps: quick ? 3 : 7, warmup: 1 }
  return { ops: 1, reps: 5, warmup: 0 }
}

function label (size) {
  return size >= GiB ? `${size / GiB} GiB` : size >= MiB ? `${size / MiB} MiB` : `${size / KiB} KiB`
}

/**
 * An artifact of `size` bytes: 1 MiB of random bytes repeated, each MiB made
 * distinct by its index (so chunks do not deduplicate).
 */
function makeValue (kind, size) {
  const buf = new ArrayBuffer(size)
  const bytes = new Uint8Array(buf)
  const seed = createHash('sha256')
  const first = Math.min(size, MiB)
  for (let off = 0; off < first; off += 32) {
    seed.update(String(off))
    bytes.set(seed.copy().digest().subarray(0, Math.min(32, first - off)), off)
  }
  for (let off = MiB; off < size; off += MiB) bytes.copyWithin(off, 0, Math.min(MiB, size - off))
  const view = new DataView(buf)
  for (let off = 0, i = 0; off + 16 <= size; off += STAMP, i++) view.setFloat64(8 + off, i, true)
  return kind === 'Buffer' ? Buffer.from(buf) : new Float64Array(buf)
}

/** Make the bytes new: write `stamp` at the start of every MiB. */
function restamp (value, stamp) {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  for (let off = 0; off + 8 <= value.byteLength; off += STAMP) view.setFloat64(off, stamp, true)
}

function bytesOf (value) {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
}

// The kept function reads the artifact through an object with a given
// identity: its signature does not hash the bytes (the stamp argument makes
// each call a miss).
const source = identify({ value: undefined }, 'bench-artifact-source')
function produce (stamp) {
  return source.value
}

/** sha256 over the bytes, then write them: the floor of a verified content-addressed write. */
async function fsWrite (file, value) {
  const bytes = bytesOf(value)
  createHash('sha256').update(bytes).digest()
  await writeFile(file, bytes)
}

// ------------------------------------------------------------------ timing in this process

async function timing (dir, size, kind) {
  const { ops, reps, warmup } = plan(size)
  const big = size >= 64 * MiB
  const dds = await open({ store: join(dir, 'store') })
  const value = makeValue(kind, size)
  source.value = value
  const path = `/bench/${kind}/s${size}`
  const files = join(dir, 'files')
  const { mkdir } = await import('node:fs/promises')
  await mkdir(files, { recursive: true })
  let stamp = 1
  const miss = []; const write = []; const load = []; const read = []
  for (let r = -warmup; r < reps; r++) {
    // Misses: each call has a new stamp (a new input and new bytes).
    if (big) flushDisk()
    gc()
    let t0 = process.hrtime.bigint()
    for (let i = 0; i < ops; i++) {
      restamp(value, ++stamp)
      await dds.keep(path, produce, stamp)
    }
    const m = since(t0) / ops

    await rm(files, { recursive: true, force: true })
    await mkdir(files, { recursive: true })
    if (big) flushDisk()
    gc()
    let last
    t0 = process.hrtime.bigint()
    for (let i = 0; i < ops; i++) {
      restamp(value, ++stamp)
      last = join(files, `f${stamp}`)
      await fsWrite(last, value)
    }
    const w = since(t0) / ops

    gc()
    t0 = process.hrtime.bigint()
    for (let i = 0; i < ops; i++) await dds.load(path)
    const l = since(t0) / ops

    gc()
    t0 = process.hrtime.bigint()
    for (let i = 0; i < ops; i++) await readFile(last)
    const rd = since(t0) / ops
    if (r < 0) continue
    miss.push(m); write.push(w); load.push(l); read.push(rd)
  }
  await dds.close()
  source.value = undefined
  await rm(dir, { recursive: true, force: true })
  return { miss, write, load, read }
}

// ------------------------------------------------------------------ memory in child processes

const self = fileURLToPath(import.meta.url)

function child (side, size, kind, dir) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', self, '--child', side, String(size), kind, dir], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    p.stdout.setEncoding('utf8').on('data', (d) => { out += d })
    p.on('error', reject)
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`artifact child ${side} ${size} ${kind} exited with ${code}`))
      else resolve(JSON.parse(out))
    })
  })
}

/** One operation in this (fresh) process; prints { ms, peak } with peak in bytes. */
async function runChild (side, size, kind, dir) {
  const path = `/bench/${kind}/s${size}`
  const file = join(dir, 'file.bin')
  let dds
  if (side === 'miss' || side === 'load') {
    dds = await open({ store: join(dir, 'store') })
    // Load the code paths first, with a small artifact.
    source.value = makeValue(kind, KiB)
    await dds.keep('/bench/warm', produce, 0)
    await dds.load('/bench/warm')
    source.value = undefined
  } else {
    await fsWrite(join(dir, 'warm.bin'), makeValue(kind, KiB))
    await readFile(join(dir, 'warm.bin'))
  }
  gc()
  const base = rss()
  let value
  if (side === 'miss' || side === 'write') {
    value = makeValue(kind, size)
    restamp(value, 1)
    source.value = value
  }
  if (size >= 64 * MiB) flushDisk()
  gc()
  resetPeak()
  const t0 = process.hrtime.bigint()
  if (side === 'miss') await dds.keep(path, produce, 1)
  else if (side === 'load') value = await dds.load(path)
  else if (side === 'write') await fsWrite(file, value)
  else value = await readFile(file)
  const ms = since(t0)
  const peak = peakRss() - base
  if (value.byteLength !== size) throw new Error(`${side}: got ${value.byteLength} bytes, expected ${size}`)
  await dds?.close()
  process.stdout.write(JSON.stringify({ ms, peak }))
}

async function memory (dir, size, kind) {
  const out = {}
  for (const side of ['miss', 'load', 'write', 'read']) out[side] = await child(side, size, kind, dir)
  await rm(dir, { recursive: true, force: true })
  return out
}

// ------------------------------------------------------------------ main

export async function main () {
  for (const size of SIZES) {
    for (const kind of KINDS) {
      const name = `${label(size)} ${kind}`
      progress(`artifacts: ${name}`)
      const t = await timing(tempDir('artifacts'), size, kind)
      const large = size >= 64 * MiB
      compare({ group: 'artifacts', name: `miss (keep stores) ${name}`, unit: 'ms', ours: t.miss, base: t.write, baseline: 'sha256 + fs.writeFile', target: large ? '>= 0.6x' : undefined })
      compare({ group: 'artifacts', name: `load ${name}`, unit: 'ms', ours: t.load, base: t.read, baseline: 'fs.readFile', target: large ? '>= 0.8x' : undefined })
      const m = await memory(tempDir('artifacts-mem'), size, kind)
      const mib = (x) => [x.peak / MiB]
      compare({ group: 'artifacts', name: `peak memory, miss ${name}`, unit: 'MiB', ours: mib(m.miss), base: mib(m.write), baseline: 'sha256 + fs.writeFile', target: size >= GiB ? `< ${2 * size / MiB}` : undefined, note: 'artifact + operation, fresh process' })
      compare({ group: 'artifacts', name: `peak memory, load ${name}`, unit: 'MiB', ours: mib(m.load), base: mib(m.read), baseline: 'fs.readFile', target: size >= GiB ? `< ${2 * size / MiB}` : undefined, note: 'artifact + operation, fresh process' })
    }
  }
}

if (isMain(import.meta)) {
  const i = process.argv.indexOf('--child')
  if (i >= 0) {
    const [side, size, kind, dir] = process.argv.slice(i + 1)
    await runChild(side, Number(size), kind, dir)
  } else {
    await main()
    report()
  }
}
