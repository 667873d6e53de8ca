/**
 * SCENARIOS.md 37: a process killed in the middle of writing a large artifact
 * leaves the store readable, every path pointing at complete data, and
 * `dds verify` clean; `dds gc` then removes what the killed process left.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { readdirSync, existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { tsxLoader } from '../helpers/project.js'
import { dds, pipelineProject, rows, runPipeline } from './helpers/cli.js'

/** The bytes of the blob files (chunk files or segments) under `dir`. */
function blobBytes (dir: string): number {
  if (!existsSync(dir)) return 0
  let n = 0
  for (const d of readdirSync(dir)) {
    for (const f of readdirSync(join(dir, d))) {
      try {
        n += statSync(join(dir, d, f)).size
      } catch {
        // removed meanwhile
      }
    }
  }
  return n
}

const MiB = 1024 * 1024

t.test('a writer killed mid-artifact leaves a store that verifies', async (t) => {
  const p = pipelineProject()
  t.teardown(() => { p.remove() })
  const store = p.path('store')
  await runPipeline(p, store)
  const before = (await dds(['ls'], { store })).stdout
  const bytesBefore = blobBytes(join(store, 'blobs'))

  // 320 MB of chunks: kill the run while they are being written.
  const env: NodeJS.ProcessEnv = { ...process.env, PIPELINE_STORE: store, BIG_N: '40000000' }
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  const child = spawn(process.execPath, ['--import', tsxLoader, p.path('src/run.ts')], { cwd: p.root, env, stdio: 'ignore' })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code) }))
  const deadline = Date.now() + 120_000
  while (blobBytes(join(store, 'blobs')) < bytesBefore + 50 * MiB && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  child.kill('SIGKILL')
  await exited
  t.ok(blobBytes(join(store, 'blobs')) >= bytesBefore + 50 * MiB, 'killed while writing chunks')

  t.equal((await dds(['ls'], { store })).stdout, before, 'every path still points at its complete value')
  const verify = await dds(['verify', '--json'], { store })
  t.equal(verify.code, 0, 'dds verify is clean')
  const report = JSON.parse(verify.stdout) as { ok: boolean, orphanFiles: number }
  t.equal(report.ok, true)
  // The chunks written so far are in the run's segment, which no index entry names yet.
  t.ok(report.orphanFiles >= 1, 'the chunks written so far are an orphan file, not problems')
  const gc = await dds(['gc', '--grace', '0'], { store })
  t.equal(gc.code, 0)
  t.ok(Number(rows(gc.stdout).find((l) => l[0] === 'files')?.[1]) >= 1, 'gc removes it')
  t.equal(blobBytes(join(store, 'blobs')), bytesBefore, 'and its bytes')
  t.equal((JSON.parse((await dds(['verify', '--json'], { store })).stdout) as { orphanFiles: number }).orphanFiles, 0)
  t.same(await runPipeline(p, store), { computed: [], hits: ['/data/big', '/data/raw', '/data/rows', '/stats/summary', '/stats/warmest'] }, 'the next run finds everything')
})
