/** `dds log PATH`: the history of a path. */
import { historyRows, type HistoryRow } from '../../inspect.js'
import { took } from '../../graph.js'
import type { Command } from '../context.js'
import { fnName } from '../format.js'
import { ago, shortCid, statusText, table } from '../table.js'

export const command: Command = {
  usage: 'dds log PATH [-n N]',
  description: `
The history of PATH, newest first, one entry per line: sequence number,
time, status (computed: the function ran; hit: the value came from the
store; deleted), evaluation, output, function, and how long the function
took when it ran (milliseconds), then the tags naming the entry, if any
(comma-separated; see dds tag). --json also tells which entries came with
an imported bundle. On a terminal: aligned columns with a header, times
relative to now, "reused" for a hit, short CIDs.
Sequence numbers name entries elsewhere: dds show PATH@SEQ, dds why PATH OLD NEW.`,
  options: { n: { type: 'string', short: 'n' } },
  optionHelp: [['-n N', 'only the newest N entries']],
  example: `
$ dds log /data/clean
3	2026-11-27T05:20:11.402Z	computed	bafyreih4…	bafyreig2…	clean	41.7
2	2026-11-27T05:18:40.077Z	hit	bafyreia7…	bafyreid3…	clean	39.2
1	2026-11-27T05:16:02.113Z	computed	bafyreia7…	bafyreid3…	clean	39.2`,
  positionals: [1, 1],
  async run (ctx) {
    const path = ctx.args[0] as string
    const limit = ctx.integer('n', 1)
    const store = await ctx.store({ read: true })
    const tty = ctx.stdout.isTTY === true && !ctx.json
    const rows: HistoryRow[] = []
    const source = historyRows(store, path, {
      ...ctx.source,
      ...(limit === undefined ? {} : { limit }),
      onProblem: (where, err) => { ctx.note(`${where}: ${err.code}: ${err.message}`) }
    })
    for await (const e of source) {
      if (ctx.json || tty) rows.push(e)
      else await ctx.line([e.seq, e.time, e.status, e.evaluation, e.output, e.function === null ? undefined : fnName(e.function), e.duration, ...(e.tags.length > 0 ? [e.tags.join(',')] : [])])
    }
    if (ctx.json) await ctx.writeJson(rows)
    else if (tty) {
      const now = Date.now()
      await ctx.write(table(
        [{ header: 'SEQ', right: true }, { header: 'WHEN' }, { header: 'STATUS' }, { header: 'FUNCTION' }, { header: 'TOOK', right: true }, { header: 'EVALUATION' }, { header: 'OUTPUT' }, { header: 'TAGS' }],
        rows.map((e) => [String(e.seq), ago(Date.parse(e.time), now), statusText(e.status, e.imported), e.function === null ? '-' : fnName(e.function), took(e.duration) || '-', shortCid(e.evaluation), shortCid(e.output), e.tags.join(',')])
      ))
    }
  }
}
