/**
 * Module resolution and project layout: where an import specifier leads (a
 * project file, a package with its version, a Node builtin), and the stable
 * key of a project file (its path relative to its package root).
 *
 * oxc-resolver is loaded lazily with `require`: it is a native addon, and the
 * engine must still load where addons are refused.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, isAbsolute, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Where a specifier leads. */
export type Resolution =
  | { kind: 'file', path: string }
  | { kind: 'package', name: string, version: string }
  | { kind: 'builtin', name: string }
  | { kind: 'missing', reason: string }

/** One resolution an analysis asked for. */
export interface ResolvedImport {
  from: string
  spec: string
  result: Resolution
}

/** A package's identity. */
export interface PackageId {
  name: string
  version: string
}

/**
 * Node builtins count as a package named `node:<module>` whose version is the
 * Node major version: a major release may change a builtin's behaviour
 * (output formats, defaults), minor and patch releases are meant not to, and
 * recording the full version would re-run everything on every Node update.
 */
export const NODE_MAJOR = process.versions.node.split('.')[0] ?? '0'

interface ResolverLike {
  resolveFileSync: (file: string, request: string) => { path?: string, error?: string, builtin?: { resolved: string }, packageJsonPath?: string }
}

const require = createRequire(import.meta.url)

const EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs', '.json', '.node']
const EXTENSION_ALIAS = { '.js': ['.ts', '.tsx', '.js', '.jsx'], '.mjs': ['.mts', '.mjs'], '.cjs': ['.cts', '.cjs'], '.jsx': ['.tsx', '.jsx'] }

/** Split a path into segments on either separator. */
function segments (path: string): string[] {
  return path.split(/[\\/]+/)
}

/**
 * True when a path lies inside a `node_modules` directory.
 *
 * @example
 * inNodeModules('/p/node_modules/x/index.js') // true
 */
export function inNodeModules (path: string): boolean {
  return segments(path).includes('node_modules')
}

