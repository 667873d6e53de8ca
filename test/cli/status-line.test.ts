/**
 * The worker's status line: on a terminal it shows the jobs running now and
 * the counts so far below the job lines, erased before each line is printed;
 * off a terminal it writes nothing.
 */
import t from 'tap'
import { StatusLine } from '../../lib/cli/status-line.js'

function sink (isTTY: boolean): { stream: NodeJS.WritableStream & { isTTY: boolean }, text: () => string } {
  let out = ''
  const stream = { isTTY, write: (s: string) => { out += s; return true } } as unknown as NodeJS.WritableStream & { isTTY: boolean }
  return { stream, text: () => out }
}

t.test('on a terminal: running jobs and counts, redrawn around each printed line', async (t) => {
  const out = sink(true)
  const s = new StatusLine(out.stream)
  t.equal(s.text(), 'idle')
  const a = s.start('/tiles/1')
  const b = s.start('/tiles/2')
  t.match(s.text(), /^2 running: \/tiles\/1 [\d.]+ ms, \/tiles\/2 [\d.]+ ms$/)
  t.match(out.text(), /\r. 2 running: \/tiles\/1/, 'drawn when a job starts')
  const printed: string[] = []
  s.end(a, 'computed', () => { printed.push(out.text()) })
  t.match(printed[0], /\r\x1b\[K$/, 'the line is erased before the job line is printed')
  t.match(s.text(), /^1 running: \/tiles\/2 .*·  1 computed$/)
  s.end(b, 'reused', () => {})
  t.equal(s.text(), 'idle  ·  1 computed, 1 reused')
  s.end(undefined, 'failed', () => {})
  t.equal(s.text(), 'idle  ·  1 computed, 1 reused, 1 failed', 'a malformed job that never started still counts')
  s.close()
  t.match(out.text(), /\r\x1b\[K$/, 'closing erases it')
})

t.test('off a terminal: nothing but the printed lines', async (t) => {
  const out = sink(false)
  const s = new StatusLine(out.stream)
  const id = s.start('/a')
  let called = false
  s.end(id, 'computed', () => { called = true })
  s.close()
  t.ok(called)
  t.equal(out.text(), '')
})
