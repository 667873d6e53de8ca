/**
 * The current source of manifest declarations from a working tree: each
 * kind of declaration found with its line, and the attacker's keys (a
 * manifest from a bundle naming ../../etc/passwd, an absolute path, a link
 * out of the project) never read.
 */
import t from 'tap'
import { symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { currentSources } from '../../lib/inspect.js'

const TRAIN = `import { helper } from './util.js'

export const RATE = 0.1

export function train (xs: number[]): number {
  return helper(xs) * RATE
}

export class Model {
  predict (x: number): number {
    return x * 2
  }
}

export function makeScaler (k: number) {
  return (x: number) => x * k
}
`

t.test('each declaration of a key is found, with its first line', async (t) => {
  const root = t.testdir({ src: { 'train.ts': TRAIN } })
  const got = await currentSources(root, ['src/train.ts#train', 'src/train.ts#RATE', 'src/train.ts#Model/predict', 'src/train.ts#makeScaler/~', 'src/train.ts#gone', 'src/none.ts#x', 'other-pkg:src/a.ts#f'])
  t.same(got.map((d) => [d.key, d.status, d.line]), [
    ['src/train.ts#train', 'ok', 5],
    ['src/train.ts#RATE', 'ok', 3],
    ['src/train.ts#Model/predict', 'ok', 10],
    ['src/train.ts#makeScaler/~', 'ok', 16],
    ['src/train.ts#gone', 'not-found', null],
    ['src/none.ts#x', 'missing', null],
    ['other-pkg:src/a.ts#f', 'package', null]
  ])
  t.equal(got[0]?.text, 'export function train (xs: number[]): number {\n  return helper(xs) * RATE\n}')
  t.equal(got[1]?.text, 'export const RATE = 0.1')
  t.equal(got[2]?.text, 'predict (x: number): number {\n    return x * 2\n  }')
  t.equal(got[3]?.text, '(x: number) => x * k')
})

t.test('a key that would leave the project is never read', async (t) => {
  const dir = t.testdir({ project: { src: { 'a.ts': 'export const a = 1\n' } }, secret: { 'key.ts': 'export const password = "hunter2"\n' } })
  const root = join(dir, 'project')
  symlinkSync(join(dir, 'secret', 'key.ts'), join(root, 'src', 'link.ts'))
  symlinkSync(join(dir, 'secret'), join(root, 'out'))
  const hostile = [
    '../../etc/passwd#root',
    '../secret/key.ts#password',
    'src/../../secret/key.ts#password',
    '/etc/passwd#root',
    join(dir, 'secret', 'key.ts') + '#password',
    'src/link.ts#password',
    'out/key.ts#password',
    'src\\..\\..\\secret\\key.ts#password',
    'C:/Windows/win.ini#x',
    'src/a.ts\0#a',
    '.#x'
  ]
  const got = await currentSources(root, hostile)
  t.same(got.map((d) => d.status), hostile.map(() => 'outside'))
  t.ok(got.every((d) => d.text === null))
  t.notOk(JSON.stringify(got).includes('hunter2'), 'no secret text in the answer')
})

t.test('a file over the limit or not a file is not read; bad roots are refused', async (t) => {
  const root = t.testdir({ src: { dir: {} } })
  writeFileSync(join(root, 'src', 'big.ts'), 'export const a = 1\n' + ' '.repeat(3 * 1024 * 1024))
  t.same((await currentSources(root, ['src/big.ts#a', 'src/dir#a', 'no-hash'])).map((d) => d.status), ['too-large', 'missing'])
  await t.rejects(currentSources('', ['a#b']), TypeError)
})
