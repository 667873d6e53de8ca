/**
 * Source maps are decoded only when a position is asked for: listing the
 * sources of a script (which project files are loaded) reads the map's JSON,
 * not its mappings. A map given by a stranger is checked either way: sources
 * that are not strings, a payload that is not an object, or mappings that are
 * not a string map nothing; mappings that are not VLQ never throw.
 */
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { SourceMaps } from '../../../lib/signature/sourcemap.js'

const dir = mkdtempSync(join(tmpdir(), 'dds-sourcemap-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

/** A generated file `name.js` with the map `payload` beside it (or a map text as given). */
function generated (name: string, payload: unknown): string {
  const js = join(dir, `${name}.js`)
  writeFileSync(js, `export const a = 1\n//# sourceMappingURL=${name}.js.map\n`)
  writeFileSync(join(dir, `${name}.js.map`), typeof payload === 'string' ? payload : JSON.stringify(payload))
  return pathToFileURL(js).href
}

// `export const a = 1` compiled from line 3, column 2 of src/ok.ts ("AAEE": line +2, column +2).
const good = { version: 3, sources: ['src/ok.ts'], sourcesContent: ['// ok\n\n  export const a = 1\n'], names: [], mappings: 'AAEE' }

t.test('sources and embedded content come without decoding; positions decode on demand', async (t) => {
  const maps = new SourceMaps()
  const url = generated('ok', good)
  const m = maps.forScript(url, 'ok.js.map')
  t.same(m.sources, [join(dir, 'src', 'ok.ts')])
  t.equal(m.content(join(dir, 'src', 'ok.ts')), good.sourcesContent[0])
  t.same(m.original(0, 0), { file: join(dir, 'src', 'ok.ts'), line: 2, column: 2 })
  t.equal(maps.forScript(url, 'ok.js.map'), m, 'a script\'s mapping is made once')
})

t.test('mappings that are not VLQ: the sources are listed, a position names one of them or nothing, nothing throws', async (t) => {
  for (const mappings of ['!!!', 'A', 'AAAA,$$;;;z']) {
    const m = new SourceMaps().forScript(generated('bad-mappings', { ...good, mappings }), 'bad-mappings.js.map')
    t.same(m.sources, [join(dir, 'src', 'ok.ts')], `${mappings}: sources`)
    let p: ReturnType<typeof m.original>
    t.doesNotThrow(() => { p = m.original(0, 0) }, `${mappings}: decoding does not throw`)
    t.ok(p === undefined || p.file === join(dir, 'src', 'ok.ts'), `${mappings}: a position names a listed source or nothing`)
  }
})

t.test('payloads that are not source maps map nothing', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['not-json', '{"version": 3, "sources": ['],
    ['null', 'null'],
    ['array', '[1, 2]'],
    ['sources-not-array', { ...good, sources: 'src/ok.ts' }],
    ['source-not-string', { ...good, sources: ['src/ok.ts', 7] }],
    ['mappings-missing', { version: 3, sources: ['src/ok.ts'], names: [] }],
    ['mappings-not-string', { ...good, mappings: ['AAEE'] }]
  ]
  for (const [name, payload] of cases) {
    const m = new SourceMaps().forScript(generated(name, payload), `${name}.js.map`)
    t.same(m.sources, [], `${name}: no sources`)
    t.equal(m.original(0, 0), undefined, `${name}: no position`)
    t.equal(m.content(join(dir, 'src', 'ok.ts')), undefined, `${name}: no content`)
  }
})
