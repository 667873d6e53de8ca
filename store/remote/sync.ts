/**
 * `push` and `pull`: move paths, with everything they reach, between a
 * store and its remote. Push sends the blocks first (each after the blocks
 * it links to) and then appends the paths' local heads to the remote logs;
 * pull brings every block down, checked against its CID, before the paths'
 * remote heads are added to the local history. Neither replaces a head the
 * other side has newer.
 */
import type { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from '../errors.js'
import { decodeNode, isArtifactRoot, toArtifactRoot, type PathEntry } from '../records.js'
import { validatePath } from '../paths.js'
import { entryLinks, linksOf, required, type Link } from '../verify.js'
import type { Store } from '../store.js'
import type { PathUpdate } from '../interface.js'
import { RemoteLink } from './link.js'

/** What a push or pull did, per path. */
export interface SyncResult {
  /** Paths whose entry was added to the other side, with its sequence number there. */
  moved: Array<{ path: string, seq: number }>
  /** Paths the other side already had at that evaluation, or newer. */
  skipped: string[]
}

function remoteOf (store: Store): RemoteLink {
  const remote = store.remote
  if (remote === undefined) throw new TypeError('the store has no remote: open it with { remote }')
  return new RemoteLink(store, remote, false)
}

function notFound (path: string, where: string): DdsError {
  return new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${path} holds no value in ${where}`, { data: { path } })
}

function updateOf (e: PathEntry): PathUpdate {
  return { path: e.path, evaluation: e.evaluation, output: e.output, time: e.time, ...(e.hit === true ? { hit: true } : {}) }
}

/**
 * Send paths (their local heads) and everything they reach to the store's
 * remote. DDS_PATH_NOT_FOUND for a path with no local value.
 *
 * @example
 * const store = await openStore({ location: '.dds', remote: 's3://team/dds' })
 * await push(store, ['/models/clf'])  // { moved: [{ path: '/models/clf', seq: 3 }], skipped: [] }
 */
export async function push (store: Store, paths: string[]): Promise<SyncResult> {
  const link = remoteOf(store)
  const updates: PathUpdate[] = []
  for (const path of [...new Set(paths)]) {
    validatePath(path)
    const head = await store.head(path, { local: true })
    if (head === undefined) throw notFound(path, 'the local store')
    updates.push(updateOf(head))
  }
  const result = await link.append(updates, { onlyIfNewer: true })
  return { moved: result.appended, skipped: result.skipped }
}

/**
 * Bring paths (their remote heads) and everything they reach into the local
 * store, every block checked against its CID, then add the entries to the
 * local history. DDS_PATH_NOT_FOUND for a path with no value in the remote.
 *
 * @example
 * await pull(store, ['/models/clf'])
 */
export async function pull (store: Store, paths: string[], options: { onProgress?: (p: { blocks: number }) => void } = {}): Promise<SyncResult> {
  const link = remoteOf(store)
  const entries: PathEntry[] = []
  for (const path of [...new Set(paths)]) {
    validatePath(path)
    const head = await store.head(path)
    if (head === undefined) throw notFound(path, `remote ${link.remote.url}`)
    entries.push(head)
  }
  await fetchAll(store, link, entries.flatMap(entryLinks), options.onProgress)
  const result = await store.backend.commit(entries.map(updateOf), [], { onlyIfNewer: true })
  return { moved: result.appended, skipped: result.skipped }
}

/** Walk what `roots` reach, fetching every block the local store lacks (a few at a time). */
async function fetchAll (store: Store, link: RemoteLink, roots: Link[], onProgress?: (p: { blocks: number }) => void): Promise<void> {
  const seen = new Set<string>()
  let blocks = 0
  const visit = async (l: Link): Promise<Link[]> => {
    const bytes = await store.getBlock(l.cid, { local: true }) ?? await link.fetchBlock(l.cid)
    if (bytes === undefined) {
      if (!required(l.role)) return []
      throw new DdsError(ErrorCodes.NOT_FOUND, `${l.role} ${l.cid.toString()} is missing from remote ${link.remote.url}`, { data: { cid: l.cid.toString(), role: l.role } })
    }
    blocks++
    onProgress?.({ blocks })
    // A kept value passed as an argument is an input by the CID of its artifact root: it comes as an artifact.
    const role = l.role === 'input' && isArtifactRoot(l.cid, bytes) ? 'artifact' : l.role
    const children = linksOf(l.cid, bytes, role)
    if (role === 'artifact' && children.length > 0) {
      await link.fillArtifact(l.cid as CID, toArtifactRoot(decodeNode(bytes, 'artifact')))
      return []
    }
    return children
  }
  let frontier = roots
  while (frontier.length > 0) {
    const next: Link[] = []
    const todo = frontier.filter((l) => {
      const key = `${l.role}:${l.cid.toString()}`
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
    for (let i = 0; i < todo.length; i += 8) {
      for (const children of await Promise.all(todo.slice(i, i + 8).map(visit))) next.push(...children)
    }
    frontier = next
  }
}
