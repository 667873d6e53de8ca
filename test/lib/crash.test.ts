/**
 * Processes killed with SIGKILL at random moments (SCENARIOS.md 37) while they
 * keep small and large (chunked) artifacts, commit runs, import bundles and
 * collect garbage beside the writers. After each kill the store opens, verify
 * is clean, every head resolves to complete data, and every commit a process
 * reported before it died is in the history. The soak script runs the same
 * with hundreds of kill points: test/soak/crash.mjs.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore } from '../../store/store.js'
import { verifyStore } from '../../store/verify.js'
import { exportBundle } from '../../store/bundle.js'
import { open } from '../../lib/dds.js'
import { startNode } from '../helpers/spawn.js'
import { collect } from '../helpers/stores.js'

const worker = fileURLToPath(new URL('../fixtures/crash-worker.mjs', import.meta.url))
const KILLS = Number(process.env.DDS_CRASH_KILLS ?? 12)

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

t.test(`${KILLS} kill points: the store stays whole`, async (t) => {
  const dir = t.testdir()
  const store = join(dir, 'store')
  const logFile = join(dir, 'committed.jsonl')
  writeFileSync(logFile, '')

  // A bundle from another store, for the writers to import.
  const bundle = join(dir, 'other.car')
  {
    const other = await open({ store: join(dir, 'other') })
    await other.keep('/imported/x', (n: number) => ({ n, text: 'from elsewhere' }), 7)
    await other.keep('/imported/big', (n: number) => new Float32Array(600_000).fill(n), 3)
    await exportBundle(other.store, ['/imported/x', '/imported/big'], bundle)
    await other.close()
  }

  let seed = 12345
  for (let k = 0; k < KILLS; k++) {
    seed = (seed * 48271) % 2147483647
    const withGc = k % 2 === 1
    const procs = [startNode(worker, [store, logFile, 'writer', String(seed), bundle])]
    if (withGc) procs.push(startNode(worker, [store, logFile, 'gc', String(seed + 1)]))
    await sleep(50 + (seed % 1500))
    for (const p of procs) p.child.kill('SIGKILL')
    const exits = await Promise.all(procs.map((p) => p.done))
    for (const e of exits) {
      if (e.signal !== 'SIGKILL') t.fail(`a worker stopped on its own (${String(e.code)}): ${e.stderr.slice(-2000)}`)
    }

    const s = await openStore({ location: store })
    const report = await verifyStore(s)
    t.same(report.problems.map((p) => `${p.step} ${p.problem} ${p.path ?? ''} ${p.cid?.toString() ?? ''} ${p.message}`), [], `kill ${k}${withGc ? ' (with gc)' : ''}: verify is clean`)
    const lines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { path: string, seq: number, evaluation: string | null })
    const present = new Set<string>()
    for (const path of new Set(lines.map((c) => c.path))) {
      for (const e of await collect(s.history(path))) present.add(`${path} ${e.seq} ${e.evaluation?.toString() ?? null}`)
    }
    const missing = lines.filter((c) => !present.has(`${c.path} ${c.seq} ${c.evaluation}`)).length
    t.equal(missing, 0, `kill ${k}: all ${lines.length} reported commits are in the history`)
    const unreadable: string[] = []
    let heads = 0
    for await (const head of s.paths()) {
      heads++
      try {
        if (head.output === null) unreadable.push(`${head.path}: no output`)
        else await s.readArtifact(head.output)
      } catch (err) {
        unreadable.push(`${head.path}: ${String(err)}`)
      }
    }
    t.same(unreadable, [], `kill ${k}: all ${heads} heads read back whole`)
    await s.close()
  }
})
