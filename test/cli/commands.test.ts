/**
 * The `dds` binary against stores filled by real keep runs: a pipeline run,
 * edited (a module constant), run again, reverted, run again, each in a fresh
 * process. Every command's output, JSON shape and exit code, bad input included.
 */
import t, { type Test } from 'tap'
import { cpSync, readFileSync, writeFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Decoder } from 'cbor-x'
import { openStore } from '../../store/store.js'
import type { PathEntry } from '../../store/records.js'
import { dds, pipelineProject, rows, runPipeline, RAW_CSV } from './helpers/cli.js'
import type { TempProject } from '../helpers/project.js'

let project: TempProject
let base: string

interface Facts {
  heads: Record<string, PathEntry>
  history: Record<string, PathEntry[]>
  sizes: Record<string, number>
}
let facts: Facts

t.before(async () => {
  project = pipelineProject()
  base = join(project.root, 'base-store')
  const first = await runPipeline(project, base)
  t.same(first, { computed: ['/data/big', '/data/raw', '/data/rows', '/stats/mean', '/stats/summary', '/stats/warmest'], hits: [] }, 'first run computes everything')
  project.edit('src/steps.ts', 'SCALE = 10', 'SCALE = 20')
  const second = await runPipeline(project, base)
  t.same(second.computed, ['/data/big', '/data/rows', '/stats/mean', '/stats/summary', '/stats/warmest'], 'the constant change re-runs what reads it, and what gets its values')
  project.edit('src/steps.ts', 'SCALE = 20', 'SCALE = 10')
  const third = await runPipeline(project, base)
  t.same(third.computed, [], 'reverting reuses the first results')

  const store = await openStore({ location: base })
  facts = { heads: {}, history: {}, sizes: {} }
  for await (const e of store.paths()) {
    facts.heads[e.path] = e
    facts.sizes[e.path] = (await store.artifactInfo(e.output as never)).size
    const h: PathEntry[] = []
    for await (const x of store.history(e.path)) h.push(x)
    facts.history[e.path] = h
  }
  await store.close()
})

t.teardown(() => { project.remove() })

const dirs = new WeakMap<Test, string>()
/** The test's own directory (tap empties it on every testdir() call, so it is made once). */
function tdir (t: Test): string {
  let d = dirs.get(t)
  if (d === undefined) {
    d = t.testdir()
    dirs.set(t, d)
  }
  return d
}

/** A private copy of the pipeline's store for one test. */
function storeCopy (t: Test): string {
  const dir = join(tdir(t), 'store')
  cpSync(base, dir, { recursive: true })
  return dir
}

function head (path: string): PathEntry {
  const h = facts.heads[path]
  if (h === undefined) throw new Error(`no head for ${path}`)
  return h
}

t.test('help: every command explains itself with an example; usage mistakes exit 2', async (t) => {
  const main = await dds(['--help'])
  t.equal(main.code, 0)
  const listed = main.stdout.split('\n').filter((l) => /^ {2}[a-z]+ {2,}/.test(l)).map((l) => l.trim().split(/\s+/)[0])
  t.same(listed, ['ls', 'log', 'show', 'cat', 'why', 'plan', 'table', 'plot', 'graph', 'export', 'import', 'keygen', 'verify', 'du', 'gc', 'tag', 'invalidate', 'rm', 'push', 'pull', 'worker', 'serve'])
  for (const name of listed) {
    const r = await dds([name as string, '--help'])
    t.equal(r.code, 0, `${name as string} --help`)
    t.match(r.stdout, /^Usage: dds /)
    t.match(r.stdout, /\nExample:\n {2}\$ dds /)
    t.equal(r.stderr, '')
  }
  t.equal((await dds([])).code, 2, 'no command')
  t.equal((await dds(['frobnicate'])).code, 2, 'unknown command')
  t.equal((await dds(['ls', '--frob'])).code, 2, 'unknown option')
  t.equal((await dds(['log'])).code, 2, 'missing argument')
  t.equal((await dds(['log', '/a', '/b'])).code, 2, 'extra argument')
  t.equal((await dds(['export', '/a'])).code, 2, 'export without -o')
  t.equal((await dds(['gc', '--keep-history', '0'])).code, 2, 'keep-history must be at least 1')
  t.equal((await dds(['graph', '--format', 'png'])).code, 2, 'unknown graph format')
  t.equal((await dds(['show', '/a@1x'])).code, 2, 'bad history reference')
})

