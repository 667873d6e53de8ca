/**
 * Naming a function's script without the Debugger domain: in a fresh process
 * running plain or tsc-compiled modules the Debugger domain is never enabled,
 * and the cheap way gives the same locations, URLs, source map URLs, loaded
 * files and signatures as the Debugger domain, for ES modules, CommonJS,
 * tsc output with source maps, arrow functions, class methods, two functions
 * on one line, closures, one file loaded twice and eval'd code; under tsx
 * (which rewrites every .ts file) the answers are the same too. A source map
 * URL read from a file is V8's own whenever the file rule gives one.
 */
import t from 'tap'
import type { Test } from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Script } from 'node:vm'
import { mapURLFromFile } from '../../../lib/signature/inspector.js'
import { createProject, distModule } from '../../helpers/project.js'
import type { Runner } from '../../helpers/project.js'

const stub = readFileSync(join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'stub.ts'), 'utf8')

const driver = `import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { InspectorBridge, scriptLookup } from ${JSON.stringify(distModule('lib/signature/inspector.js'))}
import { SignatureEngine } from ${JSON.stringify(distModule('lib/signature/index.js'))}
import { DdsError, ErrorCodes } from ${JSON.stringify(distModule('store/errors.js'))}
import { makeHashValue } from './stub.js'
import * as shapes from './shapes.js'

const root = process.cwd()
const plain = await import(pathToFileURL(join(root, 'js/plain.mjs')).href)
const again = await import(pathToFileURL(join(root, 'js/plain.mjs')).href + '?again')
const mapped = await import(pathToFileURL(join(root, 'js/mapped.mjs')).href)
const old = createRequire(join(root, 'x.js'))('./js/old.cjs')
const evald = eval('(function evald (x) { return x + 1 })')
const fns: Record<string, Function> = {
  tsFunction: shapes.area, tsArrow: shapes.double, tsMethod: shapes.Box.prototype.volume, tsStatic: shapes.Box.make,
  left: shapes.left, right: shapes.right, closureA: shapes.scaler(2), closureB: shapes.scaler(3),
  esm: plain.triple, esmArrow: plain.half, esmAgain: again.triple, esmMapped: mapped.mapped,
  cjs: old.square, cjsMethod: old.Counter.prototype.inc, evald
}
if (process.env.FALLBACK === '1') fns.named = (await import(pathToFileURL(join(root, 'js/named.mjs')).href)).named

const unsigned = new Set(['evald'])
const project = pathToFileURL(root).href + '/'
const hashValue = makeHashValue({ signature: (f, o) => new SignatureEngine().signature(f, o), unhashable: (label: string) => new DdsError(ErrorCodes.UNHASHABLE, label) })
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex')
function answers (bridge: InspectorBridge) {
  const where: Record<string, unknown> = {}
  for (const [k, f] of Object.entries(fns)) {
    const loc = bridge.details(f, 'g').location
    const s = loc === undefined ? undefined : bridge.script(loc.scriptId)
    // A script without a file has no map anyone reads (asking would enable the Debugger domain).
    where[k] = { loc, url: s?.url, map: s === undefined || !s.url.startsWith('file:') ? undefined : s.sourceMapURL }
  }
  bridge.release('g')
  const files = [...bridge.knownScripts()].filter((s) => s.url.startsWith(project) && !s.url.includes('/node_modules/')).map((s) => [s.url, s.sourceMapURL]).sort()
  return { where, files }
}
function signatures () {
  const engine = new SignatureEngine()
  return Object.fromEntries(Object.entries(fns).filter(([k]) => !unsigned.has(k)).map(([k, f]) => [k, hex(engine.signature(f, { hashValue }).digest)]))
}
const cheap = answers(InspectorBridge.connect()!)
const cheapSigs = signatures()
const cheapReplays = scriptLookup.debuggerReplays
scriptLookup.debuggerOnly = true
const viaDebugger = answers(InspectorBridge.connect()!)
const debuggerSigs = signatures()
console.log(JSON.stringify({ cheap, cheapSigs, cheapReplays, viaDebugger, debuggerSigs, replays: scriptLookup.debuggerReplays }))
`

const p = createProject({
  'src/stub.ts': stub,
  'src/main.ts': driver,
  'src/shapes.ts': `export function area (w: number, h: number): number { return w * h }
export const double = (x: number): number => x * 2
export class Box {
  constructor (readonly side: number) {}
  volume (): number { return this.side ** 3 }
  static make (side: number): Box { return new Box(side) }
}
export const left = (x: number) => x + 1, right = (x: number) => x - 1
export function scaler (k: number) { return (x: number) => x * k }
`,
  'js/plain.mjs': 'export function triple (x) { return x * 3 }\nexport const half = (x) => x / 2\n',
  'js/mapped.mjs': 'export function mapped (x) { return x + 7 }\n//# sourceMappingURL=mapped.mjs.map\n',
  'js/mapped.mjs.map': JSON.stringify({ version: 3, file: 'mapped.mjs', sources: ['mapped.src.mjs'], names: [], mappings: 'AAAA' }),
  'js/mapped.src.mjs': 'export function mapped (x) { return x + 7 }\n',
  'js/old.cjs': 'exports.square = function square (x) { return x * x }\nexports.Counter = class Counter { inc () { return 1 } }\n',
  // Mentions a sourceURL: the file rule leaves it to the Debugger domain.
  'js/named.mjs': '// not a sourceURL comment, but the rule does not tell\nexport const named = (x) => x - 3\n'
})
t.teardown(() => { p.remove() })

