/**
 * Persisted analyses across fresh processes: a second process that sees the
 * same files reuses the stored analysis without loading oxc-parser or
 * oxc-resolver; an edit that keeps a file's size and restores its mtime is
 * still seen; records that are garbage, ill-typed or damaged are misses,
 * not errors; bulk forged to match its digest is a coded error when read.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { openStore } from '../../../store/index.js'
import { decodeRecord } from '../../../lib/signature/persisted-record.js'
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

/** The keys of the analysis records of a store (not the other records kept beside them, such as a run's module list). */
const records = async (store: string): Promise<Uint8Array[]> => {
  const s = await openStore({ location: join(dir, store) })
  const keys: Uint8Array[] = []
  for await (const k of s.backend.keys('meta')) {
    if (!Buffer.from(k).toString('latin1').startsWith('analysis/')) continue
    const v = await s.backend.get('meta', k)
    if (v !== undefined && Buffer.from(v).toString('utf8').startsWith('{"f":"dds-analysis/')) keys.push(k)
  }
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

/** A record's two JSON texts (head, bulk) and their bytes joined again, with the bulk's digest in the head made to match or left as it was. */
const split = (raw: Uint8Array): { head: Record<string, any>, bulk: Record<string, any> } => {
  const text = Buffer.from(raw).toString('utf8')
  const cut = text.indexOf('\n')
  return { head: JSON.parse(text.slice(0, cut)), bulk: JSON.parse(text.slice(cut + 1)) }
}
const joined = (head: Record<string, any>, bulk: unknown, matching: boolean): Uint8Array => {
  const b = Buffer.from(typeof bulk === 'string' ? bulk : JSON.stringify(bulk))
  const h = matching ? { ...head, bulk: { sha256: createHash('sha256').update(b).digest('hex'), length: b.length } } : head
  return Buffer.concat([Buffer.from(JSON.stringify(h)), Buffer.from('\n'), b])
}

t.test('hostile records are misses: garbage, ill-typed fields, damaged bulk, a witness that lies', async (t) => {
  const honest = await run('s2')
  const keys = await records('s2')
  t.ok(keys.length > 0)
  const s = await openStore({ location: join(dir, 's2') })
  const original = await s.backend.get('meta', keys[0]!)
  const { head, bulk } = split(original!)
  t.equal(head.f, 'dds-analysis/3')
  t.ok(Array.isArray(bulk.names) && bulk.names.length > 0 && bulk.digests.length === bulk.names.length * 64, 'the declarations are in the bulk')
  const badDeclarations: Array<[string, Record<string, unknown>]> = [
    ['digests not hex', { names: ['x#y'], digests: 'zz'.repeat(32) }],
    ['one digest of 64 characters not hex among good ones', { names: ['x#y', 'x#z', 'x#w'], digests: '00'.repeat(32) + 'G' + '0'.repeat(63) + 'ab'.repeat(32) }],
    ['a digest in upper case', { names: ['x#y'], digests: 'AB'.repeat(32) }],
    ['digests that are a number', { names: ['x#y'], digests: 7 }],
    ['fewer digests than names', { names: ['x#y', 'x#z'], digests: '00'.repeat(32) }],
    ['a name that is not a string', { names: [7], digests: '00'.repeat(32) }]
  ]
  const variants: Array<[string, Uint8Array]> = [
    ['garbage bytes', Uint8Array.from([0xff, 0xfe, 0x00, 0x42])],
    ['not JSON', Buffer.from('{"f":')],
    ['no bulk', Buffer.from(JSON.stringify(head))],
    ['wrong format', joined({ ...head, f: 'dds-analysis/1' }, bulk, true)],
    ['the first format\'s layout', Buffer.from(JSON.stringify({ f: 'dds-analysis/2', part: { ...head.part, ...bulk }, w: head.w }))],
    ['needs ill-typed', joined({ ...head, part: { ...head.part, needs: [{ label: 1 }] } }, bulk, true)],
    ['bulk cut short', joined(head, JSON.stringify(bulk).slice(0, -10), false)],
    ['bulk not UTF-8', Buffer.concat([Buffer.from(JSON.stringify(head)), Buffer.from('\n'), Buffer.from([0xff, 0xfe])])],
    ...badDeclarations.map(([what, d]): [string, Uint8Array] => [`${what}, the bulk's digest not updated`, joined(head, { ...bulk, ...d }, false)]),
    ['a witness that no longer holds', joined({ ...head, w: { ...head.w, files: [[join(dir, 'helper.mjs'), '00'.repeat(32)]] } }, { ...bulk, names: ['x#y'], digests: '00'.repeat(32) }, true)]
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

t.test('bulk written to match its digest yet ill-formed: a coded error when read, never other declarations', async (t) => {
  // A record as a run writes it (a fresh run on a store of its own).
  await run('s-bulk')
  const keys = await records('s-bulk')
  const r = await openStore({ location: join(dir, 's-bulk') })
  const raw = await r.backend.get('meta', keys[0]!)
  await r.close()
  t.ok(raw !== undefined)
  const { head, bulk } = split(raw!)
  const honest = decodeRecord(raw!)
  t.ok(honest !== undefined && honest.part.declarations.size > 0, 'the honest record decodes, declarations and all')
  t.same([...honest!.part.declarations.values()].map((v) => v.byteLength), bulk.names.map(() => 32), 'each digest 32 bytes of its own')
  t.ok([...honest!.part.declarations.values()].every((v) => v.buffer.byteLength === 32), 'not a view of a shared buffer')
  const forgeries: Array<Record<string, unknown>> = [
    { names: ['x#y'], digests: 'zz'.repeat(32) },
    { names: 'not a list', digests: '' },
    { names: ['x#y'], digests: '00'.repeat(33) },
    { names: ['x#y'], digests: '00'.repeat(32), handles: 'not pairs' }
  ]
  for (const d of forgeries) {
    const forged = decodeRecord(joined(head, { ...bulk, ...d }, true))
    t.ok(forged !== undefined, 'the head alone is checked when the record is read')
    t.throws(() => forged!.part.declarations, { code: 'DDS_INTEGRITY' }, 'reading the declarations is a coded error')
    t.throws(() => forged!.part.analysis!.handles, { code: 'DDS_INTEGRITY' })
  }
  t.equal(decodeRecord(joined(head, { ...bulk, names: [], digests: '' }, false)), undefined, 'a bulk its head does not name is a miss')
})