t.test('ls: paths, current evaluation, size, last update', async (t) => {
  const store = storeCopy(t)
  const r = await dds(['ls'], { store })
  t.equal(r.code, 0)
  t.equal(r.stderr, '')
  const expected = Object.keys(facts.heads).sort().map((p) => [p, head(p).evaluation?.toString(), String(facts.sizes[p]), new Date(head(p).time).toISOString()])
  t.same(rows(r.stdout), expected)
  t.same(rows((await dds(['ls', '/data'], { store })).stdout).map((x) => x[0]), ['/data/big', '/data/raw', '/data/rows'])
  t.same(rows((await dds(['ls', '/stats/mean'], { store })).stdout).map((x) => x[0]), ['/stats/mean'])
  const json = JSON.parse((await dds(['ls', '--json'], { store })).stdout) as Array<Record<string, unknown>>
  t.same(json.map((x) => Object.keys(x)), json.map(() => ['path', 'seq', 'evaluation', 'output', 'size', 'table', 'time', 'deleted', 'hit', 'imported', 'tags']))
  t.same(json.find((x) => x.path === '/data/big'), {
    path: '/data/big', seq: 3, evaluation: head('/data/big').evaluation?.toString(), output: head('/data/big').output?.toString(), size: 2_400_000, table: null, time: new Date(head('/data/big').time).toISOString(), deleted: false, hit: true, imported: false, tags: []
  })
  const bad = await dds(['ls', 'data'], { store })
  t.equal(bad.code, 1)
  t.match(bad.stderr, /DDS_PATH_INVALID/)
  t.equal(bad.stdout, '')
  const none = await dds(['ls'], { store: join(tdir(t), 'nothing-here') })
  t.equal(none.code, 1)
  t.match(none.stderr, /DDS_STORE_UNAVAILABLE/)
  t.same(readdirSync(tdir(t)).sort(), ['store'], 'no store was created by looking')
})

t.test('log: the history newest first, computed or hit', async (t) => {
  const store = storeCopy(t)
  const r = await dds(['log', '/data/rows'], { store })
  t.equal(r.code, 0)
  const h = facts.history['/data/rows'] as PathEntry[]
  t.equal(h.length, 3)
  t.same(rows(r.stdout).map((x) => x.slice(0, 6)), h.map((e) => [String(e.seq), new Date(e.time).toISOString(), e.hit === true ? 'hit' : 'computed', e.evaluation?.toString(), e.output?.toString(), 'parseRows']))
  t.same(rows(r.stdout).map((x) => x[2]), ['hit', 'computed', 'computed'], 'the revert is a hit')
  t.equal(rows(r.stdout)[0]?.[3], rows(r.stdout)[2]?.[3], 'reverting points the path at the first evaluation again')
  t.match(rows(r.stdout)[0]?.[6], /^\d+(\.\d)?$/, 'duration in ms')
  t.same(rows((await dds(['log', '/data/rows', '-n', '1'], { store })).stdout).length, 1)
  const json = JSON.parse((await dds(['log', '/data/raw', '--json'], { store })).stdout) as Array<Record<string, unknown>>
  t.equal(json.length, 1)
  t.same(Object.keys(json[0] as object), ['seq', 'time', 'status', 'imported', 'evaluation', 'output', 'function', 'started', 'duration', 'tags'])
  t.same((json[0] as { function: unknown }).function, { name: 'readRaw', file: 'src/steps.ts', line: 10, column: 8 })
  const missing = await dds(['log', '/nope'], { store })
  t.equal(missing.code, 1)
  t.match(missing.stderr, /DDS_PATH_NOT_FOUND/)
  const json404 = await dds(['log', '/nope', '--json'], { store })
  t.equal((JSON.parse(json404.stderr) as { code: string, data: { path: string } }).data.path, '/nope', 'with --json the error is JSON on stderr')
})

