/**
 * docs/cli.md stays true: its examples are what scripts/cli-docs.ts writes
 * from the real `dds` on the weather example (times, CIDs and numbers aside,
 * which differ from run to run). Needs the build (`npm test` builds first).
 */
import t from 'tap'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { masked } from '../scripts/cli-docs.js'
import { startNode } from './helpers/spawn.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const built = existsSync(join(root, 'dist', 'lib', 'cli', 'main.js'))

t.test('the comparison ignores what differs between faithful runs, and nothing else', async (t) => {
  const a = 'dds verify: blocks: 18 checked (259 KiB)\n/weather/clean\tbafyreiedjhj3ijkeujvvdapd323ykgwfxkhgikqlmukkku4fwbacvjxgz4\t2026-12-03T14:45:54.449Z'
  const b = 'dds verify: blocks: 19 checked (260 KiB)\n/weather/clean\tbafyreigw6v5xesfwodneqsimub2m7icor5bagwxiibbz2pydw3mpzdbgdq\t2027-01-01T00:00:00.000Z'
  t.equal(masked(a), masked(b), 'counts, CIDs and times')
  t.not(masked(a), masked(a.replace('/weather/clean', '/weather/rows')), 'a path')
  t.not(masked(a), masked(a.replace('checked', 'verified')), 'a word')
  t.not(masked(a), masked(a + '\nextra line'), 'a line more')
})

t.test('docs/cli.md is what scripts/cli-docs.ts writes', { skip: !built && 'needs npm run build' }, async (t) => {
  const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs')
  const e = await startNode(tsx, [join(root, 'scripts', 'cli-docs.ts'), '--check'], { cwd: root }).done
  t.equal(e.code, 0, e.code === 0 ? 'docs/cli.md is up to date' : e.stderr)
})
