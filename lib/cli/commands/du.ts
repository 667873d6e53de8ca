/** `dds du [PREFIX]`: bytes per path, current value and history. */
import { diskUsage } from '../../inspect.js'
import type { Command } from '../context.js'
import { size } from '../format.js'
import { sizeText, table } from '../table.js'

export const command: Command = {
  usage: 'dds du [PREFIX]',
  description: `
Disk usage of the paths of the store (under PREFIX, e.g. /data), one per
line: path, bytes of its current value, bytes of its older values (not
counting blocks shared with the current one), history entries. A last line
"total" gives the same for all listed paths, with a block that several
values share counted once (so it can be less than the sum of the rows).
stderr says what the whole store holds (records and garbage included): the
figure gc --max-size compares. On a terminal: aligned columns, KiB/MiB.`,
  example: `
$ dds du /data
/data/clean	61	0	1
/data/raw	1532	1532	2
total	1593	1532	3
dds du: 3125 B in values listed; the store holds 9.1 KiB`,
  positionals: [0, 1],
  async run (ctx) {
    const store = await ctx.store()
    const prefix = ctx.args[0]
    const du = await diskUsage(store, prefix === undefined ? {} : { prefix })
    // Like verify: every readable path is counted, each damaged one said on stderr, and the exit code is 1.
    for (const p of du.problems) ctx.note(`${p.where}: ${p.code}: ${p.message}`)
    const code = du.problems.length > 0 ? 1 : 0
    if (ctx.json) {
      await ctx.writeJson(du)
      return code
    }
    const entries = du.paths.reduce((n, r) => n + r.entries, 0)
    if (ctx.stdout.isTTY === true) {
      await ctx.write(table(
        [{ header: 'PATH' }, { header: 'CURRENT', right: true }, { header: 'HISTORY', right: true }, { header: 'ENTRIES', right: true }],
        [...du.paths.map((r) => [r.path, r.deleted ? '-' : sizeText(r.current), sizeText(r.history), String(r.entries)]),
          ['total', sizeText(du.total.current), sizeText(du.total.history), String(entries)]]
      ))
    } else {
      for (const r of du.paths) await ctx.line([r.path, r.current, r.history, r.entries])
      await ctx.line(['total', du.total.current, du.total.history, entries])
    }
    ctx.note(`${size(du.total.all)} in values listed; the store holds ${size(du.store)}`)
    return code
  }
}
