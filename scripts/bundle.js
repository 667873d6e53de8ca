/**
 * The bundled build of the package entry points (`dds-ts`, `dds-ts/store`):
 * esbuild joins the compiled dist/ modules and the pure-JS dependencies they
 * import at load time (multiformats, dag-cbor and cborg, @noble/hashes,
 * @ipld/car) into a handful of files, so a fresh process resolves and links
 * about 10 modules instead of 120. Entry points share chunks (code splitting),
 * so both entries see one DdsError, one Store, one CID class. Packages with
 * native bindings or loaded on demand stay external: they are loaded by Node,
 * lazily, as before. The `dds` binary is built on its own, as one
 * CommonJS file (dist/bundle/cli.cjs) that a small launcher
 * (dist/bundle/dds.cjs) runs with V8's code cache, so that a command starts
 * without resolving a hundred modules or compiling them again. Both builds carry one build id
 * (a digest of the compiled code): analyses persisted by a run through the
 * library are the ones `dds plan` finds. The tsc output in dist/lib and
 * dist/store stays as it is (the tests use it).
 *
 * Run after `tsc` (npm run build does both).
 */
import { build } from 'esbuild'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
// classic-level is inlined too, all but its native binding (see `nativeBinding`): its JS and that of
// abstract-level and the rest cost a fresh process 30-35 ms as separate CommonJS modules.
const inline = new Set(['multiformats', '@ipld/dag-cbor', 'cborg', '@noble/hashes', '@ipld/car', 'classic-level', 'abstract-level'])
const external = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})]
  .filter((name) => !inline.has(name))
  .flatMap((name) => [name, `${name}/*`])

/** A digest of the compiled code both builds hold (what persisted analyses are tied to). */
function buildId () {
  const h = createHash('sha256')
  for (const top of ['dist/lib', 'dist/store']) {
    const files = readdirSync(join(root, top), { recursive: true }).map(String).filter((f) => f.endsWith('.js')).sort()
    for (const f of files) h.update(f).update('\0').update(readFileSync(join(root, top, f))).update('\0')
  }
  return h.digest('hex')
}

/**
 * classic-level finds its prebuilt binding with node-gyp-build from its own
 * directory (`__dirname`, which a bundle does not have): the binding module
 * is replaced by one that asks node-gyp-build, resolved from classic-level's
 * installed directory, for the binding in that directory. The `require` it
 * uses is the banner's (one per output file, relative to the file).
 */
const nativeBinding = {
  name: 'classic-level-binding',
  setup (b) {
    b.onResolve({ filter: /^\.\/binding(\.js)?$/ }, (args) => /[\\/]classic-level[\\/]/.test(args.importer) ? { path: 'classic-level-binding', namespace: 'dds-native' } : undefined)
    b.onLoad({ filter: /.*/, namespace: 'dds-native' }, () => ({
      loader: 'js',
      contents: `const { createRequire } = require('node:module')
const { dirname } = require('node:path')
const pkg = require.resolve('classic-level/package.json')
module.exports = createRequire(pkg)('node-gyp-build')(dirname(pkg))
`
    }))
  }
}

const outdir = join(root, 'dist', 'bundle')
rmSync(outdir, { recursive: true, force: true })
const define = { __DDS_BUILD__: JSON.stringify(`${pkg.version}+${buildId()}`) }
/** What both builds share: ESM chunks for Node 20, native and on-demand packages left to Node. */
const common = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  logLevel: 'warning',
  legalComments: 'inline',
  define,
  plugins: [nativeBinding],
  // A real require for the inlined CommonJS code that asks for one (the binding above), relative to each file.
  banner: { js: "import { createRequire as __ddsCreateRequire } from 'node:module'\nconst require = __ddsCreateRequire(import.meta.url)" }
}
await build({
  ...common,
  entryPoints: {
    index: 'dist/lib/index.js',
    store: 'dist/store/index.js',
    // threads.js starts its workers from './thread-worker.js' next to itself.
    'thread-worker': 'dist/lib/parallel/thread-worker.js'
  }
})

// The CLI is one CommonJS file, so that the binary can hand V8 its cached code (lib/cli/code-cache.ts; Node 20
// caches no ES module's code), every command in it (compiled lazily: a command's functions are compiled only
// when it runs). Beside the library's files, so that what is found next to a module (thread-worker.js, the web
// view's files) is found from either. import.meta.url is the file's URL, as in a module.
const commonJs = {
  ...common,
  splitting: false,
  format: 'cjs',
  // The binding module's require.resolve (see nativeBinding) asks Node for the installed package.
  external: [...external, 'classic-level/package.json'],
  define: { ...define, 'import.meta.url': '__ddsModuleUrl' },
  // "use strict" first, so that it stays the directive it is in every module the bundle joins.
  banner: { js: "'use strict'\nconst __ddsModuleUrl = require('node:url').pathToFileURL(__filename).href" }
}
await build({ ...commonJs, entryPoints: { cli: 'dist/lib/cli/main.js' }, outExtension: { '.js': '.cjs' } })
// The binary: runs cli.cjs with the code cache (package.json's bin).
await build({ ...commonJs, entryPoints: { dds: 'dist/lib/cli/launch.js' }, outExtension: { '.js': '.cjs' } })
