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
import { decodeNode, MAX_CLOCK_SKEW, toArtifactRoot, type PathEntry } from '../records.js'
import { validatePath } from '../paths.js'
import { entryLinks, linksOf, required, travelRole, type Link } from '../dag.js'
import { pathNotFound } from '../namespace.js'
import { Pending } from '../pending.js'
import type { PathUpdate } from '../interface.js'
import type { RemoteLink } from './link.js'

/** What a push or pull did, per path. */
export interface SyncResult {
  /** Paths whose entry was added to the other side, with its sequence number there. */
  moved: Array<{ path: string, seq: number }>
  /** Paths the other side already had at that evaluation, or newer. */
  skipped: string[]
  /** Tags sent (push) or adopted (pull) with the paths (see remote/tags.ts). */
  tags?: string[]
  /** Pull: the remote's tags on the paths that named no entry of theirs, ignored. */
  refusedTags?: string[]
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
 * await push(store.link, ['/models/clf'])  // { moved: [{ path: '/models/clf', seq: 3 }], skipped: [] }
 */
export async function push (link: RemoteLink, paths: string[]): Promise<SyncResult> {
  const updates: PathUpdate[] = []
  for (const path of [...new Set(paths)]) {
    validatePath(path)
    const head = await link.local.namespace.headEntry(path)
    if (head === undefined || head.evaluation === null) throw pathNotFound(path, 'the local store')
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
 * await pull(store.link, ['/models/clf'])
 */
export async function pull (link: RemoteLink, paths: string[], options: { onProgress?: (p: { blocks: number }) => void } = {}): Promise<SyncResult> {
  const entries: PathEntry[] = []
  for (const path of [...new Set(paths)]) {
    validatePath(path)
    const head = await link.headEntry(path)
    if (head === undefined || head.evaluation === null) throw pathNotFound(path, `remote ${link.remote.url}`)
    // As at a bundle's import: a time far ahead would pin the local path (every later local value "older").
    if (head.time > Date.now() + MAX_CLOCK_SKEW) {
      throw new DdsError(ErrorCodes.INTEGRITY, `the head of ${path} in remote ${link.remote.url} is dated ${head.time} ms after 1970, in the future: not pulled`, { data: { problem: 'time', path, time: head.time, remote: link.remote.url } })
    }
    entries.push(head)
  }
  // The gc lock keeps a collection from sweeping the fetched blocks before the commit names them.
  const guard = await link.local.locks.lock('gc', 'shared')
  try {
    await fetchAll(link, entries.flatMap(entryLinks), options.onProgress)
    const result = await link.local.namespace.commit(entries.map(updateOf), new Pending(), { onlyIfNewer: true })
    return { moved: result.appended, skipped: result.skipped }
  } finally {
    await guard.release()
  }
}

/** Walk what `roots` reach, fetching every block the local store lacks (a few at a time). */
async function fetchAll (link: RemoteLink, roots: Link[], onProgress?: (p: { blocks: number }) => void): Promise<void> {
  const seen = new Set<string>()
  let blocks = 0
  const visit = async (l: Link): Promise<Link[]> => {
    const bytes = await link.getBlock(l.cid)
    if (bytes === undefined) {
      if (!required(l.role)) return []
      throw new DdsError(ErrorCodes.NOT_FOUND, `${l.role} ${l.cid.toString()} is missing from remote ${link.remote.url}`, { data: { cid: l.cid.toString(), role: l.role } })
    }
    blocks++
    onProgress?.({ blocks })
    const role = travelRole(l, bytes)
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
