/**
 * Fallbacks, in fresh processes: Node's permission model (no inspector, no
 * native parser), the engine with the inspector turned off under both
 * runners, and a minified bundle without a source map.
 */
import t from 'tap'
import { createProject, distModule } from '../../helpers/project.js'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

interface Printed {
  digest: string
  entry: string
  declarations: string[]
  unavailable: string[]
  warnings: string[]
}

const driver = `import { SignatureEngine } from ${JSON.stringify(distModule('lib/signature/index.js'))}
import { DdsError, ErrorCodes } from ${JSON.stringify(distModule('store/errors.js'))}
import { makeHashValue } from './stub.js'
import { target } from './app.js'

const engine = new SignatureEngine({ inspector: process.env.SIG_INSPECTOR !== 'off' })
const hashValue = makeHashValue({ signature: (fn, o) => engine.signature(fn, o), unhashable: (label: string) => new DdsError(ErrorCodes.UNHASHABLE, label) })
const fns: Record<string, Function> = { target }
if (process.env.SIG_BUNDLE === 'on') fns.bundled = (await import('../vendor/bundle.js')).run
const out: Record<string, unknown> = {}
for (const [name, fn] of Object.entries(fns)) {
  const s = engine.signature(fn, { hashValue })
  out[name] = { digest: Buffer.from(s.digest).toString('hex'), entry: s.manifest.entry, declarations: Object.keys(s.manifest.declarations), unavailable: s.manifest.unavailable, warnings: s.warnings }
}
console.log(JSON.stringify(out))
`

const app = `function helper(x: number): number {
  return x + 1
}

export function target(x: number): number {
  return helper(x) * 2
}
`

// One long line and a bundler's helper: what a minified bundle looks like.
const bundle = `var __commonJS=(cb,mod)=>function(){return mod||(0,cb[Object.keys(cb)[0]])((mod={exports:{}}).exports,mod),mod.exports};` +
  Array.from({ length: 120 }, (_, i) => `function h${i}(a){return a*${i}+${i % 7}}`).join(';') +
  ';export function run(x){return h1(x)+h2(x)}\n'

const p = createProject({
  'src/app.ts': app,
  'src/driver.ts': driver,
  'src/stub.ts': readFileSync(join(here, 'fixtures', 'stub.ts'), 'utf8'),
  'vendor/bundle.js': bundle
})
process.on('exit', () => p.remove())
await p.build()

const permission = ['--experimental-permission', `--allow-fs-read=*`]
const [full, denied, offTsx, offTsc, bundled] = await Promise.all([
  p.run('tsc', 'src/driver.ts'),
  p.run('tsc', 'src/driver.ts', { execArgv: permission }),
  p.run('tsx', 'src/driver.ts', { env: { SIG_INSPECTOR: 'off' } }),
  p.run('tsc', 'src/driver.ts', { env: { SIG_INSPECTOR: 'off' } }),
  p.run('tsx', 'src/driver.ts', { env: { SIG_BUNDLE: 'on' } })
]) as Array<Record<string, Printed>>

t.test('the permission model: no inspector, no native parser', async (t) => {
  const s = denied!.target!
  t.equal(s.digest.length, 64, 'a signature is still computed')
  t.ok(s.warnings.length > 0, 'the degraded mode is reported')
  t.ok(s.unavailable.includes('static-analysis'), 'the missing analysis is listed')
  t.not(s.digest, full!.target!.digest)
  p.edit('src/app.ts', 'return helper(x) * 2', '// doubles\n  return helper(x)  *  2')
  await p.build()
  const cosmetic = await p.run('tsc', 'src/driver.ts', { execArgv: permission }) as Record<string, Printed>
  t.equal(cosmetic.target!.digest, s.digest, 'comments and spacing still do not count')
  p.edit('src/app.ts', 'return helper(x)  *  2', 'return helper(x) * 3')
  await p.build()
  const edited = await p.run('tsc', 'src/driver.ts', { execArgv: permission }) as Record<string, Printed>
  t.not(edited.target!.digest, s.digest, 'a body edit changes it')
  p.edit('src/app.ts', '// doubles\n  return helper(x) * 3', 'return helper(x) * 2')
  await p.build()
})

t.test('inspector turned off: located by call site and name, same under tsx and tsc', async (t) => {
  t.equal(offTsx!.target!.entry, 'src/app.ts#target')
  t.same(offTsx!.target!.declarations.sort(), ['src/app.ts#helper', 'src/app.ts#target'])
  t.equal(offTsx!.target!.digest, offTsc!.target!.digest)
  t.equal(offTsx!.target!.digest, full!.target!.digest, 'without run-time values it equals the full signature')
  t.ok(offTsx!.target!.warnings.length > 0)
})

t.test('a minified bundle without a source map is reported, not analysed', async (t) => {
  const s = bundled!.bundled!
  t.same(s.unavailable, ['vendor/bundle.js'])
  t.ok(s.warnings.length > 0)
  t.match(s.entry, /^text:/)
  t.same(bundled!.target, full!.target, 'other functions are unaffected')
})
