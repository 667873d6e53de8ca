/** `dds rm PATH...`: delete paths. */
import { validatePath } from '../../../store/index.js'
import { refuseAnswers } from '../../force.js'
import type { Command } from '../context.js'

export const command: Command = {
  usage: 'dds rm PATH...',
  description: `
Delete paths: each gets a deletion entry in its history, and no longer holds
a value; its answers are refused too (as dds invalidate does), so the next
keep of the path runs its function again. What it held stays in the store (dds log shows it) until
dds gc --keep-history trims the history. Overlapping paths (/f and /f/g)
cannot both hold values: delete one before keeping the other.
Prints each path with the sequence number of its deletion entry.`,
  example: `
$ dds rm /data/old
/data/old	4`,
  positionals: [1, Infinity],
  async run (ctx) {
    const paths = ctx.args.map((p) => validatePath(p))
    const store = await ctx.store()
    const out: Array<{ path: string, seq: number }> = []
    for (const path of paths) {
      const result = await store.deletePath(path)
      await refuseAnswers(store, [path])
      const seq = result.appended.find((a) => a.path === path)?.seq ?? 0
      out.push({ path, seq })
      if (!ctx.json) await ctx.line([path, seq])
    }
    if (ctx.json) await ctx.writeJson(out)
  }
}
