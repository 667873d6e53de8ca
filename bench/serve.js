/**
 * The web view's first page on a large store: 10,000 paths and one path
 * with 5,000 history entries (all made by keep). Timed: what the browser
 * fetches to show the paths page (the page and the first page of paths) and
 * a history page of the long path (table rows with what changed), over HTTP
 * from `serve` in this process. Target: under 1 s each (the lists are paginated).
 *
 *   node bench/serve.js [--quick]
 */
import { join } from 'node:path'
import { open } from '../dist/lib/index.js'
import { serve } from '../dist/lib/serve/server.js'
import { quick, tempDir, isMain, timeRuns, figure, report, progress } from './common.js'

function value (i) {
  return { accuracy: i / 10_000 }
}

export async function main () {
  const paths = quick ? 2000 : 10_000
  const entries = quick ? 1000 : 5000
  const location = join(tempDir('serve'), 'store')
  const dds = await open({ store: location })
  progress(`serve: keeping ${paths} paths and ${entries} entries of one path`)
  for (let i = 0; i < paths; i++) await dds.keep(`/p/g${i % 100}/x${i}`, value, i)
  for (let i = 0; i < entries; i++) await dds.keep('/long/metric', value, i)
  const s = await serve(dds.store)
  const get = async (p) => {
    const res = await fetch(`http://127.0.0.1:${s.port}${p}`)
    if (!res.ok) throw new Error(`${p}: ${res.status}`)
    await res.arrayBuffer()
  }
  const reps = quick ? 3 : 7
  progress('serve: first page of paths, and of the long history')
  const first = await timeRuns(async () => { await Promise.all([get('/'), get('/app.js'), get('/api/paths?limit=100&prefix=')]) }, { reps })
  figure({ group: 'serve', name: `paths page: page + first 100 of ${paths} paths`, unit: 'ms', samples: first, target: '< 1000' })
  const history = await timeRuns(async () => { await get('/api/history?path=/long/metric&limit=50') }, { reps })
  figure({ group: 'serve', name: `history page: newest 50 of ${entries} entries, with changes`, unit: 'ms', samples: history, target: '< 1000' })
  await s.close()
  await dds.close()
}

if (isMain(import.meta)) {
  await main()
  report()
}
