/**
 * Tags: names a user gives to history entries (`v1` for `/weather/model@3`),
 * kept in the `meta` key space under `tag/NAME` as dag-cbor nodes that carry
 * the entry's evaluation and output, so that a tag still names its value
 * after the entry itself is trimmed, and gc can treat every tag as a root.
 * Bundles and the remote carry tags through `tagsOf` and `adoptTags`.
 */
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { encodeNode, decodeNode } from './records.js'
import { text } from './keys.js'
import { validatePath } from './paths.js'
import type { Backend, BatchOp } from './interface.js'

/** A tag: a name for one history entry of a path. */
export interface Tag {
  name: string
  path: string
  seq: number
  evaluation: CID
  output: CID
  /** When the tag was set, ms since the epoch. */
  time: number
}

const PREFIX = 'tag/'
const NAME = /^[A-Za-z_][A-Za-z0-9._-]{0,127}$/

/**
 * Check a tag name: a letter or `_` first (so that `PATH@3` stays a sequence
 * number and `PATH@v1` a tag), then letters, digits, `.`, `_`, `-`.
 * DDS_TAG_INVALID otherwise.
 *
 * @example
 * validateTag('v1') // 'v1'
 */
export function validateTag (name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new DdsError(ErrorCodes.TAG_INVALID, `invalid tag name ${JSON.stringify(name)}: a letter or _ first, then letters, digits, ., _ or - (at most 128)`, { data: { tag: String(name) } })
  }
  return name
}

function tagKey (name: string): Uint8Array {
  return text.encode(PREFIX + name)
}

/** Decode a stored or received tag node; DDS_INTEGRITY (or `problem`'s code) when it is not one. */
export function toTag (v: unknown, code: typeof ErrorCodes.INTEGRITY | typeof ErrorCodes.BUNDLE_INVALID = ErrorCodes.INTEGRITY): Tag {
  const o = v as Record<string, unknown> | null
  const bad = (detail: string): DdsError => new DdsError(code, `malformed tag: ${detail}`, { data: { problem: 'tag' } })
  if (o === null || typeof o !== 'object') throw bad('not a map')
  if (typeof o.name !== 'string' || !NAME.test(o.name)) throw bad('name')
  if (typeof o.path !== 'string') throw bad('path')
  try {
    validatePath(o.path)
  } catch {
    throw bad('path')
  }
  if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 1) throw bad('seq')
  if (!Number.isSafeInteger(o.time) || (o.time as number) < 0) throw bad('time')
  const evaluation = CID.asCID(o.evaluation)
  const output = CID.asCID(o.output)
  if (evaluation === null || output === null) throw bad('links')
  return { name: o.name, path: o.path, seq: o.seq as number, evaluation, output, time: o.time as number }
}

/** The put that stores `tag` (for a batch that writes it with what it names). */
export function tagOp (tag: Tag): BatchOp {
  return { type: 'put', space: 'meta', key: tagKey(tag.name), value: encodeNode(tag) }
}

/** Set (or move) a tag. */
export async function putTag (backend: Backend, tag: Tag): Promise<void> {
  validateTag(tag.name)
  await backend.batch([tagOp(tag)], { sync: true })
}

/** The tag of that name, or undefined. */
export async function getTag (backend: Backend, name: string): Promise<Tag | undefined> {
  const raw = await backend.get('meta', tagKey(validateTag(name)))
  return raw === undefined ? undefined : toTag(decodeNode(raw, 'tag'))
}

/** The tag of that name; DDS_TAG_NOT_FOUND when there is none. */
export async function requireTag (backend: Backend, name: string, path?: string): Promise<Tag> {
  const tag = await getTag(backend, name)
  if (tag === undefined || (path !== undefined && tag.path !== path)) {
    throw new DdsError(ErrorCodes.TAG_NOT_FOUND, path === undefined ? `no tag ${name}` : `no tag ${name} on ${path}`, { data: { tag: name, ...(path === undefined ? {} : { path }) } })
  }
  return tag
}

/** Delete a tag; false when there was none. */
export async function deleteTag (backend: Backend, name: string): Promise<boolean> {
  if (await getTag(backend, name) === undefined) return false
  await backend.batch([{ type: 'del', space: 'meta', key: tagKey(name) }], { sync: true })
  return true
}

/** Every tag, by name (on `path` only, when given). */
export async function * listTags (backend: Backend, options: { path?: string } = {}): AsyncIterable<Tag> {
  // 'tag0' is the first key after every 'tag/…' key ('0' follows '/').
  const gte = text.encode(PREFIX)
  const lt = text.encode('tag0')
  for await (const [, value] of backend.entries('meta', { gte, lt })) {
    const tag = toTag(decodeNode(value, 'tag'))
    if (options.path === undefined || tag.path === options.path) yield tag
  }
}

/** The tags on the given paths (all tags when `paths` is undefined): what a bundle or a push carries. */
export async function tagsOf (backend: Backend, paths?: Iterable<string>): Promise<Tag[]> {
  const wanted = paths === undefined ? undefined : new Set(paths)
  const out: Tag[] = []
  for await (const tag of listTags(backend)) if (wanted === undefined || wanted.has(tag.path)) out.push(tag)
  return out
}

/**
 * Take tags that came from elsewhere (a bundle, the remote): a name this
 * store does not have yet is added; a local tag of the same name is never
 * replaced (tags are names a user chose here). Returns the names added.
 * The caller has checked that the store holds what each tag links.
 */
export async function adoptTags (backend: Backend, tags: Tag[]): Promise<string[]> {
  const ops: BatchOp[] = []
  const added: string[] = []
  for (const tag of tags) {
    if (await getTag(backend, tag.name) !== undefined) continue
    ops.push(tagOp(tag))
    added.push(tag.name)
  }
  if (ops.length > 0) await backend.batch(ops, { sync: true })
  return added
}
