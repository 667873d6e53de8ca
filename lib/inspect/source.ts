/**
 * Where the inspect queries read a store's namespace (heads and histories):
 * the store itself, or the remote it is a cache of. Blocks are always read
 * through the store, which fetches and checks what it lacks from its remote.
 */
import { DdsError, ErrorCodes } from '../../store/errors.js'
import type { Store } from '../../store/store.js'
import type { PathEntry } from '../../store/records.js'
import type { SourceOptions } from './interface.js'
import type { PathsOptions } from '../../store/interface.js'

/** The namespace reads the queries need. */
export interface Namespace {
  paths: (options?: PathsOptions) => AsyncIterable<PathEntry>
  history: (path: string, options?: { limit?: number }) => AsyncIterable<PathEntry>
}

/** The local namespace of `store`, or with `remote` its remote's (DDS_REMOTE_UNAVAILABLE when it has none). */
export function namespaceOf (store: Store, options: SourceOptions = {}): Namespace {
  if (options.remote !== true) return store
  const remote = store.remote
  if (remote === undefined) throw new DdsError(ErrorCodes.REMOTE_UNAVAILABLE, 'the store has no remote to list', { data: { location: store.location ?? null } })
  return remote
}
