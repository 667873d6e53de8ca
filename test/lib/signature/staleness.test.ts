/**
 * The signature must describe the code that runs, not a newer file on disk: a
 * source edited while the process runs, or edited after it was compiled with
 * tsc, is reported, which also keeps the signature apart from the signature
 * of the edited code.
 */
import t from 'tap'
import { createProject, distModule } from '../../helpers/project.js'

interface Printed {
  digest: string
  unavailable: string[]
  warnings: string[]
}

const HELPER = 'export function helper(x: number): number {\n  return x + 1\n}\n'

const driver = `import { writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { SignatureEngine } from ${JSON.stringify(distModule('lib/signature/index.js'))}
import { target } from './app.js'

const edit = process.env.SIG_EDIT_AFTER_LOAD
if (edit !== undefined) writeFileSync('src/helper.ts', edit)
const hashValue = (v: unknown) => new Uint8Array(createHash('sha256').update(String(v)).digest())
const s = new SignatureEngine().signature(target, { hashValue })
console.log(JSON.stringify({ digest: Buffer.from(s.digest).toString('hex'), unavailable: s.manifest.unavailable, warnings: s.warnings }))
`

const p = createProject({
  'src/helper.ts': HELPER,
  'src/app.ts': "import { helper } from './helper.js'\n\nexport function target(x: number): number {\n  return helper(x) * 2\n}\n",
  'src/driver.ts': driver
})
process.on('exit', () => p.remove())
await p.build()

t.test('tsx: a file edited after it was loaded is reported', async (t) => {
  const before = await p.run('tsx', 'src/driver.ts') as Printed
  const edited = HELPER.replace('x + 1', 'x + 100')
  const during = await p.run('tsx', 'src/driver.ts', { env: { SIG_EDIT_AFTER_LOAD: edited } }) as Printed
  t.equal(p.read('src/helper.ts'), edited, 'the file did change during the run')
  t.same(during.unavailable, ['src/helper.ts'])
  t.ok(during.warnings.length > 0)
  const fresh = await p.run('tsx', 'src/driver.ts') as Printed
  t.same(fresh.unavailable, [], 'a fresh process loads the new code')
  t.not(fresh.digest, before.digest)
  t.not(fresh.digest, during.digest, 'the run that loaded the old code cannot share the new signature')
  p.write('src/helper.ts', HELPER)
  t.equal((await p.run('tsx', 'src/driver.ts') as Printed).digest, before.digest, 'reverting restores the first signature')
})

t.test('tsc: a source newer than its compiled output is reported', async (t) => {
  await p.build()
  const built = await p.run('tsc', 'src/driver.ts') as Printed
  t.same(built.unavailable, [])
  p.edit('src/helper.ts', 'x + 1', 'x + 2')
  const stale = await p.run('tsc', 'src/driver.ts') as Printed
  t.same(stale.unavailable, ['src/helper.ts'], 'the edited source is not what runs')
  t.ok(stale.warnings.length > 0)
  await p.build()
  const rebuilt = await p.run('tsc', 'src/driver.ts') as Printed
  t.same(rebuilt.unavailable, [])
  t.not(rebuilt.digest, stale.digest, 'the stale run cannot share a signature with the rebuilt code')
  t.not(rebuilt.digest, built.digest)
})