function realPath (path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

function isBare (spec: string): boolean {
  return !(spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..' || spec.startsWith('/') || spec.startsWith('#') || spec.startsWith('file:') || isAbsolute(spec))
}

/**
 * The package name of a bare specifier: `@scope/name` or `name`.
 *
 * @example
 * packageNameOf('@ipld/dag-cbor/utils') // '@ipld/dag-cbor'
 */
export function packageNameOf (spec: string): string {
  const parts = spec.split('/')
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] ?? spec
}

interface PackageJson {
  dir: string
  name: string | undefined
  version: string | undefined
}

/**
 * Resolves specifiers and identifies packages and project roots. Holds caches;
 * one instance lives in each signature engine.
 */
export class ProjectResolver {
  private esm: ResolverLike | undefined
  private cjs: ResolverLike | undefined
  private loadFailed: unknown
  private readonly cache = new Map<string, Resolution>()
  /** The resolutions asked for since {@link ProjectResolver.track}. */
  private tracked: ResolvedImport[] | undefined
  private readonly pkgJson = new Map<string, PackageJson | null>()
  private readonly rootOfDir = new Map<string, PackageJson | null>()
  /** Directories holding this library's own code, treated as the package it belongs to. */
  private readonly self: { dirs: string[], id: PackageId } | undefined

  constructor () {
    this.self = findSelf()
  }

  private resolvers (): { esm: ResolverLike, cjs: ResolverLike } | undefined {
    if (this.esm !== undefined && this.cjs !== undefined) return { esm: this.esm, cjs: this.cjs }
    if (this.loadFailed !== undefined) return undefined
    try {
      const { ResolverFactory } = require('oxc-resolver') as typeof import('oxc-resolver')
      const base = {
        extensions: EXTENSIONS,
        extensionAlias: EXTENSION_ALIAS,
        builtinModules: true,
        // Keep paths as written under node_modules: a package is recognised by
        // where its specifier leads, not where a symlink points.
        symlinks: false,
        tsconfig: 'auto' as const
      }
      this.esm = new ResolverFactory({ ...base, conditionNames: ['node', 'import', 'module-sync', 'default'] })
      this.cjs = new ResolverFactory({ ...base, conditionNames: ['node', 'require', 'module-sync', 'default'] })
      return { esm: this.esm, cjs: this.cjs }
    } catch (err) {
      this.loadFailed = err
      return undefined
    }
  }

  /**
   * Where `spec`, imported from `fromFile`, leads.
   *
   * @example
   * resolver.resolve('/p/src/a.ts', './b.js', 'import') // { kind: 'file', path: '/p/src/b.ts' }
   */
  resolve (fromFile: string, spec: string, kind: 'import' | 'require'): Resolution {
    const cacheKey = `${kind}\0${dirname(fromFile)}\0${spec}`
    let result = this.cache.get(cacheKey)
    if (result === undefined) {
      result = this.resolveUncached(fromFile, spec, kind)
      this.cache.set(cacheKey, result)
    }
    this.tracked?.push({ from: fromFile, spec, result })
    return result
  }

  /**
   * Record every resolution asked for from now on (what a persisted analysis
   * depends on) until {@link ProjectResolver.untrack}.
   *
   * @example
   * resolver.track(); analyse(); const asked = resolver.untrack()
   */
  track (): void {
    this.tracked = []
  }

  /** Stop recording; the resolutions asked for since {@link ProjectResolver.track}. */
  untrack (): ResolvedImport[] {
    const out = this.tracked ?? []
    this.tracked = undefined
    return out
  }

  /**
   * The directory of the package a bare specifier names, as seen from a file
   * (the first `node_modules/<name>` with a named package.json on the way up).
   *
   * @example
   * resolver.packageDirOf('/p/src/a.ts', 'lodash') // '/p/node_modules/lodash'
   */
  packageDirOf (fromFile: string, name: string): string | undefined {
    return this.findPackage(fromFile, name)?.dir
  }

  private resolveUncached (fromFile: string, spec: string, kind: 'import' | 'require'): Resolution {
    if (spec.startsWith('node:')) return { kind: 'builtin', name: spec }
    const rs = this.resolvers()
    if (rs === undefined) return this.resolveWithoutResolver(fromFile, spec)
    const r = (kind === 'import' ? rs.esm : rs.cjs).resolveFileSync(fromFile, spec)
    if (r.builtin !== undefined) return { kind: 'builtin', name: r.builtin.resolved.startsWith('node:') ? r.builtin.resolved : `node:${r.builtin.resolved}` }
    if (r.path === undefined) {
      if (isBare(spec)) {
        // A package whose exports map refuses this condition is still a package.
        const id = this.findPackageDir(fromFile, packageNameOf(spec))
        if (id !== undefined) return { kind: 'package', ...id }
      }
      return { kind: 'missing', reason: r.error ?? 'not found' }
    }
    return this.classify(r.path)
  }

  private resolveWithoutResolver (fromFile: string, spec: string): Resolution {
    if (isBare(spec)) {
      const id = this.findPackageDir(fromFile, packageNameOf(spec))
      return id === undefined ? { kind: 'missing', reason: 'resolver unavailable' } : { kind: 'package', ...id }
    }
    const base = spec.startsWith('file:') ? fileURLToPath(spec) : isAbsolute(spec) ? spec : join(dirname(fromFile), spec)
    const candidates = [base, ...EXTENSIONS.map((e) => base + e), ...(base.endsWith('.js') ? ['.ts', '.tsx'].map((e) => base.slice(0, -3) + e) : [])]
    for (const c of candidates) if (existsSync(c) && statSync(c).isFile()) return this.classify(c)
    return { kind: 'missing', reason: 'resolver unavailable' }
  }

  private classify (path: string): Resolution {
    const own = this.selfPackage(path)
    if (own !== undefined) return { kind: 'package', ...own }
    // The path is as the specifier leads (symlinks not followed). A package
    // whose real path lies outside every node_modules directory (a workspace,
    // a `file:` or `link:` dependency) is the project's own code: analysed as
    // such, at its real path, which is also where Node loads it from.
    if (inNodeModules(path)) {
      const real = realPath(path)
      if (!inNodeModules(real)) return this.selfPackage(real) !== undefined ? { kind: 'package', ...this.self!.id } : { kind: 'file', path: real }
      const id = this.packageOfFile(path)
      if (id !== undefined) return { kind: 'package', ...id }
    }
    return { kind: 'file', path }
  }

  /**
   * This library's own version (what computes analyses), `unknown` when its package.json was not found.
   *
   * @example
   * resolver.libraryVersion() // '0.4.0'
   */
  libraryVersion (): string {
    return this.self?.id.version ?? 'unknown'
  }

  /** This library's own package when `file` is part of its code. */
  selfPackage (file: string): PackageId | undefined {
    if (this.self === undefined) return undefined
    for (const d of this.self.dirs) if (file.startsWith(d)) return this.self.id
    return undefined
  }

  private findPackageDir (fromFile: string, name: string): PackageId | undefined {
    const pj = this.findPackage(fromFile, name)
    return pj === undefined ? undefined : { name: pj.name!, version: pj.version ?? '0.0.0' }
  }

  private findPackage (fromFile: string, name: string): PackageJson | undefined {
    for (let dir = dirname(fromFile); ; dir = dirname(dir)) {
      const pj = this.readPackageJson(join(dir, 'node_modules', name))
      if (pj?.name !== undefined) return pj
      if (dirname(dir) === dir) return undefined
    }
  }

  private readPackageJson (dir: string): PackageJson | null {
    const hit = this.pkgJson.get(dir)
    if (hit !== undefined) return hit
    let out: PackageJson | null = null
    const file = join(dir, 'package.json')
    // Most directories on the way up have none: checking first avoids the cost of a thrown error.
    if (!existsSync(file)) {
      this.pkgJson.set(dir, null)
      return null
    }
    try {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown, version?: unknown }
      out = { dir, name: typeof json.name === 'string' ? json.name : undefined, version: typeof json.version === 'string' ? json.version : undefined }
    } catch {
      out = null
    }
    this.pkgJson.set(dir, out)
    return out
  }

  /**
   * The package a file under `node_modules` belongs to: the nearest
   * package.json with a name, not above the `node_modules` directory.
   *
   * @example
   * resolver.packageOfFile('/p/node_modules/fakedep/lib/x.js') // { name: 'fakedep', version: '1.0.0' }
   */
  packageOfFile (file: string): PackageId | undefined {
    for (let dir = dirname(file); ; dir = dirname(dir)) {
      const base = dir.slice(dir.lastIndexOf(sep) + 1)
      if (base === 'node_modules') return undefined
      const pj = this.readPackageJson(dir)
      if (pj?.name !== undefined) return { name: pj.name, version: pj.version ?? '0.0.0' }
      if (dirname(dir) === dir) return undefined
    }
  }

  /**
   * The root of the project a file belongs to: the nearest directory with a
   * package.json. Declaration keys are relative to it, so they do not depend
   * on where the project is checked out.
   *
   * @example
   * resolver.projectRoot('/p/src/a.ts') // { dir: '/p', name: 'p' }
   */
  projectRoot (file: string): { dir: string, name: string | undefined } | undefined {
    const start = dirname(file)
    const hit = this.rootOfDir.get(start)
    if (hit !== undefined) return hit ?? undefined
    let found: PackageJson | null = null
    for (let dir = start; ; dir = dirname(dir)) {
      found = this.readPackageJson(dir)
      if (found !== null || dirname(dir) === dir) break
    }
    this.rootOfDir.set(start, found)
    return found === null ? undefined : { dir: found.dir, name: found.name }
  }
}

function findSelf (): { dirs: string[], id: PackageId } | undefined {
  let here: string
  try {
    here = dirname(fileURLToPath(import.meta.url))
  } catch {
    return undefined
  }
  // This file is lib/signature/resolve.ts in the sources, or
  // dist/lib/signature/resolve.js when compiled.
  for (let dir = here, i = 0; i < 5; dir = dirname(dir), i++) {
    const pjPath = join(dir, 'package.json')
    if (!existsSync(pjPath)) continue
    try {
      const json = JSON.parse(readFileSync(pjPath, 'utf8')) as { name?: unknown, version?: unknown }
      if (typeof json.name !== 'string') continue
      const dirs = ['lib', 'store', 'dist'].map((d) => join(dir, d) + sep)
      return { dirs, id: { name: json.name, version: typeof json.version === 'string' ? json.version : '0.0.0' } }
    } catch {
      return undefined
    }
  }
  return undefined
}

/**
 * A file path relative to a root, with POSIX separators.
 *
 * @example
 * relativeKey('/p', '/p/src/a.ts') // 'src/a.ts'
 */
export function relativeKey (root: string, file: string): string {
  return relative(root, file).split(sep).join('/')
}
