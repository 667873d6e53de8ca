/**
 * Tags: set, move, list, delete; load by tag (both spellings) outside and
 * inside a run, where a tagged load depends on the tag, not the head; gc
 * keeps tagged values when it trims history; bundles carry tags, and a
 * hostile bundle's tags are refused.
 */
import t, { type Test } from 'tap'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { CarWriter } from '@ipld/car'
import { writeFile } from 'node:fs/promises'
import { open, type DdsInstance } from '../../lib/dds.js'
import { deleteTag, getTag, listTags, putTag, requireTag, validateTag } from '../../store/tags.js'
import { entryOf } from '../../lib/inspect/target.js'
import { listPaths, pathHistory, pathRows } from '../../lib/inspect.js'
import { gc } from '../../store/gc.js'
import { exportBundle, importBundle } from '../../store/bundle.js'
import { verifyStore } from '../../store/verify.js'
import { cidOf, DAG_CBOR_CODE } from '../../store/hash.js'
import { DdsError } from '../../store/errors.js'

declare global {
  // eslint-disable-next-line no-var
  var tagRuns: number
}
globalThis.tagRuns = 0

function scale (x: number): number {
  return x * 10
}

async function codeOf (p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'no error'
  } catch (err) {
    return err instanceof DdsError ? err.code : (err as Error).name
  }
}

async function dds (t: Test, dir = t.testdir()): Promise<DdsInstance> {
  const d = await open({ store: dir, log: false })
  t.teardown(async () => { await d.close() })
  return d
}

/** Keep /v three times (values 10, 20, 30) and tag the first: returns the tag. */
async function threeValues (d: DdsInstance): Promise<void> {
  for (const x of [1, 2, 3]) await d.keep('/v', scale, x)
  const first = await entryOf(d.store, { path: '/v', seq: 1 })
  await putTag(d.store.backend, { name: 'v1', path: '/v', seq: first.seq, evaluation: first.evaluation as never, output: first.output as never, time: Date.now() })
}

t.test('names are checked', async (t) => {
  t.equal(validateTag('v1.2_rc-3'), 'v1.2_rc-3')
  for (const bad of ['', '1', '12abc', 'a/b', 'a@b', 'x'.repeat(200), 3, null]) {
    t.throws(() => validateTag(bad), { code: 'DDS_TAG_INVALID' }, String(bad))
  }
})

t.test('set, load by tag, move, list, delete', async (t) => {
  const d = await dds(t)
  await threeValues(d)
  t.equal(await d.load('/v'), 30, 'the head')
  t.equal(await d.load('/v@v1'), 10, 'PATH@TAG')
  t.equal(await d.load('/v', { tag: 'v1' }), 10, '{ tag }')
  t.equal(await codeOf(d.load('/v@v2')), 'DDS_TAG_NOT_FOUND')
  t.equal(await codeOf(d.load('/other@v1')), 'DDS_TAG_NOT_FOUND', 'a tag is on one path')
  t.equal(await codeOf(d.load('/v@v1', { tag: 'v1' })), 'TypeError', 'both spellings at once')
  t.equal(await codeOf(d.load('/v', { tag: '9' })), 'DDS_TAG_INVALID')

  const e2 = await entryOf(d.store, { path: '/v', seq: 2 })
  await putTag(d.store.backend, { name: 'v1', path: '/v', seq: 2, evaluation: e2.evaluation as never, output: e2.output as never, time: Date.now() })
  t.equal(await d.load('/v@v1'), 20, 'a tag moves')
  t.equal((await entryOf(d.store, { path: '/v', tag: 'v1' })).seq, 2)
  await putTag(d.store.backend, { name: 'best', path: '/v', seq: 2, evaluation: e2.evaluation as never, output: e2.output as never, time: Date.now() })
  const names: string[] = []
  for await (const tag of listTags(d.store.backend)) names.push(tag.name)
  t.same(names, ['best', 'v1'])
  t.equal(await deleteTag(d.store.backend, 'best'), true)
  t.equal(await deleteTag(d.store.backend, 'best'), false)
  t.equal(await getTag(d.store.backend, 'best'), undefined)
})

function readsRelease (): Promise<number> {
  globalThis.tagRuns++
  return dds0.load<number>('/v@v1').then((v) => v + 1)
}
let dds0: DdsInstance

t.test('a tagged load in a run depends on the tag, not the head', async (t) => {
  const d = await dds(t)
  dds0 = d
  await threeValues(d)
  globalThis.tagRuns = 0
  t.equal(await d.keep('/uses', readsRelease), 11)
  await d.keep('/v', scale, 4)
  t.equal(await d.keep('/uses', readsRelease), 11, 'a newer head changes nothing')
  t.equal(globalThis.tagRuns, 1)
  const e3 = await entryOf(d.store, { path: '/v', seq: 3 })
  await putTag(d.store.backend, { name: 'v1', path: '/v', seq: 3, evaluation: e3.evaluation as never, output: e3.output as never, time: Date.now() })
  t.equal(await d.keep('/uses', readsRelease), 31, 'moving the tag re-runs')
  t.equal(globalThis.tagRuns, 2)
  await deleteTag(d.store.backend, 'v1')
  t.equal(await codeOf(d.keep('/uses', readsRelease)), 'DDS_TAG_NOT_FOUND', 'a deleted tag is a miss that fails loudly')
})

