/**
 * A CommonJS project (`"type": "commonjs"`): tsx and tsc both emit
 * `require` calls, and tsc rewrites named imports into properties of module
 * objects (`config_js_1.N`). Signatures must match the ESM analysis of the
 * same sources: the same under both runners, with run-time values read.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createProject, distModule } from '../../helpers/project.js'

const here = dirname(fileURLToPath(import.meta.url))

interface Printed {
  digest: string
  declarations: string[]
  values: string[]
  unavailable: string[]
}

const driver = `import { target, scaled } from './app.js'

async function main (): Promise<void> {
  const { codeSignature } = await import(${JSON.stringify(distModule('lib/signature/index.js'))})
  const { DdsError, ErrorCodes } = await import(${JSON.stringify(distModule('store/errors.js'))})
  const { makeHashValue } = await import('./stub.js')
  const hashValue = makeHashValue({ signature: codeSignature, unhashable: (label: string) => new DdsError(ErrorCodes.UNHASHABLE, label) })
  const out: Record<string, unknown> = {}
  for (const [name, fn] of Object.entries({ target, scaled })) {
    const s = codeSignature(fn, { hashValue })
    out[name] = { digest: Buffer.from(s.digest).toString('hex'), declarations: Object.keys(s.manifest.declarations).sort(), values: Object.keys(s.manifest.values).sort(), unavailable: s.manifest.unavailable }
  }
  console.log(JSON.stringify(out))
}

void main()
`

const p = createProject({
  'src/config.ts': "export const N = Number(process.env.SIG_N ?? '3')\nexport const RATE = 2\n",
  'src/helper.ts': "import { N } from './config.js'\nconst OFFSET = Number(process.env.SIG_OFFSET ?? '1')\nexport function helper(x: number): number {\n  return x * N + OFFSET\n}\n",
  'src/app.ts': "import { helper } from './helper.js'\nimport * as config from './config.js'\nimport { N } from './config.js'\n\nexport function target(x: number): number {\n  return helper(x) + config.RATE + N\n}\n\nfunction makeScaled(k: number) {\n  return (x: number) => x * k\n}\nexport const scaled = makeScaled(Number(process.env.SIG_K ?? '2'))\n",
  'src/driver.ts': driver,
  'src/stub.ts': readFileSync(join(here, 'fixtures', 'stub.ts'), 'utf8')
}, { packageJson: { type: 'commonjs' } })
process.on('exit', () => p.remove())
await p.build()

const [tsx, tsc, tscEnv] = await Promise.all([
  p.run('tsx', 'src/driver.ts'),
  p.run('tsc', 'src/driver.ts'),
  p.run('tsc', 'src/driver.ts', { env: { SIG_N: '4', SIG_OFFSET: '5' } })
]) as Array<Record<string, Printed>>

t.test('CommonJS output: same signatures under tsx and tsc, values read', async (t) => {
  for (const name of ['target', 'scaled']) {
    t.equal(tsx![name]!.digest, tsc![name]!.digest, `${name}: same under tsx and tsc`)
    t.same(tsc![name]!.unavailable, [], `${name}: every value was read`)
  }
  t.same(tsc!.target!.declarations, ['src/app.ts#target', 'src/config.ts#N', 'src/config.ts#RATE', 'src/helper.ts#OFFSET', 'src/helper.ts#helper'])
  t.same(tsc!.target!.values, ['src/config.ts#N', 'src/helper.ts#OFFSET'])
  t.same(tsc!.scaled!.values, ['closure:k'])
  t.not(tscEnv!.target!.digest, tsc!.target!.digest, 'computed constants in other modules are dependencies by value')
})
