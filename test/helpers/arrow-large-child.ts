/**
 * The child of test/store/arrow-large.test.ts: builds an Arrow table of the
 * size given (bytes, 8 Float64 columns), stores it on a LevelDB store in the
 * directory given, drops it, reads it back, and prints one JSON line with the
 * column digests before and after and its own peak RSS above the baseline
 * taken before the table existed. Run with --expose-gc (so that the dropped
 * table is gone before the load, as in a process that stored it earlier).
 */
import { createHash } from 'node:crypto'
import * as arrow from 'apache-arrow'
import { openStore } from '../../store/store.js'

const COLUMNS = 8
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with --expose-gc')

function digests (table: arrow.Table): string[] {
  return table.schema.fields.map((f) => {
    const h = createHash('sha256')
    for (const d of (table.getChild(f.name) as arrow.Vector).data) h.update(d.values as Float64Array)
    return h.digest('hex')
  })
}

async function main (): Promise<void> {
  const [location, sizeArg] = process.argv.slice(2)
  const size = Number(sizeArg)
  const rows = size / COLUMNS / 8
  const store = await openStore({ location: location as string })
  gc?.()
  const baseline = process.resourceUsage().maxRSS * 1024
  let table: arrow.Table | undefined = arrow.tableFromArrays(Object.fromEntries(Array.from({ length: COLUMNS }, (_, c) => {
    const a = new Float64Array(rows)
    for (let i = 0; i < rows; i += 512) a[i] = i * (c + 1) + 0.5
    a[rows - 1] = -c
    return [`c${c}`, a]
  })))
  const before = digests(table)
  const info = await store.putArtifact(table)
  table = undefined
  gc?.()
  const back = await store.readArtifact(info.cid) as arrow.Table
  const after = digests(back)
  // Views over the one buffer the chunks were read into, not copies.
  const buffers = new Set(back.schema.fields.flatMap((f) => (back.getChild(f.name) as arrow.Vector).data.map((d) => (d.values as Float64Array).buffer)))
  const peak = process.resourceUsage().maxRSS * 1024 - baseline
  await store.close()
  process.stdout.write(JSON.stringify({ before, after, rows: back.numRows, cols: back.numCols, stored: info.size, chunks: info.chunks, views: buffers.size === 1, peak }) + '\n')
}

main().catch((err: unknown) => { process.stderr.write(String((err as Error).stack) + '\n'); process.exit(1) })
