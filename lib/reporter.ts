/**
 * The ready reporter: the one opt-in place where the library prints. It turns
 * DdsEvents into the lines the weather demo prints (`computed  /path  5.4 ms`,
 * `reused    /path`) plus waits, failures, warnings and which store is used,
 * and on a terminal keeps a progress line (spinner, elapsed time) for the step
 * running now, so that a long step is not silence. Off a terminal it prints
 * the lines only: logs and pipes get no control characters.
 */
import type { DdsEvent, Reporter, ReporterOptions } from './interface.js'

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
/** Path column width: the demo's, so short pipelines line up. */
const PATH_WIDTH = 16
/** Progress redraws per second at most. */
const TICK_MS = 100

interface Running { path: string, what: 'running' | 'waiting', since: number, note: string }
interface Mapping { path: string, done: number, total: number, hits: number, since: number }

/** Width of a map's progress bar, in cells. */
const BAR_WIDTH = 20

/** `[██████░░░░]` for `done` of `total`. */
export function progressBar (done: number, total: number, width = BAR_WIDTH): string {
  const full = total <= 0 ? width : Math.min(width, Math.floor((done / total) * width))
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`
}

/** `40/100, 12 reused`: how far a map is. */
function mapCount (m: { done: number, total: number, hits: number }): string {
  return `${m.done}/${m.total}${m.hits > 0 ? `, ${m.hits} reused` : ''}`
}

/** `5.4 ms` under a second, `3.2 s` above. */
export function duration (ms: number): string {
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(1)} s`
}

function line (word: string, path: string, rest = ''): string {
  return rest === '' ? `${word.padEnd(9)} ${path}` : `${word.padEnd(9)} ${path.padEnd(PATH_WIDTH)} ${rest}`
}

const WHERE: Record<string, string> = {
  given: 'as given',
  env: 'from $DDS_STORE',
  found: 'found in the working directory or a parent',
  package: 'beside the nearest package.json',
  cwd: 'in the working directory'
}

/** The line an event prints as, or undefined for events the reporter does not print. */
export function eventLine (e: DdsEvent): string | undefined {
  switch (e.type) {
    case 'computed': return line('computed', e.path, duration(e.duration))
    case 'hit': return line('reused', e.path)
    case 'failed': return line('failed', e.path, duration(e.duration))
    case 'warning': return `warning: ${e.message}`
    case 'waiting': return line('waiting', e.path, waitNote(e))
    case 'progress': return e.done === e.total ? line('mapped', e.path, `${e.total} input${e.total === 1 ? '' : 's'}${e.hits > 0 ? `, ${e.hits} reused` : ''}`) : undefined
    case 'store': return `store     ${e.location ?? `(${e.backend})`} (${WHERE[e.found] ?? e.found}${e.readOnly ? ', read-only' : ''})`
    default: return undefined
  }
}

function waitNote (e: Extract<DdsEvent, { type: 'waiting' }>): string {
  if (e.by === 'call') return 'another call in this process is computing it'
  const h = e.holder
  return h === undefined ? 'another process is computing it' : `another process (pid ${h.pid} on ${h.host}) is computing it`
}

/**
 * A reporter printing to `stream` (default stderr).
 *
 * @example
 * const r = createReporter()
 * const dds = await open({ onEvent: (e) => { r.event(e) } })   // or simply open({ log: true })
 */
export function createReporter (options: ReporterOptions = {}): Reporter {
  const stream = options.stream ?? process.stderr
  const tty = stream.isTTY === true
  const running: Running[] = []
  const maps = new Map<string, Mapping>()
  let frame = 0
  let drawn = false
  let timer: NodeJS.Timeout | undefined

  const erase = (): void => {
    if (drawn) stream.write('\r\x1b[K')
    drawn = false
  }
  const draw = (): void => {
    if (!tty) return
    const top = running[running.length - 1]
    // A map in flight shows its bar; the step running now follows it.
    const map = [...maps.values()].pop()
    if (top === undefined && map === undefined) return
    const spin = SPINNER[frame++ % SPINNER.length] ?? ''
    const parts: string[] = []
    if (map !== undefined) parts.push(line('mapping', map.path, `${progressBar(map.done, map.total)} ${mapCount(map)}  ${duration(performance.now() - map.since)}`))
    if (top !== undefined) parts.push(map === undefined ? line(top.what, top.path, `${duration(performance.now() - top.since)}${top.note}`) : `${top.what} ${top.path}`)
    stream.write(`\r${spin} ${parts.join('  ·  ')}\x1b[K`)
    drawn = true
  }
  const schedule = (): void => {
    if (!tty) return
    if ((running.length > 0 || maps.size > 0) && timer === undefined) {
      timer = setInterval(draw, TICK_MS)
      // A progress line never keeps a process alive.
      timer.unref()
    } else if (running.length === 0 && maps.size === 0 && timer !== undefined) {
      clearInterval(timer)
      timer = undefined
    }
  }
  const settle = (path: string): void => {
    for (let i = running.length - 1; i >= 0; i--) if (running[i]?.path === path) running.splice(i, 1)
  }

  return {
    event (e) {
      const text = eventLine(e)
      if ('path' in e && e.type !== 'warning' && e.type !== 'progress') settle(e.path)
      if (e.type === 'progress') {
        const since = maps.get(e.path)?.since ?? performance.now()
        if (e.done >= e.total) maps.delete(e.path)
        else maps.set(e.path, { path: e.path, done: e.done, total: e.total, hits: e.hits, since })
      }
      if (e.type === 'miss') running.push({ path: e.path, what: 'running', since: performance.now(), note: '' })
      if (e.type === 'waiting') running.push({ path: e.path, what: 'waiting', since: performance.now(), note: e.by === 'process' ? ' (another process computes it)' : '' })
      erase()
      if (text !== undefined) stream.write(`${text}\n`)
      // Drawn at once: a synchronous step blocks the timer, and should still say what runs.
      draw()
      schedule()
    },
    tick () {
      erase()
      draw()
    },
    close () {
      running.length = 0
      maps.clear()
      schedule()
      erase()
    }
  }
}

/** True when `$DDS_LOG` asks for the reporter (`1`, `true`, `yes`). */
export function logFromEnv (env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.DDS_LOG?.toLowerCase()
  return v === '1' || v === 'true' || v === 'yes'
}
