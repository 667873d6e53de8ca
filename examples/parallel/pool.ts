/**
 * One machine, many cores: render the 8 tiles of a map on a pool of worker
 * threads. Each tile is kept at its own path (/tiles/0-0, /tiles/1-0, ...);
 * a second run reuses every tile, and adding tiles computes only the new ones.
 *
 *   npx tsx examples/parallel/pool.ts [width]
 *
 * The store is $DDS_STORE, else .dds. Prints one JSON line: how many tiles
 * were computed and reused, and the first tile's digest.
 */
import { open, type DdsEvent } from 'dds-ts'
import { renderTile, tilesOf } from './src/tiles.js'

const width = Number(process.argv[2] ?? 4)
let computed = 0
let reused = 0
const onEvent = (e: DdsEvent): void => {
  if (e.type === 'computed') computed++
  if (e.type === 'hit') reused++
  // A long map reports progress; a terminal would draw a bar from these.
  if (e.type === 'progress') process.stderr.write(`\r${e.path}: ${e.done}/${e.total} (${e.hits} reused)`)
}
// Two worker threads (the default is one per core).
const dds = await open({ threads: 2, onEvent })
try {
  const digests = await dds.keepEach('/tiles', renderTile, tilesOf(width, 2), {
    runOn: 'threads',
    key: (tile) => `${tile.x}-${tile.y}`
  })
  process.stderr.write('\n')
  console.log(JSON.stringify({ tiles: digests.length, computed, reused, first: digests[0] }))
} finally {
  await dds.close()
}