t.test('show: function, code manifest, inputs, loads, calls, output', async (t) => {
  const store = storeCopy(t)
  const r = await dds(['show', '/stats/summary'], { store })
  t.equal(r.code, 0)
  const lines = rows(r.stdout)
  const kinds = lines.map((l) => l[0])
  t.same([...new Set(kinds)], ['evaluation', 'path', 'function', 'started', 'duration', 'signature', 'code', 'algorithm', 'entry', 'declaration', 'package', 'load', 'call', 'output'])
  t.same(lines.find((l) => l[0] === 'function'), ['function', 'summary', 'src/steps.ts:25:8'])
  t.same(lines.filter((l) => l[0] === 'declaration').map((l) => l[1]), ['src/steps.ts#mean', 'src/steps.ts#summary'])
  t.same(lines.find((l) => l[0] === 'package'), ['package', 'dds-ts', '0.1.0'])
  t.same(lines.find((l) => l[0] === 'load'), ['load', '/data/rows', head('/data/rows').evaluation?.toString(), head('/data/rows').output?.toString()])
  t.same(lines.find((l) => l[0] === 'call')?.slice(2), ['/stats/mean', 'mean'])
  t.same(lines.find((l) => l[0] === 'call')?.[1], head('/stats/mean').evaluation?.toString())
  t.same(lines.find((l) => l[0] === 'output'), ['output', head('/stats/summary').output?.toString(), 'cbor-x/1', String(facts.sizes['/stats/summary'])])

  const rowsShow = rows((await dds(['show', '/data/rows'], { store })).stdout)
  t.same(rowsShow.filter((l) => l[0] === 'declaration').map((l) => l[1]), ['src/steps.ts#SCALE', 'src/steps.ts#normalize', 'src/steps.ts#parseRows'])
  t.same(rowsShow.find((l) => l[0] === 'input')?.slice(0, 2), ['input', '0'])
  t.equal(rowsShow.find((l) => l[0] === 'input')?.[3], JSON.stringify(RAW_CSV), 'the small argument is shown')
  const warmest = rows((await dds(['show', '/stats/warmest'], { store })).stdout)
  t.same(warmest.find((l) => l[0] === 'input'), ['input', '0', head('/data/rows').output?.toString(), 'kept value of /data/rows'], 'a kept value passed as an argument')

  // By CID and by history entry: the same evaluation.
  const byCid = await dds(['show', head('/stats/summary').evaluation?.toString() as string], { store })
  t.equal(byCid.stdout, r.stdout)
  const older = await dds(['show', '/data/rows@2'], { store })
  t.equal(rows(older.stdout)[0]?.[1], facts.history['/data/rows']?.[1]?.evaluation?.toString())

  const json = JSON.parse((await dds(['show', '/stats/summary', '--json'], { store })).stdout) as Record<string, unknown>
  t.same(Object.keys(json), ['evaluation', 'kind', 'path', 'function', 'started', 'duration', 'signature', 'code', 'inputs', 'loads', 'files', 'calls', 'output', 'tags'])
  t.same(Object.keys(json.code as object), ['cid', 'algorithm', 'entry', 'pinned', 'declarations', 'values', 'packages', 'unavailable'])
  t.same(json.loads, [{ path: '/data/rows', evaluation: head('/data/rows').evaluation?.toString(), output: head('/data/rows').output?.toString() }])
  const rj = JSON.parse((await dds(['show', '/data/rows', '--json'], { store })).stdout) as { inputs: Array<{ value: unknown, display: string }> }
  t.equal(rj.inputs[0]?.value, RAW_CSV)

  for (const [arg, code] of [['not-a-cid', 'DDS_CID_INVALID'], ['/nope', 'DDS_PATH_NOT_FOUND'], ['/data/rows@9', 'DDS_PATH_NOT_FOUND'], [head('/data/rows').output?.toString() as string, 'DDS_NOT_FOUND'], ['bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', 'DDS_NOT_FOUND'], ['/bad//path', 'DDS_PATH_INVALID']] as const) {
    const bad = await dds(['show', arg], { store })
    t.equal(bad.code, 1, `show ${arg}`)
    t.match(bad.stderr, new RegExp(code), `show ${arg}: ${code}`)
    t.equal(bad.stdout, '')
  }
})

