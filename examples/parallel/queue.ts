/**
 * Many machines: the same map on a job queue (BullMQ on Redis). The tiles that
 * miss become jobs; `dds worker` processes on any machine compute them into
 * the team's shared store, and this run commits the paths. Identical calls from
 * several callers run once, and a worker that dies has its job retried by
 * another.
 *
 * The caller and every worker share the remote (an S3 bucket or a shared
 * directory) and the queue:
 *
 *   export DDS_REMOTE=file:///mnt/team/dds DDS_QUEUE=redis://127.0.0.1:6379
 *   node --import tsx node_modules/.bin/dds worker --store /tmp/worker-1 --modules examples/parallel/src/ &
 *   node --import tsx node_modules/.bin/dds worker --store /tmp/worker-2 --modules examples/parallel/src/ &
 *   npx tsx examples/parallel/queue.ts [width]
 *
 * (`--import tsx` lets a worker load the TypeScript module; a compiled
 * project's workers need no loader.) Prints one JSON line, as pool.ts does.
 */
import { open, type DdsEvent } from 'dds-ts'
import { renderTile, tilesOf } from './src/tiles.js'

const width = Number(process.argv[2] ?? 4)
let computed = 0
let reused = 0
const onEvent = (e: DdsEvent): void => {
  if (e.type === 'computed') computed++
  if (e.type === 'hit') reused++
  if (e.type === 'progress') process.stderr.write(`\r${e.path}: ${e.done}/${e.total} (${e.hits} reused)`)
}
// The remote is $DDS_REMOTE; the queue $DDS_QUEUE (or open({ queue: 'redis://...' })).
const dds = await open({ onEvent })
try {
  const digests = await dds.keepEach('/tiles', renderTile, tilesOf(width, 2), {
    runOn: 'queue',
    key: (tile) => `${tile.x}-${tile.y}`,
    // Jobs in flight at once: as many as the workers can take.
    concurrency: 16
  })
  process.stderr.write('\n')
  console.log(JSON.stringify({ tiles: digests.length, computed, reused, first: digests[0] }))
} finally {
  await dds.close()
}
