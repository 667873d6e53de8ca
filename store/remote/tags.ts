/**
 * The tags of a remote: `tag/<name>`, written once (the first tag of a name
 * stays), read back checked (a malformed object is no tag). Which tags go up
 * with a push and which are adopted on pull: sync-tags.ts.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { validatePath } from '../paths.js'
import { validateTag } from '../tags.js'
import type { BundleTag } from '../records.js'
import { createOnce } from './probe.js'
import type { RemotePlace } from './interface.js'

/** The tags of one remote. */
export class RemoteTags {
  readonly #place: RemotePlace

  constructor (place: RemotePlace) {
    this.#place = place
  }

  /** Every well-formed tag of the remote (malformed objects are skipped: they are no tag). */
  async tags (): Promise<BundleTag[]> {
    const { objects, layout } = this.#place
    const out: BundleTag[] = []
    for await (const key of objects.list(layout.key('tag/'))) {
      const got = await objects.get(key)
      if (got === undefined) continue
      const tag = parseTag(got.bytes)
      if (tag !== undefined && layout.key(`tag/${tag.name}`) === key) out.push(tag)
    }
    return out
  }

  /** Store a tag unless the remote has one of that name. */
  async putTag (tag: BundleTag): Promise<void> {
    const { objects, layout } = this.#place
    await createOnce(objects, layout.key(`tag/${validateTag(tag.name)}`), dagCbor.encode({ name: tag.name, path: tag.path, evaluation: tag.evaluation, output: tag.output }))
  }
}

function parseTag (bytes: Uint8Array): BundleTag | undefined {
  try {
    const o = dagCbor.decode(bytes) as Record<string, unknown>
    const evaluation = CID.asCID(o.evaluation)
    const output = CID.asCID(o.output)
    if (evaluation === null || output === null) return undefined
    return { name: validateTag(o.name), path: validatePath(o.path), evaluation, output }
  } catch {
    return undefined
  }
}
