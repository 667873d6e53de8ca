/**
 * The remotes every remote test runs against: a shared directory (always,
 * no server needed) and S3 (two gateways of one Ceph cluster, when
 * started). Each gives a fresh prefix per test and ways to look at or damage
 * its objects behind the library's back, by keys relative to the prefix.
 */
import type { Test } from 'tap'
import type { RemoteOptions } from '../../../store/remote/interface.js'
import { fileEnv } from './file.js'
import { s3 } from './s3.js'

/** One kind of remote, as the tests see it. */
export interface RemoteEnv {
  /** `file` or `s3`, for test names. */
  readonly name: string
  /** A prefix no other test uses. */
  prefix (name?: string): string
  /** The remote's URL for a prefix. */
  url (prefix: string): string
  /** Remote options for "machine" `machine` (0 or 1: which gateway it talks to). */
  remote (prefix: string, machine?: number, extra?: Partial<RemoteOptions>): RemoteOptions
  /** The environment variables that name the remote to the command line (`DDS_REMOTE` and how to reach it). */
  cliEnv (prefix: string, machine?: number): Record<string, string>
  /** Keys (relative to the prefix) under `sub`, e.g. `lease/`. */
  keys (prefix: string, sub?: string): Promise<string[]>
  read (prefix: string, key: string): Promise<Uint8Array>
  overwrite (prefix: string, key: string, bytes: Uint8Array): Promise<void>
}

/** The remotes to run against; S3 is skipped with a message without Ceph (and fails under CI=true). */
export function remotes (t: Test): RemoteEnv[] {
  const out: RemoteEnv[] = [fileEnv(t)]
  const env = s3(t)
  if (env !== undefined) out.push(env)
  return out
}
