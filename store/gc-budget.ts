/**
 * The retention budget of gc (`--max-size`, `--max-age`): which history
 * entries to drop so that the store fits. Never a current head, a tagged
 * entry or what a recent evaluation reaches (a running process may be about
 * to commit it); of the rest, first everything not used for `maxAge`, then
 * the least valuable until the store fits in `maxSize`. Value weighs how long
 * ago an entry was last used against what its bytes cost to compute again:
 * a big value that was cheap to compute goes before a small costly one.
 * Bytes freed are counted with each block once, however many entries share it.
 */
export type { Budget } from './budget.js'
import { entryLinks, type Link } from './dag.js'
import { isDdsError } from './errors.js'
import { footprint, storeBytes, type Footprint } from './footprint.js'
import { lastUses } from './usage.js'
import { checkBudget, type Budget } from './budget.js'
import { tagsOf } from './tags.js'
import type { PathEntry } from './records.js'
import type { Store } from './store.js'

/** What the budget decided. */
export interface BudgetPlan {
  /** History entries to drop, as `path@seq`. */
  drop: Set<string>
  /** Bytes the store held, and would hold after the gc. */
  before: number
  after: number
  /** False when heads, tags and recent values alone exceed maxSize. */
  met: boolean
}

interface Candidate {
  key: string
  blocks: Footprint
  lastUsed: number
  /** Compute ms per byte freed, higher is costlier to lose. */
  cost: number
}

/**
 * Decide what a gc under `budget` drops. Runs under gc's lock (store/gc.ts),
 * before its marks, which then skip the entries in `drop`.
 */
export async function planBudget (store: Store, budget: Budget, options: { now: number, isRecent: (evaluation: PathEntry['evaluation']) => Promise<boolean> }): Promise<BudgetPlan> {
  checkBudget(budget)
  const { now } = options
  const sizes = new Map<string, number>()
  const tagged = new Set<string>()
  const kept: Link[] = []
  for (const tag of await tagsOf(store.backend)) {
    tagged.add(`${tag.path}@${tag.seq}`)
    kept.push({ cid: tag.evaluation, role: 'evaluation' }, { cid: tag.output, role: 'artifact' })
  }
  const entries: PathEntry[] = []
  for await (const head of store.local.namespace.paths({ deleted: true })) {
    kept.push(...entryLinks(head))
    for await (const e of store.local.namespace.history(head.path)) {
      if (e.seq === head.seq || e.evaluation === null || tagged.has(`${e.path}@${e.seq}`) || await options.isRecent(e.evaluation)) kept.push(...entryLinks(e))
      else entries.push(e)
    }
  }
  for await (const { entry } of store.memoEntries()) {
    if (await options.isRecent(entry.evaluation)) kept.push({ cid: entry.evaluation, role: 'evaluation' }, { cid: entry.output, role: 'artifact' })
  }
  const protectedBlocks = await footprint(store, kept, sizes)
  const uses = await lastUses(store.backend)
  const refs = new Map<string, number>()
  const candidates: Candidate[] = []
  for (const e of entries) {
    const blocks = new Map([...await footprint(store, entryLinks(e), sizes)].filter(([id]) => !protectedBlocks.has(id)))
    for (const id of blocks.keys()) refs.set(id, (refs.get(id) ?? 0) + 1)
    let lastUsed = Math.max(e.time, uses.get(String(e.evaluation)) ?? 0)
    let duration = 0
    try {
      const record = await store.getEvaluation(e.evaluation as NonNullable<PathEntry['evaluation']>)
      lastUsed = Math.max(lastUsed, record.started + record.duration)
      duration = record.duration
    } catch (err) {
      if (!isDdsError(err)) throw err
    }
    let bytes = 0
    for (const n of blocks.values()) bytes += n
    candidates.push({ key: `${e.path}@${e.seq}`, blocks, lastUsed, cost: (duration + 1) / (bytes + 1) })
  }

  const before = await storeBytes(store)
  // What stays if nothing is dropped: the protected blocks and every candidate's; the rest is garbage.
  let after = 0
  for (const n of protectedBlocks.values()) after += n
  for (const id of refs.keys()) after += sizes.get(id) ?? 0
  const drop = new Set<string>()
  const dropOne = (c: Candidate): void => {
    drop.add(c.key)
    for (const [id, n] of c.blocks) {
      const left = (refs.get(id) ?? 1) - 1
      refs.set(id, left)
      if (left === 0) after -= n
    }
  }
  const rest: Candidate[] = []
  for (const c of candidates) {
    if (budget.maxAge !== undefined && now - c.lastUsed > budget.maxAge) dropOne(c)
    else rest.push(c)
  }
  if (budget.maxSize !== undefined) {
    // Least valuable first: cost per byte, discounted by the time since the last use.
    rest.sort((a, b) => a.cost / (now - a.lastUsed + 1) - b.cost / (now - b.lastUsed + 1) || a.lastUsed - b.lastUsed)
    for (const c of rest) {
      if (after <= budget.maxSize) break
      dropOne(c)
    }
  }
  return { drop, before, after, met: budget.maxSize === undefined || after <= budget.maxSize }
}
