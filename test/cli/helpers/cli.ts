/**
 * Run the real `dds` binary (as installed: dist/bundle/dds.cjs) and real
 * pipelines: a temporary project whose script keeps several paths, with
 * nested keeps and loads, run in fresh processes.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createProject, repoRoot, type TempProject } from '../../helpers/project.js'

/**
 * The binary as installed (package.json's bin: the bundled CLI, run with its
 * code cache); `DDS_TEST_CLI=source` runs the compiled modules instead.
 */
export const MAIN = process.env.DDS_TEST_CLI === 'source' ? join(repoRoot, 'dist', 'lib', 'cli', 'main.js') : join(repoRoot, 'dist', 'bundle', 'dds.cjs')
/** Where the binaries the tests start keep their code cache (one directory for the run, not the user's). */
const CODE_CACHE = join(tmpdir(), `dds-test-code-cache-${process.getuid?.() ?? 'user'}`)

export interface Result {
  code: number | null
  stdout: string
  stderr: string
  /** stdout as bytes. */
  bytes: Buffer
}

function env (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...extra }
  delete e.NODE_OPTIONS
  delete e.NODE_V8_COVERAGE
  delete e.DDS_STORE
  e.DDS_CODE_CACHE ??= CODE_CACHE
  return { ...e, ...extra }
}

/** How `dds` is run: its store (`--store` added when given), working directory, environment, node's own flags. */
export interface RunOptions {
  store?: string
  cwd?: string
  env?: Record<string, string>
  node?: string[]
}

function argvOf (args: string[], options: RunOptions): string[] {
  return [...(options.node ?? []), MAIN, ...args, ...(options.store === undefined ? [] : ['--store', options.store])]
}

/** Spawn and collect stdout and stderr (bytes), and the exit code. */
function collect (file: string, argv: string[], options: RunOptions, extraEnv: Record<string, string> = {}): Promise<{ code: number | null, out: Buffer, err: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { cwd: options.cwd ?? repoRoot, env: env({ ...extraEnv, ...options.env }), stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    child.on('error', reject)
    child.on('close', (code) => { resolve({ code, out: Buffer.concat(out), err: Buffer.concat(err) }) })
  })
}

/** Run `dds ...args` and collect its output. */
export async function dds (args: string[], options: RunOptions = {}): Promise<Result> {
  const { code, out, err } = await collect(process.execPath, argvOf(args, options), options)
  return { code, stdout: out.toString('utf8'), stderr: err.toString('utf8'), bytes: out }
}

function shellQuote (s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

let ttyCount = 0

/**
 * Run `dds ...args` with stdout on a pseudo-terminal (util-linux `script`),
 * as a person at a terminal sees it; stderr is collected apart. Line ends
 * come back as `\n` (the terminal's `\r\n` undone).
 */
export async function ddsTty (args: string[], options: RunOptions = {}): Promise<Result> {
  const errFile = join(tmpdir(), `dds-tty-${process.pid}-${ttyCount++}.err`)
  const command = `${[process.execPath, ...argvOf(args, options)].map(shellQuote).join(' ')} 2>${shellQuote(errFile)}`
  const { code, out } = await collect('script', ['-q', '-e', '-c', command, '/dev/null'], options, { TERM: 'dumb' })
  let stderr = ''
  try {
    stderr = readFileSync(errFile, 'utf8')
    rmSync(errFile)
  } catch {}
  return { code, stdout: out.toString('utf8').replace(/\r\n/g, '\n'), stderr, bytes: out }
}

/** Lines of TSV output, split in fields. */
export function rows (stdout: string): string[][] {
  return stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'))
}

/** Make `import ... from 'dds-ts'` resolve to this repository in a temporary project. */
export function linkDdsTs (p: TempProject): void {
  mkdirSync(p.path('node_modules'), { recursive: true })
  symlinkSync(repoRoot, p.path('node_modules/dds-ts'), 'dir')
}

export const RAW_CSV = 'city,t\nparis,12\nlyon,15\nnice,18\n'

const STEPS = `import { readFileSync } from 'node:fs'
import { keep, load } from 'dds-ts'

export const SCALE = 10

function normalize (t: number): number {
  return t * SCALE
}

export function readRaw (file: string): string {
  return readFileSync(file, 'utf8')
}

export function parseRows (raw: string): Array<{ city: string, t: number }> {
  return raw.trim().split('\\n').slice(1).map((line) => {
    const [city, t] = line.split(',')
    return { city: city as string, t: normalize(Number(t)) }
  })
}

export function mean (xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length
}

export async function summary (): Promise<{ n: number, mean: number }> {
  const rows = await load<Array<{ t: number }>>('/data/rows')
  const m = await keep('/stats/mean', mean, rows.map((r) => r.t))
  return { n: rows.length, mean: m }
}

export function warmest (rows: Array<{ city: string, t: number }>): string {
  return rows.reduce((a, b) => (b.t > a.t ? b : a)).city
}

export function bigArray (n: number): Float64Array {
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.sin(i) * SCALE
  return out
}
`

const RUN = `import { configure, evaluate, keep, closeDefault } from 'dds-ts'
import { readRaw, parseRows, summary, warmest, bigArray } from './steps.js'

const computed: string[] = []
const hits: string[] = []
configure({ store: process.env.PIPELINE_STORE, onEvent: (e) => {
  if (e.type === 'computed') computed.push(e.path)
  if (e.type === 'hit') hits.push(e.path)
} })
await evaluate(async () => {
  const raw = await keep('/data/raw', readRaw, 'data/raw.csv')
  const rows = await keep('/data/rows', parseRows, raw)
  await keep('/stats/warmest', warmest, rows)
  await keep('/stats/summary', summary)
  await keep('/data/big', bigArray, Number(process.env.BIG_N ?? '300000'))
})
await closeDefault()
console.log(JSON.stringify({ computed: computed.sort(), hits: hits.sort() }))
`

/**
 * The pipeline project: /data/raw (a CSV file read as a string), /data/rows
 * (parsed, through a helper and a module constant), /stats/warmest (gets
 * the kept rows as its argument), /stats/summary (loads /data/rows, keeps
 * /stats/mean inside), /data/big (a 2.4 MB Float64Array, several chunks).
 */
export function pipelineProject (): TempProject {
  const p = createProject({ 'data/raw.csv': RAW_CSV, 'src/steps.ts': STEPS, 'src/run.ts': RUN })
  linkDdsTs(p)
  return p
}

/** Run the pipeline in a fresh process against `store`; returns which paths were computed and which were hits. */
export async function runPipeline (p: TempProject, store: string, env: Record<string, string> = {}): Promise<{ computed: string[], hits: string[] }> {
  return await p.run('tsx', 'src/run.ts', { env: { PIPELINE_STORE: store, ...env } }) as { computed: string[], hits: string[] }
}
