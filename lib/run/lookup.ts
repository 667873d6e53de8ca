/**
 * The hit path: find a memo entry whose recorded loads and files still hold
 * and that is fresh, read its value back, and bring the paths its nested
 * keeps wrote into the run.
 */
import type { CID } from 'multiformats/cid'
import { ErrorCodes, isDdsError } from '../../store/errors.js'
import type { LoadRef, MemoEntry } from '../../store/records.js'
import { dependenciesKey } from '../value-hash.js'
import { filesHold, filesNow, fresh } from '../files/index.js'
import { annotationsOf } from '../annotations.js'
import { isTaggedLoad, taggedOutput } from '../tagged.js'
import type { Outcome, Run, RunContext } from './interface.js'

/**
 * A cache hit: the stored value, and the paths its nested keeps wrote join the run.
 * A stored value that cannot be read is a miss (undefined).
 *
 * @example
 * const entry = await lookup(ctx, run, key, fn, '/a')
 * const outcome = entry === undefined ? undefined : await reuse(ctx, run, '/a', entry)
 */
export async function reuse (ctx: RunContext, run: Run, path: string, hit: MemoEntry, event: 'hit' | 'computed' = 'hit'): Promise<Outcome | undefined> {
  let value: unknown
  try {
    value = await ctx.store.readArtifact(hit.output)
  } catch (err) {
    // A stored answer that cannot be read (collected, or damaged) is a miss: computing again gives the right value.
    if (!isDdsError(err, ErrorCodes.NOT_FOUND) && !isDdsError(err, ErrorCodes.INTEGRITY)) throw err
    ctx.emit({ type: 'warning', message: `the stored value for ${path} cannot be read (${err.code}: ${err.message}); computing it again`, path })
    return undefined
  }
  ctx.remember(value, hit.output)
  if (hit.nested) await adoptChildren(ctx, run, hit.evaluation)
  if (event === 'hit') ctx.emit({ type: 'hit', path, evaluation: hit.evaluation })
  else ctx.emit({ type: 'computed', path, evaluation: hit.evaluation, duration: (await ctx.store.getEvaluation(hit.evaluation)).duration })
  return { value, evaluation: hit.evaluation, output: hit.output, loads: hit.loads, files: hit.files ?? [], hit: event === 'hit' }
}

/**
 * The memo entry for a key whose recorded loads and files still hold and that is fresh, if any.
 *
 * @example
 * const entry = await lookup(ctx, run, key, fn, '/a') // undefined: a miss
 */
export async function lookup (ctx: RunContext, run: Run, key: Uint8Array, fn: Function, path: string): Promise<MemoEntry | undefined> {
  const ann = annotationsOf(fn)
  if (ann?.volatile === true) return undefined
  const entry = await ctx.store.lookupMemo(key)
  if (entry === undefined || await ctx.force.refuses(path, fn, entry.evaluation)) return undefined
  if (await loadsHold(ctx, run, entry.loads) && filesHold(entry.files)) return await freshEntry(ctx, entry, fn)
  // The loaded paths or read files changed: maybe an earlier evaluation saw exactly the current values.
  const current: Array<{ path: string, output: CID }> = []
  for (const l of entry.loads) {
    const now = await currentOutput(ctx, run, l.path)
    if (now === undefined) return undefined
    current.push({ path: l.path, output: now })
  }
  const second = dependenciesKey(key, current, entry.files === undefined ? undefined : filesNow(entry.files))
  const alt = second === undefined ? undefined : await ctx.store.lookupMemo(second)
  if (alt !== undefined && !await ctx.force.refuses(path, fn, alt.evaluation) && await loadsHold(ctx, run, alt.loads) && filesHold(alt.files)) return await freshEntry(ctx, alt, fn)
  return undefined
}

/**
 * After a hit, the paths its nested keeps wrote are part of this run too.
 *
 * @example
 * await adoptChildren(ctx, run, outcome.evaluation)
 */
export async function adoptChildren (ctx: RunContext, run: Run, evaluation: CID, seen = new Set<string>()): Promise<void> {
  const id = evaluation.toString()
  if (seen.has(id)) return
  seen.add(id)
  const record = await ctx.store.getEvaluation(evaluation)
  for (const child of record.calls) {
    const rec = await ctx.store.getEvaluation(child)
    if (rec.path !== null && !run.updates.has(rec.path) && !run.claims.has(rec.path)) {
      run.updates.set(rec.path, { path: rec.path, evaluation: child, output: rec.output, hit: true })
      run.written.set(rec.path, { evaluation: child, output: rec.output })
    }
    await adoptChildren(ctx, run, child, seen)
  }
}

/** The entry, unless the function's time to live has passed since it was computed. */
async function freshEntry (ctx: RunContext, entry: MemoEntry, fn: Function): Promise<MemoEntry | undefined> {
  const ann = annotationsOf(fn)
  if (ann?.ttl === undefined) return entry
  const record = await ctx.store.getEvaluation(entry.evaluation)
  return fresh(ann, record.started) ? entry : undefined
}

async function loadsHold (ctx: RunContext, run: Run, loads: LoadRef[]): Promise<boolean> {
  for (const l of loads) {
    const now = await currentOutput(ctx, run, l.path)
    if (now === undefined || !now.equals(l.output)) return false
  }
  return true
}

/** What a loaded path holds now: written in this run, or its head (a tagged load: the tagged output). */
async function currentOutput (ctx: RunContext, run: Run, path: string): Promise<CID | undefined> {
  if (isTaggedLoad(path)) return await taggedOutput(ctx.store.backend, path)
  const w = run.written.get(path)
  if (w !== undefined) return w.output
  const head = await ctx.store.head(path)
  return head?.output ?? undefined
}