t.test('cat: bytes and strings as they are, values as JSON, --raw, --json', async (t) => {
  const store = storeCopy(t)
  const raw = await dds(['cat', '/data/raw'], { store })
  t.equal(raw.code, 0)
  t.same(raw.bytes, Buffer.from(RAW_CSV), 'dds cat gives the file back')
  const rowsOut = await dds(['cat', '/data/rows'], { store })
  t.same(JSON.parse(rowsOut.stdout), [{ city: 'paris', t: 120 }, { city: 'lyon', t: 150 }, { city: 'nice', t: 180 }])
  const old = await dds(['cat', '/data/rows@2'], { store })
  t.same(JSON.parse(old.stdout), [{ city: 'paris', t: 240 }, { city: 'lyon', t: 300 }, { city: 'nice', t: 360 }], 'a history entry')
  const big = await dds(['cat', '/data/big'], { store })
  t.equal(big.bytes.byteLength, 2_400_000)
  const values = new Float64Array(big.bytes.buffer, big.bytes.byteOffset, 300_000)
  t.equal(values[1], Math.sin(1) * 10)
  t.equal(values[299_999], Math.sin(299_999) * 10)
  const cbor = await dds(['cat', '/data/rows', '--raw'], { store })
  t.same(new Decoder({ useRecords: false } as never).decode(cbor.bytes), JSON.parse(rowsOut.stdout), '--raw is the stored CBOR payload')
  t.equal(JSON.parse((await dds(['cat', '/data/raw', '--json'], { store })).stdout), RAW_CSV)
  t.same(JSON.parse((await dds(['cat', '/stats/summary'], { store })).stdout), { n: 3, mean: 150 })
  const byEval = await dds(['cat', head('/data/raw').evaluation?.toString() as string], { store })
  t.same(byEval.bytes, Buffer.from(RAW_CSV), 'an evaluation CID prints its output')
  const byArt = await dds(['cat', head('/data/raw').output?.toString() as string], { store })
  t.same(byArt.bytes, Buffer.from(RAW_CSV), 'an artifact CID prints itself')
  const head10 = await dds(['cat', '/nope'], { store })
  t.equal(head10.code, 1)
  t.match(head10.stderr, /DDS_PATH_NOT_FOUND/)
})

t.test('why: the changed declaration, the changed upstream path, or nothing', async (t) => {
  const store = storeCopy(t)
  const hist = facts.history['/data/rows'] as PathEntry[]
  const r = await dds(['why', '/data/rows'], { store })
  t.equal(r.code, 0)
  t.same(rows(r.stdout), [
    ['old', '2', hist[1]?.evaluation?.toString(), new Date(hist[1]?.time as number).toISOString()],
    ['new', '3', hist[0]?.evaluation?.toString(), new Date(hist[0]?.time as number).toISOString()],
    ['declaration', 'changed', 'src/steps.ts#SCALE']
  ])
  const explicit = await dds(['why', '/data/rows', '1', '2'], { store })
  t.same(rows(explicit.stdout).slice(2), [['declaration', 'changed', 'src/steps.ts#SCALE']])
  const summary = facts.history['/stats/summary'] as PathEntry[]
  const s = await dds(['why', '/stats/summary', '1', summary[1]?.evaluation?.toString() as string], { store })
  t.same(rows(s.stdout).slice(2).map((l) => l.slice(0, 3)), [['load', 'changed', '/data/rows'], ['call', 'changed', '/stats/mean']])
  t.same(rows(s.stdout)[2]?.slice(3), [facts.history['/data/rows']?.[2]?.output?.toString(), facts.history['/data/rows']?.[1]?.output?.toString()])
  const same = await dds(['why', '/data/rows', '1', '3'], { store })
  t.same(rows(same.stdout).slice(2), [['nothing', 'identical signature']])
  const json = JSON.parse((await dds(['why', '/data/rows', '--json'], { store })).stdout) as Record<string, unknown>
  t.same(Object.keys(json), ['path', 'old', 'new', 'sameSignature', 'identical', 'changes'])
  t.same(json.changes, [{ kind: 'declaration', change: 'changed', name: 'src/steps.ts#SCALE', file: 'src/steps.ts', declaration: 'SCALE' }])
  const one = await dds(['why', '/data/raw'], { store })
  t.equal(one.code, 0, 'a single evaluation: computed for the first time, not an error')
  const first = rows(one.stdout)
  t.same(first.slice(0, 3), [
    ['new', '1', head('/data/raw').evaluation?.toString(), new Date(head('/data/raw').time).toISOString()],
    ['first', 'computed for the first time'],
    ['function', 'readRaw', 'src/steps.ts:10:8']
  ])
  t.same(first.filter((l) => l[0] === 'declaration').map((l) => l[1]), ['src/steps.ts#readRaw'])
  t.same(first.find((l) => l[0] === 'input')?.[3], '"data/raw.csv"', 'what it ran with')
  const firstJson = JSON.parse((await dds(['why', '/data/raw', '--json'], { store })).stdout) as { first: boolean, new: { seq: number }, ran: { function: { name: string }, inputs: Array<{ value: unknown }> } }
  t.same([firstJson.first, firstJson.new.seq, firstJson.ran.function.name, firstJson.ran.inputs[0]?.value], [true, 1, 'readRaw', 'data/raw.csv'])
  t.match((await dds(['why', '/data/rows', '7'], { store })).stderr, /DDS_NOT_FOUND/)
  t.match((await dds(['why', '/data/rows', 'zzz'], { store })).stderr, /DDS_CID_INVALID/)
})

