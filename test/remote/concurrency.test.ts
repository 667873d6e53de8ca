/**
 * Four processes on each of two machines (two local stores, each shared by
 * its four processes, each machine on its own gateway) keep through one
 * remote at once: identical calls, different calls on the same paths, and
 * calls on their own paths. Every identical call runs once across all eight
 * processes, and every history entry any process committed is in the remote
 * logs, which are dense and hold nothing else.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openRemote } from '../../store/remote/index.js'
import { startNode } from '../helpers/spawn.js'
import { remotes } from './helpers/env.js'

const envs = remotes(t)
const worker = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url))
const MACHINES = 2
const PER_MACHINE = 4
const KEEPS = 30

interface WorkerResult { id: string, ms: number, committed: Array<{ path: string, seq: number, evaluation: string | null }>, errors: string[] }

for (const env of envs) {
  t.test(`${env.name}: ${MACHINES} machines x ${PER_MACHINE} processes x ${KEEPS} keeps through one remote`, async (t) => {
    const prefix = env.prefix('concurrency')
    const dir = t.testdir()
    const countFile = join(dir, 'count.txt')
    writeFileSync(countFile, '')
    const t0 = Date.now()
    const runs = []
    for (let m = 0; m < MACHINES; m++) {
      for (let p = 0; p < PER_MACHINE; p++) {
        const id = `${m}-${p}`
        runs.push(startNode(worker, [join(dir, `machine${m}`), JSON.stringify(env.remote(prefix, m, { leaseTtl: 10_000 })), id, String(KEEPS), join(dir, `w${id}.json`)], { env: { COUNT_FILE: countFile } }))
      }
    }
    const exits = await Promise.all(runs.map((r) => r.done))
    const elapsed = Date.now() - t0
    for (const [i, e] of exits.entries()) t.equal(e.code, 0, `process ${i} exited cleanly${e.code === 0 ? '' : `: ${e.stderr.slice(-2000)}`}`)
    const ids = exits.map((_, i) => `${Math.floor(i / PER_MACHINE)}-${i % PER_MACHINE}`)
    const results = ids.map((id) => JSON.parse(readFileSync(join(dir, `w${id}.json`), 'utf8')) as WorkerResult)
    t.same(results.flatMap((r) => r.errors), [], 'no process saw an error')

    // Every distinct call ran exactly once, across machines.
    const counts = new Map<string, number>()
    for (const k of readFileSync(countFile, 'utf8').split('\n').filter(Boolean)) counts.set(k, (counts.get(k) ?? 0) + 1)
    const expected = new Set<string>()
    for (const id of ids) {
      for (let i = 0; i < KEEPS; i++) expected.add(i % 3 === 0 ? `shared-${i % 10}` : i % 3 === 1 ? `common-${id}-${i}` : `own-${id}-${i}`)
    }
    t.same([...counts.keys()].sort(), [...expected].sort(), 'every distinct call ran')
    t.same([...counts.entries()].filter(([, n]) => n !== 1), [], 'no call ran twice')

    // Every entry a process committed is in the remote log, and the logs hold nothing else.
    const reported = new Map<string, string[]>()
    for (const r of results) for (const c of r.committed) reported.set(c.path, [...(reported.get(c.path) ?? []), `${c.seq}:${c.evaluation}`])
    const remote = await openRemote(env.remote(prefix, 0))
    t.teardown(async () => { await remote.close() })
    let entries = 0
    const paths: string[] = []
    const sparse: string[] = []
    const differ: string[] = []
    for await (const head of remote.paths({ deleted: true })) {
      paths.push(head.path)
      const log: string[] = []
      for await (const e of remote.history(head.path)) log.push(`${e.seq}:${e.evaluation?.toString() ?? null}`)
      entries += log.length
      if (log.some((l, i) => Number(l.split(':')[0]) !== log.length - i)) sparse.push(head.path)
      if (JSON.stringify([...log].sort()) !== JSON.stringify([...(reported.get(head.path) ?? [])].sort())) differ.push(head.path)
      if (head.path.startsWith('/common/')) t.equal(log.length, KEEPS / 3 * MACHINES * PER_MACHINE / 5, `${head.path}: one entry per distinct call`)
    }
    t.same(sparse, [], 'every log is dense (1..head)')
    t.same(differ, [], 'every log holds exactly the entries committed to it')
    t.same(paths.sort(), [...reported.keys()].sort(), 'every path committed to is in the remote')
    const commonEntries = [...reported.entries()].filter(([p]) => p.startsWith('/common/')).reduce((n, [, l]) => n + l.length, 0)
    t.equal(commonEntries, MACHINES * PER_MACHINE * KEEPS / 3, 'each distinct call on a common path added its entry')
    t.equal(entries, results.reduce((n, r) => n + r.committed.length, 0), 'as many entries as commits reported')
    const total = MACHINES * PER_MACHINE * KEEPS
    t.comment(`${total} keeps in ${elapsed} ms (${(total / elapsed * 1000).toFixed(0)}/s) through the remote`)
  })
}
