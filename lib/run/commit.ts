/**
 * A run's end: its path updates, less those already at their evaluation,
 * committed together in one batch, and the commit event.
 */
import { isNoop } from '../../store/commit-plan.js'
import type { PathUpdate } from '../../store/store.js'
import type { PathEntry } from '../../store/records.js'
import type { Run, RunContext } from './interface.js'
import { budgetEvent } from '../retention.js'
import { afterCommit } from '../../store/auto-gc.js'

/**
 * Commit a run's path updates. `ahead` is a head already being read (with a
 * remote, while the call was looked up), used instead of reading it again.
 *
 * @example
 * await commitRun(ctx, run) // emits { type: 'commit', paths } when something was appended
 */
export async function commitRun (ctx: RunContext, run: Run, ahead?: { path: string, head: Promise<PathEntry | undefined> }): Promise<void> {
  // Paths already pointing at their evaluation need no commit (the common case of a hit).
  const updates: PathUpdate[] = []
  for (const u of run.updates.values()) {
    const head = ahead?.path === u.path ? await ahead.head : await ctx.store.headEntry(u.path)
    if (!isNoop(head, u, u.time ?? Date.now())) updates.push(u)
  }
  if (updates.length === 0) return
  const result = await ctx.store.commit(updates)
  afterCommit(ctx.store, (e) => { ctx.emit(budgetEvent(e)) })
  if (result.appended.length > 0) {
    const byPath = new Map(updates.map((u) => [u.path, u.evaluation]))
    ctx.emit({ type: 'commit', paths: result.appended.map((a) => a.path), entries: result.appended.map((a) => ({ ...a, evaluation: byPath.get(a.path) ?? null })) })
  }
}
