/**
 * Small helpers every part of the store (and lib/) uses: CID and byte
 * equality, hex, a pause, the label of a map key in messages, loading an
 * optional package. One copy each.
 */
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'

/** True when two optional CIDs are both absent or equal. */
export function sameCid (a: CID | null | undefined, b: CID | null | undefined): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null)
  return a.equals(b)
}

/** True when two optional byte arrays are both absent or hold the same bytes. */
export function sameBytes (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  if (a.byteLength !== b.byteLength) return false
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
}

/** Lower-case hex of some bytes (a view's own bytes, not its whole buffer). */
export function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** Resolve after `ms` milliseconds. */
export async function sleep (ms: number): Promise<void> {
  await new Promise<void>((resolve) => { setTimeout(resolve, ms) })
}

/** How a map key reads in a message: strings quoted, numbers as they are, others elided. */
export function keyLabel (k: unknown): string {
  if (typeof k === 'string') return JSON.stringify(k)
  if (typeof k === 'number' || typeof k === 'boolean' || typeof k === 'bigint') return String(k)
  return '…'
}

/** Loads a package by name; replaceable so that a missing package can be simulated. */
export type Importer = (specifier: string) => Promise<unknown>

const nativeImport: Importer = async (specifier) => await import(specifier)

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
