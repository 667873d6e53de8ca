// The job queue against a real redis-server ($DDS_TEST_REDIS, started by .ci/run) and the file:// remote:
// worker processes and callers on one queue, identical calls once, the same results and re-run sets as
// the event loop, a killed worker's job finished by another, a worker that always crashes a coded error,
// code that differs refused, hostile jobs and forged results refused, a worker stopped by a signal
// with Redis up, gone and silent. Skipped without Redis, failing under CI=true.
import t from 'tap'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { startNode, type Exit } from '../helpers/spawn.js'
import { QUEUE_NAME, connectionOf } from '../../lib/parallel/queue.js'
import { open } from '../../dist/lib/index.js'

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
  type Result = { values?: unknown[], error?: { code: string, message: string }, events: string[] }
  const call = async (s: ReturnType<typeof setup>, id: string, inputs: unknown[], queue: string = s.url): Promise<Result> => {
    const result = join(s.dir, `result-${id}.json`)
    const e = await startNode(caller, [join(s.dir, `caller-${id}`), queue, JSON.stringify(inputs), result], { env: s.env, cwd: repo }).done
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
    t.same(r1.values, expected)
    t.same(r2.values, expected)
    const c = counts(s)
    t.same([...c.keys()].sort(), inputs.map(String).sort())
    t.ok([...c.values()].every((pids) => pids.length === 1), 'no input computed twice')
    // A third caller finds everything computed: no job runs the function again.
    const r3 = await call(s, '3', inputs)
    t.same(r3.values, expected)
    t.ok(r3.events.every((e) => e.startsWith('hit ')), 'the third caller only hits')
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
    t.same((await pending).values, ['hold!', 8])
    const other = holder === w1.pid ? w2.pid : w1.pid
    t.same(counts(s).get('hold'), [String(other)], 'finished once, by the other worker')
  })

  t.test('results and re-run sets are the same on the queue as on the event loop', async (t) => {
    const loop = setup('same-loop')
    const queued = setup('same-queue')
    await Promise.all(['a', 'b'].map(async (id) => await startWorker(queued, id)))
    const seen: Record<string, Result[]> = {}
    for (const [name, s, queue] of [['loop', loop, '-'], ['queue', queued, queued.url]] as const) {
      // One caller store, run twice: the second run adds an input.
      seen[name] = [await call(s, '1', [1, 2, 3], queue), await call(s, '1', [1, 2, 3, 4], queue)]
      t.same([...counts(s).keys()].sort(), ['1', '2', '3', '4'], `${name}: every input computed`)
      t.ok([...counts(s).values()].every((pids) => pids.length === 1), `${name}: none twice`)
    }
    t.same(seen.queue, seen.loop)
    t.same(seen.loop?.[1]?.events, ['computed /q/3', 'hit /q/0', 'hit /q/1', 'hit /q/2', 'miss /q/3'])
    t.same(seen.loop?.[1]?.values, [1, 8, 27, 64])
  })

  t.test('a job that kills every worker it runs on fails with a coded error after its retries; nothing is lost or run twice', async (t) => {
    const s = setup('crash')
    const ws = await Promise.all(['a', 'b', 'c', 'd'].map(async (id) => await startWorker(s, id)))
    const r = await call(s, '1', [1, 'crash', 2, 3])
    t.equal(r.error?.code, 'DDS_QUEUE_FAILED')
    const exits = await Promise.all(ws.map(async (w) => await Promise.race([w.done.then((e) => e.code), new Promise((resolve) => setTimeout(() => { resolve('alive') }, 200))])))
    t.equal(exits.filter((c) => c === 9).length, 3, 'tried on three workers (the first try and two retries), then failed')
    t.equal(exits.filter((c) => c === 'alive').length, 1)
    t.same([...counts(s).keys()].sort(), ['1', '2', '3'])
    t.ok([...counts(s).values()].every((pids) => pids.length === 1), 'the other inputs computed once')
    // What was computed before the failure is in the shared store: a re-run only hits.
    const again = await call(s, '2', [1, 2, 3])
    t.same(again.values, [1, 8, 27])
    t.same(again.events, ['hit /q/0', 'hit /q/1', 'hit /q/2'])
    t.equal([...counts(s).values()].flat().length, 3)
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
    t.same((await call(s, '2', [3])).values, [27])
  })

  const rawQueue = async (t: { teardown: (fn: () => Promise<void>) => void }, url: string) => {
    const { Queue } = await import('bullmq')
    const connection = connectionOf(url)
    const queue = new Queue(QUEUE_NAME, { connection })
    t.teardown(async () => { await queue.close() })
    return { queue }
  }
  // A job's end, read from the job itself: an event stream read by QueueEvents can start after a
  // quick failure was announced, and waiting on it would then never end.
  const finished = async (job: { id?: string, getState: () => Promise<string> }, queue: { getJob: (id: string) => Promise<{ failedReason?: string, returnvalue?: unknown } | undefined> }): Promise<unknown> => {
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      const state = await job.getState()
      if (state === 'completed' || state === 'failed') {
        const done = await queue.getJob(job.id as string)
        if (state === 'failed') throw new Error(done?.failedReason ?? 'failed')
        return done?.returnvalue
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new Error(`job ${String(job.id)} did not finish in 60 s`)
  }
  const good = { v: 1, path: '/q/0', module: 'test/fixtures/parallel/queue-fns.mjs', exportName: 'cube', code: 'a'.repeat(64), key: 'b'.repeat(64), args: [] }

  t.test('hostile jobs are refused with a coded error and run nothing: shapes, modules, exports, sizes', async (t) => {
    const s = setup('hostile')
    // A project of its own, with a symbolic link to a module outside it.
    const root = join(s.dir, 'project')
    mkdirSync(join(root, 'test/fixtures/parallel'), { recursive: true })
    mkdirSync(join(s.dir, 'outside'), { recursive: true })
    copyFileSync(join(repo, 'package.json'), join(root, 'package.json'))
    copyFileSync(join(repo, 'test/fixtures/parallel/queue-fns.mjs'), join(root, 'test/fixtures/parallel/queue-fns.mjs'))
    copyFileSync(join(repo, 'test/fixtures/parallel/side-effect.mjs'), join(s.dir, 'outside', 'evil.mjs'))
    symlinkSync(join(s.dir, 'outside', 'evil.mjs'), join(root, 'evil.mjs'))
    mkdirSync(join(root, 'node_modules', 'dep'), { recursive: true })
    copyFileSync(join(repo, 'test/fixtures/parallel/side-effect.mjs'), join(root, 'node_modules', 'dep', 'index.mjs'))
    await startWorker(s, 'a', ['--max-job-bytes', '4096'], root)
    const { queue } = await rawQueue(t, s.url)
    const arg = { enc: 'cbor-x/1', data: 'oA==' }
    const hostile: Array<[string, unknown, RegExp]> = [
      ['traversal', { ...good, module: '../../../../etc/passwd.mjs' }, /DDS_QUEUE_FAILED/],
      ['absolute', { ...good, module: '/etc/x.mjs' }, /DDS_QUEUE_FAILED/],
      ['backslash traversal', { ...good, module: 'test\\..\\..\\x.mjs' }, /DDS_QUEUE_FAILED/],
      ['not a script', { ...good, module: 'package.json' }, /DDS_QUEUE_FAILED/],
      ['a dependency', { ...good, module: 'node_modules/dep/index.mjs', exportName: 'harmless' }, /DDS_QUEUE_FAILED/],
      ['a hidden directory', { ...good, module: '.git/hooks/x.mjs' }, /DDS_QUEUE_FAILED/],
      ['a link out of the project', { ...good, module: 'evil.mjs', exportName: 'harmless' }, /DDS_QUEUE_FAILED/],
      ['no such module', { ...good, module: 'test/fixtures/parallel/none.mjs' }, /DDS_NOT_EXPORTED/],
      ['bad export', { ...good, exportName: 'constructor.prototype' }, /DDS_QUEUE_FAILED/],
      ['not exported', { ...good, exportName: 'secret' }, /DDS_NOT_EXPORTED/],
      ['an export that is no function', { ...good, exportName: 'notAFunction' }, /DDS_NOT_EXPORTED/],
      ['inherited', { ...good, exportName: 'toString' }, /DDS_NOT_EXPORTED/],
      ['bad path', { ...good, path: '/q/../../x' }, /DDS_PATH_INVALID/],
      ['bad argument', { ...good, args: [{ enc: 'cbor-x/1', data: '!!!' }] }, /DDS_(QUEUE_FAILED|CODE_MISMATCH)/],
      ['unknown encoding', { ...good, args: [{ enc: 'pickle', data: 'oA==' }] }, /DDS_QUEUE_FAILED/],
      ['bad reference', { ...good, args: [{ ref: 'not-a-cid' }] }, /DDS_CID_INVALID/],
      ['a huge argument', { ...good, args: [{ enc: 'cbor-x/1', data: 'A'.repeat(8192) }] }, /DDS_QUEUE_FAILED/],
      ['many arguments', { ...good, args: Array.from({ length: 1000 }, () => arg) }, /DDS_QUEUE_FAILED/],
      ['a long key', { ...good, key: 'b'.repeat(100_000) }, /DDS_QUEUE_FAILED/],
      ['wrong code', good, /DDS_CODE_MISMATCH/],
      ['an array', [good], /DDS_QUEUE_FAILED/],
      ['not an object', 'rm -rf /', /DDS_QUEUE_FAILED/]
    ]
    for (const [name, data, code] of hostile) {
      const job = await queue.add('keep', data, { jobId: `hostile-${name.replace(/\W/g, '-')}` })
      await t.rejects(finished(job, queue), code, name)
    }
    t.equal(counts(s).size, 0, 'nothing ran and no module outside the project was imported')
  })

  t.test('a worker given --modules imports no other module', async (t) => {
    const s = setup('modules')
    await startWorker(s, 'a', ['--modules', 'test/fixtures/parallel/queue-fns.mjs'])
    const { queue } = await rawQueue(t, s.url)
    const job = await queue.add('keep', { ...good, module: 'test/fixtures/parallel/side-effect.mjs', exportName: 'harmless' }, { jobId: 'not-allowed' })
    await t.rejects(finished(job, queue), /DDS_QUEUE_FAILED/)
    t.equal(counts(s).size, 0, 'the module was not imported')
    // The allowed module's jobs still run.
    t.same((await call(s, '1', [2])).values, [8])
  })

  /**
   * A TCP relay to Redis that can fail two ways: `cut` drops every
   * connection and refuses new ones (Redis gone); `stall` keeps every
   * connection open and answers nothing on any (Redis unreachable behind a
   * network that swallows packets: a command waits for its reply for ever).
   */
  const relay = async (target: string): Promise<{ url: string, cut: () => void, stall: () => void }> => {
    const to = new URL(target)
    const sockets = new Set<Socket>()
    let stalled = false
    const server = createServer((c) => {
      c.on('error', () => {})
      if (stalled) {
        sockets.add(c)
        return
      }
      const r = connect(Number(to.port), to.hostname)
      for (const x of [c, r]) {
        sockets.add(x)
        x.on('error', () => {})
        x.on('close', () => { sockets.delete(x) })
      }
      c.pipe(r).pipe(c)
    })
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
    const port = (server.address() as AddressInfo).port
    t.teardown(() => { server.close(); for (const x of sockets) x.destroy() })
    return {
      url: `redis://127.0.0.1:${port}${to.pathname}`,
      cut: () => { server.close(); for (const x of sockets) x.destroy() },
      stall: () => {
        stalled = true
        for (const x of sockets) {
          x.unpipe()
          x.pause()
        }
      }
    }
  }
  const exitWithin = async (done: Promise<Exit>, ms: number): Promise<Exit | undefined> =>
    await Promise.race([done, new Promise<undefined>((resolve) => { setTimeout(resolve, ms) })])

  t.test('SIGTERM: a worker leaves the queue and exits; when Redis does not answer, once the grace period is over or at a second signal', async (t) => {
    const s = setup('stop')
    const clean = await startWorker(s, 'clean')
    process.kill(clean.pid, 'SIGTERM')
    const e1 = await exitWithin(clean.done, 15_000)
    t.equal(e1?.code, 0, 'a worker whose Redis answers stops cleanly')

    // Redis gone (connections refused): the worker exits, cleanly or after its grace period.
    const r0 = await relay(s.url)
    const gone = await startWorker({ ...s, url: r0.url }, 'gone', ['--grace-ms', '1500'])
    r0.cut()
    process.kill(gone.pid, 'SIGTERM')
    const e0 = await exitWithin(gone.done, 15_000)
    t.ok(e0?.code === 0 || e0?.code === 1, `Redis gone: the worker exits (${String(e0?.code)})`)

    // Redis not answering: the graceful close waits for a reply that never comes, until the grace period is over.
    const r1 = await relay(s.url)
    const graced = await startWorker({ ...s, url: r1.url }, 'graced', ['--grace-ms', '1500'])
    r1.stall()
    const t0 = Date.now()
    process.kill(graced.pid, 'SIGTERM')
    const e2 = await exitWithin(graced.done, 15_000)
    const waited = Date.now() - t0
    // Most often the close waits for a reply; when the queue's connections were between two states it needs none.
    if (e2?.code === 1) {
      t.ok(waited >= 1400, `Redis silent: the worker stopped after its grace period (${waited} ms), exit status 1`)
      t.match(e2.stderr, /stopped without waiting for the queue/, 'and says so')
    } else {
      t.equal(e2?.code, 0, `Redis silent: the worker closed without waiting (${waited} ms)`)
    }

    const r2 = await relay(s.url)
    const twice = await startWorker({ ...s, url: r2.url }, 'twice', ['--grace-ms', '600000'])
    r2.stall()
    process.kill(twice.pid, 'SIGTERM')
    const early = await exitWithin(twice.done, 300)
    const t1 = Date.now()
    if (early === undefined) {
      process.kill(twice.pid, 'SIGTERM')
      const e3 = await exitWithin(twice.done, 15_000)
      t.equal(e3?.code, 1, 'a second signal stops it at once')
      t.ok(Date.now() - t1 < 10_000, `${Date.now() - t1} ms after the second signal`)
    } else {
      // The close got through before the stall took hold of every connection: a stop like any other.
      t.ok(early.code === 0 || early.code === 1, `stopped before a second signal was needed (${String(early.code)})`)
    }
    // The store a forced stop leaves opens and serves the next worker on it.
    const again = await startWorker(s, 'twice')
    t.same((await call(s, '1', [3])).values, [27])
    process.kill(again.pid, 'SIGTERM')
    t.equal((await exitWithin(again.done, 15_000))?.code, 0)
  })

  t.test('a forged "done" naming a result that is not in the store is refused, and nothing is committed', async (t) => {
    const s = setup('forged')
    const { Worker } = await import('bullmq')
    let forged = 0
    // Anyone with access to Redis can take jobs and report them done with any result.
    const forger = new Worker(QUEUE_NAME, async () => { forged++; return { evaluation: 'bafyreigw6v5xesfwodneqsimub2m7icor5bagwxiibbz2pydw3mpzdbgdq', hit: false } }, { connection: connectionOf(s.url) })
    await forger.waitUntilReady()
    const r = await call(s, '1', [4, 5])
    t.equal(r.error?.code, 'DDS_QUEUE_FAILED')
    t.ok(forged >= 1, 'the forger answered')
    t.notOk(r.events.some((e) => e.startsWith('computed')), 'no result taken from the forger')
    await forger.close()
    const dds = await open({ store: join(s.dir, 'caller-1'), remote: s.env.DDS_REMOTE })
    await t.rejects(dds.load('/q/0'), { code: 'DDS_PATH_NOT_FOUND' }, 'the failed run committed no path')
    await dds.close()
    // A real worker computes the same calls; the forger's earlier answers change nothing.
    await startWorker(s, 'a')
    t.same((await call(s, '2', [4, 5])).values, [64, 125])
    t.equal(counts(s).size, 2)
  })
}
