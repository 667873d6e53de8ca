/**
 * Persisted analyses across fresh processes: a second process that sees the
 * same files reuses the stored analysis without loading oxc-parser or
 * oxc-resolver; an edit that keeps a file's size and restores its mtime is
 * still seen; records that are garbage or ill-typed are misses, not errors.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../../../store/index.js'
import { repoRoot } from '../../helpers/project.js'
import { startNode } from '../../helpers/spawn.js'

const dir = mkdtempSync(join(tmpdir(), 'dds-persisted-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'persisted', version: '1.0.0', type: 'module' }))
writeFileSync(join(dir, 'helper.mjs'), 'export const twice = (x) => x * 2\n')
// A whole second, so that restoring it is exact (utimes takes ms at most).
const WHEN = Math.floor(Date.now() / 1000) - 60
utimesSync(join(dir, 'helper.mjs'), WHEN, WHEN)
writeFileSync(join(dir, 'x.mjs'), `import { twice } from './helper.mjs'
const native = []
const dlopen = process.dlopen
process.dlopen = function (module, file, ...rest) { native.push(file); return dlopen.call(this, module, file, ...rest) }
const dds = await (await import(process.argv[2])).open({ store: process.argv[3] })
function pair (x) { return { x, double: twice(x) } }
const value = await dds.keep('/pair', pair, 21)
const digest = Buffer.from(dds.codeDigest(pair)).toString('hex')
await dds.close()
console.log(JSON.stringify({ value, digest, oxc: native.filter((f) => /oxc/.test(f)).map((f) => f.replace(/.*node_modules[\\\\/]/, '')) }))
`)

interface Run { value: { x: number, double: number }, digest: string, oxc: string[] }
const entry = join(repoRoot, 'dist', 'bundle', 'index.js')
const run = async (store: string): Promise<Run> => {
  const exit = await startNode(join(dir, 'x.mjs'), [entry, join(dir, store)], { cwd: dir }).done
  if (exit.code !== 0) throw new Error(`node x.mjs exited with ${String(exit.code)}: ${exit.stderr}`)
  return JSON.parse(exit.stdout)
}

const records = async (store: string): Promise<Uint8Array[]> => {
  const s = await openStore({ location: join(dir, store) })
  const keys: Uint8Array[] = []
  for await (const k of s.backend.keys('meta')) if (Buffer.from(k).toString('latin1').startsWith('analysis/')) keys.push(k)
  await s.close()
  return keys
}

t.test('a fresh process reuses the analysis; an edit keeping size and mtime is seen', async (t) => {
  const first = await run('s1')
  t.same(first.value, { x: 21, double: 42 })
  t.ok(first.oxc.length > 0, 'the first process analyses the code (loads oxc)')
  t.ok((await records('s1')).length > 0, 'the analysis is kept in the store')

  const second = await run('s1')
  t.same(second.oxc, [], 'the second process loads neither oxc-parser nor oxc-resolver')
  t.equal(second.digest, first.digest, 'and computes the same signature')

  // Same size, mtime restored: only the bytes tell.
  const helper = join(dir, 'helper.mjs')
  const st = statSync(helper)
  writeFileSync(helper, readFileSync(helper, 'utf8').replace('x * 2', 'x * 3'))
  utimesSync(helper, WHEN, WHEN)
  t.equal(statSync(helper).size, st.size)
  t.equal(statSync(helper).mtimeMs, st.mtimeMs)
  const edited = await run('s1')
  t.not(edited.digest, first.digest, 'the edited helper changes the signature')
  t.same(edited.value, { x: 21, double: 63 }, 'and the function runs again')
  t.ok(edited.oxc.length > 0, 'the edited graph is analysed afresh')
  const fresh = await run('s-fresh')
  t.equal(edited.digest, fresh.digest, 'the same signature as a store that never saw the old analysis')

  // Back to the first bytes: the first record applies again.
  writeFileSync(helper, 'export const twice = (x) => x * 2\n')
  utimesSync(helper, WHEN, WHEN)
  const back = await run('s1')
  t.equal(back.digest, first.digest)
  t.same(back.value, { x: 21, double: 42 })
})

t.test('hostile records are misses: garbage, ill-typed fields, a lying digest', async (t) => {
  const honest = await run('s2')
  const keys = await records('s2')
  t.ok(keys.length > 0)
  const s = await openStore({ location: join(dir, 's2') })
  const original = await s.backend.get('meta', keys[0]!)
  const parsed = JSON.parse(Buffer.from(original!).toString('utf8'))
  const variants: Array<[string, Uint8Array]> = [
    ['garbage bytes', Uint8Array.from([0xff, 0xfe, 0x00, 0x42])],
    ['not JSON', Buffer.from('{"f":')],
    ['wrong format', Buffer.from(JSON.stringify({ ...parsed, f: 'other/9' }))],
    ['declarations not hex', Buffer.from(JSON.stringify({ ...parsed, part: { ...parsed.part, declarations: [['x#y', 'zz']] } }))],
    ['one digest of 64 characters not hex among good ones', Buffer.from(JSON.stringify({ ...parsed, part: { ...parsed.part, declarations: [['x#y', '00'.repeat(32)], ['x#z', 'G' + '0'.repeat(63)], ['x#w', 'ab'.repeat(32)]] } }))],
    ['a digest in upper case', Buffer.from(JSON.stringify({ ...parsed, part: { ...parsed.part, declarations: [['x#y', 'AB'.repeat(32)]] } }))],
    ['a digest that is a number', Buffer.from(JSON.stringify({ ...parsed, part: { ...parsed.part, declarations: [['x#y', 7]] } }))],
    ['needs ill-typed', Buffer.from(JSON.stringify({ ...parsed, part: { ...parsed.part, needs: [{ label: 1 }] } }))],
    ['a witness that no longer holds', Buffer.from(JSON.stringify({ ...parsed, part: { ...parsed.part, declarations: [['x#y', '00'.repeat(32)]] }, w: { ...parsed.w, files: [[join(dir, 'helper.mjs'), '00'.repeat(32)]] } }))]
  ]
  await s.close()
  for (const [what, bytes] of variants) {
    const w = await openStore({ location: join(dir, 's2') })
    await w.backend.batch(keys.map((key) => ({ type: 'put' as const, space: 'meta' as const, key, value: bytes })))
    await w.close()
    const r = await run('s2')
    t.equal(r.digest, honest.digest, `${what}: the signature is computed afresh`)
    t.same(r.value, { x: 21, double: 42 })
  }
})
