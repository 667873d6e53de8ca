/** `dds ls [PREFIX]`: the paths of a store. */
import { pathRows, type PathRow } from '../../inspect.js'
import type { Command } from '../context.js'
import { ago, shortCid, sizeText, statusText, table } from '../table.js'

export const command: Command = {
  usage: 'dds ls [PREFIX] [--deleted]',
  description: `
List the paths of the store (under PREFIX, e.g. /data), one per line:
path, current evaluation, output size in bytes, time of the last update.
With --deleted, deleted paths are listed too (evaluation and size "-").
On a terminal: aligned columns with a header, whether the last entry was
computed or reused, sizes in KiB/MiB, times relative to now, short CIDs.`,
  options: { deleted: { type: 'boolean' } },
  optionHelp: [['--deleted', 'also list deleted paths']],
  example: `
$ dds ls /data
/data/clean	bafyreih4…	61	2026-11-27T05:16:02.113Z
/data/raw	bafyreiak…	1532	2026-11-27T05:16:01.870Z`,
  positionals: [0, 1],
  async run (ctx) {
    const store = await ctx.store({ read: true })
    const prefix = ctx.args[0]
    const rows: PathRow[] = []
    let damaged = 0
    const tty = ctx.stdout.isTTY === true && !ctx.json
    const source = pathRows(store, {
      ...ctx.source,
      ...(prefix === undefined ? {} : { prefix }),
      deleted: ctx.flag('deleted'),
      onProblem: (where, err) => { damaged++; ctx.note(`${where}: ${err.code}: ${err.message}`) }
    })
    for await (const row of source) {
      if (ctx.json || tty) rows.push(row)
      else await ctx.line([row.path, row.evaluation, row.size, row.time])
    }
    if (ctx.json) await ctx.writeJson(rows)
    else if (tty) {
      const now = Date.now()
      await ctx.write(table(
        [{ header: 'PATH' }, { header: 'STATUS' }, { header: 'SIZE', right: true }, { header: 'UPDATED' }, { header: 'EVALUATION' }],
        rows.map((r) => [r.path, statusText(r.deleted ? 'deleted' : r.hit ? 'hit' : 'computed', r.imported), sizeText(r.size), ago(Date.parse(r.time), now), shortCid(r.evaluation)])
      ))
    }
    return damaged > 0 ? 1 : 0
  }
}
