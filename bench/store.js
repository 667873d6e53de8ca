/**
 * The store against the file system and a bare LevelDB:
 * - storing and loading a 256 MiB artifact vs fs.writeFile / fs.readFile of the same bytes;
 * - getting a small artifact vs a bare classic-level get plus cbor-x decode.
 */
import { writeFile, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { Encoder } from 'cbor-x'
import { openStore } from '../dist/store/index.js'
import { MiB, quick, tempDir, timeRuns, latency, compare, report } from './common.js'

const SIZE = (quick ? 64 : 256) * MiB
const reps = quick ? 3 : 5

async function large () {
  const dir = tempDir('store-large')
  const value = new Float64Array(SIZE / 8)
  for (let i = 0; i < value.length; i++) value[i] = Math.random()
  const bytes = new Uint8Array(value.buffer)

  let store
  let cid
  // Fresh store each time so nothing is deduplicated.
  const put = await timeRuns(async (i) => {
    store = await openStore({ location: join(dir, `s${i}`) })
    cid = (await store.putArtifact(value)).cid
    await store.close()
  }, { reps, warmup: 1 })
  const write = await timeRuns(async (i) => {
    await writeFile(join(dir, `f${i}.bin`), bytes)
  }, { reps, warmup: 1 })
  compare({ group: 'store', name: `store ${SIZE / MiB} MiB Float64Array`, unit: 'ms', ours: put, base: write, baseline: 'fs.writeFile', target: '>= 0.6x' })

  store = await openStore({ location: join(dir, 's0') })
  const load = await timeRuns(async () => { await store.readArtifact(cid) }, { reps, warmup: 1 })
  const read = await timeRuns(async () => { await readFile(join(dir, 'f0.bin')) }, { reps, warmup: 1 })
  await store.close()
  compare({ group: 'store', name: `load ${SIZE / MiB} MiB Float64Array`, unit: 'ms', ours: load, base: read, baseline: 'fs.readFile', target: '>= 0.8x' })
  await rm(dir, { recursive: true, force: true })
}

async function small () {
  const dir = tempDir('store-small')
  const value = { a: 1, b: 2.5, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10 }
  const store = await openStore({ location: join(dir, 'store') })
  const { cid } = await store.putArtifact(value)

  const cbor = new Encoder({ useRecords: false })
  const db = new ClassicLevel(join(dir, 'bare'), { keyEncoding: 'view', valueEncoding: 'view' })
  const key = cid.bytes
  await db.put(key, cbor.encode(value))

  const n = quick ? 5000 : 20000
  const ours = await latency(async () => { await store.readArtifact(cid) }, { n, reps })
  const base = await latency(async () => { cbor.decode(await db.get(key)) }, { n, reps })
  compare({ group: 'store', name: 'get small artifact (10 numbers)', unit: 'µs', ours, base, baseline: 'classic-level get + cbor-x decode', target: '>= 0.77x (within 1.3x)' })
  await store.close()
  await db.close()
}

export { large, small }

if (import.meta.url === `file://${process.argv[1]}`) {
  await large()
  await small()
  report()
}
