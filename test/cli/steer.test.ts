/**
 * The steering commands through the real binary against a real pipeline run
 * in fresh processes: dds tag (set, list, delete, PATH@TAG in show, tags in
 * log), dds invalidate with and without --downstream, dds rm then a run
 * recomputes, and DDS_FORCE for one run.
 */
import t from 'tap'
import { join } from 'node:path'
import { dds, pipelineProject, rows, runPipeline } from './helpers/cli.js'
import type { TempProject } from '../helpers/project.js'

let project: TempProject
t.before(() => { project = pipelineProject() })
t.teardown(() => { project.remove() })

t.test('tag, invalidate, rm, DDS_FORCE', async (t) => {
  const store = join(t.testdir(), 'store')
  const first = await runPipeline(project, store)
  t.same(first.computed, ['/data/big', '/data/raw', '/data/rows', '/stats/mean', '/stats/summary', '/stats/warmest'])

  const set = await dds(['tag', 'v1', '/data/rows'], { store })
  t.equal(set.code, 0, set.stderr)
  const [line] = rows(set.stdout)
  t.same(line?.slice(0, 3), ['v1', '/data/rows', '1'])
  t.equal((await dds(['tag', '9x', '/data/rows'], { store })).code, 1, 'invalid name')
  t.match((await dds(['tag', '9x', '/data/rows'], { store })).stderr, /DDS_TAG_INVALID/)
  t.equal((await dds(['tag'], { store })).code, 2, 'nothing to do')
  t.same(rows((await dds(['tag', '--list'], { store })).stdout).map((r) => r[0]), ['v1'])
  t.same(rows((await dds(['tag', '--list', '/data/raw'], { store })).stdout), [])
  const log = rows((await dds(['log', '/data/rows'], { store })).stdout)
  t.equal(log[0]?.[7], 'v1', 'log shows the tag')
  const show = rows((await dds(['show', '/data/rows@v1'], { store })).stdout)
  t.same(show.find((r) => r[0] === 'tag'), ['tag', 'v1', '1'])
  t.equal((await dds(['show', '/data/rows@nope'], { store })).code, 1)

  const inv = await dds(['invalidate', '/data/raw'], { store })
  t.same(rows(inv.stdout), [['/data/raw', '1']])
  t.same((await runPipeline(project, store)).computed, ['/data/raw'], 'only the path runs: same value, early cutoff')

  const down = await dds(['invalidate', '/data/rows', '--downstream', '--json'], { store })
  t.same((JSON.parse(down.stdout) as Array<{ path: string }>).map((x) => x.path), ['/data/rows', '/stats/summary', '/stats/warmest'])
  t.same((await runPipeline(project, store)).computed, ['/data/rows', '/stats/summary', '/stats/warmest'])
  t.same((await runPipeline(project, store)).computed, [], 'then everything hits')

  t.equal((await dds(['rm', '/stats/warmest'], { store })).code, 0)
  t.same((await runPipeline(project, store)).computed, ['/stats/warmest'], 'a removed path is really recomputed')

  t.same((await runPipeline(project, store, { DDS_FORCE: '/stats/*' })).computed, ['/stats/mean', '/stats/summary', '/stats/warmest'])
  t.same((await runPipeline(project, store)).computed, [], 'DDS_FORCE holds for one run')

  t.same(rows((await dds(['tag', '-d', 'v1'], { store })).stdout), [['v1', 'deleted']])
  t.equal((await dds(['tag', '-d', 'v1'], { store })).code, 1)
})
