/**
 * A 512 MiB typed array through the LevelDB backend: chunked, streamed to
 * files and read back in place, with bounded peak memory.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { openStore } from '../../store/store.js'

const MiB = 1024 * 1024
const SIZE = 512 * MiB

function digest (a: Float64Array): string {
  return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex')
}

t.test('a 512 MiB Float64Array round-trips with peak memory well under 3x its size', async (t) => {
  const store = await openStore({ location: t.testdir() })
  t.teardown(async () => { await store.close() })
  const baseline = process.resourceUsage().maxRSS * 1024

  let value: Float64Array | undefined = new Float64Array(SIZE / 8)
  for (let i = 0; i < value.length; i += 4096) value[i] = i * 0.25
  value[value.length - 1] = -1.5
  const expected = digest(value)
  const info = await store.putArtifact(value)
  t.equal(info.size, SIZE)
  t.equal(info.chunks, SIZE / MiB)
  value = undefined

  const back = await store.readArtifact(info.cid) as Float64Array
  t.ok(back instanceof Float64Array)
  t.equal(back.length, SIZE / 8)
  t.equal(back[back.length - 1], -1.5)
  t.equal(digest(back), expected, 'same bytes')

  let streamed = 0
  const h = createHash('sha256')
  for await (const chunk of store.artifactBytes(info.cid)) {
    h.update(chunk)
    streamed += chunk.byteLength
  }
  t.equal(streamed, SIZE)
  t.equal(h.digest('hex'), expected, 'the stream gives the same bytes')

  const peak = process.resourceUsage().maxRSS * 1024 - baseline
  t.ok(peak < 2.5 * SIZE, `peak memory above baseline ${(peak / MiB).toFixed(0)} MiB for a ${SIZE / MiB} MiB artifact`)
})
