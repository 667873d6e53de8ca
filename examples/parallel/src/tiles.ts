/**
 * The kept step of the parallel examples: rendering one tile of a map, here a
 * CPU-bound chain of sha256 digests standing in for parsing, fitting or
 * simulating. Exported from a module of its own, so that a worker thread or a
 * queue worker on another machine can load it by its name.
 */
import { createHash } from 'node:crypto'

/** One tile of the map. */
export interface Tile {
  x: number
  y: number
}

/** Work per tile: about 20-40 ms on one core. */
const ROUNDS = 300

/**
 * The tile's digest, after `ROUNDS` rounds of sha256 over 64 KiB.
 *
 * @example
 * renderTile({ x: 0, y: 1 }) // '5f1c…'
 */
export function renderTile ({ x, y }: Tile): string {
  const block = Buffer.alloc(64 * 1024, (x * 31 + y) & 0xff)
  let h = createHash('sha256').update(`${x},${y}`).digest()
  for (let i = 0; i < ROUNDS; i++) h = createHash('sha256').update(h).update(block).digest()
  return h.toString('hex')
}

/** The tiles of a `width` × `height` map, row by row. */
export function tilesOf (width: number, height: number): Tile[] {
  return Array.from({ length: width * height }, (_, i) => ({ x: i % width, y: Math.floor(i / width) }))
}
