// The job queue against a real redis-server ($DDS_TEST_REDIS, started by .ci/run) and the file:// remote:
// worker processes and callers on one queue, identical calls once, a killed worker's job finished by
// another, code that differs refused, hostile jobs refused. Skipped without Redis, failing under CI=true.
import t from 'tap'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startNode, type Exit } from '../helpers/spawn.js'
import { QUEUE_NAME, connectionOf } from '../../lib/parallel/queue.js'

const redis = process.env.DDS_TEST_REDIS
if (redis === undefined || redis === '') {
  if (process.env.CI === 'true') t.fail('DDS_TEST_REDIS is not set: .ci/run starts redis-server and sets it')
  else t.comment('skipped: set DDS_TEST_REDIS=redis://127.0.0.1:PORT (a redis-server of its own) to run the queue tests')
} else {
  run(redis)
}

function run (redisBase: string): void {
  const repo = fileURLToPath(new URL('../../', import.meta.url))
  const cli = join(repo, 'dist/lib/cli/main.js')
  const caller = join(repo, 'test/fixtures/parallel/queue-caller.mjs')
  const base = mkdtempSync(join(tmpdir(), 'dds-queue-'))
  t.teardown(() => { rmSync(base, { recursive: true, force: true }) })
  let n = 0
  // Each test its own Redis database, so no job of one is seen by another.
  const setup = (name: string) => {
    const dir = join(base, `${name}-${++n}`)
    mkdirSync(join(dir, 'remote'), { recursive: true })
    const url = `${redisBase.replace(/\/\d*$/, '')}/${n + 1}`
    const env = { DDS_REMOTE: pathToFileURL(join(dir, 'remote')).href, DDS_TEST_COUNT_FILE: join(dir, 'count'), DDS_TEST_HOLD: join(dir, 'hold') }
    writeFileSync(env.DDS_TEST_COUNT_FILE, '')
    return { dir, url, env }
  }
  const workers: Array<{ kill: () => void, done: Promise<Exit> }> = []
  t.teardown(async () => {
    for (const w of workers) w.kill()
    await Promise.all(workers.map(async (w) => await w.done))
  })
  const startWorker = async (s: ReturnType<typeof setup>, id: string, extra: string[] = [], root = repo): Promise<{ pid: number, done: Promise<Exit>, out: () => string }> => {
    let out = ''
    const w = startNode(cli, ['worker', '--queue', s.url, '--store', join(s.dir, `worker-${id}`), '--root', root, '--lock-ms', '2000', '--lease-ms', '2000', ...extra], { env: s.env, cwd: repo })
    w.child.stdout?.on('data', (d: string) => { out += d })
    workers.push({ kill: () => { w.child.kill('SIGKILL') }, done: w.done })
    // The worker says "ready" once it listens on the queue.
    await new Promise<void>((resolve, reject) => {
      const check = (): void => { if (out.includes('ready\n')) resolve() }
      w.child.stdout?.on('data', check)
      void w.done.then((e) => { reject(new Error(`worker ${id} exited before it was ready: ${e.stderr}`)) })
      check()
    })
    return { pid: w.child.pid as number, done: w.done, out: () => out }
  }
  const call = async (s: ReturnType<typeof setup>, id: string, inputs: unknown[]): Promise<{ values?: unknown[], error?: { code: string, message: string } }> => {
    const result = join(s.dir, `result-${id}.json`)
    const e = await startNode(caller, [join(s.dir, `caller-${id}`), s.url, JSON.stringify(inputs), result], { env: s.env, cwd: repo }).done
    if (!existsSync(result)) throw new Error(`caller ${id} wrote no result: ${e.stderr}`)
    return JSON.parse(readFileSync(result, 'utf8'))
  }
  const counts = (s: ReturnType<typeof setup>): Map<string, string[]> => {
    const m = new Map<string, string[]>()
    for (const line of readFileSync(s.env.DDS_TEST_COUNT_FILE, 'utf8').split('\n').filter((l) => l !== '')) {
      const [input, pid] = line.split(' ') as [string, string]
      m.set(input, [...(m.get(input) ?? []), pid])
    }
    return m
  }

  t.test('3 workers and 2 callers on one queue and a file:// remote: each input computed exactly once', async (t) => {
    const s = setup('once')
    await Promise.all(['a', 'b', 'c'].map(async (id) => await startWorker(s, id)))
    const inputs = Array.from({ length: 12 }, (_, i) => i + 1)
    const [r1, r2] = await Promise.all([call(s, '1', inputs), call(s, '2', inputs)])
    const expected = inputs.map((x) => x * x * x)
    t.same(r1, { values: expected })
    t.same(r2, { values: expected })
    const c = counts(s)
    t.same([...c.keys()].sort(), inputs.map(String).sort())
    t.ok([...c.values()].every((pids) => pids.length === 1), 'no input computed twice')
    // A third caller finds everything computed: no job runs the function again.
    t.same(await call(s, '3', inputs), { values: expected })
    t.equal([...counts(s).values()].flat().length, 12)
  })

  t.test("a worker killed mid-job: another worker finishes its job, computed once", async (t) => {
    const s = setup('killed')
    const w1 = await startWorker(s, 'a')
    const w2 = await startWorker(s, 'b')
    writeFileSync(s.env.DDS_TEST_HOLD, '')
    const pending = call(s, '1', ['hold', 2])
    const started = `${s.env.DDS_TEST_HOLD}.started`
    while (!existsSync(started)) await new Promise((resolve) => setTimeout(resolve, 20))
    const holder = Number(readFileSync(started, 'utf8'))
    t.ok(holder === w1.pid || holder === w2.pid)
    process.kill(holder, 'SIGKILL')
    await (holder === w1.pid ? w1 : w2).done
    unlinkSync(s.env.DDS_TEST_HOLD)
    t.same(await pending, { values: ['hold!', 8] })
    const other = holder === w1.pid ? w2.pid : w1.pid
    t.same(counts(s).get('hold'), [String(other)], 'finished once, by the other worker')
  })

  t.test('a worker whose code differs refuses the job; one with the same code in another checkout runs it', async (t) => {
    const s = setup('code')
    const make = (name: string, edit: (text: string) => string): string => {
      const root = join(s.dir, name)
      mkdirSync(join(root, 'test/fixtures/parallel'), { recursive: true })
      copyFileSync(join(repo, 'package.json'), join(root, 'package.json'))
      const src = readFileSync(join(repo, 'test/fixtures/parallel/queue-fns.mjs'), 'utf8')
      writeFileSync(join(root, 'test/fixtures/parallel/queue-fns.mjs'), edit(src))
      return root
    }
    const changed = make('changed', (text) => text.replace('x * x * x', 'x * x * x + 1'))
    const w = await startWorker(s, 'changed', [], changed)
    const r = await call(s, '1', [3])
    t.equal(r.error?.code, 'DDS_CODE_MISMATCH')
    t.equal(counts(s).size, 0, 'nothing ran')
    t.match(w.out(), /failed\t\/q\/0\t\d+\tDDS_CODE_MISMATCH/)
    // The same code under another directory hashes the same: the job runs there.
    await startWorker(s, 'same', [], make('same', (text) => text))
    process.kill(w.pid, 'SIGKILL')
    t.same(await call(s, '2', [3]), { values: [27] })
  })

  t.test('hostile jobs are refused: modules outside the project, malformed fields', async (t) => {
    const s = setup('hostile')
    await startWorker(s, 'a')
    const { Queue, QueueEvents } = await import('bullmq')
    const connection = connectionOf(s.url)
    const queue = new Queue(QUEUE_NAME, { connection })
    const events = new QueueEvents(QUEUE_NAME, { connection })
    t.teardown(async () => { await events.close(); await queue.close() })
    await events.waitUntilReady()
    const good = { v: 1, path: '/q/0', module: 'test/fixtures/parallel/queue-fns.mjs', exportName: 'cube', code: 'a'.repeat(64), key: 'b'.repeat(64), args: [] }
    const hostile: Array<[string, unknown, RegExp]> = [
      ['traversal', { ...good, module: '../../../../etc/passwd.mjs' }, /DDS_QUEUE_FAILED/],
      ['absolute', { ...good, module: '/etc/x.mjs' }, /DDS_QUEUE_FAILED/],
      ['not a script', { ...good, module: 'package.json' }, /DDS_QUEUE_FAILED/],
      ['bad export', { ...good, exportName: 'constructor.prototype' }, /DDS_QUEUE_FAILED/],
      ['bad path', { ...good, path: '/q/../../x' }, /DDS_PATH_INVALID/],
      ['bad argument', { ...good, args: [{ enc: 'cbor-x/1', data: '!!!' }] }, /DDS_(QUEUE_FAILED|CODE_MISMATCH)/],
      ['wrong code', good, /DDS_CODE_MISMATCH/],
      ['not an object', 'rm -rf /', /DDS_QUEUE_FAILED/]
    ]
    for (const [name, data, code] of hostile) {
      const job = await queue.add('keep', data, { jobId: `hostile-${name.replace(/\W/g, '-')}` })
      await t.rejects(job.waitUntilFinished(events), code, name)
    }
    t.equal(counts(s).size, 0, 'nothing ran')
  })
}
