/**
 * A 512 MiB Arrow table through the LevelDB backend: written as an IPC
 * stream in chunks, read back with its columns as views over the bytes
 * read, with peak memory under 1.5x its size (measured by a child process
 * over its own baseline, so the test runner's memory does not count).
 */
import t from 'tap'
import { join } from 'node:path'
import { repoRoot, tsxLoader } from '../helpers/project.js'
import { startNode } from '../helpers/spawn.js'

const MiB = 1024 * 1024
const SIZE = 512 * MiB

t.test('a 512 MiB Arrow table round-trips on LevelDB with peak memory under 1.5x its size', async (t) => {
  const child = join(repoRoot, 'test', 'helpers', 'arrow-large-child.ts')
  const { done } = startNode(child, [join(t.testdir(), 'store'), String(SIZE)], { nodeFlags: ['--expose-gc', '--import', tsxLoader] })
  const exit = await done
  t.equal(exit.code, 0, exit.stderr)
  const r = JSON.parse(exit.stdout.trim()) as { before: string[], after: string[], rows: number, cols: number, stored: number, chunks: number, views: boolean, peak: number }
  t.equal(r.rows, SIZE / 64)
  t.equal(r.cols, 8)
  t.ok(r.stored > SIZE && r.stored < SIZE + MiB, `stored as ${r.stored} bytes of IPC`)
  t.ok(r.chunks >= SIZE / MiB, 'chunked')
  t.same(r.after, r.before, 'every column reads back with the same bytes')
  t.ok(r.views, 'the columns are views over the bytes read')
  t.ok(r.peak < 1.5 * SIZE, `peak memory above baseline ${(r.peak / MiB).toFixed(0)} MiB for a ${SIZE / MiB} MiB table`)
})
