/**
 * Keys and dependencies that depend on the project layout: a file of another
 * package reached by a relative import (a monorepo), a JSON file imported as
 * data, a Node builtin, a symlinked local package under node_modules.
 */
import { mkdirSync, symlinkSync } from 'node:fs'
import t from 'tap'
import { createProject, distModule } from '../../helpers/project.js'

interface Printed {
  digest: string
  entry: string
  declarations: Record<string, string>
  packages: Record<string, string>
  unavailable: string[]
}

const driver = `import { createHash } from 'node:crypto'
import { codeSignature } from ${JSON.stringify(distModule('lib/signature/index.js'))}
import { target } from './app.js'

const hashValue = (v: unknown) => new Uint8Array(createHash('sha256').update(String(v)).digest())
const s = codeSignature(target, { hashValue })
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex')
console.log(JSON.stringify({ digest: hex(s.digest), entry: s.manifest.entry, declarations: Object.fromEntries(Object.entries(s.manifest.declarations).map(([k, v]) => [k, hex(v)])), packages: s.manifest.packages, unavailable: s.manifest.unavailable }))
`

const p = createProject({
  'packages/app/package.json': JSON.stringify({ name: '@demo/app', version: '1.0.0', type: 'module' }),
  'packages/app/src/app.ts': `import { join } from 'node:path'
import { shared } from '../../lib/src/shared.js'
import { linked } from 'linked-lib'
import table from './table.json' with { type: 'json' }
import { handlers } from './dispatch.js'

export function target(x: number): string {
  return join(String(shared(x) + linked(x) + handlers[0]!(x)), String(table.rows))
}
`,
  'packages/app/src/dispatch.ts': `import * as ops from './ops.js'

export const handlers: Array<(x: number) => number> = []
handlers[0] = ops.inc
`,
  'packages/app/src/ops.ts': `const BIAS = Number(process.env.SIG_BIAS ?? '0')

export function inc(x: number): number {
  return x + 1 + BIAS
}
`,
  'packages/app/src/table.json': '{ "rows": 3 }\n',
  'packages/app/src/driver.ts': driver,
  'packages/lib/package.json': JSON.stringify({ name: '@demo/lib', version: '2.0.0', type: 'module' }),
  'packages/lib/src/shared.ts': 'export function shared(x: number): number {\n  return x * 2\n}\n',
  'packages/linked/package.json': JSON.stringify({ name: 'linked-lib', version: '0.3.0', type: 'module', main: 'index.js' }),
  'packages/linked/index.js': 'export function linked(x) { return x + 1 }\n'
})
process.on('exit', () => p.remove())
// A workspace package linked into node_modules is the project's own source
// (its real path is outside node_modules): analysed, keyed by its package name.
mkdirSync(p.path('packages/app/node_modules'))
symlinkSync(p.path('packages/linked'), p.path('packages/app/node_modules/linked-lib'), 'dir')

t.test('monorepo keys, data files, builtins and linked packages', async (t) => {
  const s = await p.run('tsx', 'packages/app/src/driver.ts') as Printed
  t.equal(s.entry, 'src/app.ts#target', 'keys are relative to the function\'s own package')
  t.same(Object.keys(s.declarations).sort(), [
    '@demo/lib:src/shared.ts#shared', 'linked-lib:index.js#linked', 'src/app.ts#target', 'src/dispatch.ts#handlers', 'src/ops.ts#BIAS', 'src/ops.ts#inc', 'src/table.json'
  ])
  t.same(s.packages, { 'node:path': process.versions.node.split('.')[0] })
  t.same(s.unavailable, [])
  p.edit('packages/app/src/table.json', '3', '4')
  const edited = await p.run('tsx', 'packages/app/src/driver.ts') as Printed
  t.not(edited.declarations['src/table.json'], s.declarations['src/table.json'], 'an imported data file counts by content')
  const biased = await p.run('tsx', 'packages/app/src/driver.ts', { env: { SIG_BIAS: '5' } }) as Printed
  t.same(biased.unavailable, [], 'a value of a module reached only through a table of functions is read')
  t.not(biased.digest, edited.digest, 'and it is a dependency')
})
