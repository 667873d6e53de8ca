/**
 * The ready reporter (issue 18): the lines it prints for each event, the
 * progress line on a terminal and nothing of it off one, and `DDS_LOG=1` /
 * `log: true` in real processes, with a pseudo-terminal where output depends on it.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { createReporter, eventLine, progressBar } from '../../lib/reporter.js'
import { open } from '../../lib/dds.js'
import type { DdsEvent } from '../../lib/interface.js'
import { startNode } from '../helpers/spawn.js'
import { distModule } from '../helpers/project.js'

const CIDX = CID.parse('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')

function sink (isTTY: boolean): { stream: NodeJS.WritableStream & { isTTY: boolean }, text: () => string } {
  let out = ''
  const stream = { isTTY, write: (s: string) => { out += s; return true } } as unknown as NodeJS.WritableStream & { isTTY: boolean }
  return { stream, text: () => out }
}

t.test('each event prints as one line in the demo format', async (t) => {
  t.equal(eventLine({ type: 'computed', path: '/weather/rows', evaluation: CIDX, duration: 5.44 }), 'computed  /weather/rows    5.4 ms')
  t.equal(eventLine({ type: 'computed', path: '/m', evaluation: CIDX, duration: 3210 }), 'computed  /m               3.2 s')
  t.equal(eventLine({ type: 'hit', path: '/weather/rows', evaluation: CIDX }), 'reused    /weather/rows')
  t.equal(eventLine({ type: 'warning', message: 'x is odd' }), 'warning: x is odd')
  t.match(eventLine({ type: 'waiting', path: '/m', by: 'process', holder: { pid: 42, host: 'box' } }), /^waiting {3}\/m +another process \(pid 42 on box\) is computing it$/)
  t.match(eventLine({ type: 'waiting', path: '/m', by: 'call' }), /another call in this process/)
  t.match(eventLine({ type: 'store', location: '/p/.dds', backend: 'classic', found: 'found', readOnly: true }), /^store {5}\/p\/\.dds \(found .*read-only\)$/)
  t.equal(eventLine({ type: 'miss', path: '/m' }), undefined, 'a miss alone prints nothing: its computed line follows')
})

t.test('off a terminal: lines only, no control characters', async (t) => {
  const out = sink(false)
  const r = createReporter({ stream: out.stream })
  r.event({ type: 'miss', path: '/a' })
  r.tick()
  r.event({ type: 'computed', path: '/a', evaluation: CIDX, duration: 1 })
  r.event({ type: 'hit', path: '/b', evaluation: CIDX })
  r.close()
  t.equal(out.text(), 'computed  /a               1.0 ms\nreused    /b\n')
})

t.test('on a terminal: a progress line for the running step, erased when it ends', async (t) => {
  const out = sink(true)
  const r = createReporter({ stream: out.stream })
  r.event({ type: 'miss', path: '/outer' })
  const first = out.text()
  t.match(first, /^\r. running {3}\/outer/, 'drawn at once: a synchronous step blocks timers')
  r.tick()
  const second = out.text().slice(first.length)
  t.match(second, /\r\x1b\[K\r. running/, 'a tick redraws the line')
  t.not(second.slice(4, 6), first.slice(1, 3), 'with the next spinner frame')
  r.event({ type: 'miss', path: '/outer/inner' })
  t.match(out.text(), /running {3}\/outer\/inner/, 'the innermost running step is shown')
  r.event({ type: 'computed', path: '/outer/inner', evaluation: CIDX, duration: 2 })
  const after = out.text()
  t.match(after, /\r\x1b\[Kcomputed  \/outer\/inner +2\.0 ms\n\r. running {3}\/outer/, 'the line is erased, the result printed, the outer step shown again')
  r.event({ type: 'failed', path: '/outer', duration: 3 })
  t.match(out.text().slice(after.length), /^\r\x1b\[Kfailed {4}\/outer +3\.0 ms\n$/, 'nothing is left running')
  r.close()
})

t.test('waiting is shown until the result arrives', async (t) => {
  const out = sink(true)
  const r = createReporter({ stream: out.stream })
  r.event({ type: 'waiting', path: '/w', by: 'process', holder: { pid: 7, host: 'h' } })
  t.match(out.text(), /waiting {3}\/w +another process \(pid 7 on h\)[^\n]*\n\r. waiting {3}\/w/)
  const before = out.text().length
  r.event({ type: 'hit', path: '/w', evaluation: CIDX })
  t.equal(out.text().slice(before), '\r\x1b[Kreused    /w\n')
  r.close()
})

t.test('open({ log }) prints through the reporter, and says which store', async (t) => {
  const out = sink(false)
  const dds = await open({ store: join(t.testdir(), 's'), log: { stream: out.stream } })
  await dds.keep('/n', (x: number) => x + 1, 1)
  await dds.keep('/n', (x: number) => x + 1, 1)
  await dds.close()
  const lines = out.text().split('\n')
  t.match(lines[0], /^store {5}\/.*\/s \(as given\)$/)
  t.match(lines[1], /^computed {2}\/n +\d+\.\d (ms|s)$/)
  t.equal(lines[2], 'reused    /n')
})

t.test('log: false wins over DDS_LOG, and events still reach onEvent', async (t) => {
  const seen: DdsEvent[] = []
  const saved = process.env.DDS_LOG
  process.env.DDS_LOG = '1'
  t.teardown(() => { if (saved === undefined) delete process.env.DDS_LOG; else process.env.DDS_LOG = saved })
  const dds = await open({ backend: 'memory', log: false, onEvent: (e) => { seen.push(e) } })
  await dds.keep('/n', () => 1)
  await dds.close()
  t.same(seen.map((e) => e.type), ['store', 'miss', 'computed', 'commit'])
})

const SCRIPT = (store: string): string => `
import { open } from ${JSON.stringify(distModule('lib/index.js'))}
const dds = await open({ store: ${JSON.stringify(store)} })
const double = (x) => x * 2
await dds.keep('/a', double, 21)
await dds.close()
console.log('done')
`

t.test('DDS_LOG=1 in a real process: what ran, then what was reused, on stderr only', async (t) => {
  const dir = t.testdir()
  const script = join(dir, 'run.mjs')
  writeFileSync(script, SCRIPT(join(dir, 'store')))
  const first = await startNode(script, [], { env: { DDS_LOG: '1' } }).done
  t.equal(first.code, 0, first.stderr)
  t.equal(first.stdout, 'done\n', 'stdout is the program\'s own')
  t.match(first.stderr, /^store {5}.*\/store \(as given\)\ncomputed {2}\/a +\d/)
  t.notMatch(first.stderr, /\x1b/, 'no control characters when stderr is not a terminal')
  const second = await startNode(script, [], { env: { DDS_LOG: '1' } }).done
  t.match(second.stderr, /\nreused {4}\/a\n/)
  const quiet = await startNode(script, [], { env: { DDS_LOG: '' } }).done
  t.equal(quiet.stderr, '', 'without DDS_LOG the library prints nothing')
})

const noPty = existsSync('/usr/bin/script') ? false : 'util-linux script(1) is not installed: no pseudo-terminal to test with'
t.test('on a pseudo-terminal the running step gets a progress line', { skip: noPty }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dds-pty-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const script = join(dir, 'run.mjs')
  writeFileSync(script, SCRIPT(join(dir, 'store')))
  const r = spawnSync('/usr/bin/script', ['-qec', `${process.execPath} ${script}`, '/dev/null'], {
    encoding: 'utf8', env: { ...cleanEnv(), DDS_LOG: '1' }, timeout: 120_000
  })
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /\r⠋ running {3}\/a[^\n]*\r\x1b\[Kcomputed {2}\/a/, 'spinner and path while it runs, erased before the result')
})

function cleanEnv (): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  for (const k of Object.keys(env)) if (k.startsWith('_TAPJS_')) delete env[k]
  return env
}

t.test('a keepEach map: a progress bar on a terminal, one line when it ends, no bar off a terminal', async (t) => {
  t.equal(progressBar(0, 4, 4), '[░░░░]')
  t.equal(progressBar(2, 4, 4), '[██░░]')
  t.equal(progressBar(4, 4, 4), '[████]')
  t.equal(eventLine({ type: 'progress', path: '/tiles', done: 1, total: 3, hits: 0 }), undefined, 'a map in flight prints no line of its own')
  t.equal(eventLine({ type: 'progress', path: '/tiles', done: 3, total: 3, hits: 2 }), 'mapped    /tiles           3 inputs, 2 reused')

  const tty = sink(true)
  const r = createReporter({ stream: tty.stream })
  r.event({ type: 'progress', path: '/tiles', done: 1, total: 4, hits: 1 })
  t.match(tty.text(), /mapping {3}\/tiles +\[█{5}░{15}\] 1\/4, 1 reused/, 'the bar and the count')
  r.event({ type: 'miss', path: '/tiles/1' })
  t.match(tty.text().split('\r').pop(), /mapping .*·  running \/tiles\/1/, 'the step running now follows the bar')
  r.event({ type: 'computed', path: '/tiles/1', evaluation: CIDX, duration: 1 })
  r.event({ type: 'progress', path: '/tiles', done: 4, total: 4, hits: 1 })
  const end = tty.text().split('\n')
  t.ok(end.some((l) => l.endsWith('mapped    /tiles           4 inputs, 1 reused')), 'the map ends with its line')
  const before = tty.text().length
  r.tick()
  t.equal(tty.text().slice(before), '', 'nothing is drawn once the map ended')
  r.close()

  const pipe = sink(false)
  const p = createReporter({ stream: pipe.stream })
  p.event({ type: 'progress', path: '/tiles', done: 1, total: 2, hits: 0 })
  p.event({ type: 'progress', path: '/tiles', done: 2, total: 2, hits: 0 })
  p.close()
  t.equal(pipe.text(), 'mapped    /tiles           2 inputs\n')
})
