/**
 * The tags a bundle carries: on export, the tags on the exported paths whose
 * entry the bundle holds (by evaluation: sequence numbers are per store); on
 * import, the same tags re-attached to the importing store's entry holding
 * that evaluation. A tag from a bundle never replaces a local tag of the
 * same name. Untrusted input: every field is checked against the manifest.
 */
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { validatePath } from './paths.js'
import { adoptTags, tagsOf, validateTag, type Tag } from './tags.js'
import type { BundleManifest, BundleTag } from './records.js'
import type { Store } from './store.js'

/** The tags to write into a bundle with these manifest paths. */
export async function exportTags (store: Store, manifest: BundleManifest): Promise<BundleTag[]> {
  const out: BundleTag[] = []
  for (const t of await tagsOf(store.backend, Object.keys(manifest.paths))) {
    const entries = manifest.paths[t.path] ?? []
    if (entries.some((e) => e.evaluation !== null && e.evaluation.equals(t.evaluation))) out.push({ name: t.name, path: t.path, evaluation: t.evaluation, output: t.output })
  }
  return out
}

function bad (message: string, data: Record<string, unknown> = {}): DdsError {
  return new DdsError(ErrorCodes.BUNDLE_INVALID, `invalid bundle: ${message}`, { data: { problem: 'tag', ...data } })
}

/**
 * The tags of a decoded manifest node, checked: each names a path of the
 * manifest and the evaluation and output of one of its entries there.
 * DDS_BUNDLE_INVALID (`data.problem: 'tag'`) otherwise.
 */
export function readBundleTags (node: unknown, manifest: BundleManifest): BundleTag[] {
  const raw = (node as { tags?: unknown }).tags
  if (raw === undefined) return []
  if (!Array.isArray(raw)) throw bad('the tags are not a list')
  const seen = new Set<string>()
  return raw.map((v: unknown) => {
    const o = v as Record<string, unknown> | null
    if (o === null || typeof o !== 'object') throw bad('a tag is not a map')
    let name: string
    let path: string
    try {
      name = validateTag(o.name)
      path = validatePath(o.path)
    } catch {
      throw bad('a tag has an invalid name or path', { tag: String(o.name) })
    }
    if (seen.has(name)) throw bad(`the tag ${name} is given twice`, { tag: name })
    seen.add(name)
    const evaluation = CID.asCID(o.evaluation)
    const output = CID.asCID(o.output)
    const entries = manifest.paths[path]
    if (evaluation === null || output === null || entries === undefined ||
      !entries.some((e) => e.evaluation !== null && e.evaluation.equals(evaluation) && e.output !== null && e.output.equals(output))) {
      throw bad(`the tag ${name} names no entry the bundle holds`, { tag: name, path })
    }
    return { name, path, evaluation, output }
  })
}

/** Attach a bundle's tags to the entries the import left in the store; returns the names added. */
export async function importTags (store: Store, tags: BundleTag[]): Promise<string[]> {
  const adopt: Tag[] = []
  for (const t of tags) {
    for await (const e of store.local.namespace.history(t.path)) {
      if (e.evaluation === null || !e.evaluation.equals(t.evaluation)) continue
      adopt.push({ ...t, seq: e.seq, time: Date.now() })
      break
    }
  }
  return await adoptTags(store.backend, adopt)
}
