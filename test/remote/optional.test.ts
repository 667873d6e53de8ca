/**
 * The AWS SDK is an optional dependency, loaded when an s3:// remote is
 * first opened: without it, opening one fails with DDS_DEPENDENCY_MISSING
 * naming the package to install, while the library, its local store and
 * file:// remotes work as before. Absence is simulated twice: by the
 * injectable importer, and by a module-resolution hook in a child process
 * that makes every @aws-sdk package unresolvable, as after
 * `npm install --omit=optional`.
 */
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { openS3Remote } from '../../store/remote/s3-remote.js'
import { startNode } from '../helpers/spawn.js'
import { fakeS3 } from './helpers/fake-s3.js'

const credentials = { accessKeyId: 'fake', secretAccessKey: 'fake' }

function missing (only: string): (name: string) => Promise<unknown> {
  return async (name) => {
    if (name.startsWith(only)) throw Object.assign(new Error(`Cannot find package '${name}'`), { code: 'ERR_MODULE_NOT_FOUND' })
    return await import(name) as unknown
  }
}

t.test('without @aws-sdk/client-s3, opening an s3:// remote names the package', async (t) => {
  await t.rejects(openS3Remote({ url: 's3://team/dds' }, { importer: missing('@aws-sdk/client-s3') }),
    { code: 'DDS_DEPENDENCY_MISSING', data: { package: '@aws-sdk/client-s3' } })
  // Another failure of the import is not taken for absence.
  const broken = async (): Promise<unknown> => { throw new SyntaxError('broken package') }
  await t.rejects(openS3Remote({ url: 's3://team/dds' }, { importer: broken }), SyntaxError)
})

t.test('without @aws-sdk/lib-storage, only a multipart upload fails, naming it', async (t) => {
  const fake = await fakeS3({ ifNoneMatch: true, ifMatch: true })
  t.teardown(fake.close)
  const remote = await openS3Remote({ url: 's3://team/dds', s3: { endpoint: fake.endpoint, credentials, multipartAbove: 16 } }, { importer: missing('@aws-sdk/lib-storage') })
  t.teardown(async () => { await remote.close() })
  const bytes = new Uint8Array(64)
  const cid = CID.createV1(0x55, await sha256.digest(bytes))
  await remote.putBlock(cid, bytes)
  t.same(await remote.getBlock(cid), bytes, 'blocks go up and come down')
  async function * payload (): AsyncIterable<Uint8Array> { yield bytes }
  await t.rejects(remote.putPack(cid, payload, bytes.byteLength), { code: 'DDS_DEPENDENCY_MISSING', data: { package: '@aws-sdk/lib-storage' } })
})

t.test('with no @aws-sdk package resolvable, the library and file:// remotes work; s3:// names the package', async (t) => {
  const dir = t.testdir()
  const hooks = join(dir, 'hooks.mjs')
  writeFileSync(hooks, `
    export async function resolve (specifier, context, next) {
      if (specifier.startsWith('@aws-sdk/')) throw Object.assign(new Error('Cannot find package ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' })
      return next(specifier, context)
    }
  `)
  const script = join(dir, 'lean.mjs')
  const dist = (p: string): string => new URL(`../../dist/${p}`, import.meta.url).href
  writeFileSync(script, `
    import { register } from 'node:module'
    register(${JSON.stringify(pathToFileURL(hooks).href)})
    const { open } = await import(${JSON.stringify(dist('lib/index.js'))})
    const { openRemote } = await import(${JSON.stringify(dist('store/index.js'))})
    const out = {}
    try { await import('@aws-sdk/client-s3'); out.hook = 'not working' } catch (err) { out.hook = err.code }
    const dds = await open({ store: ${JSON.stringify(join(dir, 'store'))}, remote: ${JSON.stringify(pathToFileURL(join(dir, 'share')).href)} })
    out.kept = await dds.keep('/x', (n) => n * 2, 21)
    await dds.close()
    try { await openRemote('s3://team/dds') } catch (err) { out.s3 = { code: err.code, data: err.data } }
    console.log(JSON.stringify(out))
  `)
  const exit = await startNode(script, []).done
  t.equal(exit.code, 0, exit.stderr)
  const out = JSON.parse(exit.stdout) as { hook: string, kept: number, s3: { code: string, data: { package: string } } }
  t.equal(out.hook, 'ERR_MODULE_NOT_FOUND', 'the SDK cannot be resolved in the child')
  t.equal(out.kept, 42, 'a store with a file:// remote works')
  t.match(out.s3, { code: 'DDS_DEPENDENCY_MISSING', data: { package: '@aws-sdk/client-s3' } })
})
