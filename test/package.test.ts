/**
 * The lean install, for real: `npm pack` this package (as built), install the
 * tarball into a fresh project with `--omit=optional` (from the npm cache when
 * it can: `--prefer-offline`), and use it there. A keep computes, then is
 * reused by a second process; the AWS SDK and Graphviz are not installed, and
 * an s3:// remote says which package it needs. npm omits optional
 * dependencies transitively, so the platform binary of oxc-parser is gone too:
 * keeps still work, and dds-ts says that it hashes only the function's text.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startNode } from './helpers/spawn.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Run npm in `cwd` (without the test runner's hooks) and return its stdout; a failure fails the test with its stderr. */
function npm (args: string[], cwd: string): string {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  const r = spawnSync('npm', args, { cwd, env, encoding: 'utf8', timeout: 120_000 })
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`)
  return r.stdout
}

const KEEP = `import { keep, closeDefault, configure } from 'dds-ts'
configure({ store: './store', log: true })
function square (n) { return n * n }
const value = await keep('/probe/square', square, 12)
console.log(JSON.stringify({ value }))
await closeDefault()
`

const S3 = `import { openStore } from 'dds-ts/store'
try {
  await openStore({ location: './s3-store', remote: 's3://team/dds' })
  console.log(JSON.stringify({ opened: true }))
} catch (err) {
  console.log(JSON.stringify({ code: err.code, package: err.data?.package }))
}
`

t.test('npm install of the packed tarball with --omit=optional runs a keep', { skip: !existsSync(join(root, 'dist', 'lib', 'index.js')) && 'needs npm run build' }, async (t) => {
  // Outside the repository: its node_modules (which has every optional package) must not be found by walking up.
  const dir = mkdtempSync(join(tmpdir(), 'dds-package-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const project = join(dir, 'project')
  mkdirSync(project)
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'probe', version: '1.0.0', type: 'module', private: true }))
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], root)) as Array<{ filename: string, files: Array<{ path: string }> }>
  const files = packed[0]?.files.map((f) => f.path) ?? []
  t.ok(files.includes('dist/lib/index.js') && files.includes('dist/bundle/dds.cjs') && files.includes('dist/bundle/cli.cjs'), 'the tarball holds the build and the CLI')
  t.same(files.filter((f) => f.startsWith('test/') || f.startsWith('bench/') || f.startsWith('.dds/')), [], 'and no tests, benchmarks or stores')

  npm(['install', join(dir, packed[0]?.filename ?? ''), '--omit=optional', '--prefer-offline', '--no-audit', '--no-fund'], project)
  const modules = join(project, 'node_modules')
  t.ok(existsSync(join(modules, 'dds-ts', 'package.json')), 'dds-ts is installed')
  for (const absent of ['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@hpcc-js/wasm-graphviz', 'bullmq', 'ioredis']) {
    t.notOk(existsSync(join(modules, absent)), `${absent} is not`)
  }

  writeFileSync(join(project, 'keep.mjs'), KEEP)
  const first = await startNode(join(project, 'keep.mjs'), [], { cwd: project }).done
  t.equal(first.code, 0, 'the keep runs')
  t.same(JSON.parse(first.stdout), { value: 144 })
  t.match(first.stderr, /computed\s+\/probe\/square/, 'computed the first time')
  if (!existsSync(join(modules, '@oxc-parser'))) {
    t.match(first.stderr, /no parser is available/, 'without the parser binary, dds-ts says what it hashes instead')
  }
  const second = await startNode(join(project, 'keep.mjs'), [], { cwd: project }).done
  t.equal(second.code, 0)
  t.same(JSON.parse(second.stdout), { value: 144 })
  t.match(second.stderr, /reused\s+\/probe\/square/, 'reused by the next process')

  // The dds command npm linked into node_modules/.bin, in the lean install: it lists the keep, and its second run starts from the code cache.
  const bin = join(modules, '.bin', 'dds')
  t.ok(existsSync(bin), 'npm links the dds command')
  const cache = join(dir, 'code-cache')
  const ls = async (): Promise<{ code: number | null, stdout: string, stderr: string }> => await startNode(bin, ['ls', '--json', '--store', './store'], { cwd: project, env: { DDS_CODE_CACHE: cache, DDS_CODE_CACHE_REPORT: '1' } }).done
  const listed = await ls()
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, '/probe/square', 'dds ls lists the kept path')
  t.match(listed.stderr, 'dds: code cache not used: no cache yet')
  const again = await ls()
  t.equal(again.code, 0, again.stderr)
  t.match(again.stderr, 'dds: code cache used', 'the second run starts from the code cache')
  t.equal(again.stdout, listed.stdout)
  t.notMatch(listed.stderr + again.stderr, 'ExperimentalWarning', 'no warning from node')

  writeFileSync(join(project, 's3.mjs'), S3)
  const s3 = await startNode(join(project, 's3.mjs'), [], { cwd: project }).done
  t.equal(s3.code, 0, s3.stderr)
  t.same(JSON.parse(s3.stdout), { code: 'DDS_DEPENDENCY_MISSING', package: '@aws-sdk/client-s3' }, 'an s3:// remote names the package it needs')
})
