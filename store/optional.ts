/**
 * Optional dependencies, loaded on first use: a feature most users never
 * run (an S3 remote, a chart renderer, Arrow tables) imports its package
 * through here and fails with DDS_DEPENDENCY_MISSING, naming the package to
 * install, when it is absent.
 */
import { DdsError, ErrorCodes } from './errors.js'
import { dynamicImport } from './dynamic-import.js'

/** Loads a package by name; replaceable so that a missing package can be simulated. */
export type Importer = (specifier: string) => Promise<unknown>

const nativeImport: Importer = dynamicImport

/**
 * Load an optional package, or fail with DDS_DEPENDENCY_MISSING naming the
 * package to install when it is absent.
 *
 * @example
 * const sdk = await loadOptional<S3Sdk>('@aws-sdk/client-s3', 'an s3:// remote')
 */
export async function loadOptional<T> (name: string, feature: string, importer: Importer = nativeImport): Promise<T> {
  try {
    return await importer(name) as T
  } catch (err) {
    const code = (err as { code?: unknown })?.code
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw err
    throw new DdsError(ErrorCodes.DEPENDENCY_MISSING, `${feature} needs the package ${name}, which is not installed: npm install ${name}`,
      { cause: err, data: { package: name, feature } })
  }
}
