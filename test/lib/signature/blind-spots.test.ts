/**
 * Where the analysis cannot see what a function depends on (eval, a `with`
 * block, a computed property write to a binding from outside the function,
 * an import() of a computed specifier), the signature's warnings say so and
 * name the place (file:line:column); what it can see raises nothing.
 */
import t from 'tap'
import { createProject, distModule } from '../../helpers/project.js'

const driver = `import { createHash } from 'node:crypto'
import { codeSignature } from ${JSON.stringify(distModule('lib/signature/index.js'))}
import * as b from './blind.js'
import sloppy from './sloppy.cjs'

const hashValue = (v: unknown) => new Uint8Array(createHash('sha256').update(String(v)).digest())
const out: Record<string, string[]> = {}
for (const [name, fn] of Object.entries({ ...b, usesWith: sloppy.usesWith })) if (typeof fn === 'function') out[name] = codeSignature(fn as Function, { hashValue }).warnings
console.log(JSON.stringify(out))
`

const p = createProject({
  'src/driver.ts': driver,
  'src/blind.ts': `export const REGISTRY: Record<string, number> = {}

export function usesEval (): number {
  return eval('1 + 1')
}

export function writesRegistry (k: string): void {
  REGISTRY[k] = 1
}

export function writesLocal (k: string): Record<string, number> {
  const local: Record<string, number> = {}
  local[k] = 2
  local['fixed'] = 3
  REGISTRY.plain = 4
  return local
}

export async function dynamicImport (spec: string): Promise<unknown> {
  return await import(spec)
}
`,
  'src/sloppy.cjs': `exports.usesWith = function usesWith (o) {
  with (o) {
    return a
  }
}
`
})
process.on('exit', () => p.remove())

t.test('warnings name the places the analysis cannot see through', async (t) => {
  const w = await p.run('tsx', 'src/driver.ts') as Record<string, string[]>
  const has = (name: string, re: RegExp): void => { t.ok(w[name]!.some((m) => re.test(m)), `${name}: ${String(re)} in ${JSON.stringify(w[name])}`) }
  has('usesEval', /uses eval at src\/blind\.ts:4:10/)
  has('writesRegistry', /writes a computed property of REGISTRY at src\/blind\.ts:8:3/)
  has('dynamicImport', /dynamic import\(\) at src\/blind\.ts:20:16/)
  has('usesWith', /with block at src\/sloppy\.cjs:2:3/)
  t.same(w.writesLocal, [], 'computed writes to a local and static-key writes raise nothing')
})
