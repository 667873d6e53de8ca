/** `dds gc`: delete what nothing reaches. */
import { gc, parseAge, parseSize } from '../../../store/index.js'
import type { Command } from '../context.js'
import { size } from '../format.js'

export const command: Command = {
  usage: 'dds gc [--keep-history N] [--max-size SIZE] [--max-age AGE] [--dry-run] [--grace SECONDS]',
  description: `
Delete the blocks that no history entry and no memo entry reaches (left by
interrupted runs, or by trimmed history). Without --keep-history every history
entry and every memo entry is kept, so only garbage goes. With
--keep-history N, only the newest N history entries of each path are kept
(deletions count), and memo entries whose evaluation the kept history no
longer reaches are dropped too: their values will be computed again if asked.
With --max-size SIZE (10G, 500M: powers of 1024) history entries are dropped,
least valuable first, until the store holds at most SIZE: an entry is worth
less the longer ago it was last used (computed or reused) and the less its
bytes cost to compute (a big value computed in a second goes before a small
one that took an hour). With --max-age AGE (30d, 12h, 2w) every entry not used
for that long goes. Neither ever drops a current value, a tagged entry or an
evaluation younger than the grace period; the memo entries of dropped values
go with them. Prints "budget-met no" when current and tagged values alone
exceed SIZE.
--grace spares what a concurrent writer may not have committed yet (memo
entries of evaluations that ended less than SECONDS ago, unindexed blob files
younger than that; default 3600).
Prints what was freed (with --dry-run: what would be), one counter per line:
blocks, bytes, history, memo, files, file-bytes.`,
  options: { 'keep-history': { type: 'string' }, 'max-size': { type: 'string' }, 'max-age': { type: 'string' }, 'dry-run': { type: 'boolean' }, grace: { type: 'string' } },
  optionHelp: [
    ['--keep-history N', 'keep only the newest N entries of each path (N >= 1)'],
    ['--max-size SIZE', 'drop the least valuable history until the store fits (10G)'],
    ['--max-age AGE', 'drop history not used for AGE (30d)'],
    ['--dry-run', 'count, delete nothing'],
    ['--grace SECONDS', 'spare recent unreferenced data (default 3600)']
  ],
  example: `
$ dds gc --keep-history 3
blocks	214
bytes	209715200
history	12
memo	9
files	0
file-bytes	0
dds gc: freed 214 blocks (200 MiB), 12 history entries, 9 memo entries`,
  positionals: [0, 0],
  async run (ctx) {
    const keepHistory = ctx.integer('keep-history', 1)
    const grace = ctx.integer('grace', 0)
    const maxSize = ctx.parsed('max-size', parseSize)
    const maxAge = ctx.parsed('max-age', parseAge)
    const budget = maxSize === undefined && maxAge === undefined ? undefined : { ...(maxSize === undefined ? {} : { maxSize }), ...(maxAge === undefined ? {} : { maxAge }) }
    const store = await ctx.store()
    const dryRun = ctx.flag('dry-run')
    const r = await gc(store, { ...(keepHistory === undefined ? {} : { keepHistory }), ...(budget === undefined ? {} : { budget }), dryRun, ...(grace === undefined ? {} : { graceMs: grace * 1000 }) })
    if (ctx.json) {
      await ctx.writeJson(r)
      return
    }
    for (const [k, v] of [['blocks', r.blocks], ['bytes', r.bytes], ['history', r.history], ['memo', r.memo], ['files', r.files], ['file-bytes', r.fileBytes]] as const) await ctx.line([k, v])
    if (r.budget !== undefined) await ctx.line(['budget-met', r.budget.met ? 'yes' : 'no'])
    const n = (k: number, one: string, many: string): string => `${k} ${k === 1 ? one : many}`
    ctx.note(`${dryRun ? 'would free' : 'freed'} ${n(r.blocks, 'block', 'blocks')} (${size(r.bytes + r.fileBytes)}), ${n(r.history, 'history entry', 'history entries')}, ${n(r.memo, 'memo entry', 'memo entries')}${r.files > 0 ? `, ${n(r.files, 'stray file', 'stray files')}` : ''}; ${n(r.kept, 'block', 'blocks')} kept`)
  }
}
