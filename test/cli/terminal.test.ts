/**
 * The `dds` binary as a person at a terminal meets it (stdout on a
 * pseudo-terminal): aligned listings with headers, binary values summarised
 * by `cat`, a mistyped command answered with the nearest one, the store it
 * found said on stderr; and `graph --format svg` without its optional package.
 * The same commands through a pipe keep the tab-separated form and the bytes.
 */
import t, { type Test } from 'tap'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { open } from '../../lib/dds.js'
import { loadGraphviz } from '../../lib/graph.js'
import { DdsError } from '../../store/errors.js'
import { dds, ddsTty, rows } from './helpers/cli.js'

function series (n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => i * 0.5)
}

function picture (): Uint8Array {
  return Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 1, 2, 3])
}

function textBytes (): Uint8Array {
  return new TextEncoder().encode('plain text, as bytes\n')
}

function notes (): string {
  return 'hello\nworld\n'
}

function table (n: number): Array<{ n: number }> {
  return Array.from({ length: n }, (_, i) => ({ n: i }))
}

let store: string

t.before(async () => {
  const dir = t.testdir({ project: {} })
  store = join(dir, 'project', '.dds')
  const d = await open({ store })
  await d.evaluate(async () => {
    await d.keep('/num/series', series, 300_000)
    await d.keep('/bin/picture', picture)
    await d.keep('/bin/text', textBytes)
    await d.keep('/text/notes', notes)
    await d.keep('/rows', table, 2)
  })
  await d.keep('/rows', table, 3)
  await d.keep('/rows', table, 2)
  await d.close()
})

/**
 * Every row lines up with the header: a left-aligned column (`NAME`) starts
 * where its header starts, a right-aligned one (`>NAME`) ends where its
 * header ends. Returns the rows.
 */
function aligned (t: Test, out: string, headers: string[]): string[] {
  const lines = out.split('\n').filter((l) => l !== '')
  const header = lines[0] as string
  const cols = headers.map((h) => {
    const right = h.startsWith('>')
    const name = right ? h.slice(1) : h
    const start = header.indexOf(name)
    return { name, right, start, end: start + name.length }
  })
  t.ok(cols.every((c, i) => c.start >= 0 && (i === 0 || c.start > (cols[i - 1] as { end: number }).end)), `header ${header}`)
  for (const line of lines.slice(1)) {
    for (const c of cols) {
      const ok = c.right
        ? line[c.end - 1] !== ' ' && (line[c.end] ?? ' ') === ' '
        : line[c.start] !== ' ' && (c.start === 0 || line[c.start - 1] === ' ')
      t.ok(ok, `${c.name} lines up: ${JSON.stringify(line)}`)
    }
  }
  return lines.slice(1)
}

t.test('ls and log on a terminal: a header, aligned columns, words, short CIDs, KiB/MiB, relative times', async (t) => {
  const ls = await ddsTty(['ls'], { store })
  t.equal(ls.code, 0)
  const lines = aligned(t, ls.stdout, ['PATH', 'STATUS', '>SIZE', 'UPDATED', 'EVALUATION'])
  t.same(lines.map((l) => l.split(/\s+/)[0]), ['/bin/picture', '/bin/text', '/num/series', '/rows', '/text/notes'])
  const series = lines.find((l) => l.startsWith('/num/series')) as string
  t.match(series, /\bcomputed\b/)
  t.match(series, /\b2\.3 MiB\b/, '2,400,000 bytes in MiB')
  t.match(series, /\bjust now\b|\b\d+ min ago\b/)
  t.match(series, /\bbafy…[a-z2-7]{8}$/, 'a short CID')
  t.match(lines.find((l) => l.startsWith('/rows')), /\breused\b/, 'the last entry of /rows was a hit')
  t.notMatch(ls.stdout, /\t/, 'no tabs on a terminal')

  const piped = await dds(['ls'], { store })
  t.equal(rows(piped.stdout).length, 5, 'a pipe gets tab-separated lines, no header')
  t.equal(rows(piped.stdout)[0]?.length, 4)
  const json = await ddsTty(['ls', '--json'], { store })
  t.same((JSON.parse(json.stdout) as Array<{ path: string }>).map((r) => r.path).length, 5, '--json stays JSON on a terminal')

  const log = await ddsTty(['log', '/rows'], { store })
  t.equal(log.code, 0)
  const entries = aligned(t, log.stdout, ['>SEQ', 'WHEN', 'STATUS', 'FUNCTION', '>TOOK', 'EVALUATION', 'OUTPUT'])
  t.same(entries.map((l) => l.trim().split(/\s+/)[0]), ['3', '2', '1'])
  t.match(entries[0], /\breused\b.*\btable\b/)
  t.match(entries[1], /\bcomputed\b.*\btable\b.* ms\b/)
  t.same(rows((await dds(['log', '/rows'], { store })).stdout).map((r) => r[2]), ['hit', 'computed', 'computed'], 'a pipe keeps the words of the TSV form')
})