interface Answers { where: Record<string, { loc?: { scriptId: string, line: number, column: number }, url?: string, map?: string }>, files: Array<[string, string]> }
interface Out { cheap: Answers, cheapSigs: Record<string, string>, cheapReplays: number, viaDebugger: Answers, debuggerSigs: Record<string, string>, replays: number }

const same = (t: Test, o: Out): void => {
  t.same(o.cheap.where, o.viaDebugger.where, 'the same locations, URLs and source map URLs as the Debugger domain')
  t.same(o.cheap.files, o.viaDebugger.files, 'the same loaded files and source map URLs')
  t.same(o.cheapSigs, o.debuggerSigs, 'the same signatures')
  const w = o.cheap.where
  t.equal(w.left?.loc?.line, w.right?.loc?.line, 'two functions on one line')
  t.not(w.left?.loc?.column, w.right?.loc?.column)
  t.not(o.cheapSigs.left, o.cheapSigs.right)
  t.same(w.closureA?.loc, w.closureB?.loc, 'closures of one function share its location')
  t.not(w.esm?.loc?.scriptId, w.esmAgain?.loc?.scriptId, 'one file loaded twice is two scripts')
  t.equal(w.esmAgain?.url, `${w.esm?.url ?? ''}?again`)
  t.equal(w.esmMapped?.map, 'mapped.mjs.map')
  t.equal(w.evald?.url, '', 'eval\'d code has no URL')
}

t.before(async () => { await p.build() })

for (const runner of ['tsc', 'tsx'] as Runner[]) {
  t.test(`${runner}: the cheap way gives the Debugger domain's answers`, async (t) => {
    const o = await p.run(runner, 'src/main.ts') as Out
    same(t, o)
    if (runner === 'tsc') {
      t.equal(o.cheapReplays, 0, 'the Debugger domain is not enabled, signatures included')
      t.equal(o.cheap.where.tsMethod?.map, 'shapes.js.map', 'tsc output: the map URL from the file\'s comment')
    } else {
      t.ok(o.cheapReplays >= 1, 'tsx rewrites .ts files: their map URL is asked of the Debugger domain')
      t.match(o.cheap.where.tsMethod?.map, /^data:application\/json/)
    }
    t.ok(o.replays > o.cheapReplays, 'the comparison did use the Debugger domain')
  })
}

t.test('a file the rule cannot read falls back to the Debugger domain, with the same answers', async (t) => {
  const o = await p.run('tsc', 'src/main.ts', { env: { FALLBACK: '1' } }) as Out
  same(t, o)
  t.ok(o.cheapReplays >= 1)
  t.equal(o.cheap.where.named?.map, '')
})

t.test('a source map URL read from a file is the one V8 took', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dds-maprule-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const texts: Array<[string, string | undefined]> = [
    ['0;\n', ''],
    ['0;\n//# sourceMappingURL=a.js.map\n', 'a.js.map'],
    ['0;\n//# sourceMappingURL=a.js.map', 'a.js.map'],
    ['0;\n  //# sourceMappingURL=a.js.map \t\n\n  \n', 'a.js.map'],
    ['\ufeff0;\n//# sourceMappingURL=bom.map\n', 'bom.map'],
    ['//# sourceMappingURL=first.map\n0;\n//# sourceMappingURL=second.map\n', 'second.map'],
    // Not comments, or not read the way V8 reads them: the rule declines.
    ['var x = "\\\n//# sourceMappingURL=s.map"\n', undefined],
    ['var x = `\n//# sourceMappingURL=t.map`\n', undefined],
    ['/*\n//# sourceMappingURL=c.map*/\n', undefined],
    ['//# sourceMappingURL=early.map\n0;\n', undefined],
    ['//#  sourceMappingURL=two-spaces.map\n', undefined],
    ['//@ sourceMappingURL=old.map\n', undefined],
    ['0; //# sourceMappingURL=inline.map\n', undefined],
    ['//# sourceMappingURL=a.map junk\n', undefined],
    ["var s = 'sourceMappingURL'\n", undefined],
    ['0;\n//# sourceURL=named.js\n', undefined]
  ]
  const session = new Session()
  session.connect()
  const parsed = new Map<string, { sourceMapURL?: string, length?: number }>()
  session.on('Debugger.scriptParsed', (m) => { parsed.set(m.params.url, m.params) })
  const post = (method: string): void => { session.post(method, (err) => { if (err !== null) throw err }) }
  const kept: Script[] = []
  texts.forEach(([text], i) => {
    const file = join(dir, `case${i}.js`)
    writeFileSync(file, text)
    const script = new Script(text, { filename: file })
    script.runInThisContext()
    kept.push(script)
  })
  post('Debugger.enable')
  post('Debugger.disable')
  session.disconnect()
  texts.forEach(([text, expected], i) => {
    const file = join(dir, `case${i}.js`)
    // A sourceURL comment renames the script: V8 reports it under that name.
    const named = /\/\/# sourceURL=(\S+)/.exec(text)?.[1]
    const v8 = parsed.get(file) ?? parsed.get(`file://${file}`) ?? (named !== undefined ? parsed.get(named) : undefined)
    t.ok(v8, `case ${i}: V8 compiled it`)
    const rule = mapURLFromFile(`file://${file}`, text.length)
    t.equal(rule, expected, `case ${i}: ${JSON.stringify(text)}`)
    if (rule !== undefined) t.equal(rule, v8?.sourceMapURL ?? '', `case ${i}: the rule gives V8's answer`)
  })
  t.equal(mapURLFromFile(`file://${join(dir, 'case1.js')}`, 3), undefined, 'another length: the script is not the file')
  t.equal(mapURLFromFile('', 4), undefined, 'no file')
  t.equal(kept.length, texts.length)
})
