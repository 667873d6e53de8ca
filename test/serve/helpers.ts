/**
 * A store filled by real keep runs for the web view's tests: a metric that
 * changes with each run's argument, values and arguments carrying markup an
 * attacker would plant, an SVG picture with a script in it, records, and a
 * step that loads another, an Arrow table with a column named with markup; and `dds serve` started on it in its own process.
 */
import { symlinkSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createProject, type TempProject } from '../helpers/project.js'
import { startNode } from '../helpers/spawn.js'
import { linkDdsTs, MAIN } from '../cli/helpers/cli.js'

/** The markup planted in stored values and arguments: it must show as text and never run. */
export const EVIL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'

/** A column name carrying markup: it must show as text. */
export const EVIL_COLUMN = '<script>window.__pwned=1</script>'

/** Rows of the Arrow table /data/table holds (more than one page of the view). */
export const TABLE_ROWS = 120

const STEPS = `import { load } from 'dds-ts'
import * as arrow from 'apache-arrow'

export function cities (): arrow.Table {
  return arrow.tableFromArrays({
    city: Array.from({ length: ${TABLE_ROWS} }, (_, i) => 'city ' + i),
    t: Float64Array.from({ length: ${TABLE_ROWS} }, (_, i) => i / 2),
    ${JSON.stringify(EVIL_COLUMN)}: Int32Array.from({ length: ${TABLE_ROWS} }, (_, i) => i * 10)
  })
}

export function score (n: number): { accuracy: number, loss: number } {
  return { accuracy: 0.5 + n / 100, loss: 1 / n }
}

export function echo (s: string): string {
  return 'said: ' + s
}

export function picture (): Buffer {
  return Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><script>window.__pwned=1</script><rect width="40" height="20" fill="teal"/></svg>')
}

export function records (): Array<{ city: string, t: number }> {
  return [{ city: 'paris', t: 12 }, { city: 'lyon', t: 15 }]
}

export async function summary (): Promise<number> {
  const rows = await load<Array<{ t: number }>>('/data/records')
  // Not a number /models/score is called with: plan links equal primitives as a possible upstream.
  return rows.length * 100
}
`

const RUN = `import { configure, evaluate, keep, closeDefault } from 'dds-ts'
import { score, echo, picture, records, summary, cities } from './steps.js'

configure({ store: process.env.SERVE_STORE })
await evaluate(async () => {
  await keep('/models/score', score, Number(process.env.RUN_N ?? '1'))
  await keep('/evil/text', echo, ${JSON.stringify(EVIL)})
  await keep('/img/picture', picture)
  await keep('/data/records', records)
  await keep('/data/summary', summary)
  await keep('/data/table', cities)
})
await closeDefault()
console.log(JSON.stringify({ ok: true }))
`

/** The project; `run(n)` keeps its paths with the metric's argument `n`. */
export function serveProject (): TempProject {
  const p = createProject({ 'src/steps.ts': STEPS, 'src/run.ts': RUN })
  linkDdsTs(p)
  symlinkSync(fileURLToPath(new URL('../../node_modules/apache-arrow', import.meta.url)), p.path('node_modules/apache-arrow'), 'dir')
  return p
}

/** One run of the project in a fresh process against `store`. */
export async function runProject (p: TempProject, store: string, n: number): Promise<void> {
  await p.run('tsx', 'src/run.ts', { env: { SERVE_STORE: store, RUN_N: String(n) } })
}

/** `dds serve` in its own process (in `cwd`: the project whose source it shows), with the address it printed. */
export async function startServe (store: string, args: string[] = [], cwd?: string): Promise<{ url: string, stop: () => Promise<void> }> {
  const { child, done } = startNode(MAIN, ['serve', '--store', store, '--port', '0', ...args], cwd === undefined ? {} : { cwd })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d: string) => {
      out += d
      const line = out.split('\n')[0]
      if (out.includes('\n') && line !== undefined) resolve(line)
    })
    done.then((e) => { reject(new Error(`dds serve exited ${String(e.code)}: ${e.stderr}`)) }, reject)
  })
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM')
      await done
    }
  }
}

