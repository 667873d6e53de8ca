// What travels on the job queue, checked without Redis: a job round-trips, every hostile shape is
// refused with a coded error (a thousand generated mutations of a good job among them), arguments
// too large for the queue are refused on the caller's side, and --modules allows only what it names.
import t from 'tap'
import { CID } from 'multiformats/cid'
import { DdsError } from '../../store/errors.js'
import { MAX_JOB_ARGS, MAX_JOB_BYTES, checkJob, decodeArgs, encodeJob, failureOf, failureText } from '../../lib/parallel/queue-wire.js'
import { allowedModule } from '../../lib/parallel/queue.js'
import type { ExecCall } from '../../lib/parallel/interface.js'

const CIDTEXT = 'bafyreigw6v5xesfwodneqsimub2m7icor5bagwxiibbz2pydw3mpzdbgdq'
const ref = { url: 'file:///p/src/tiles.mjs', exportName: 'tile', relative: 'src/tiles.mjs' }

function callOf (args: unknown[], identity?: CID): ExecCall {
  return {
    path: '/tiles/0',
    fn: () => 0,
    args,
    code: new Uint8Array(32).fill(1),
    key: new Uint8Array(34).fill(2),
    fnInfo: { name: 'tile' } as ExecCall['fnInfo'],
    identityOf: (v) => (identity !== undefined && v === args[0] ? identity : undefined)
  }
}

t.test('a job round-trips: values by value, stored values by their CID', async (t) => {
  const stored = { rows: [1, 2] }
  const job = encodeJob(callOf([stored, new Float64Array([1.5, 2]), 'x'], CID.parse(CIDTEXT)), ref)
  t.same(job.args[0], { ref: CIDTEXT })
  const checked = checkJob(JSON.parse(JSON.stringify(job)))
  const { values, known } = await decodeArgs(checked.args, async (cid) => { t.equal(cid.toString(), CIDTEXT); return stored })
  t.equal(values[0], stored)
  t.same(values[1], new Float64Array([1.5, 2]))
  t.type(values[1], Float64Array)
  t.equal(values[2], 'x')
  t.equal(known.length, 1)
})

t.test('arguments too large for the queue are refused on the caller side, before anything is enqueued', async (t) => {
  t.throws(() => encodeJob(callOf([new Uint8Array(2048)]), ref, 1024), { code: 'DDS_VALUE_TOO_LARGE', data: { argument: 0, limit: 1024 } })
  t.throws(() => encodeJob(callOf(Array.from({ length: MAX_JOB_ARGS + 1 }, () => 1)), ref), { code: 'DDS_VALUE_TOO_LARGE' })
  // A large value that came out of the store crosses by its CID, whatever its size.
  const big = new Uint8Array(4096)
  t.same(encodeJob(callOf([big], CID.parse(CIDTEXT)), ref, 1024).args, [{ ref: CIDTEXT }])
  t.ok(MAX_JOB_BYTES >= 1024 * 1024)
})

