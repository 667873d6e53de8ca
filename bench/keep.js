/**
 * A cache hit of keep on small values (a short string, an object of 10
 * numbers), against:
 * - a bare store read: classic-level `get` plus cbor-x decode (the floor), and
 *   the same with `getSync` (no thread-pool round trip; dds-ts reads this way);
 * - a hand-written JSON-file memo (`fs.readFile` + `JSON.parse`, what many
 *   users write themselves);
 * - a plain call of the function.
 * The contenders run in alternation (each repetition runs each of them for n
 * calls), so a busy machine slows them alike.
 *
 *   node bench/keep.js [--quick]
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { Encoder } from 'cbor-x'
import { open, configure, keep, closeDefault } from '../dist/lib/index.js'
import { quick, tempDir, isMain, interleaved, compare, figure, report, progress } from './common.js'

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
  configure({ store: join(dir, 'default-store') })
  const n = quick ? 2000 : 10000
  const reps = quick ? 3 : 7

  const cbor = new Encoder({ useRecords: false })
  const db = new ClassicLevel(join(dir, 'bare'), { keyEncoding: 'utf8', valueEncoding: 'view' })

  for (const [label, fn, arg] of [['short string', shortString, 'world'], ['object of 10 numbers', tenNumbers, 3]]) {
    progress(`keep: hit, ${label}`)
    const path = `/bench/${fn.name}`
    await dds.keep(path, fn, arg)
    await keep(path, fn, arg)
    await db.put(path, cbor.encode(fn(arg)))
    const memoFile = join(dir, `${fn.name}.json`)
    await writeFile(memoFile, JSON.stringify({ [JSON.stringify([arg])]: fn(arg) }))

    const [hit, moduleHit, bare, bareSync, jsonMemo, plain] = await interleaved([
      async () => { await dds.keep(path, fn, arg) },
      async () => { await keep(path, fn, arg) },
      async () => { cbor.decode(await db.get(path)) },
      async () => { cbor.decode(db.getSync(path)) },
      async () => {
        const memo = JSON.parse(await readFile(memoFile, 'utf8'))
        const key = JSON.stringify([arg])
        if (!(key in memo)) throw new Error('miss')
        return memo[key]
      },
      async () => { fn(arg) }
    ], { n, reps })
    compare({ group: 'keep', name: `hit: ${label}`, unit: 'µs', ours: hit, base: bare, baseline: 'classic-level get + cbor-x decode (floor)', target: '>= 0.5x' })
    compare({ group: 'keep', name: `hit: ${label}`, unit: 'µs', ours: hit, base: jsonMemo, baseline: 'JSON-file memo (readFile + JSON.parse)', target: '> 1x' })
    compare({ group: 'keep', name: `hit: ${label}`, unit: 'µs', ours: hit, base: bareSync, baseline: 'classic-level getSync + cbor-x decode' })
    compare({ group: 'keep', name: `hit: ${label}`, unit: 'µs', ours: hit, base: plain, baseline: 'plain call of the function' })
    compare({ group: 'keep', name: `hit, module-level keep(): ${label}`, unit: 'µs', ours: moduleHit, base: bare, baseline: 'classic-level get + cbor-x decode (floor)', target: '>= 0.5x' })
    figure({ group: 'keep', name: `hit rate: ${label}`, unit: 'keeps/s', samples: hit.map((us) => 1e6 / us), better: 'higher' })
  }
  await dds.close()
  await closeDefault()
  await db.close()
}

export { hits as main }

if (isMain(import.meta)) {
  await hits()
  report()
}
