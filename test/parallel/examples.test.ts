// The README's parallel examples run as it tells a user to run them: examples/parallel/pool.ts on
// worker threads, and examples/parallel/queue.ts against two `dds worker` processes on the test Redis
// ($DDS_TEST_REDIS) and a file:// remote (skipped without Redis, failing under CI=true). Both compute
// every tile once, reuse them all on the next run, and agree on the digests. Needs the build.
import t, { type Test } from 'tap'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startNode, type Exit } from '../helpers/spawn.js'

const repo = fileURLToPath(new URL('../../', import.meta.url))
const tsx = join(repo, 'node_modules', 'tsx', 'dist', 'cli.mjs')
const cli = join(repo, 'dist', 'lib', 'cli', 'main.js')

interface Printed { tiles: number, computed: number, reused: number, first: string }

async function example (t: Test, name: string, env: Record<string, string>, args: string[] = []): Promise<Printed> {
  const e = await startNode(tsx, [join(repo, 'examples', 'parallel', `${name}.ts`), ...args], { cwd: repo, env }).done
  t.equal(e.code, 0, e.code === 0 ? `${name}.ts exits 0` : e.stderr)
  return JSON.parse(e.stdout.trim().split('\n').pop() ?? '{}') as Printed
}

let poolFirst: string | undefined

t.test('pool.ts: 8 tiles on worker threads, then all reused, then only the new ones', async (t) => {
  const env = { DDS_STORE: join(t.testdir(), 'store') }
  const first = await example(t, 'pool', env)
  t.match(first, { tiles: 8, computed: 8, reused: 0 })
  t.match(first.first, /^[0-9a-f]{64}$/)
  t.match(await example(t, 'pool', env), { tiles: 8, computed: 0, reused: 8, first: first.first })
  t.match(await example(t, 'pool', env, ['5']), { tiles: 10, computed: 2, reused: 8, first: first.first })
  poolFirst = first.first
})

const redis = process.env.DDS_TEST_REDIS
if (redis === undefined || redis === '') {
  if (process.env.CI === 'true') t.fail('DDS_TEST_REDIS is not set: .ci/run starts redis-server and sets it')
  else t.comment('skipped queue.ts: set DDS_TEST_REDIS=redis://127.0.0.1:PORT (a redis-server of its own) to run it')
} else {
  t.test('queue.ts: the same tiles computed by two dds worker processes, once each; a second caller reuses them', async (t) => {
    const dir = t.testdir()
    mkdirSync(join(dir, 'remote'))
    // A Redis database of its own: the queue tests use the low numbers.
    const env = { DDS_REMOTE: pathToFileURL(join(dir, 'remote')).href, DDS_QUEUE: `${redis.replace(/\/\d*$/, '')}/14` }
    const workers: Array<{ kill: () => void, done: Promise<Exit>, out: () => string }> = []
    t.teardown(async () => {
      for (const w of workers) w.kill()
      await Promise.all(workers.map(async (w) => await w.done))
    })
    for (const id of ['1', '2']) {
      let out = ''
      // As the example says: a loader so that the worker can import the TypeScript module.
      const w = startNode(cli, ['worker', '--store', join(dir, `worker-${id}`), '--root', repo, '--modules', 'examples/parallel/src/'], { cwd: repo, env, nodeFlags: ['--import', 'tsx'] })
      w.child.stdout?.on('data', (d: string) => { out += d })
      workers.push({ kill: () => { w.child.kill('SIGKILL') }, done: w.done, out: () => out })
      await new Promise<void>((resolve, reject) => {
        const check = (): void => { if (out.includes('ready\n')) resolve() }
        w.child.stdout?.on('data', check)
        void w.done.then((e) => { reject(new Error(`worker ${id} exited before it was ready: ${e.stderr}`)) })
        check()
      })
    }
    const first = await example(t, 'queue', { ...env, DDS_STORE: join(dir, 'caller-1') })
    t.match(first, { tiles: 8, computed: 8, reused: 0 })
    if (poolFirst !== undefined) t.equal(first.first, poolFirst, 'the same digests as on the thread pool')
    const second = await example(t, 'queue', { ...env, DDS_STORE: join(dir, 'caller-2') })
    t.match(second, { tiles: 8, computed: 0, reused: 8, first: first.first })
    const computedLines = workers.flatMap((w) => w.out().split('\n').filter((l) => l.startsWith('computed\t')))
    t.equal(computedLines.length, 8, 'the workers computed each tile once')
    t.equal(new Set(computedLines.map((l) => l.split('\t')[1])).size, 8)
  })
}
