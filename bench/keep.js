/**
 * A cache hit of keep on small values, against a plain call of the same
 * function, a bare store get (classic-level get + cbor-x decode, the floor)
 * and a hand-written JSON-file memo (what many users write themselves).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { ClassicLevel } from 'classic-level'
import { Encoder } from 'cbor-x'
import { open } from '../dist/lib/index.js'
import { quick, tempDir, latency, compare, figure, report } from './common.js'

function shortString (name) {
  return `hello ${name}`
}

function tenNumbers (seed) {
  const out = {}
  for (let i = 0; i < 10; i++) out[`k${i}`] = seed * i + 0.5
  return out
}

export async function hits () {
  const dir = tempDir('keep')
  const dds = await open({ store: join(dir, 'store') })
  const n = quick ? 3000 : 20000
  const reps = quick ? 3 : 5

  const cbor = new Encoder({ useRecords: false })
  const db = new ClassicLevel(join(dir, 'bare'), { keyEncoding: 'utf8', valueEncoding: 'view' })

  for (const [label, fn, arg] of [['short string', shortString, 'world'], ['object of 10 numbers', tenNumbers, 3]]) {
    const path = `/bench/${fn.name}`
    await dds.keep(path, fn, arg)
    await db.put(path, cbor.encode(fn(arg)))
    const memoFile = join(dir, `${fn.name}.json`)
    await writeFile(memoFile, JSON.stringify({ [JSON.stringify([arg])]: fn(arg) }))

    const hit = await latency(async () => { await dds.keep(path, fn, arg) }, { n, reps })
    const plain = await latency(async () => { fn(arg) }, { n, reps })
    const bare = await latency(async () => { cbor.decode(await db.get(path)) }, { n, reps })
    const jsonMemo = await latency(async () => {
      const memo = JSON.parse(await readFile(memoFile, 'utf8'))
      const key = JSON.stringify([arg])
      if (!(key in memo)) throw new Error('miss')
      return memo[key]
    }, { n: Math.min(n, 5000), reps })
    compare({ group: 'keep', name: `hit: ${label}`, unit: 'µs', ours: hit, base: bare, baseline: 'classic-level get + cbor-x decode (floor)', target: '>= 0.5x (within 2x)' })
    compare({ group: 'keep', name: `hit: ${label}`, unit: 'µs', ours: hit, base: jsonMemo, baseline: 'JSON-file memo (readFile + JSON.parse)', target: '> 1x' })
    compare({ group: 'keep', name: `hit: ${label}`, unit: 'µs', ours: hit, base: plain, baseline: 'plain call of the function', target: '' })
    figure({ group: 'keep', name: `hit latency: ${label}`, unit: 'µs', samples: hit, target: '< 100 µs' })
  }
  await dds.close()
  await db.close()
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await hits()
  report()
}
