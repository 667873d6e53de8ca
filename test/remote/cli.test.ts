/**
 * The remote on the command line: `dds push` and `dds pull` move paths with
 * everything they reach, `dds ls --remote` and `dds log --remote` list the
 * remote's paths and histories. The real binary, the remote named by
 * DDS_REMOTE and reached through AWS_ENDPOINT_URL.
 */
import t from 'tap'
import { join } from 'node:path'
import { open } from '../../lib/dds.js'
import { dds, rows } from '../cli/helpers/cli.js'
import { remotes } from './helpers/env.js'

const envs = remotes(t)

function greet (name: string): string {
  return `hello ${name}`
}

function numbers (n: number): number[] {
  return Array.from({ length: n }, (_, i) => i * i)
}

for (const env of envs) {
  t.test(`${env.name}: push, ls --remote, log --remote, pull`, async (t) => {
    const prefix = env.prefix('cli')
    const dir = t.testdir()
    const a = join(dir, 'a')
    const b = join(dir, 'b')
    const local = await open({ store: a })
    await local.keep('/greeting', greet, 'team')
    await local.keep('/data/squares', numbers, 5)
    await local.keep('/data/squares', numbers, 6)
    await local.close()
    const remoteEnv = env.cliEnv(prefix, 0)

    const pushed = await dds(['push', '/greeting', '/data/squares'], { store: a, env: remoteEnv })
    t.equal(pushed.code, 0, pushed.stderr)
    t.same(rows(pushed.stdout), [['/greeting', 'pushed', '1'], ['/data/squares', 'pushed', '1']])
    const again = await dds(['push', '/greeting'], { store: a, env: remoteEnv })
    t.same(rows(again.stdout), [['/greeting', 'unchanged', '-']])

    const ls = await dds(['ls', '--remote'], { env: remoteEnv })
    t.equal(ls.code, 0, ls.stderr)
    t.same(rows(ls.stdout).map((r) => r[0]), ['/data/squares', '/greeting'])
    t.equal(rows(ls.stdout).find((r) => r[0] === '/greeting')?.[2], String(Buffer.byteLength('hello team')), 'sizes read from the remote')
    const lsJson = await dds(['ls', '/data', '--remote', '--json'], { env: remoteEnv })
    t.same((JSON.parse(lsJson.stdout) as Array<{ path: string, seq: number }>).map((r) => [r.path, r.seq]), [['/data/squares', 1]])
    const log = await dds(['log', '/data/squares', '--remote'], { env: remoteEnv })
    t.equal(log.code, 0, log.stderr)
    t.same(rows(log.stdout).map((r) => [r[0], r[2], r[5]]), [['1', 'computed', 'numbers']])
    const localLog = await dds(['log', '/data/squares'], { store: a, env: remoteEnv })
    t.equal(rows(localLog.stdout).length, 2, 'without --remote, the local history')

    const pulled = await dds(['pull', '/data/squares', '/greeting'], { store: b, env: env.cliEnv(prefix, 1) })
    t.equal(pulled.code, 0, pulled.stderr)
    t.same(rows(pulled.stdout), [['/data/squares', 'pulled', '1'], ['/greeting', 'pulled', '1']])
    const cat = await dds(['cat', '/data/squares'], { store: b })
    t.same(JSON.parse(cat.stdout), [0, 1, 4, 9, 16, 25], 'the value is in the local store, no remote needed')
    t.equal((await dds(['verify'], { store: b })).code, 0, 'the pulled store verifies')

    const none = await dds(['push', '/greeting'], { store: a })
    t.equal(none.code, 2, 'no remote named: a usage error')
    const missing = await dds(['push', '/nothing'], { store: a, env: remoteEnv })
    t.equal(missing.code, 1)
    t.match(missing.stderr, /DDS_PATH_NOT_FOUND/)
    const help = await dds(['ls', '--help'])
    t.match(help.stdout, /--remote/)
  })
}
