/**
 * `load`: a path's value (or a tagged one), read from this run's writes or
 * the path's head, and recorded as a load of the keep that reads it.
 */
import { DdsError, ErrorCodes } from '../../store/errors.js'
import type { LoadOptions } from '../interface.js'
import { loadTarget, taggedValue } from '../tagged.js'
import type { Frame, RunContext } from './interface.js'

/**
 * The value `target` (a path, `path@tag` or with `options.tag`) holds. Inside
 * a keep (`frame`), the load is recorded so a change of that path recomputes it.
 *
 * @example
 * const n = await loadValue(ctx, ctx.als.getStore(), '/n') // throws DDS_PATH_NOT_FOUND when /n holds nothing
 */
export async function loadValue (ctx: RunContext, frame: Frame | undefined, target: string, options: LoadOptions = {}): Promise<unknown> {
  const { store } = ctx
  const { path, tag } = loadTarget(target, options)
  if (tag !== undefined) {
    const t = await taggedValue(store.backend, path, tag)
    const v = await store.readArtifact(t.output)
    ctx.remember(v, t.output)
    if (frame !== undefined && !frame.loads.has(t.key)) frame.loads.set(t.key, { path: t.key, evaluation: t.evaluation, output: t.output })
    return v
  }
  const w = frame?.run.written.get(path)
  if (frame !== undefined && w !== undefined) {
    if (!frame.loads.has(path)) frame.loads.set(path, { path, evaluation: w.evaluation, output: w.output })
    if (w.value === undefined) {
      const v = await store.readArtifact(w.output)
      ctx.remember(v, w.output)
      w.value = { v }
    }
    return w.value.v
  }
  const head = await store.head(path)
  if (head === undefined || head.output === null) {
    throw new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${path} holds no value`, { data: { path } })
  }
  const value = await store.readArtifact(head.output)
  ctx.remember(value, head.output)
  if (frame !== undefined && !frame.loads.has(path)) frame.loads.set(path, { path, evaluation: head.evaluation, output: head.output })
  return value
}