t.test('path listings and histories name the tags on their entries', async (t) => {
  const d = await dds(t)
  await threeValues(d)
  await d.keep('/w', scale, 4)
  const e3 = await entryOf(d.store, { path: '/v', seq: 3 })
  await putTag(d.store.backend, { name: 'best', path: '/v', seq: 3, evaluation: e3.evaluation as never, output: e3.output as never, time: Date.now() })
  await putTag(d.store.backend, { name: 'also', path: '/v', seq: 3, evaluation: e3.evaluation as never, output: e3.output as never, time: Date.now() })
  const page = await listPaths(d.store)
  t.same(page.items.map((r) => [r.path, r.tags]), [['/v', [{ name: 'also', seq: 3 }, { name: 'best', seq: 3 }, { name: 'v1', seq: 1 }]], ['/w', []]])
  const streamed: unknown[] = []
  for await (const r of pathRows(d.store, { prefix: '/v' })) streamed.push(r.tags)
  t.same(streamed, [[{ name: 'also', seq: 3 }, { name: 'best', seq: 3 }, { name: 'v1', seq: 1 }]])
  const history = await pathHistory(d.store, '/v')
  t.same(history.items.map((r) => [r.seq, r.tags]), [[3, ['also', 'best']], [2, []], [1, ['v1']]])
})

t.test('gc trimming history keeps tagged entries and their values', async (t) => {
  const d = await dds(t)
  await threeValues(d)
  const r = await gc(d.store, { keepHistory: 1, graceMs: 0 })
  t.equal(r.history, 1, 'entry 2 goes, the tagged entry 1 stays')
  t.equal(await d.load('/v@v1'), 10)
  t.equal((await entryOf(d.store, { path: '/v', tag: 'v1' })).seq, 1)
  t.equal((await verifyStore(d.store)).ok, true)
})

t.test('bundles carry the tags of the entries they hold', async (t) => {
  const dir = t.testdir()
  const src = await dds(t, join(dir, 'src'))
  await threeValues(src)
  const withHistory = join(dir, 'h.car')
  const headOnly = join(dir, 'head.car')
  await exportBundle(src.store, ['/v'], withHistory, { history: true })
  await exportBundle(src.store, ['/v'], headOnly)

  const a = await dds(t, join(dir, 'a'))
  await importBundle(a.store, withHistory)
  t.equal(await a.load('/v@v1'), 10, 'the tag came with the history')
  t.equal((await requireTag(a.store.backend, 'v1')).seq, 1)

  const b = await dds(t, join(dir, 'b'))
  await importBundle(b.store, headOnly)
  t.equal(await getTag(b.store.backend, 'v1'), undefined, 'a tag on an entry the bundle lacks stays behind')

  // A local tag of the same name is never replaced by an import.
  const c = await dds(t, join(dir, 'c'))
  await c.keep('/v', scale, 7)
  const mine = await entryOf(c.store, { path: '/v' })
  await putTag(c.store.backend, { name: 'v1', path: '/v', seq: mine.seq, evaluation: mine.evaluation as never, output: mine.output as never, time: 1 })
  await importBundle(c.store, withHistory)
  t.equal(await c.load('/v@v1'), 70)
})

t.test('a bundle whose tag names an entry it does not hold is refused, and nothing changes', async (t) => {
  const dir = t.testdir()
  const src = await dds(t, join(dir, 'src'))
  await threeValues(src)
  const head = await entryOf(src.store, { path: '/v' })
  const old = await entryOf(src.store, { path: '/v', seq: 1 })
  // A hand-built bundle: the head's blocks, a manifest claiming a tag on entry 1.
  const blocks: Array<{ cid: import('multiformats/cid').CID, bytes: Uint8Array }> = []
  const { walkStore, entryLinks } = await import('../../store/dag.js')
  for await (const v of walkStore(src.store, entryLinks(head))) if (v.bytes !== undefined) blocks.push({ cid: v.link.cid, bytes: v.bytes })
  for (const [name, tag] of [['wrong', { name: 'v1', path: '/v', evaluation: old.evaluation, output: old.output }], ['shape', 'x'], ['path', { name: 'v1', path: 'nope', evaluation: head.evaluation, output: head.output }]] as const) {
    const manifest = { format: 'dds-bundle/1', created: Date.now(), paths: { '/v': [{ time: head.time, evaluation: head.evaluation, output: head.output }] }, blocks: blocks.length + 1, tags: [tag] }
    const bytes = dagCbor.encode(manifest)
    const root = cidOf(bytes, DAG_CBOR_CODE, src.store.hash)
    const { writer, out } = CarWriter.create([root])
    const chunks: Uint8Array[] = []
    const done = (async () => { for await (const c of out) chunks.push(c) })()
    await writer.put({ cid: root, bytes })
    for (const b of blocks) await writer.put(b)
    await writer.close()
    await done
    const file = join(dir, `${name}.car`)
    await writeFile(file, Buffer.concat(chunks))
    const dst = await dds(t, join(dir, `dst-${name}`))
    await t.rejects(importBundle(dst.store, file), { code: 'DDS_BUNDLE_INVALID', data: { problem: 'tag' } }, name)
    t.equal(await dst.store.head('/v'), undefined, `${name}: nothing imported`)
  }
})
