/**
 * A temporary project on disk for tests about code changes: write files, edit
 * them, compile with tsc (source maps on, output in `dist/`), and run a script
 * in a fresh Node process under tsx or as compiled JavaScript. The script
 * prints JSON on stdout; `run` returns it parsed.
 *
 * @example
 * const p = createProject({
 *   'src/a.ts': 'export const f = (x: number) => x + 1',
 *   'src/main.ts': `import { f } from './a.js'; console.log(JSON.stringify(f(1)))`
 * })
 * await p.build()
 * await p.run('tsx', 'src/main.ts')  // 2
 * await p.run('tsc', 'src/main.ts')  // 2, from dist/src/main.js
 * p.edit('src/a.ts', 'x + 1', 'x + 2')
 * p.remove()
 */
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** The repository root (where package.json and node_modules are). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** tsx's loader, for `node --import`. */
export const tsxLoader = pathToFileURL(join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href

const tscBin = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc')

/**
 * The file URL of a compiled module of this repository, for a child script to
 * import by absolute path (`distModule('lib/signature/index.js')`). The repo
 * must be built (`npm run build`; `npm test` builds first).
 *
 * @example
 * `import { codeSignature } from ${JSON.stringify(distModule('lib/signature/index.js'))}`
 */
export function distModule (rel: string): string {
  const file = join(repoRoot, 'dist', rel)
  if (!existsSync(file)) throw new Error(`${file} is missing: build the repository first (npx tsc -p tsconfig.json)`)
  return pathToFileURL(file).href
}

/** How a script is run: `tsx` runs the `.ts` source, `tsc` the compiled `dist/` output. */
export type Runner = 'tsx' | 'tsc'

/** Options of {@link TempProject.run}. */
export interface RunOptions {
  /** Extra environment variables. */
  env?: Record<string, string>
  /** Extra Node options placed before the script (`--experimental-permission`). */
  execArgv?: string[]
  /** Arguments after the script. */
  args?: string[]
}

/** Options of {@link createProject}. */
export interface ProjectOptions {
  /** Directory to create the project in (it must not exist or be empty); a fresh temporary directory by default. */
  dir?: string
  /** Fields of package.json; default `{ name: 'fixture', version: '1.0.0', type: 'module' }`. */
  packageJson?: Record<string, unknown>
}

const DEFAULT_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    sourceMap: true,
    outDir: 'dist',
    rootDir: '.',
    strict: false,
    skipLibCheck: true,
    // Emit only: type checking fixtures would need @types/node and cost seconds per build.
    noCheck: true,
    types: [],
    lib: ['es2023']
  },
  include: ['**/*.ts', '**/*.tsx', '**/*.mts'],
  exclude: ['node_modules', 'dist']
}

function childEnv (extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  // The test runner's loaders and coverage must not leak into the child.
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  for (const k of Object.keys(env)) if (k.startsWith('_TAPJS_PROCESSINFO')) delete env[k]
  return env
}

/**
 * The test runner wraps `spawn` to inject its coverage hooks into children
 * through NODE_OPTIONS, after our environment is built; `env -u` removes them
 * again just before Node starts (the hooks also refuse to load under Node's
 * permission model).
 */
const envBin = existsSync('/usr/bin/env') ? '/usr/bin/env' : undefined

function exec (args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const [cmd, argv] = envBin === undefined
      ? [process.execPath, args]
      : [envBin, ['-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', process.execPath, ...args]]
    const child = spawn(cmd, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }))
  })
}

/** A project in a temporary directory. */
export class TempProject {
  /** Absolute path of the project directory. */
  readonly root: string

  constructor (root: string) {
    this.root = root
  }

  /** Absolute path of a project file. */
  path (rel: string): string {
    return join(this.root, rel)
  }

  /** Write (or overwrite) a file, creating directories. */
  write (rel: string, content: string): void {
    const file = this.path(rel)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, content)
  }

  /** Read a file. */
  read (rel: string): string {
    return readFileSync(this.path(rel), 'utf8')
  }

  /**
   * Replace text in a file (every occurrence of a string, or what a RegExp
   * matches). Throws when nothing matches, so a stale edit fails loudly.
   */
  edit (rel: string, search: string | RegExp, replacement: string): void {
    const before = this.read(rel)
    const after = typeof search === 'string' ? before.split(search).join(replacement) : before.replace(search, replacement)
    if (after === before) throw new Error(`edit of ${rel}: ${String(search)} not found`)
    this.write(rel, after)
  }

  /** A copy of the whole project (sources, node_modules, dist) in a new directory. */
  copy (dir?: string): TempProject {
    const root = dir ?? mkdtempSync(join(tmpdir(), 'dds-project-'))
    try {
      cpSync(this.root, root, { recursive: true })
    } catch (err) {
      if (dir === undefined) rmSync(root, { recursive: true, force: true })
      throw err
    }
    return new TempProject(root)
  }

  /** Compile with tsc into `dist/` (emit only, source maps on). Rejects with tsc's output on failure. */
  async build (): Promise<void> {
    const r = await exec([tscBin, '-p', this.path('tsconfig.json')], this.root, childEnv(undefined))
    if (r.code !== 0) throw new Error(`tsc failed (${String(r.code)}):\n${r.stdout}${r.stderr}`)
  }

  /** The file a runner executes for a source entry (`src/main.ts` or `dist/src/main.js`). */
  entryFor (runner: Runner, entry: string): string {
    if (runner === 'tsx') return this.path(entry)
    return this.path(join('dist', entry.replace(/\.tsx?$/, '.js').replace(/\.mts$/, '.mjs')))
  }

  /**
   * Run a script in a fresh process and parse its stdout as JSON. Rejects
   * with the exit code and stderr when the process fails.
   */
  async run (runner: Runner, entry: string, options: RunOptions = {}): Promise<unknown> {
    const args = [...(options.execArgv ?? [])]
    if (runner === 'tsx') args.push('--import', tsxLoader)
    args.push(this.entryFor(runner, entry), ...(options.args ?? []))
    const r = await exec(args, this.root, childEnv(options.env))
    if (r.code !== 0) throw new Error(`${runner} ${entry} exited with ${String(r.code)}:\n${r.stderr}`)
    try {
      return JSON.parse(r.stdout)
    } catch {
      throw new Error(`${runner} ${entry} printed no JSON:\n${r.stdout}\n${r.stderr}`)
    }
  }

  /** Delete the project directory. */
  remove (): void {
    rmSync(this.root, { recursive: true, force: true })
  }
}

/**
 * Create a project from a map of relative paths to contents. A package.json
 * and a tsconfig.json are added unless given. `node_modules/<pkg>/...` files
 * make local fake packages.
 *
 * @example
 * const p = createProject({ 'src/a.ts': 'export const a = 1' })
 */
export function createProject (files: Record<string, string>, options: ProjectOptions = {}): TempProject {
  const root = options.dir ?? mkdtempSync(join(tmpdir(), 'dds-project-'))
  mkdirSync(root, { recursive: true })
  const p = new TempProject(root)
  const all: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'fixture', version: '1.0.0', type: 'module', ...options.packageJson }, null, 2),
    'tsconfig.json': JSON.stringify(DEFAULT_TSCONFIG, null, 2),
    ...files
  }
  for (const [rel, content] of Object.entries(all)) p.write(rel, content)
  return p
}
