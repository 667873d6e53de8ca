/**
 * Tags travel with push and pull: a push sends the tags of the pushed paths,
 * a pull adopts them under the local sequence numbers, never replacing a
 * local tag. The attacker's side: a remote tag naming an evaluation that is
 * not on its path (or a forged object) is ignored, and changes nothing.
 */
import t from 'tap'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { open } from '../../lib/dds.js'
import { openStore } from '../../store/store.js'
import { pushPaths, pullPaths } from '../../store/remote/index.js'
import { getTag, listTags, putTag } from '../../store/tags.js'
import { remotes } from './helpers/env.js'

function model (v: number): string { return `model ${v}` }
function other (v: number): string { return `other ${v}` }

for (const env of remotes(t)) {
  t.test(`${env.name}: tags go up with push and come down with pull`, async (t) => {
    const prefix = env.prefix('tags')
    const dir = t.testdir()
    const alone = await open({ store: join(dir, 'a'), log: false })
    await alone.keep('/m', model, 1)
    await alone.keep('/o', other, 1)
    await alone.close()
    const a = await openStore({ location: join(dir, 'a'), remote: env.remote(prefix, 0) })
    const head = (await a.local.namespace.headEntry('/m'))!
    await putTag(a.backend, { name: 'v1', path: '/m', seq: head.seq, evaluation: head.evaluation!, output: head.output!, time: Date.now() })
    const o = (await a.local.namespace.headEntry('/o'))!
    await putTag(a.backend, { name: 'unpushed', path: '/o', seq: o.seq, evaluation: o.evaluation!, output: o.output!, time: Date.now() })
    const pushed = await pushPaths(a, ['/m'])
    t.same(pushed.tags, ['v1'], 'only the tags of pushed paths')
    t.same(await env.keys(prefix, 'tag/'), ['tag/v1'])
    await a.close()

    const b = await openStore({ location: join(dir, 'b'), remote: env.remote(prefix, 1) })
    // b has its own v1 elsewhere: it is kept.
    const local = await open({ store: b, log: false })
    await local.keep('/mine', other, 7)
    const mine = (await b.local.namespace.headEntry('/mine'))!
    const pulled = await pullPaths(b, ['/m'])
    t.same(pulled.tags, ['v1'])
    const tag = await getTag(b.backend, 'v1')
    t.equal(tag?.path, '/m')
    t.ok(tag?.evaluation.equals(head.evaluation!))
    t.equal(tag?.seq, (await b.local.namespace.headEntry('/m'))!.seq, 'the local sequence number')

    // A local tag of the same name is never replaced.
    const c = await openStore({ location: join(dir, 'c'), remote: env.remote(prefix, 1) })
    await putTag(c.backend, { name: 'v1', path: '/mine', seq: mine.seq, evaluation: mine.evaluation!, output: mine.output!, time: 1 })
    t.same((await pullPaths(c, ['/m'])).tags, [], 'the name is taken here')
    t.equal((await getTag(c.backend, 'v1'))?.path, '/mine')
    await local.close()
    await b.close()
    await c.close()
  })

  t.test(`${env.name}: a remote tag on an evaluation not on its path is ignored`, async (t) => {
    const prefix = env.prefix('tags-attack')
    const dir = t.testdir()
    const alone = await open({ store: join(dir, 'a'), log: false })
    await alone.keep('/m', model, 1)
    await alone.keep('/secret', other, 2)
    await alone.close()
    const a = await openStore({ location: join(dir, 'a'), remote: env.remote(prefix, 0) })
    const m = (await a.local.namespace.headEntry('/m'))!
    const secret = (await a.local.namespace.headEntry('/secret'))!
    await putTag(a.backend, { name: 'good', path: '/m', seq: m.seq, evaluation: m.evaluation!, output: m.output!, time: Date.now() })
    t.same((await pushPaths(a, ['/m', '/secret'])).tags, ['good'])
    await a.close()
    // The attacker writes tags into the remote by hand: one naming /secret's evaluation on /m,
    // one with /m's evaluation but another output, one that is not a tag at all.
    await env.overwrite(prefix, 'tag/forged', dagCbor.encode({ name: 'forged', path: '/m', evaluation: secret.evaluation, output: secret.output }))
    await env.overwrite(prefix, 'tag/mixed', dagCbor.encode({ name: 'mixed', path: '/m', evaluation: m.evaluation, output: secret.output }))
    await env.overwrite(prefix, 'tag/junk', new Uint8Array([1, 2, 3]))
    await env.overwrite(prefix, 'tag/renamed', dagCbor.encode({ name: 'other', path: '/m', evaluation: m.evaluation, output: m.output }))

    const b = await openStore({ location: join(dir, 'b'), remote: env.remote(prefix, 1) })
    const pulled = await pullPaths(b, ['/m', '/secret'])
    t.same(pulled.tags, ['good'], 'only the honest tag is adopted')
    t.same([...pulled.refusedTags ?? []].sort(), ['forged', 'mixed'])
    const names: string[] = []
    for await (const tag of listTags(b.backend)) names.push(tag.name)
    t.same(names, ['good'], 'the junk object and the one stored under another name are no tags')
    t.equal(await b.readArtifact((await b.local.namespace.headEntry('/m'))!.output!), 'model 1', 'the path is as pushed')
    await b.close()
  })
}
