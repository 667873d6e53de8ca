import t from 'tap'
import { storeSuite } from './suite.js'
import { classic } from '../helpers/stores.js'
import { openStore } from '../../store/store.js'
import { openShared } from '../../store/shared.js'
import { DdsError } from '../../store/errors.js'

storeSuite(classic)

t.test('classic: a store written by another format version is refused', async (t) => {
  const dir = t.testdir()
  const store = await openStore({ location: dir })
  await store.backend.batch([{ type: 'put', space: 'meta', key: new TextEncoder().encode('format'), value: new TextEncoder().encode('999') }])
  await store.close()
  try {
    await openStore({ location: dir })
    t.fail('opened')
  } catch (err) {
    t.equal((err as DdsError).code, 'DDS_FORMAT_VERSION')
    t.equal((err as DdsError).data.found, '999')
  }
  // The refused open released the directory: it can be opened again by the registry.
  const again = await openShared(dir)
  await again.release()
})

t.test('classic: one LevelDB instance per directory per process', async (t) => {
  const dir = t.testdir()
  const a = await openStore({ location: dir })
  const b = await openStore({ location: dir + '/../' + dir.split('/').pop() })
  t.equal(a.backend, b.backend, 'the same backend is shared')
  const info = await a.putArtifact('shared')
  await a.close()
  t.equal(await b.readArtifact(info.cid), 'shared', 'still open for the other user')
  await b.close()
  const c = await openStore({ location: dir })
  t.equal(await c.readArtifact(info.cid), 'shared', 'reopened after both closed')
  await c.close()
})

t.test('classic: the hash function of a store is kept at reopen', async (t) => {
  const dir = t.testdir()
  const a = await openStore({ location: dir, hash: 'blake3' })
  await a.close()
  const b = await openStore({ location: dir })
  t.equal(b.hashName, 'blake3')
  await b.close()
})
