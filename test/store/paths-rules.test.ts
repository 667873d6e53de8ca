/**
 * The path rules' fast forms against their plain statement: `pathProblem`
 * (one pattern for the valid paths) says "valid" exactly when every segment
 * is 1-255 allowed characters and none is `.` or `..`; `commonDirectory`
 * (string prefixes) gives the longest shared run of whole segments.
 */
import t from 'tap'
import { pathProblem } from '../../store/paths.js'
import { commonDirectory } from '../../store/commit-plan.js'
import { historyKey, parseHistoryKey, pathKey } from '../../store/keys.js'

/** The rule as the README states it, segment by segment. */
function validByRule (p: string): boolean {
  if (p.length === 0 || p.length > 1024 || p[0] !== '/' || p === '/' || p.endsWith('/')) return false
  return p.slice(1).split('/').every((s) => s !== '' && s !== '.' && s !== '..' && /^[A-Za-z0-9._-]{1,255}$/.test(s))
}

function commonByRule (paths: string[]): string {
  let common: string[] | undefined
  for (const p of paths) {
    const segs = p.split('/').slice(1)
    if (common === undefined) common = segs
    else {
      let i = 0
      while (i < common.length && i < segs.length && common[i] === segs[i]) i++
      common.length = i
    }
  }
  return common === undefined || common.length === 0 ? '/' : '/' + common.join('/')
}

function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 0x100000000
  }
}

const PIECES = ['/', '/', '/', 'a', 'b', '.', '..', '...', '-', '_', 'Z9', ' ', 'é', '//', 'x'.repeat(255), 'y'.repeat(256), '\n', '\0']

t.test('pathProblem: valid exactly when the rule says so', async (t) => {
  const r = rng(42)
  const edge = ['/a', '/a/b', '/.', '/..', '/...', '/a/.', '/a/..', '/a/./b', '/.a', '/a..', '/a/', '//a', '/', '', 'a', '/a b',
    '/' + 'x'.repeat(255), '/' + 'x'.repeat(256), '/a/' + 'x'.repeat(255), '/' + 'a/'.repeat(511) + 'a', '/' + 'a/'.repeat(512) + 'a']
  let differ = 0
  const cases = [...edge, ...Array.from({ length: 20000 }, () => Array.from({ length: 1 + Math.floor(r() * 8) }, () => PIECES[Math.floor(r() * PIECES.length)]).join(''))]
  for (const p of cases) {
    if ((pathProblem(p) === undefined) !== validByRule(p)) {
      differ++
      t.fail(`${JSON.stringify(p)}: pathProblem says ${pathProblem(p) ?? 'valid'}`)
    }
  }
  t.equal(differ, 0, `${cases.length} paths`)
  // an invalid path still gets its reason
  t.equal(pathProblem('/a/../b'), 'has a ".." segment')
  t.match(pathProblem('/a/' + 'y'.repeat(256)), /with characters other than/)
})

t.test('commonDirectory: the longest shared run of whole segments', async (t) => {
  const r = rng(7)
  const seg = ['a', 'b', 'ab', 'a-b', 'c']
  const path = (): string => '/' + Array.from({ length: 1 + Math.floor(r() * 4) }, () => seg[Math.floor(r() * seg.length)]).join('/')
  let differ = 0
  for (let i = 0; i < 5000; i++) {
    const paths = Array.from({ length: 1 + Math.floor(r() * 5) }, path)
    if (commonDirectory(paths) !== commonByRule(paths)) {
      differ++
      t.fail(`${JSON.stringify(paths)}: ${commonDirectory(paths)} against ${commonByRule(paths)}`)
    }
  }
  t.equal(differ, 0)
  t.equal(commonDirectory([]), '/')
  t.equal(commonDirectory(['/a/bc', '/a/b']), '/a')
  t.equal(commonDirectory(['/a/b/c', '/a/b']), '/a/b')
  t.equal(commonDirectory(['/x', '/y']), '/')
})

t.test('path keys: the UTF-8 bytes, ASCII or not; history keys parse back', async (t) => {
  const utf8 = new TextEncoder()
  for (const p of ['/a', '/models/clf', '/é/中', '/a/𝄞', '', '/' + 'x'.repeat(1000), '/a\u0000b']) {
    t.same(Buffer.from(pathKey(p)), Buffer.from(utf8.encode(p)), JSON.stringify(p).slice(0, 30))
    for (const seq of [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      const k = historyKey(p, seq)
      t.same(Buffer.from(k.subarray(0, k.length - 9)), Buffer.from(utf8.encode(p)))
      if (p !== '') t.same(parseHistoryKey(k), { path: p, seq })
      const expected = Buffer.alloc(8)
      expected.writeBigUInt64BE(BigInt(seq))
      t.same(Buffer.from(k.subarray(k.length - 8)), expected, `seq ${seq}`)
    }
  }
  t.throws(() => historyKey('/a', -1), RangeError)
  t.throws(() => historyKey('/a', 1.5), RangeError)
})
