/** `dds gc`: delete what nothing reaches. */
import { gc } from '../../../store/index.js'
import type { Command } from '../context.js'
import { size } from '../format.js'

export const command: Command = {
  usage: 'dds gc [--keep-history N] [--dry-run] [--grace SECONDS]',
  description: `
Delete the blocks that no history entry and no memo entry reaches (left by
interrupted runs, or by trimmed history). Without --keep-history every history
entry and every memo entry is kept, so only garbage goes. With
--keep-history N, only the newest N history entries of each path are kept
(deletions count), and memo entries whose evaluation the kept history no
longer reaches are dropped too: their values will be computed again if asked.
--grace spares what a concurrent writer may not have committed yet (memo
entries of evaluations that ended less than SECONDS ago, unindexed blob files
younger than that; default 3600).
Prints what was freed (with --dry-run: what would be), one counter per line:
blocks, bytes, history, memo, files, file-bytes.`,
  options: { 'keep-history': { type: 'string' }, 'dry-run': { type: 'boolean' }, grace: { type: 'string' } },
  optionHelp: [
    ['--keep-history N', 'keep only the newest N entries of each path (N >= 1)'],
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
    const store = await ctx.store()
    const dryRun = ctx.flag('dry-run')
    const r = await gc(store, { ...(keepHistory === undefined ? {} : { keepHistory }), dryRun, ...(grace === undefined ? {} : { graceMs: grace * 1000 }) })
    if (ctx.json) {
      await ctx.writeJson(r)
      return
    }
    for (const [k, v] of [['blocks', r.blocks], ['bytes', r.bytes], ['history', r.history], ['memo', r.memo], ['files', r.files], ['file-bytes', r.fileBytes]] as const) await ctx.line([k, v])
    const n = (k: number, one: string, many: string): string => `${k} ${k === 1 ? one : many}`
    ctx.note(`${dryRun ? 'would free' : 'freed'} ${n(r.blocks, 'block', 'blocks')} (${size(r.bytes + r.fileBytes)}), ${n(r.history, 'history entry', 'history entries')}, ${n(r.memo, 'memo entry', 'memo entries')}${r.files > 0 ? `, ${n(r.files, 'stray file', 'stray files')}` : ''}; ${n(r.kept, 'block', 'blocks')} kept`)
  }
}
