/**
 * Loading a tagged value: `load('/p@v1')` or `load('/p', { tag: 'v1' })`.
 * A load of a tag inside a run is recorded as a dependency on `PATH@TAG`
 * (not on the path's head), so the function re-runs when the tag is moved,
 * not when the path gets a newer value.
 */
import type { CID } from 'multiformats/cid'
import { validatePath } from '../store/paths.js'
import { requireTag, validateTag } from '../store/tags.js'
import type { Backend } from '../store/interface.js'
import type { LoadOptions } from './interface.js'

/**
 * Split a load target into its path and tag (undefined for the head).
 * TypeError when both `@TAG` and `options.tag` are given.
 *
 * @example
 * loadTarget('/weather/model@v1') // { path: '/weather/model', tag: 'v1' }
 */
export function loadTarget (target: string, options: LoadOptions = {}): { path: string, tag?: string } {
  if (options === null || typeof options !== 'object') throw new TypeError('load(): options must be an object')
  const at = typeof target === 'string' ? target.lastIndexOf('@') : -1
  const given = options.tag === undefined ? undefined : validateTag(options.tag)
  if (at === -1) return { path: validatePath(target), ...(given === undefined ? {} : { tag: given }) }
  if (given !== undefined) throw new TypeError('load(): give the tag either after @ or as options.tag, not both')
  return { path: validatePath(target.slice(0, at)), tag: validateTag(target.slice(at + 1)) }
}

/** True when a recorded load names a tag (`PATH@TAG`) rather than a path's head. */
export function isTaggedLoad (path: string): boolean {
  return path.includes('@')
}

/** What `PATH@TAG` names now; DDS_TAG_NOT_FOUND when the tag is gone or on another path. */
export async function taggedValue (backend: Backend, path: string, tag: string): Promise<{ key: string, evaluation: CID, output: CID }> {
  const t = await requireTag(backend, tag, path)
  return { key: `${path}@${tag}`, evaluation: t.evaluation, output: t.output }
}

/** The output a recorded tagged load names now, or undefined when the tag is gone. */
export async function taggedOutput (backend: Backend, key: string): Promise<CID | undefined> {
  const { path, tag } = loadTarget(key)
  try {
    return (await taggedValue(backend, path, tag as string)).output
  } catch {
    return undefined
  }
}