t.test('hostile shapes are refused with DDS_QUEUE_FAILED or DDS_PATH_INVALID', async (t) => {
  const good = JSON.parse(JSON.stringify(encodeJob(callOf([1]), ref))) as Record<string, unknown>
  t.ok(checkJob(good))
  const cases: Array<[string, unknown]> = [
    ['null', null], ['a number', 7], ['an array', [good]], ['format 2', { ...good, v: 2 }],
    ['no path', { ...good, path: undefined }], ['a relative path', { ...good, path: 'tiles/0' }],
    ['a module outside', { ...good, module: '../x.mjs' }], ['a dot segment', { ...good, module: 'src/./x.mjs' }],
    ['an empty segment', { ...good, module: 'src//x.mjs' }], ['a drive', { ...good, module: 'C:/x.mjs' }],
    ['a dependency', { ...good, module: 'node_modules/a/index.js' }], ['a hidden directory', { ...good, module: '.dds/x.mjs' }],
    ['a NUL', { ...good, module: 'src/x\0.mjs' }], ['not a script', { ...good, module: 'src/x.json' }],
    ['a long module', { ...good, module: 'a/'.repeat(600) + 'x.mjs' }],
    ['an export with a dot', { ...good, exportName: 'a.b' }], ['an empty export', { ...good, exportName: '' }],
    ['a code of the wrong form', { ...good, code: 'xyz' }], ['an uppercase key', { ...good, key: 'A'.repeat(64) }],
    ['arguments not a list', { ...good, args: { 0: 1 } }], ['a null argument', { ...good, args: [null] }],
    ['an argument with no data', { ...good, args: [{ enc: 'cbor-x/1' }] }], ['an argument list as argument', { ...good, args: [[]] }],
    ['a long reference', { ...good, args: [{ ref: 'b'.repeat(5000) }] }], ['a numeric type', { ...good, args: [{ enc: 'cbor-x/1', data: '', type: 3 }] }],
    ['too many arguments', { ...good, args: Array.from({ length: MAX_JOB_ARGS + 1 }, () => ({ ref: CIDTEXT })) }]
  ]
  for (const [name, data] of cases) t.throws(() => checkJob(data), { code: /^DDS_(QUEUE_FAILED|PATH_INVALID)$/ }, name)
  t.throws(() => checkJob({ ...good, args: [{ enc: 'cbor-x/1', data: 'A'.repeat(2000) }] }, { maxBytes: 1000 }), { code: 'DDS_QUEUE_FAILED' }, 'over the size limit')
})

t.test('a thousand generated mutations of a good job: each is accepted as well-formed or refused with a coded error', async (t) => {
  const good = JSON.parse(JSON.stringify(encodeJob(callOf([1, 'two']), ref))) as Record<string, unknown>
  let seed = 17
  // mulberry32: a fixed sequence, so a failure is reproducible.
  const rand = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) % n
  }
  const junk: unknown[] = [null, undefined, 0, -1, 1e308, '', '..', '/', 'x'.repeat(3000), [], {}, [1], { ref: 1 }, true, '__proto__', 'constructor']
  const fields = ['v', 'path', 'module', 'exportName', 'code', 'key', 'args', '__proto__']
  let refused = 0
  let accepted = 0
  for (let i = 0; i < 1000; i++) {
    const job: Record<string, unknown> = JSON.parse(JSON.stringify(good))
    for (let k = 0; k < 1 + rand(3); k++) {
      const f = fields[rand(fields.length)] as string
      if (f === 'args' && rand(2) === 0) (job.args as unknown[])[rand(3)] = junk[rand(junk.length)]
      else Object.defineProperty(job, f, { value: junk[rand(junk.length)], enumerable: true, configurable: true, writable: true })
    }
    try {
      checkJob(job)
      accepted++
    } catch (err) {
      if (!(err instanceof DdsError)) throw err
      refused++
    }
  }
  t.equal(refused + accepted, 1000, `${refused} refused with a coded error, ${accepted} well-formed (a mutation of __proto__ alone leaves the job as it was)`)
  t.ok(refused > 800)
})

t.test('a failure crosses as a coded error; a foreign reason is DDS_QUEUE_FAILED', async (t) => {
  const back = failureOf(failureText(new DdsError('DDS_CODE_MISMATCH', 'refusing', { data: { path: '/a' } })), '/a')
  t.match(back, { code: 'DDS_CODE_MISMATCH', data: { path: '/a' } })
  t.match(failureOf('job stalled more than allowable limit', '/a'), { code: 'DDS_QUEUE_FAILED', data: { path: '/a' } })
  t.match(failureOf('dds-error:{not json', '/a'), { code: 'DDS_QUEUE_FAILED' })
})

t.test('--modules allows the modules and directories it names, nothing else', async (t) => {
  t.ok(allowedModule('src/tiles.ts', undefined))
  t.ok(allowedModule('src/tiles.ts', ['src/']))
  t.ok(allowedModule('src/tiles.ts', ['./src/tiles.ts']))
  t.notOk(allowedModule('src/tiles.ts', ['src/tile']))
  t.notOk(allowedModule('srcx/tiles.ts', ['src/']))
  t.notOk(allowedModule('lib/a.ts', ['src/', 'src/tiles.ts']))
})
