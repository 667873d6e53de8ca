/**
 * Arrow tables through the public API, against apache-arrow's own IPC and
 * the file system:
 * - store: `keep` of a function returning a table of 8 columns (IPC stream
 *   written batch by batch, chunked, sha256 of every chunk, commit) against
 *   `tableToIPC` + `fs.writeFile` of the same table;
 * - load: `load(path)` (a Table whose columns are views over the bytes read)
 *   against `fs.readFile` + `tableFromIPC`.
 * 10 million rows (quick: 1 million). Each repetition changes a value in
 * every MiB of the first column, so nothing is deduplicated; dds-ts and the
 * baseline alternate within a repetition, and dirty pages are written back
 * (untimed) before each write.
 *
 *   node bench/arrow.js [--quick]
 */
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { open, identify } from '../dist/lib/index.js'
import { quick, tempDir, isMain, since, gc, flushDisk, compare, report, progress } from './common.js'

const ROWS = quick ? 1_000_000 : 10_000_000
const REPS = quick ? 3 : 5

async function makeTable (arrow) {
  const f = (k) => Float64Array.from({ length: ROWS }, (_, i) => (i * k) % 1000 / 7)
  const n = (k) => Int32Array.from({ length: ROWS }, (_, i) => (i * k) % 100_000)
  return arrow.tableFromArrays({
    c0: f(1), c1: f(3), c2: f(5), c3: f(7),
    c4: n(11), c5: n(13),
    c6: BigInt64Array.from({ length: ROWS }, (_, i) => BigInt(i)),
    c7: Float32Array.from({ length: ROWS }, (_, i) => i / 3)
  })
}

/** Make the table's bytes new: write `stamp` once in every MiB of the first column. */
function restamp (table, stamp) {
  const values = table.getChild('c0').data[0].values
  for (let i = 0; i < values.length; i += 131072) values[i] = stamp
}

// The kept function reads the table through an object with a given identity (the stamp argument makes each call a miss).
const source = identify({ value: undefined }, 'bench-arrow-source')
function produce (stamp) {
  return source.value
}

export async function main () {
  let arrow
  try {
    arrow = await import('apache-arrow')
  } catch {
    progress('arrow: apache-arrow is not installed, skipped')
    return
  }
  progress(`arrow: ${ROWS} rows, 8 columns`)
  const dir = tempDir('arrow')
  const dds = await open({ store: join(dir, 'store'), log: false })
  const table = await makeTable(arrow)
  source.value = table
  const files = join(dir, 'files')
  await mkdir(files, { recursive: true })
  let stamp = 1
  const store = []; const write = []; const load = []; const read = []
  let size = 0
  for (let r = -1; r < REPS; r++) {
    restamp(table, ++stamp)
    flushDisk()
    gc()
    let t0 = process.hrtime.bigint()
    await dds.keep('/bench/table', produce, stamp)
    const s = since(t0)

    restamp(table, ++stamp)
    const file = join(files, `t${stamp}.arrow`)
    flushDisk()
    gc()
    t0 = process.hrtime.bigint()
    const bytes = arrow.tableToIPC(table, 'stream')
    await writeFile(file, bytes)
    const w = since(t0)
    size = bytes.byteLength

    gc()
    t0 = process.hrtime.bigint()
    const back = await dds.load('/bench/table')
    const l = since(t0)
    if (back.numRows !== ROWS) throw new Error(`load: ${back.numRows} rows`)

    gc()
    t0 = process.hrtime.bigint()
    const other = arrow.tableFromIPC(await readFile(file))
    const rd = since(t0)
    if (other.numRows !== ROWS) throw new Error(`read: ${other.numRows} rows`)
    await rm(file)
    if (r < 0) continue
    store.push(s); write.push(w); load.push(l); read.push(rd)
  }
  await dds.close()
  source.value = undefined
  await rm(dir, { recursive: true, force: true })
  const name = `${ROWS / 1e6}M rows x 8 columns (${Math.round(size / 2 ** 20)} MiB)`
  compare({ group: 'arrow', name: `store (keep) ${name}`, unit: 'ms', ours: store, base: write, baseline: 'tableToIPC + fs.writeFile', target: '>= 0.6x' })
  compare({ group: 'arrow', name: `load ${name}`, unit: 'ms', ours: load, base: read, baseline: 'fs.readFile + tableFromIPC', target: '>= 0.8x' })
}

if (isMain(import.meta)) {
  await main()
  report()
}
