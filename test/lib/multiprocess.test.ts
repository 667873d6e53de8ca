/**
 * Several processes on one LevelDB store at once (SCENARIOS.md 36): 8 writers
 * x 300 keeps mixing identical calls, different calls on the same paths and
 * calls on their own paths, while another process reads. Nothing is lost,
 * every identical call runs exactly once, nobody sees a lock error.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore } from '../../store/store.js'
import { startNode } from '../helpers/spawn.js'
import { collect } from '../helpers/stores.js'

const worker = fileURLToPath(new URL('../fixtures/mp-worker.mjs', import.meta.url))
const reader = fileURLToPath(new URL('../fixtures/mp-reader.mjs', import.meta.url))
const WRITERS = 8
const KEEPS = 300

interface WorkerResult { ids: string, ms: number, committed: Array<{ path: string, seq: number, evaluation: string | null }>, errors: string[], stats: Record<string, number> }

t.test(`${WRITERS} processes x ${KEEPS} keeps on one store, with a reader`, async (t) => {
  const dir = t.testdir()
  const store = join(dir, 'store')
  const countFile = join(dir, 'count.txt')
  const stopFile = join(dir, 'stop')
  writeFileSync(countFile, '')

  const readerRun = startNode(reader, [store, join(dir, 'reader.json'), stopFile])
  const t0 = Date.now()
  const runs = Array.from({ length: WRITERS }, (_, i) => startNode(worker, [store, String(i), String(KEEPS), join(dir, `w${i}.json`)], { env: { COUNT_FILE: countFile } }))
  const exits = await Promise.all(runs.map((r) => r.done))
  const elapsed = Date.now() - t0
  writeFileSync(stopFile, '')
  const readerExit = await readerRun.done

  for (const [i, e] of exits.entries()) t.equal(e.code, 0, `writer ${i} exited cleanly${e.code === 0 ? '' : `: ${e.stderr.slice(-2000)}`}`)
  t.equal(readerExit.code, 0, `the reader exited cleanly ${readerExit.stderr.slice(-1000)}`)
  const results = exits.map((_, i) => JSON.parse(readFileSync(join(dir, `w${i}.json`), 'utf8')) as WorkerResult)
  const readerResult = JSON.parse(readFileSync(join(dir, 'reader.json'), 'utf8')) as { loads: number, histories: number, errors: string[] }
  t.same(results.flatMap((r) => r.errors), [], 'no writer saw an error (no lock error)')
  t.same(readerResult.errors, [], 'the reader saw no error')
  t.ok(readerResult.loads > 0, `the reader loaded ${readerResult.loads} values meanwhile`)

  // Every call ran exactly once across all processes.
  const executed = readFileSync(countFile, 'utf8').split('\n').filter(Boolean)
  const counts = new Map<string, number>()
  for (const k of executed) counts.set(k, (counts.get(k) ?? 0) + 1)
  const expected = new Set<string>()
  for (let id = 0; id < WRITERS; id++) {
    for (let i = 0; i < KEEPS; i++) expected.add(i % 3 === 0 ? `shared-${i % 30}` : i % 3 === 1 ? `common-${id}-${i}` : `own-${id}-${i}`)
  }
  t.same([...counts.keys()].sort(), [...expected].sort(), 'every distinct call ran')
  t.same([...counts.entries()].filter(([, n]) => n !== 1), [], 'no call ran twice')

  // Every history entry a process committed is there, and nothing else.
  const s = await openStore({ location: store })
  t.teardown(async () => { await s.close() })
  const reported = new Map<string, string[]>()
  for (const r of results) for (const c of r.committed) reported.set(c.path, [...(reported.get(c.path) ?? []), `${c.seq}:${c.evaluation}`])
  let entries = 0
  let complete = 0
  for await (const head of s.paths()) {
    const history = await collect(s.history(head.path))
    entries += history.length
    t.same(history.map((e) => `${e.seq}:${e.evaluation?.toString() ?? null}`).sort(), (reported.get(head.path) ?? []).sort(), `history of ${head.path}`)
    if (head.output !== null && (await s.readArtifact(head.output)) !== undefined) complete++
  }
  t.equal(entries, results.reduce((n, r) => n + r.committed.length, 0), 'as many history entries as commits reported')
  t.equal(complete, reported.size, 'every head resolves to complete data')

  // The same work in one process, for the throughput ratio.
  const one = startNode(worker, [join(dir, 'store-one'), Array.from({ length: WRITERS }, (_, i) => i).join(','), String(KEEPS), join(dir, 'one.json')], { env: { COUNT_FILE: join(dir, 'count-one.txt') } })
  const oneExit = await one.done
  t.equal(oneExit.code, 0, oneExit.stderr.slice(-1000))
  const oneMs = (JSON.parse(readFileSync(join(dir, 'one.json'), 'utf8')) as WorkerResult).ms
  const total = WRITERS * KEEPS
  t.comment(`${WRITERS} processes: ${total} keeps in ${elapsed} ms (${(total / elapsed * 1000).toFixed(0)}/s); one process: ${oneMs} ms (${(total / oneMs * 1000).toFixed(0)}/s); ratio ${(oneMs / elapsed).toFixed(2)}x`)
  t.comment(`leadership: ${JSON.stringify(results.map((r) => r.stats))}`)
})

t.test('a long computation does not keep the other processes waiting', async (t) => {
  const dir = t.testdir()
  const store = join(dir, 'store')
  const events = join(dir, 'events.txt')
  writeFileSync(events, '')
  const computer = startNode(fileURLToPath(new URL('../fixtures/long-compute.mjs', import.meta.url)), [store, events])
  const readerRun = startNode(fileURLToPath(new URL('../fixtures/quick-reader.mjs', import.meta.url)), [store, events])
  const [c, r] = await Promise.all([computer.done, readerRun.done])
  t.equal(c.code, 0, c.stderr.slice(-1000))
  t.equal(r.code, 0, r.stderr.slice(-1000))
  const at = (what: string): number => Number(readFileSync(events, 'utf8').split('\n').find((l) => l.startsWith(what + ' '))?.split(' ').pop())
  t.ok(at('loaded') < at('end 2'), 'the other process read the store while the long computation was still running')
})