t.test('cat on a terminal: binary values summarised unless --raw; text as it is; a pipe gets the bytes', async (t) => {
  const typed = await ddsTty(['cat', '/num/series'], { store })
  t.equal(typed.code, 0)
  t.match(typed.stdout, /^Float64Array, 300000 elements \(2\.3 MiB\), artifact bafy/)
  t.match(typed.stdout, /first values: 0, 0\.5, 1, 1\.5, 2, 2\.5, 3, 3\.5, …/)
  t.match(typed.stderr, /--raw/, 'how to get the bytes')
  t.ok(typed.bytes.byteLength < 1000, 'no raw bytes on the terminal')

  const bin = await ddsTty(['cat', '/bin/picture'], { store })
  t.match(bin.stdout, /^binary data, 20 B \(bytes\)/)
  t.match(bin.stdout, /first bytes: 89 50 4e 47 0d 0a 1a 0a 00/)

  t.equal((await ddsTty(['cat', '/bin/text'], { store })).stdout, 'plain text, as bytes\n', 'bytes that are text are shown')
  t.equal((await ddsTty(['cat', '/text/notes'], { store })).stdout, 'hello\nworld\n')
  const raw = await ddsTty(['cat', '/bin/picture', '--raw'], { store })
  t.notMatch(raw.stdout, /binary data/, '--raw prints the bytes even on a terminal')
  t.ok(raw.bytes.includes(Buffer.from([0x89, 0x50, 0x4e, 0x47])))

  const piped = await dds(['cat', '/num/series'], { store })
  t.equal(piped.bytes.byteLength, 2_400_000, 'a pipe or a redirect gets the bytes')
  t.equal(new Float64Array(piped.bytes.buffer, piped.bytes.byteOffset, 300_000)[3], 1.5)
  t.same((await dds(['cat', '/bin/picture'], { store })).bytes, Buffer.from(picture()))
})

t.test('an unknown command: the nearest one is suggested, exit 2', async (t) => {
  for (const [typed, meant] of [['lss', 'ls'], ['shwo', 'show'], ['verfy', 'verify'], ['im', 'import'], ['graf', 'graph']] as const) {
    const r = await dds([typed])
    t.equal(r.code, 2, typed)
    t.match(r.stderr, `dds: unknown command "${typed}"; did you mean \`dds ${meant}\`?`, `${typed} -> ${meant}`)
  }
  const far = await dds(['frobnicate'])
  t.equal(far.code, 2)
  t.notMatch(far.stderr, /did you mean/, 'nothing near enough: no guess')
})

t.test('dds says which store it uses when it was not named', async (t) => {
  const cwd = join(store, '..')
  const found = await dds(['ls'], { cwd })
  t.equal(found.code, 0)
  t.match(found.stderr, `dds ls: store ${store}\n`)
  t.equal(rows(found.stdout).length, 5)
  const named = await dds(['ls'], { store })
  t.equal(named.stderr, '', 'a store named by --store is not repeated')
  const byEnv = await dds(['ls'], { cwd, env: { DDS_STORE: store } })
  t.equal(byEnv.stderr, '', 'nor one named by $DDS_STORE')
  const empty = join(t.testdir(), 'nowhere')
  mkdirSync(empty)
  const none = await dds(['ls'], { cwd: empty })
  t.equal(none.code, 1)
  t.match(none.stderr, /DDS_STORE_UNAVAILABLE/)
})

t.test('graph --format svg without the optional Graphviz package: a coded error naming it', async (t) => {
  // A resolve hook that makes the package absent, as after `npm install --omit=optional`.
  const hook = 'data:text/javascript,' + encodeURIComponent(`
    import { register } from 'node:module'
    register('data:text/javascript,' + encodeURIComponent(\`
      export async function resolve (specifier, context, next) {
        if (specifier === '@hpcc-js/wasm-graphviz') {
          const err = new Error('Cannot find package ' + specifier)
          err.code = 'ERR_MODULE_NOT_FOUND'
          throw err
        }
        return next(specifier, context)
      }\`))
  `)
  const out = join(t.testdir(), 'g.svg')
  const r = await dds(['graph', '--format', 'svg', '-o', out], { store, node: ['--import', hook] })
  t.equal(r.code, 1)
  t.match(r.stderr, /^dds graph: DDS_DEPENDENCY_MISSING: .*@hpcc-js\/wasm-graphviz/)
  const j = await dds(['graph', '--format', 'svg', '--json', '-o', out], { store, node: ['--import', hook] })
  t.equal(j.code, 0, '--json prints the graph itself, Graphviz not needed')
  const dot = await dds(['graph'], { store, node: ['--import', hook] })
  t.equal(dot.code, 0, 'DOT needs no Graphviz')
  const svg = await dds(['graph', '--format', 'svg', '-o', out], { store })
  t.equal(svg.code, 0, 'with the package installed, the picture is drawn')

  // The loader itself: only a missing module becomes the coded error.
  const missing = Object.assign(new Error('nope'), { code: 'ERR_MODULE_NOT_FOUND' })
  const err = await loadGraphviz(async () => { throw missing }).catch((e: unknown) => e)
  t.ok(err instanceof DdsError)
  t.same([(err as DdsError).code, (err as DdsError).data?.package], ['DDS_DEPENDENCY_MISSING', '@hpcc-js/wasm-graphviz'])
  const broken = new SyntaxError('bad wasm glue')
  t.equal(await loadGraphviz(async () => { throw broken }).catch((e: unknown) => e), broken, 'another failure is not disguised')
})
