/**
 * Keeps the examples of docs/cli.md true: runs the weather example three
 * times (as is, with TEMP_BOUNDS narrowed, reverted) in a temporary project,
 * then every command of every example block of docs/cli.md with the real
 * `dds` binary (dist/lib/cli/main.js), and writes their real output into the
 * blocks. Hand-written prose stays as it is.
 *
 *   npx tsx scripts/cli-docs.ts            rewrite docs/cli.md
 *   npx tsx scripts/cli-docs.ts --check    exit 1 when docs/cli.md is not what it would write
 *   --file PATH                            another file than docs/cli.md
 *
 * An example block is a fence with no language whose first line is `$ CMD`;
 * each `$ ` line is run by `sh` in the project (stderr with stdout, as a
 * terminal shows them), with `dds` on the PATH and `.dds` the store. A line
 * `<!-- cli-docs: CMD -->` outside the blocks runs CMD there, unseen (to damage
 * a copy of the store, say). Times, CIDs of evaluations and durations differ
 * from run to run, so --check compares with them (and every number) masked.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const BOUNDS = 'export const TEMP_BOUNDS = { min: -60, max: 60 }'
const NARROW = 'export const TEMP_BOUNDS = { min: -50, max: 50 }'

/** A temporary project holding the weather example at examples/weather, dds-ts linked, `dds` on its PATH. */
export function makeProject (): { root: string, env: NodeJS.ProcessEnv } {
  const root = mkdtempSync(join(tmpdir(), 'dds-cli-docs-'))
  cpSync(join(repo, 'examples', 'weather'), join(root, 'examples', 'weather'), { recursive: true, filter: (src) => !src.includes(`${join('weather', 'out')}`) })
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'weather', private: true, type: 'module' }, null, 2) + '\n')
  mkdirSync(join(root, 'node_modules'))
  symlinkSync(repo, join(root, 'node_modules', 'dds-ts'), 'dir')
  mkdirSync(join(root, 'bin'))
  writeFileSync(join(root, 'bin', 'dds'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(repo, 'dist', 'lib', 'cli', 'main.js'))} "$@"\n`, { mode: 0o755 })
  mkdirSync(join(root, 'docs'))
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(root, 'bin')}:${process.env.PATH ?? ''}`, DDS_STORE: '.dds', TZ: 'UTC' }
  delete env.NODE_OPTIONS
  delete env.DDS_REMOTE
  delete env.DDS_LOG
  return { root, env }
}

function runExample (root: string, env: NodeJS.ProcessEnv): void {
  // Quiet unless it fails: execFileSync's error then carries the example's stderr.
  execFileSync(process.execPath, [join(repo, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'examples/weather/run.ts'], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Fill the project's store as the docs describe: three runs, the middle one with narrower bounds. */
function fill (root: string, env: NodeJS.ProcessEnv): void {
  const clean = join(root, 'examples', 'weather', 'src', 'clean.ts')
  const source = readFileSync(clean, 'utf8')
  if (!source.includes(BOUNDS)) throw new Error(`examples/weather/src/clean.ts no longer has ${BOUNDS}: update scripts/cli-docs.ts`)
  runExample(root, env)
  writeFileSync(clean, source.replace(BOUNDS, NARROW))
  runExample(root, env)
  writeFileSync(clean, source)
  runExample(root, env)
}

function shell (root: string, env: NodeJS.ProcessEnv, command: string): string {
  return session(root, env, [command])[0] as string
}

const MARK = '@@cli-docs-end-of-output@@'

/**
 * Run commands in one `sh`, each with stderr beside stdout, so that `$?` in
 * one is the status of the one before; the output of each, apart.
 */
function session (root: string, env: NodeJS.ProcessEnv, commands: string[]): string[] {
  const script = commands.map((c) => `{ ${c}
} 2>&1; __status=$?; echo; echo ${MARK}; (exit $__status)`).join('\n')
  const r = spawnSync('sh', ['-c', script], { cwd: root, env, encoding: 'utf8', maxBuffer: 64 << 20 })
  if (r.error !== undefined) throw r.error
  const parts = r.stdout.split(root).join('/home/me/weather').split(`\n${MARK}\n`)
  // `echo` before the mark ends every output with a line break of its own.
  return commands.map((_, k) => (parts[k] ?? '').replace(/\n$/, ''))
}

const FENCE = '```'
const SETUP = /^<!-- cli-docs: ([\s\S]*?) -->$/

/** docs/cli.md with every example block's output replaced by what its commands print now. */
export function generate (text: string): string {
  const { root, env } = makeProject()
  try {
    fill(root, env)
    const lines = text.split('\n')
    const out: string[] = []
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string
      const setup = SETUP.exec(line)
      if (setup !== null) shell(root, env, setup[1] as string)
      const first = lines[i + 1]
      if (line !== FENCE || first === undefined || !first.startsWith('$ ')) {
        out.push(line)
        continue
      }
      // An example block: keep its commands, replace what follows each.
      let j = i + 1
      const commands: string[] = []
      for (; j < lines.length && lines[j] !== FENCE; j++) if ((lines[j] as string).startsWith('$ ')) commands.push((lines[j] as string).slice(2))
      if (j === lines.length) throw new Error(`an example block opened at line ${i + 1} is not closed`)
      out.push(FENCE)
      const printed = session(root, env, commands)
      commands.forEach((c, k) => {
        if (k > 0) out.push('')
        out.push(`$ ${c}`)
        const text = (printed[k] as string).replace(/\n$/, '')
        if (text !== '') out.push(text)
      })
      out.push(FENCE)
      i = j
    }
    return out.join('\n')
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

/** What may differ between two faithful runs: times, CIDs (evaluations hold their times), numbers (durations, sizes of records). */
export function masked (text: string): string {
  return text
    .replace(/\bbaf[a-z2-7]{20,}\b/g, 'CID')
    // Keys, signatures and digests are new on every run (a key pair is made afresh).
    .replace(/\b[0-9a-f]{16,}\b/g, 'HEX')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'TIME')
    .replace(/\d+(\.\d+)?/g, 'N')
}

function main (argv: string[]): number {
  const check = argv.includes('--check')
  const at = argv.indexOf('--file')
  const file = at === -1 ? join(repo, 'docs', 'cli.md') : resolve(argv[at + 1] ?? '')
  const current = readFileSync(file, 'utf8')
  const fresh = generate(current)
  if (!check) {
    writeFileSync(file, fresh)
    return 0
  }
  if (masked(fresh) === masked(current)) return 0
  const a = masked(current).split('\n')
  const b = masked(fresh).split('\n')
  const n = a.findIndex((l, k) => l !== b[k])
  const line = n === -1 ? a.length : n
  process.stderr.write(`${file} is not what scripts/cli-docs.ts writes (first difference at line ${line + 1}):\n- ${current.split('\n')[line] ?? ''}\n+ ${fresh.split('\n')[line] ?? ''}\nRun: npx tsx scripts/cli-docs.ts\n`)
  return 1
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2))
