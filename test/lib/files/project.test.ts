/**
 * Files read by kept functions, the way users live it: a project on disk
 * whose functions read data files (readFileSync, fs.promises, a stream, open
 * and read, a listing, a nested keep, a file() argument, a file large enough
 * to be hashed on the hashing thread), edited between runs;
 * each run a fresh process, under tsx and as compiled tsc output. After each
 * change exactly the functions that read it (and what depends on their
 * values) run again, a touch runs nothing, a revert reuses the earlier result,
 * and no value is stale.
 */
import t, { type Test } from 'tap'
import { mkdirSync, renameSync, rmSync, symlinkSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { createProject, repoRoot, type Runner, type TempProject } from '../../helpers/project.js'

const files: Record<string, string> = {
  'data/rows.csv': 'a,1\nb,2\n',
  'data/stream.txt': 'streamed',
  'data/handle.bin': 'opened',
  'data/nested.txt': 'inner',
  'data/explicit.txt': 'given',
  'data/dir/a.txt': 'A',
  'data/dir/b.txt': 'B',
  'data/big.txt': 'a'.repeat(3 << 19) + 'MARK' + 'a'.repeat(3 << 19),
  'src/steps.ts': `import { readFileSync, readdirSync, createReadStream, openSync, readSync, closeSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { keep } from 'dds-ts'

export function parse (): Array<[string, number]> {
  return readFileSync('data/rows.csv', 'utf8').split('\\n').map((l) => l.trim()).filter(Boolean)
    .map((l) => { const [k, v] = l.split(','); return [k as string, Number(v)] })
}

export function total (rows: Array<[string, number]>): number {
  return rows.reduce((s, r) => s + r[1], 0)
}

export function names (): string[] {
  return readdirSync('data/dir').sort()
}

export async function streamed (): Promise<string> {
  try {
    let out = ''
    for await (const chunk of createReadStream('data/stream.txt', 'utf8')) out += chunk
    return out
  } catch {
    return 'missing'
  }
}

export function handle (): string {
  const fd = openSync('data/handle.bin', 'r')
  try {
    const buf = Buffer.alloc(64)
    const n = readSync(fd, buf, 0, 64, 0)
    return buf.subarray(0, n).toString()
  } finally {
    closeSync(fd)
  }
}

export async function inner (): Promise<string> {
  return (await readFile('data/nested.txt', 'utf8')).toUpperCase()
}

export async function outer (): Promise<string> {
  return 'outer:' + await keep('/inner', inner)
}

export function big (): number {
  let n = 0
  for (const x of readFileSync('data/big.txt')) if (x === 81) n++
  return n
}

export function given (p: string): string {
  return readFileSync(p, 'utf8') + '@' + p
}
`,
  'src/main.ts': `import { readFileSync } from 'node:fs'
import { configure, evaluate, keep, file, closeDefault, type DdsEvent } from 'dds-ts'
import * as s from './steps.js'

const computed: string[] = []
const warnings: string[] = []
configure({ store: process.env.STORE, onEvent: (e: DdsEvent) => {
  if (e.type === 'computed') computed.push(e.path)
  if (e.type === 'warning') warnings.push(e.message)
} })
const kept = await evaluate(async () => {
  const rows = await keep('/rows', s.parse)
  return {
    rows,
    total: await keep('/total', s.total, rows),
    names: await keep('/names', s.names),
    streamed: await keep('/streamed', s.streamed),
    handle: await keep('/handle', s.handle),
    outer: await keep('/outer', s.outer),
    given: await keep('/given', s.given, file('data/explicit.txt')),
    big: await keep('/big', s.big)
  }
})
await closeDefault()
// What each function returns now, computed directly: a kept value must equal it.
const fresh = { rows: s.parse(), total: s.total(s.parse()), names: s.names(), streamed: await s.streamed(), handle: s.handle(),
  outer: 'outer:' + readFileSync('data/nested.txt', 'utf8').toUpperCase(), given: s.given('data/explicit.txt'), big: s.big() }
console.log(JSON.stringify({ computed: computed.sort(), warnings, kept, fresh }))
`
}

interface Outcome { computed: string[], warnings: string[], kept: unknown, fresh: unknown }

const ALL = ['/big', '/given', '/handle', '/inner', '/names', '/outer', '/rows', '/streamed', '/total']

async function scenario (t: Test, project: TempProject, runner: Runner): Promise<void> {
  const store = join(project.root, `store-${runner}`)
  const run = async (what: string, expected: string[]): Promise<Outcome> => {
    const o = await project.run(runner, 'src/main.ts', { env: { STORE: store } }) as Outcome
    t.same(o.computed, expected, `${runner}, ${what}: what ran`)
    t.same(o.kept, o.fresh, `${runner}, ${what}: no stale value`)
    t.same(o.warnings, [], `${runner}, ${what}: no warning`)
    return o
  }
  const later = (rel: string): void => {
    const when = new Date(Date.now() + 60_000 * (1 + Math.random()))
    utimesSync(project.path(rel), when, when)
  }
  const first = await run('first run', ALL)
  await run('second run', [])
  project.write('data/rows.csv', 'a,1\nb,2\nc,3\n')
  await run('rows edited', ['/rows', '/total'])
  project.write('data/rows.csv', 'a,1\nb,2\nc,3\n\n')
  await run('rows edited, same parse', ['/rows'])
  later('data/rows.csv')
  await run('rows touched', [])
  project.write('data/rows.csv', 'a,1\nb,2\n')
  const reverted = await run('rows reverted', [])
  t.same(reverted.kept, first.kept, `${runner}: the revert gives the first values`)
  project.write('data/dir/c.txt', 'C')
  await run('a file added to the listed directory', ['/names'])
  renameSync(project.path('data/dir/b.txt'), project.path('data/dir/d.txt'))
  await run('a listed file renamed', ['/names'])
  project.write('data/dir/a.txt', 'AAA')
  await run('content of a listed file edited', [])
  rmSync(project.path('data/stream.txt'))
  await run('streamed file deleted', ['/streamed'])
  project.write('data/stream.txt', 'streamed again')
  await run('streamed file created again', ['/streamed'])
  project.write('data/handle.bin', 'opened twice')
  await run('file read through a descriptor edited', ['/handle'])
  project.write('data/nested.txt', 'inner 2')
  await run('file read by a nested keep edited', ['/inner', '/outer'])
  later('data/nested.txt')
  later('data/handle.bin')
  await run('nested and descriptor files touched', [])
  project.write('data/explicit.txt', 'given 2')
  await run('file() argument edited', ['/given'])
  later('data/explicit.txt')
  await run('file() argument touched', [])
  project.edit('data/big.txt', 'MARK', 'MARQ')
  await run('one byte in the middle of a large file edited', ['/big'])
  later('data/big.txt')
  await run('the large file touched', [])
  renameSync(project.path('data/rows.csv'), project.path('data/rows.old'))
  project.write('data/rows.csv', 'z,9\n')
  await run('read file replaced by a new one', ['/rows', '/total'])
}

t.test('files read by kept functions, under tsx and tsc', async (t) => {
  for (const runner of ['tsx', 'tsc'] as const) {
    const project = createProject(files)
    t.teardown(() => { project.remove() })
    mkdirSync(join(project.root, 'node_modules'), { recursive: true })
    symlinkSync(repoRoot, join(project.root, 'node_modules', 'dds-ts'), 'dir')
    if (runner === 'tsc') await project.build()
    await t.test(runner, async (t) => { await scenario(t, project, runner) })
  }
})