t.test('graph: DOT, Mermaid, SVG and JSON', async (t) => {
  const store = storeCopy(t)
  const dot = await dds(['graph'], { store })
  t.equal(dot.code, 0)
  t.match(dot.stdout, /^digraph lineage \{\n/)
  for (const p of Object.keys(facts.heads)) t.match(dot.stdout, `[label=<<B>${p}</B><BR/>`)
  t.match(dot.stdout, /<B>\/stats\/summary<\/B><BR\/>summary\(\)<BR\/><FONT POINT-SIZE="9" COLOR="#5b6b7f">src\/steps\.ts:25<\/FONT><BR\/><FONT POINT-SIZE="9" COLOR="#5b6b7f">ran \d{4}-\d\d-\d\d \d\d:\d\d UTC · /)
  t.match(dot.stdout, /n\d+ -> n\d+ \[label="arg 0"\];/)
  const json = JSON.parse((await dds(['graph', '--json'], { store })).stdout) as { nodes: Array<{ id: string, path: string }>, edges: Array<{ from: string, to: string, kind: string, path: string }> }
  const id = (p: string): string => head(p).evaluation?.toString() as string
  t.same(json.nodes.map((n) => n.path), ['/data/big', '/data/raw', '/data/rows', '/stats/mean', '/stats/summary', '/stats/warmest'])
  t.same(json.edges.map((e) => [e.from, e.to, e.kind, e.path]).sort(), [
    [id('/data/rows'), id('/stats/summary'), 'load', '/data/rows'],
    [id('/stats/mean'), id('/stats/summary'), 'call', '/stats/mean'],
    [id('/data/rows'), id('/stats/warmest'), 'input', '/data/rows']
  ].sort())
  const only = JSON.parse((await dds(['graph', '/stats/summary', '--json'], { store })).stdout) as { nodes: Array<{ path: string }> }
  t.same(only.nodes.map((n) => n.path), ['/data/rows', '/stats/mean', '/stats/summary'], 'a path and its lineage')
  const mermaid = await dds(['graph', '--format', 'mermaid'], { store })
  t.match(mermaid.stdout, /^flowchart LR\n/)
  t.match(mermaid.stdout, / -->\|load\| /)
  t.match(mermaid.stdout, / -->\|arg 0\| /)
  t.match(mermaid.stdout, / -\.->\|nested keep\| /)
  const out = join(tdir(t), 'g.svg')
  const svg = await dds(['graph', '--format', 'svg', '-o', out], { store })
  t.equal(svg.code, 0)
  t.equal(svg.stdout, '')
  t.match(readFileSync(out, 'utf8'), /<svg[^>]*>[\s\S]*\/stats\/summary[\s\S]*<\/svg>/)
  t.match((await dds(['graph', '/nope'], { store })).stderr, /DDS_PATH_NOT_FOUND/)
})

t.test('rm: a deletion entry; the path is gone from ls, its history stays', async (t) => {
  const store = storeCopy(t)
  const r = await dds(['rm', '/stats/mean'], { store })
  t.equal(r.code, 0)
  t.same(rows(r.stdout), [['/stats/mean', '4']])
  t.notOk(rows((await dds(['ls'], { store })).stdout).some((l) => l[0] === '/stats/mean'))
  t.same(rows((await dds(['ls', '--deleted'], { store })).stdout).find((l) => l[0] === '/stats/mean')?.slice(1, 3), ['-', '-'])
  const log = rows((await dds(['log', '/stats/mean'], { store })).stdout)
  t.same(log.map((l) => l[2]), ['deleted', 'hit', 'computed', 'computed'])
  const again = await dds(['rm', '/stats/mean'], { store })
  t.equal(again.code, 1)
  t.match(again.stderr, /DDS_PATH_NOT_FOUND/)
})

t.test('verify: clean after real runs; a damaged chunk is named', async (t) => {
  const store = storeCopy(t)
  const r = await dds(['verify'], { store })
  t.equal(r.code, 0)
  t.equal(r.stdout, '')
  t.match(r.stderr, /blocks: \d+ checked/)
  const json = JSON.parse((await dds(['verify', '--json'], { store })).stdout) as { ok: boolean, steps: Array<{ name: string, problems: number }> }
  t.equal(json.ok, true)
  t.same(json.steps.map((s) => [s.name, s.problems]), [['blocks', 0], ['links', 0], ['paths', 0], ['memo', 0]])

  // Flip one byte in the segment file holding /data/big's chunks.
  const blobs = join(store, 'blobs')
  const dir = readdirSync(blobs).sort()[0] as string
  const name = readdirSync(join(blobs, dir)).sort()[0] as string
  const file = join(blobs, dir, name)
  const bytes = readFileSync(file)
  bytes[7] = (bytes[7] as number) ^ 0xff
  writeFileSync(file, bytes)
  const bad = await dds(['verify'], { store })
  t.equal(bad.code, 1)
  const problems = rows(bad.stdout)
  t.same(problems[0]?.slice(0, 2), ['blocks', 'integrity'], `a damaged chunk of ${name}`)
  t.match(problems[0]?.[2], /^bafk/, 'named by its CID (chunks live inside a segment file)')
  t.ok(problems.some((p) => p[1] === 'incomplete' && p[3]?.startsWith('/data/big@')), 'the path it breaks')
})

t.test('gc: nothing to free after clean runs; --keep-history trims and frees', async (t) => {
  const store = storeCopy(t)
  const before = (await dds(['ls'], { store })).stdout
  const r = await dds(['gc'], { store })
  t.equal(r.code, 0)
  t.same(rows(r.stdout), [['blocks', '0'], ['bytes', '0'], ['history', '0'], ['memo', '0'], ['files', '0'], ['file-bytes', '0']])
  const dry = await dds(['gc', '--keep-history', '1', '--grace', '0', '--dry-run', '--json'], { store })
  const d = JSON.parse(dry.stdout) as { dryRun: boolean, blocks: number, bytes: number, history: number, memo: number }
  t.equal(d.dryRun, true)
  t.equal(d.history, 10, 'two older entries of five paths')
  t.ok(d.blocks > 0 && d.bytes > 2_000_000, 'the SCALE = 20 values, /data/big included')
  t.equal(rows((await dds(['log', '/data/rows'], { store })).stdout).length, 3, 'a dry run changes nothing')
  const real = await dds(['gc', '--keep-history', '1', '--grace', '0', '--json'], { store })
  t.same({ ...JSON.parse(real.stdout), dryRun: true, kept: 0 }, { ...d, kept: 0 })
  t.equal((await dds(['ls'], { store })).stdout, before, 'every path still holds its value')
  t.equal(rows((await dds(['log', '/data/rows'], { store })).stdout).length, 1)
  t.equal((await dds(['verify'], { store })).code, 0)
  t.same(JSON.parse((await dds(['cat', '/data/rows'], { store })).stdout)[0], { city: 'paris', t: 120 })
})

t.test('export and import: same log, show and cat; a re-run is a cache hit', async (t) => {
  const src = storeCopy(t)
  const dir = tdir(t)
  const file = join(dir, 'all.car')
  const paths = Object.keys(facts.heads).sort()
  const ex = await dds(['export', ...paths, '-o', file, '--history'], { store: src })
  t.equal(ex.code, 0)
  t.same(rows(ex.stdout).map((l) => l[0]), ['root', 'blocks', 'bytes'])
  const dst = join(dir, 'imported')
  const im = await dds(['import', file], { store: dst })
  t.equal(im.code, 0)
  t.same(rows(im.stdout), paths.map((p) => [p, 'imported', String(facts.history[p]?.length)]))
  for (const p of paths) {
    t.equal((await dds(['log', p], { store: dst })).stdout, (await dds(['log', p], { store: src })).stdout, `log ${p}`)
    t.equal((await dds(['show', p], { store: dst })).stdout, (await dds(['show', p], { store: src })).stdout, `show ${p}`)
    t.same((await dds(['cat', p], { store: dst })).bytes, (await dds(['cat', p], { store: src })).bytes, `cat ${p}`)
  }
  t.equal((await dds(['ls'], { store: dst })).stdout, (await dds(['ls'], { store: src })).stdout)
  t.equal((await dds(['why', '/data/rows'], { store: dst })).stdout, (await dds(['why', '/data/rows'], { store: src })).stdout)
  const json = JSON.parse((await dds(['log', '/data/rows', '--json'], { store: dst })).stdout) as Array<{ imported: boolean }>
  t.same(json.map((e) => e.imported), [true, true, true])
  t.equal((await dds(['verify'], { store: dst })).code, 0)
  const rerun = await runPipeline(project, dst)
  t.same(rerun, { computed: [], hits: ['/data/big', '/data/raw', '/data/rows', '/stats/summary', '/stats/warmest'] }, 're-running the same code here computes nothing')

  // Importing again: nothing changes, and it says so.
  const again = await dds(['import', file], { store: dst })
  t.same(rows(again.stdout), paths.map((p) => [p, 'unchanged', '0']))

  // A store with a newer value keeps it, and says so on stderr.
  const headOnly = join(dir, 'head.car')
  t.equal((await dds(['export', '/data/rows', '-o', headOnly], { store: src })).code, 0)
  await runPipeline(project, dst, { BIG_N: '10' })
  const other = join(dir, 'other')
  cpSync(dst, other, { recursive: true })
  project.edit('src/steps.ts', 'SCALE = 10', 'SCALE = 30')
  await runPipeline(project, other)
  project.edit('src/steps.ts', 'SCALE = 30', 'SCALE = 10')
  const newer = await dds(['import', headOnly], { store: other })
  t.equal(newer.code, 0)
  t.same(rows(newer.stdout), [['/data/rows', 'kept-newer', '0']])
  t.match(newer.stderr, /\/data\/rows: kept the newer value/)
})

t.test('import refuses a corrupted or truncated bundle and leaves the store as it was', async (t) => {
  const src = storeCopy(t)
  const dir = tdir(t)
  const file = join(dir, 'b.car')
  t.equal((await dds(['export', '/stats/summary', '/data/big', '-o', file], { store: src })).code, 0)
  const good = readFileSync(file)
  const dst = join(dir, 'dst')
  // The importing store already has something of its own.
  t.equal((await dds(['import', file], { store: dst })).code, 0)
  t.equal((await dds(['rm', '/data/big'], { store: dst })).code, 0)
  const state = async (): Promise<string[]> => [
    (await dds(['ls', '--deleted'], { store: dst })).stdout,
    (await dds(['log', '/data/big'], { store: dst })).stdout,
    (await dds(['log', '/stats/summary'], { store: dst })).stdout
  ]
  const before = await state()
  const cases: Array<[string, Buffer]> = [
    ['truncated', good.subarray(0, Math.floor(good.byteLength / 2))],
    ['bit flipped', Buffer.from(good).fill(good[5000] as number ^ 1, 5000, 5001)],
    ['not a bundle', Buffer.from('hello, world\n')],
    ['empty', Buffer.alloc(0)]
  ]
  for (const [name, bytes] of cases) {
    const f = join(dir, `${name}.car`)
    writeFileSync(f, bytes)
    const r = await dds(['import', f, '--json'], { store: dst })
    t.equal(r.code, 1, name)
    t.equal((JSON.parse(r.stderr) as { code: string }).code, 'DDS_BUNDLE_INVALID', `${name}: DDS_BUNDLE_INVALID`)
    t.equal(r.stdout, '')
  }
  const missing = await dds(['import', join(dir, 'nope.car')], { store: dst })
  t.equal(missing.code, 1)
  t.match(missing.stderr, /DDS_NOT_FOUND/)
  t.same(await state(), before, 'same paths, heads and history')
  t.equal((await dds(['verify'], { store: dst })).code, 0)
})
