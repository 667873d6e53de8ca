/**
 * The bundled build of the package entry points (`dds-ts`, `dds-ts/store`):
 * esbuild joins the compiled dist/ modules and the pure-JS dependencies they
 * import at load time (multiformats, dag-cbor and cborg, @noble/hashes,
 * @ipld/car) into a handful of files, so a fresh process resolves and links
 * about 10 modules instead of 120. Entry points share chunks (code splitting),
 * so both entries see one DdsError, one Store, one CID class. Packages with
 * native bindings or loaded on demand stay external: they are loaded by Node,
 * lazily, as before. The tsc output in dist/lib and dist/store stays as it is
 * (the CLI and the tests use it).
 *
 * Run after `tsc` (npm run build does both).
 */
import { build } from 'esbuild'
import { readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const inline = new Set(['multiformats', '@ipld/dag-cbor', '@noble/hashes', '@ipld/car'])
const external = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})]
  .filter((name) => !inline.has(name))
  .flatMap((name) => [name, `${name}/*`])

const outdir = join(root, 'dist', 'bundle')
rmSync(outdir, { recursive: true, force: true })
await build({
  absWorkingDir: root,
  entryPoints: {
    index: 'dist/lib/index.js',
    store: 'dist/store/index.js',
    // threads.js starts its workers from './thread-worker.js' next to itself.
    'thread-worker': 'dist/lib/parallel/thread-worker.js'
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  logLevel: 'warning',
  legalComments: 'inline'
})
