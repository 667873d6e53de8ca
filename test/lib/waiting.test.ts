/**
 * The `waiting` event (issue 18): a process that finds another process
 * computing the identical call says so (path, holder's pid) instead of being
 * silent, and the reporter prints it; then it reuses the other's result.
 * Two real processes; the computing one waits for a signal the test sends
 * only once the waiting one has said it waits, so nothing depends on timing.
 * (A signal, not a file: a kept function's file reads are its dependencies.)
 */
import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startNode } from '../helpers/spawn.js'
import { distModule } from '../helpers/project.js'
import { open } from '../../lib/dds.js'
import { annotate } from '../../lib/annotations.js'
import type { DdsEvent } from '../../lib/interface.js'

const WORKER = `
import { appendFileSync, writeFileSync } from 'node:fs'
import { open } from ${JSON.stringify(distModule('lib/index.js'))}
const [store, dir] = process.argv.slice(2)
async function slow (n) {
  // A signal handler alone does not keep the process alive: the interval does.
  const alive = setInterval(() => {}, 1000)
  const go = new Promise((resolve) => { process.once('SIGUSR2', () => { clearInterval(alive); resolve() }) })
  appendFileSync(dir + '/runs', process.pid + '\\n')
  writeFileSync(dir + '/started', '')
  await go
  return n * 2
}
const dds = await open({ store, onEvent: (e) => { process.stdout.write(JSON.stringify(e) + '\\n') } })
const value = await dds.keep('/slow', slow, 21)
await dds.close()
process.stdout.write(JSON.stringify({ type: 'result', value }) + '\\n')
`

async function until (what: () => boolean): Promise<void> {
  while (!what()) await sleep(10)
}

t.test('a process waiting for another process\'s identical call says so, then reuses it', async (t) => {
  const dir = t.testdir()
  const worker = join(dir, 'worker.mjs')
  writeFileSync(worker, WORKER)
  const store = join(dir, 'store')
  const a = startNode(worker, [store, dir])
  await until(() => existsSync(join(dir, 'started')))
  const b = startNode(worker, [store, dir], { env: { DDS_LOG: '1' } })
  let out = ''
  b.child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  const bExit = b.done
  await until(() => out.includes('"waiting"'))
  a.child.kill('SIGUSR2')
  const [ea, eb] = await Promise.all([a.done, bExit])
  t.equal(ea.code, 0, ea.stderr)
  t.equal(eb.code, 0, eb.stderr)
  const events = eb.stdout.trim().split('\n').map((l) => JSON.parse(l) as DdsEvent | { type: 'result', value: number })
  const waiting = events.find((e) => e.type === 'waiting') as Extract<DdsEvent, { type: 'waiting' }>
  t.same(waiting, { type: 'waiting', path: '/slow', by: 'process', holder: { pid: a.child.pid, host: waiting.holder?.host } })
  t.ok(events.some((e) => e.type === 'hit' && e.path === '/slow'), 'then the other\'s result is reused')
  t.notOk(events.some((e) => e.type === 'computed'), 'and nothing is computed twice')
  t.same(events.at(-1), { type: 'result', value: 42 })
  t.equal(readFileSync(join(dir, 'runs'), 'utf8').trim().split('\n').length, 1, 'the function ran once')
  t.match(eb.stderr, new RegExp(`\\nwaiting {3}/slow +another process \\(pid ${String(a.child.pid)} on [^)]+\\) is computing it\\nreused {4}/slow\\n`), 'the reporter shows the wait')
})

t.test('two calls in one process on two instances: the second waits for the first', async (t) => {
  const store = join(t.testdir(), 's')
  const seen: DdsEvent[] = []
  const one = await open({ store })
  const two = await open({ store, onEvent: (e) => { seen.push(e) } })
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  let runs = 0
  const f = async (): Promise<number> => { runs++; await gate; return 7 }
  // The counter and the gate change while it runs: they are not what it computes.
  annotate(f, { ignore: ['runs', 'gate'] })
  const first = one.keep('/g', f)
  await until(() => runs === 1)
  const second = two.keep('/g', f)
  // The second instance says it waits before the first finishes.
  while (!seen.some((e) => e.type === 'waiting')) await sleep(5)
  release()
  t.same(await Promise.all([first, second]), [7, 7])
  t.equal(runs, 1)
  t.same(seen.find((e) => e.type === 'waiting'), { type: 'waiting', path: '/g', by: 'call' })
  await one.close()
  await two.close()
})

t.test('identical concurrent calls on one instance: the second says it waits', async (t) => {
  const seen: DdsEvent[] = []
  const dds = await open({ backend: 'memory', onEvent: (e) => { seen.push(e) } })
  const f = async (): Promise<number> => { await sleep(1); return 1 }
  await Promise.all([dds.keep('/p', f), dds.keep('/p', f)])
  t.same(seen.filter((e) => e.type === 'waiting'), [{ type: 'waiting', path: '/p', by: 'call' }])
  await dds.close()
})
