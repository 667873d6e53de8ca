/** `dds verify`: check the whole store. */
import { repairStore, verifyStore } from '../../../store/index.js'
import type { Command } from '../context.js'
import { size } from '../format.js'
import { progressBar } from '../progress.js'

export const command: Command = {
  usage: 'dds verify [--repair]',
  description: `
Check the whole store, in steps: blocks (every block re-hashed against its
CID, files included), links (every record and artifact links blocks that are
there, of the right kind and size), paths (every head is its last history
entry, every history entry reaches complete data), memo (every memo entry
reaches complete data).
Prints one line per problem: step, problem (integrity, missing, malformed,
wrong-size, inconsistent, incomplete), CID, path@seq or memo key, message;
a summary goes to stderr. Exits 1 when there is any problem.
With --repair, then drops what cannot be trusted and can be done without:
memo entries that are malformed, disagree with their evaluation or reach
missing data (those calls run again), heads that disagree with their history
(set back to the last readable entry) and block index keys that are not CIDs;
one line per change on stderr ("repair: dropped memo <key>: <reason>").
History entries and blocks are never dropped.`,
  options: { repair: { type: 'boolean' } },
  optionHelp: [['--repair', 'drop bad memo entries, rebuild heads from their history']],
  example: `
$ dds verify
dds verify: blocks: 128 checked (14.2 MiB), 0 problems
...
$ dds verify      # after a chunk file was damaged
blocks	integrity	bafkreih…	-	block bafkreih… is corrupt
paths	incomplete	bafyreig…	/data/big@1	/data/big@1 reaches missing or corrupt data (artifact bafyreig…)`,
  positionals: [0, 0],
  async run (ctx) {
    const store = await ctx.store()
    const bar = progressBar('verify')
    const report = await verifyStore(store, { onProgress: (p) => { bar.update(p.bytes, undefined, p.step) } })
    bar.done()
    const repairs = ctx.flag('repair') && !report.ok ? await repairStore(store, report.problems) : []
    for (const r of repairs) ctx.note(`repair: ${r.action} ${r.space} ${r.path ?? r.key}${r.seq === undefined ? '' : `@${r.seq}`}: ${r.reason}`)
    if (ctx.json) {
      await ctx.writeJson({
        ok: report.ok,
        blocks: report.blocks,
        bytes: report.bytes,
        orphanFiles: report.orphanFiles,
        steps: report.steps.map((s) => ({ ...s, ms: Math.round(s.ms) })),
        problems: report.problems.map((p) => ({
          step: p.step, problem: p.problem, cid: p.cid?.toString() ?? null, role: p.role ?? null, from: p.from?.toString() ?? null,
          path: p.path ?? null, seq: p.seq ?? null, memo: p.memo ?? null, message: p.message
        })),
        ...(ctx.flag('repair') ? { repaired: repairs } : {})
      })
    } else {
      for (const p of report.problems) {
        const where = p.path !== undefined ? `${p.path}${p.seq === undefined ? '' : `@${p.seq}`}` : p.memo
        await ctx.line([p.step, p.problem, p.cid?.toString(), where, p.message])
      }
      for (const s of report.steps) {
        ctx.note(`${s.name}: ${s.checked} checked${s.name === 'blocks' ? ` (${size(report.bytes)})` : ''}, ${s.problems} problem${s.problems === 1 ? '' : 's'}`)
      }
      if (report.orphanFiles > 0) ctx.note(`${report.orphanFiles} blob file(s) with no index entry (left by interrupted writes; dds gc removes them)`)
    }
    return report.ok ? 0 : 1
  }
}
