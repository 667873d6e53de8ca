/**
 * The package's structure rules, checked by reading the sources: no import
 * circles in store/ and lib/ (type-only imports count too, since a circle of
 * types is a circle of vocabulary), and lib/cli/ reaches store/ only through
 * the façade store/index.ts.
 */
import t from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Every .ts file under dir, as paths relative to the repository root. */
function sources (dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(root, dir))) {
    const rel = join(dir, name)
    if (statSync(join(root, rel)).isDirectory()) out.push(...sources(rel))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel)
  }
  return out
}

// Static imports and re-exports (`import ... from`, `import type`, `export ... from`,
// bare `import '...'`); dynamic `import()` is deliberately excluded: it is how optional
// parts are loaded lazily and does not make a load-time circle.
const IMPORT = /(?:^|[\n;])\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/g

/** The relative imports of one source file, resolved to repository paths. */
export function importsOf (file: string, text: string): string[] {
  const out: string[] = []
  const stripped = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
  for (const m of stripped.matchAll(IMPORT)) {
    const spec = m[1] ?? ''
    if (!spec.startsWith('.')) continue
    const target = relative(root, resolve(root, dirname(file), spec)).replace(/\.js$/, '.ts')
    out.push(target.split(sep).join('/'))
  }
  return out
}

/** The circles of a graph: each strongly connected component with more than one node, or a self-loop. */
export function circles (graph: Map<string, string[]>): string[][] {
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const on = new Set<string>()
  const found: string[][] = []
  const visit = (v: string): void => {
    idx.set(v, index); low.set(v, index); index++
    stack.push(v); on.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)) } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!))
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = []
      let w: string
      do { w = stack.pop()!; on.delete(w); comp.push(w) } while (w !== v)
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(comp.sort())
    }
  }
  for (const v of graph.keys()) if (!idx.has(v)) visit(v)
  return found
}

const files = [...sources('store'), ...sources('lib')]
const graph = new Map(files.map((f) => [f.split(sep).join('/'), importsOf(f, readFileSync(join(root, f), 'utf8'))]))

t.test('the checker itself finds circles and type-only imports', async (t) => {
  t.same(importsOf('store/a.ts', "import type { X } from './b.js'\nexport { y } from '../lib/c.js'\nimport './d.js'"),
    ['store/b.ts', 'lib/c.ts', 'store/d.ts'])
  t.same(importsOf('store/a.ts', "const m = await import('./b.js')\n// import x from './c.js'"), [])
  t.same(circles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])), [['a', 'b', 'c']])
  t.same(circles(new Map([['a', ['b']], ['b', []]])), [])
})

t.test('no import circles in store/ and lib/, type-only ones included', async (t) => {
  t.ok(graph.size > 50, 'the sources were found')
  t.same(circles(graph), [], 'import circles')
})

t.test('lib/cli imports from store/ only through the façade', async (t) => {
  const bad: string[] = []
  for (const [file, deps] of graph) {
    if (!file.startsWith('lib/cli/')) continue
    for (const d of deps) if (d.startsWith('store/') && d !== 'store/index.ts') bad.push(`${file} -> ${d}`)
  }
  t.same(bad, [], 'imports of store internals from lib/cli')
})

t.test('a file in store/ or lib/ over 450 lines says in its first comment why it is one part', async (t) => {
  const long: string[] = []
  for (const f of files) {
    const text = readFileSync(join(root, f), 'utf8')
    if (text.split('\n').length <= 451) continue
    const first = /^\s*\/\*\*?([\s\S]*?)\*\//.exec(text)?.[1] ?? ''
    if (!/one part/i.test(first)) long.push(f)
  }
  t.same(long, [], 'long files without a reason')
})

t.test('the façade dds-ts/store exports at most 30 run-time names', async (t) => {
  const facade = await import('../store/index.js') as Record<string, unknown>
  const names = Object.keys(facade)
  t.ok(names.includes('openStore') && names.includes('DdsError'), 'the façade was loaded')
  t.ok(names.length <= 30, `${names.length} names: ${names.join(', ')}`)
  const internals = ['LevelBackend', 'openLevelExclusive', 'SharedBackend', 'socketPath', 'walkStore', 'BlockIndex']
  t.same(names.filter((n) => internals.includes(n)), [], 'no backend or internal part')
})
