/**
 * Where the default store is, found the way git and DVC find their root: the
 * nearest `.dds` in the working directory or its parents, stopping at the
 * filesystem root or a repository root (a directory with `.git`); else a new
 * `.dds` beside the nearest `package.json` (within the repository); else in
 * the working directory. `$DDS_STORE` wins over all of it. The CLI and the
 * library use this one rule, so that both see the same store from a subfolder.
 */
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

/**
 * How the store directory was chosen: given by the caller, `$DDS_STORE`, an
 * existing `.dds` found in the working directory or a parent, or a new one
 * beside the nearest `package.json` or in the working directory.
 */
export type StoreFound = 'given' | 'env' | 'found' | 'package' | 'cwd'

/** The store directory the default rule picks, and why. */
export interface StoreLocation {
  location: string
  found: StoreFound
}

/** The directory name of a store found or created by the default rule. */
export const STORE_DIR = '.dds'

/**
 * The default store directory for `cwd`.
 *
 * @example
 * findStore({ cwd: '/repo/pkg/src' }) // { location: '/repo/pkg/.dds', found: 'package' } in a fresh project
 */
export function findStore (options: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): StoreLocation {
  const cwd = resolve(options.cwd ?? process.cwd())
  const given = (options.env ?? process.env).DDS_STORE
  if (given !== undefined && given !== '') return { location: resolve(cwd, given), found: 'env' }
  let pkg: string | undefined
  for (let dir = cwd; ; dir = dirname(dir)) {
    // Any entry named .dds counts, even a regular file: opening it then says what is wrong
    // instead of quietly creating a second store elsewhere.
    if (existsSync(join(dir, STORE_DIR))) return { location: join(dir, STORE_DIR), found: 'found' }
    if (pkg === undefined && existsSync(join(dir, 'package.json'))) pkg = dir
    if (existsSync(join(dir, '.git')) || dirname(dir) === dir) break
  }
  if (pkg !== undefined) return { location: join(pkg, STORE_DIR), found: 'package' }
  return { location: join(cwd, STORE_DIR), found: 'cwd' }
}
