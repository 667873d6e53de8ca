#!/usr/bin/env node
/**
 * `dds`: look into a store. Each command is its own module, loaded when used.
 * Data goes to stdout, diagnostics to stderr. Exit codes: 0 ok, 1 a coded
 * error (its code on stderr), 2 a usage mistake.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { isDdsError } from '../../store/index.js'
import { Context, UsageError, type Command } from './context.js'

const commands: Record<string, { summary: string, load: () => Promise<{ command: Command }> }> = {
  ls: { summary: 'list paths: current evaluation, output size, last update', load: async () => await (await import('./commands/remote.js')).ls() },
  log: { summary: 'the history of a path, newest first', load: async () => await (await import('./commands/remote.js')).log() },
  show: { summary: 'one evaluation: function, code, inputs, loads, calls, output', load: async () => await import('./commands/show.js') },
  cat: { summary: 'print an artifact (bytes and strings as they are, values as JSON)', load: async () => await import('./commands/cat.js') },
  why: { summary: 'what changed between two evaluations of a path', load: async () => await import('./commands/why.js') },
  plan: { summary: 'what the next run will recompute, and why, without running it', load: async () => await import('./commands/plan.js') },
  table: { summary: 'a path\'s history as a table: arguments, output, what changed', load: async () => await import('./commands/table.js') },
  plot: { summary: 'chart a number in a path\'s outputs over its history', load: async () => await import('./commands/plot.js') },
  graph: { summary: 'the lineage graph as DOT, Mermaid or an SVG picture', load: async () => await import('./commands/graph.js') },
  export: { summary: 'write paths and all they reach to a bundle (CAR file)', load: async () => await import('./commands/export.js') },
  import: { summary: 'verify a bundle, then add its paths to the store', load: async () => await import('./commands/import.js') },
  keygen: { summary: 'make an ed25519 key pair to sign bundles (export --sign)', load: async () => await import('./commands/keygen.js') },
  verify: { summary: 're-hash every block and check that every entry reaches complete data', load: async () => await import('./commands/verify.js') },
  du: { summary: 'disk usage per path: current value and history, shared blocks once', load: async () => await import('./commands/du.js') },
  gc: { summary: 'delete blocks nothing reaches (optionally trimming history)', load: async () => await import('./commands/gc.js') },
  tag: { summary: 'name a history entry (dds tag v1 /p), list or delete tags', load: async () => await import('./commands/tag.js') },
  invalidate: { summary: 'make the next keep of paths (--downstream: and what used them) run again', load: async () => await import('./commands/invalidate.js') },
  rm: { summary: 'delete paths and their answers (history stays until gc trims it)', load: async () => await import('./commands/rm.js') },
  push: { summary: 'send paths and all they reach to the remote (the team\'s store)', load: async () => await import('./commands/push.js') },
  pull: { summary: 'bring paths and all they reach from the remote into the store', load: async () => await import('./commands/pull.js') },
  worker: { summary: 'compute kept calls from a job queue (BullMQ on Redis) into the store', load: async () => await import('./commands/worker.js') },
  serve: { summary: 'a read-only web view: paths, histories, evaluations, metrics, lineage', load: async () => await import('./commands/serve.js') }
}

/** The command names (the binary keeps a code cache per command: lib/cli/launch.ts). */
export function commandNames (): string[] {
  return Object.keys(commands)
}

const common: NonNullable<ParseArgsConfig['options']> = {
  store: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
}

function mainHelp (): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length))
  return [
    'Usage: dds <command> [options]',
    '',
    'Look into a dds store: what is stored, what ran, why it re-ran; move paths between stores.',
    '',
    'Commands:',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Options of every command:',
    '  --store DIR  the store (default: $DDS_STORE, else .dds)',
    '  --json       print data as JSON (CIDs as strings)',
    '  -h, --help   explain the command, with an example',
    '',
    'Exit status: 0 success, 1 an error (its DDS_ code on stderr), 2 a usage mistake.',
    'Run `dds <command> --help` for details.',
    ''
  ].join('\n')
}

