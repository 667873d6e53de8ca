/** `dds worker --queue URL`: compute kept functions from a job queue into the team's store. */
import { open } from '../../dds.js'
import { startQueueWorker } from '../../parallel/queue.js'
import { UsageError, type Command } from '../context.js'
import { StatusLine } from '../status-line.js'

function positiveInt (value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`)
  return n
}

export const command: Command = {
  usage: 'dds worker --queue redis://HOST:PORT [--concurrency N] [--root DIR] [--modules LIST]',
  description: `
Take kept calls from a job queue (BullMQ on Redis) and compute them into the
store: the store given by --store, in front of the team's remote ($DDS_REMOTE),
which the callers share. The caller's run commits the paths. Each job names an
exported function of a module under --root (default: the working directory);
a job whose code hashes differently here (another version of the project) is
refused, not run. --modules limits the modules jobs may name (loading a module
runs its top-level code): give it to a worker whose Redis others can reach.
Jobs that are malformed, name a module outside the project, or carry more
than --max-job-bytes of arguments are refused with DDS_QUEUE_FAILED. Run any
number of workers on any number of machines; a worker that dies loses its
jobs' locks and other workers take them over.
Prints one line per job: status, path, milliseconds; on a terminal, a status line
below them shows the jobs running now and the counts so far. Stops on SIGINT or
SIGTERM: running jobs finish and the worker leaves the queue, exit status 0.
A second signal, or --grace-ms passing first (Redis unreachable, a job too
long), stops it at once with exit status 1; the queue gives its running jobs
to another worker.`,
  options: {
    queue: { type: 'string' },
    concurrency: { type: 'string' },
    root: { type: 'string' },
    'lock-ms': { type: 'string' },
    'lease-ms': { type: 'string' },
    modules: { type: 'string' },
    'max-job-bytes': { type: 'string' },
    'grace-ms': { type: 'string' }
  },
  optionHelp: [
    ['--queue URL', 'the Redis of the queue (default: $DDS_QUEUE)'],
    ['--concurrency N', 'jobs run at once (default 1)'],
    ['--root DIR', 'the project the jobs\' modules are relative to (default: the working directory)'],
    ['--lock-ms MS', 'how soon a dead worker\'s job goes to another (default 30000)'],
    ['--lease-ms MS', 'how long this worker\'s leases on the remote outlive it (default 30000)'],
    ['--modules LIST', 'comma-separated modules (src/tiles.ts) or directories (src/) jobs may name (default: any of the project)'],
    ['--max-job-bytes N', 'most argument bytes a job may carry by value (default 16777216)'],
    ['--grace-ms MS', 'how long a stop waits for running jobs and the queue before it drops them (default 30000)']
  ],
  example: `
$ dds worker --queue redis://10.0.0.5:6379 --store /var/cache/dds
ready
computed	/tiles/17	840
hit	/tiles/3	4`,
  positionals: [0, 0],
  async run (ctx) {
    const url = ctx.string('queue') ?? process.env.DDS_QUEUE
    if (url === undefined || url === '') throw new UsageError('--queue URL is required (or $DDS_QUEUE)')
    const concurrency = positiveInt(ctx.string('concurrency'), 'concurrency', 1)
    const lockMs = positiveInt(ctx.string('lock-ms'), 'lock-ms', 30_000)
    const remote = process.env.DDS_REMOTE
    const leaseTtl = ctx.string('lease-ms') === undefined ? undefined : positiveInt(ctx.string('lease-ms'), 'lease-ms', 30_000)
    const engine = await open({ store: ctx.location, ...(remote === undefined || remote === '' || leaseTtl === undefined ? {} : { remote: { url: remote, leaseTtl } }) })
    const root = ctx.string('root')
    const modules = ctx.string('modules')?.split(',').map((m) => m.trim()).filter((m) => m !== '')
    if (modules !== undefined && modules.length === 0) throw new UsageError('--modules needs at least one module or directory')
    const maxJobBytes = positiveInt(ctx.string('max-job-bytes'), 'max-job-bytes', 16 * 1024 * 1024)
    const graceMs = positiveInt(ctx.string('grace-ms'), 'grace-ms', 30_000)
    const status = new StatusLine()
    const started = new Map<string, number[]>()
    const worker = await startQueueWorker({
      url,
      engine,
      concurrency,
      lockMs,
      maxJobBytes,
      ...(root === undefined ? {} : { root }),
      ...(modules === undefined ? {} : { modules }),
      onStart: (path) => {
        const ids = started.get(path) ?? []
        ids.push(status.start(path))
        started.set(path, ids)
      },
      onJob: (r) => {
        const line = [r.status, r.path, Math.round(r.ms), ...(r.error === undefined ? [] : [`${(r.error as { code?: string }).code ?? r.error.name}: ${r.error.message}`])]
        status.end(started.get(r.path)?.shift(), r.status === 'hit' ? 'reused' : r.status, () => { void ctx.line(line) })
      }
    })
    const signal = async (): Promise<void> => {
      await new Promise<void>((resolve) => {
        const on = (): void => {
          process.off('SIGINT', on)
          process.off('SIGTERM', on)
          resolve()
        }
        process.on('SIGINT', on)
        process.on('SIGTERM', on)
      })
    }
    // Listening before "ready" is printed: a signal sent as soon as it is read stops the worker as a signal should.
    const stop = signal()
    await ctx.line(['ready'])
    await stop
    status.close()
    // A second signal, or the grace period, stops waiting for running jobs and for Redis.
    let timer: NodeJS.Timeout | undefined
    const cut = Promise.race([signal(), new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs) })])
    const clean = await worker.close(cut)
    clearTimeout(timer)
    await engine.close()
    if (clean) return 0
    process.stderr.write(`dds worker: stopped without waiting for the queue (${graceMs} ms grace over, or a second signal); jobs still running go to another worker\n`)
    // Whatever of the queue's connections is left must not keep the process alive.
    setTimeout(() => { process.exit(1) }, 1000).unref()
    return 1
  }
}
