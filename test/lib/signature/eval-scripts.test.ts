/**
 * Functions defined in `node -e` code (CommonJS and `--input-type=module`)
 * have no source file: the documented fallback hashes their text and the
 * run-time values of the names they use. The warning says exactly that,
 * instead of a file-read error, and the fallback still tracks a closure value.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { repoRoot } from '../../helpers/project.js'
import { startNode } from '../../helpers/spawn.js'

const dir = mkdtempSync(join(tmpdir(), 'dds-eval-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
const index = join(repoRoot, 'dist', 'lib', 'index.js')

const body = `
const warnings = []
let calls = 0
const k = Number(process.env.K)
const times = (x) => { calls++; return x * k }
async function main () {
  const store = await dds.open({ store: process.env.STORE, onEvent: (e) => { if (e.type === 'warning') warnings.push(e.message) } })
  let value
  await store.evaluate(async () => { value = await store.keep('/times', times, 2) })
  await store.close()
  console.log(JSON.stringify({ value, calls, warnings }))
}
main().catch((err) => { console.error(err); process.exit(1) })
`

const forms: Record<string, string[]> = {
  commonjs: ['-e', `const dds = require(${JSON.stringify(index)})\n${body}`],
  module: ['--input-type=module', '-e', `import * as dds from ${JSON.stringify(pathToFileURL(index).href)}\n${body}`]
}

for (const [form, args] of Object.entries(forms)) {
  t.test(`node -e (${form})`, async (t) => {
    const run = async (k: string): Promise<{ value: number, calls: number, warnings: string[] }> => {
      const exit = await startNode(args[0]!, args.slice(1), { cwd: dir, env: { K: k, STORE: join(dir, `store-${form}`) } }).done
      if (exit.code !== 0) throw new Error(`node ${form} exited ${String(exit.code)}: ${exit.stderr}`)
      return JSON.parse(exit.stdout)
    }
    const first = await run('3')
    t.equal(first.value, 6)
    t.equal(first.calls, 1)
    const sigWarnings = first.warnings.filter((w) => w.includes('times'))
    t.equal(sigWarnings.length, 1, 'one warning about the function')
    t.match(sigWarnings[0], /^times is defined in code without a source file \(node -e, \[eval\d*\]\): it is hashed by its own text and the run-time values of the names it uses/)
    t.notMatch(first.warnings.join('\n'), /ENOENT|cannot read/, 'nothing reads like an error')
    t.equal((await run('3')).calls, 0, 'same text and closure value: reused')
    const changed = await run('4')
    t.equal(changed.calls, 1, 'a closure value changed: it runs again')
    t.equal(changed.value, 8)
  })
}
