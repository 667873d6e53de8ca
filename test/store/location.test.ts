/**
 * Where the default store is (store/location.ts): the nearest `.dds` in the
 * working directory or its parents, stopping at a repository root; else a new
 * `.dds` beside the nearest `package.json` inside the repository; else the
 * working directory; `$DDS_STORE` first. Then the same rule seen from real
 * processes started in a subfolder: a program's module-level `keep` and the
 * `dds` binary both use the project's store, and say which.
 */
import t, { type Test } from 'tap'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { findStore } from '../../store/location.js'
import { distModule } from '../helpers/project.js'
import { startNode } from '../helpers/spawn.js'
import { dds, rows } from '../cli/helpers/cli.js'

/** A tree of directories and files under a fresh directory outside any repository (bounded by its own `.git`). */
function tree (t: Test, entries: Record<string, 'dir' | 'file'>): string {
  const top = mkdtempSync(join(tmpdir(), 'dds-location-'))
  t.teardown(() => { rmSync(top, { recursive: true, force: true }) })
  mkdirSync(join(top, '.git'))
  for (const [rel, kind] of Object.entries(entries)) {
    if (kind === 'dir') mkdirSync(join(top, rel), { recursive: true })
    else {
      mkdirSync(dirname(join(top, rel)), { recursive: true })
      writeFileSync(join(top, rel), rel.endsWith('package.json') ? '{}\n' : '')
    }
  }
  return top
}

const noEnv = {}

t.test('the nearest .dds in the working directory or a parent', async (t) => {
  const top = tree(t, { '.dds': 'dir', 'package.json': 'file', 'a/b/c': 'dir', 'a/.dds': 'dir' })
  t.same(findStore({ cwd: join(top, 'a/b/c'), env: noEnv }), { location: join(top, 'a/.dds'), found: 'found' }, 'the nearest one wins')
  t.same(findStore({ cwd: top, env: noEnv }), { location: join(top, '.dds'), found: 'found' })
  t.same(findStore({ cwd: join(top, 'a'), env: noEnv }), { location: join(top, 'a/.dds'), found: 'found' }, 'in the working directory itself')
})

t.test('a .dds that is not a directory still counts: opening it says what is wrong', async (t) => {
  const top = tree(t, { '.dds': 'file', 'sub': 'dir' })
  t.same(findStore({ cwd: join(top, 'sub'), env: noEnv }), { location: join(top, '.dds'), found: 'found' })
})

t.test('no store yet: beside the nearest package.json, else the working directory', async (t) => {
  const top = tree(t, { 'package.json': 'file', 'packages/p/package.json': 'file', 'packages/p/src/deep': 'dir', 'docs/x': 'dir' })
  t.same(findStore({ cwd: join(top, 'packages/p/src/deep'), env: noEnv }), { location: join(top, 'packages/p/.dds'), found: 'package' }, 'the nearest package.json, a workspace package\'s')
  t.same(findStore({ cwd: join(top, 'docs/x'), env: noEnv }), { location: join(top, '.dds'), found: 'package' }, 'the repository\'s')
  const bare = tree(t, { 'x/y': 'dir' })
  t.same(findStore({ cwd: join(bare, 'x/y'), env: noEnv }), { location: join(bare, 'x/y/.dds'), found: 'cwd' })
})

t.test('the search stops at a repository root', async (t) => {
  // A store and a package.json above a repository are another project's.
  const top = tree(t, { '.dds': 'dir', 'package.json': 'file', 'repo/.git': 'dir', 'repo/src': 'dir' })
  t.same(findStore({ cwd: join(top, 'repo/src'), env: noEnv }), { location: join(top, 'repo/src/.dds'), found: 'cwd' })
  // A repository whose .git is a file (a worktree, a submodule) is a root too.
  const wt = tree(t, { '.dds': 'dir', 'wt/src': 'dir' })
  writeFileSync(join(wt, 'wt/.git'), 'gitdir: elsewhere\n')
  t.same(findStore({ cwd: join(wt, 'wt/src'), env: noEnv }), { location: join(wt, 'wt/src/.dds'), found: 'cwd' })
})

t.test('$DDS_STORE wins, relative to the working directory; empty means unset', async (t) => {
  const top = tree(t, { '.dds': 'dir', sub: 'dir' })
  t.same(findStore({ cwd: join(top, 'sub'), env: { DDS_STORE: 'mine' } }), { location: join(top, 'sub/mine'), found: 'env' })
  t.same(findStore({ cwd: join(top, 'sub'), env: { DDS_STORE: '/abs/store' } }), { location: '/abs/store', found: 'env' })
  t.same(findStore({ cwd: join(top, 'sub'), env: { DDS_STORE: '' } }), { location: join(top, '.dds'), found: 'found' })
})

const PROGRAM = `
import { keep, closeDefault } from ${JSON.stringify(distModule('lib/index.js'))}
const double = (x) => x * 2
console.log(await keep('/twice', double, 21))
await closeDefault()
`

t.test('a program run from a subfolder uses the project\'s store; so does dds, and both say which', async (t) => {
  const top = tree(t, { 'package.json': 'file', 'src/deep': 'dir', 'test': 'dir' })
  const script = join(top, 'run.mjs')
  writeFileSync(script, PROGRAM)
  const env = { DDS_LOG: '1', DDS_STORE: '' }
  const first = await startNode(script, [], { cwd: join(top, 'src/deep'), env }).done
  t.equal(first.code, 0, first.stderr)
  t.equal(first.stdout, '42\n')
  t.match(first.stderr, `store     ${join(top, '.dds')} (beside the nearest package.json)\n`)
  t.match(first.stderr, /\ncomputed {2}\/twice/)
  t.ok(existsSync(join(top, '.dds')), 'the store is made beside package.json')
  t.notOk(existsSync(join(top, 'src/deep/.dds')), 'not in the subfolder')

  const second = await startNode(script, [], { cwd: join(top, 'test'), env }).done
  t.equal(second.code, 0, second.stderr)
  t.match(second.stderr, `store     ${join(top, '.dds')} (found in the working directory or a parent)\n`)
  t.match(second.stderr, /\nreused {4}\/twice\n/, 'another subfolder reuses the result')
  t.notOk(existsSync(join(top, 'test/.dds')))

  const ls = await dds(['ls'], { cwd: join(top, 'src/deep'), env: { DDS_STORE: '' } })
  t.equal(ls.code, 0, ls.stderr)
  t.same(rows(ls.stdout).map((r) => r[0]), ['/twice'], 'dds from a subfolder lists the project\'s store')
  t.match(ls.stderr, `dds ls: store ${join(top, '.dds')}\n`)
})