function commandHelp (c: Command): string {
  const opts: Array<[string, string]> = [
    ...(c.optionHelp ?? []),
    ['--store DIR', 'the store (default: $DDS_STORE, else .dds)'],
    ['--json', 'print data as JSON'],
    ['-h, --help', 'this help']
  ]
  const width = Math.max(...opts.map(([o]) => o.length))
  return [
    `Usage: ${c.usage}`,
    '',
    c.description.trim(),
    '',
    'Options:',
    ...opts.map(([o, d]) => `  ${o.padEnd(width)}  ${d}`),
    '',
    'Example:',
    ...c.example.trim().split('\n').map((l) => `  ${l}`),
    ''
  ].join('\n')
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two short words. */
function distance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  const at = (i: number, j: number): number => (d[i] as number[])[j] as number
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1)
      ;(d[i] as number[])[j] = v
    }
  }
  return at(a.length, b.length)
}

/** The command nearest to a mistyped one, when it is near enough to be what was meant (as git suggests). */
function nearest (typed: string, names: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const n of names) {
    const k = n.startsWith(typed.toLowerCase()) ? 0.5 : distance(typed.toLowerCase(), n)
    if (k < bestDistance) { best = n; bestDistance = k }
  }
  // Short words are near everything: allow one edit in them, more in longer ones.
  const allowed = typed.length < 4 ? 1 : Math.max(2, Math.floor(typed.length / 3))
  return bestDistance <= allowed ? best : undefined
}

async function main (argv: string[]): Promise<number> {
  const name = argv[0]
  if (name === undefined) {
    process.stderr.write(mainHelp())
    return 2
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = argv[1]
    if (name === 'help' && topic !== undefined && Object.hasOwn(commands, topic)) return await main([topic, '--help'])
    process.stdout.write(mainHelp())
    return 0
  }
  if (name === '--version') {
    // dist/lib/cli/main.js, or the bundle's dist/bundle/cli.cjs.
    const here = new URL('.', import.meta.url).pathname.endsWith('/dist/bundle/') ? '../../package.json' : '../../../package.json'
    const pkg = JSON.parse(await readFile(new URL(here, import.meta.url), 'utf8')) as { version: string }
    process.stdout.write(`${pkg.version}\n`)
    return 0
  }
  const entry = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (entry === undefined) {
    const near = nearest(name, Object.keys(commands))
    process.stderr.write(`dds: unknown command ${JSON.stringify(name)}${near === undefined ? '' : `; did you mean \`dds ${near}\`?`}\n\n${mainHelp()}`)
    return 2
  }
  const { command } = await entry.load()
  let ctx: Context
  try {
    const parsed = parseArgs({ args: argv.slice(1), options: { ...common, ...command.options }, allowPositionals: true, strict: true })
    if (parsed.values.help === true) {
      process.stdout.write(commandHelp(command))
      return 0
    }
    const [min, max] = command.positionals
    const n = parsed.positionals.length
    if (n < min || n > max) throw new UsageError(n < min ? 'missing argument' : `unexpected argument ${JSON.stringify(parsed.positionals[max])}`)
    ctx = new Context(name, parsed.positionals, parsed.values)
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      process.stderr.write(`dds ${name}: ${(err as Error).message}\nUsage: ${command.usage}\nRun \`dds ${name} --help\` for details.\n`)
      return 2
    }
    throw err
  }
  try {
    return (await command.run(ctx)) ?? 0
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`dds ${name}: ${err.message}\nUsage: ${command.usage}\n`)
      return 2
    }
    if (isDdsError(err)) {
      if (ctx.json) process.stderr.write(JSON.stringify(err.toJSON()) + '\n')
      else process.stderr.write(`dds ${name}: ${err.code}: ${err.message}\n`)
      return 1
    }
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') return 0
    throw err
  } finally {
    await ctx.close().catch(() => {})
  }
}

// A reader that stops early (`dds cat x | head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code
}, (err: unknown) => {
  process.stderr.write(`dds: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
