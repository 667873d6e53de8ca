/**
 * Tags on push and pull: a push sends the local tags of the pushed paths
 * whose entry the remote's log holds; a pull adopts the remote's tags on the
 * pulled paths. What comes down is untrusted: a tag is taken only when it
 * names an entry (evaluation and output) of its path both in the remote's
 * log and in the local history after the pull, with the local sequence
 * number, and never replaces a local tag (the rule of bundle import).
 */
import { adoptTags, tagsOf, type Tag } from '../tags.js'
import type { BundleTag, PathEntry } from '../records.js'
import type { Backend } from '../interface.js'
import type { RemoteLink } from './link.js'

async function entryWith (entries: AsyncIterable<PathEntry>, tag: BundleTag): Promise<PathEntry | undefined> {
  for await (const e of entries) {
    if (e.evaluation !== null && e.output !== null && e.evaluation.equals(tag.evaluation) && e.output.equals(tag.output)) return e
  }
  return undefined
}

/** Send the local tags of `paths` whose entry the remote's log of that path holds; returns their names. */
export async function pushTags (link: RemoteLink, backend: Backend, paths: string[]): Promise<string[]> {
  const remote = link.remote
  if (remote.putTag === undefined) return []
  const sent: string[] = []
  for (const tag of await tagsOf(backend, paths)) {
    if (await entryWith(remote.history(tag.path), tag) === undefined) continue
    await remote.putTag(tag)
    sent.push(tag.name)
  }
  return sent
}

/**
 * Adopt the remote's tags on `paths`: each must name an entry of its path in
 * the remote's log and in the local history (its local sequence number is
 * used); others are ignored. Returns the names added and those refused.
 */
export async function pullTags (link: RemoteLink, backend: Backend, paths: string[]): Promise<{ added: string[], refused: string[] }> {
  const remote = link.remote
  if (remote.tags === undefined) return { added: [], refused: [] }
  const wanted = new Set(paths)
  const adopt: Tag[] = []
  const refused: string[] = []
  for (const tag of await remote.tags()) {
    if (!wanted.has(tag.path)) continue
    const local = await entryWith(link.local.namespace.history(tag.path), tag)
    if (local === undefined || await entryWith(remote.history(tag.path), tag) === undefined) {
      refused.push(tag.name)
      continue
    }
    adopt.push({ ...tag, seq: local.seq, time: Date.now() })
  }
  return { added: await adoptTags(backend, adopt), refused }
}
