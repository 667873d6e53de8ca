/** `dds table PATH`: a path's history as a table, what changed at each entry. */
import { historyTable, type HistoryTableRow } from '../../inspect.js'
import { took } from '../../graph.js'
import type { Command } from '../context.js'
import { size } from '../format.js'
import { ago, statusText, table } from '../table.js'

const PAGE = 100

function outputText (r: HistoryTableRow): string {
  if (r.summary === null) return '-'
  return r.summary.display ?? `${r.summary.enc}${r.summary.type === null ? '' : ` ${r.summary.type}`}, ${size(r.summary.size)}`
}

function changesText (r: HistoryTableRow): string {
  if (r.changes === null) return '-'
  return r.changes.length === 0 ? 'same evaluation' : r.changes.join('; ')
}

export const command: Command = {
  usage: 'dds table PATH [-n N]',
  description: `
The history of PATH as a table, newest first, one row per entry: sequence
number, time, status (computed, hit, deleted), how long the function took,
its arguments (short), what changed against the entry before (declarations,
values, packages, files, arguments, loaded paths, as dds why names them; "same
evaluation" for a hit), and the output (its value when small, else its
encoding and size). Aligned columns on a terminal, tab-separated when piped
(arguments and changes joined by "; "), --json for the rows as data.`,
  options: { n: { type: 'string', short: 'n' } },
  optionHelp: [['-n N', 'only the newest N entries']],
  example: `
$ dds table /models/score
2	2026-11-27T05:20:11.402Z	computed	3.1	2	argument changed 0	{ accuracy: 0.52 }
1	2026-11-27T05:18:40.077Z	computed	2.9	1	-	{ accuracy: 0.51 }`,
  positionals: [1, 1],
  async run (ctx) {
    const path = ctx.args[0] as string
    const n = ctx.integer('n', 1)
    const store = await ctx.store({ read: true })
    const tty = ctx.stdout.isTTY === true && !ctx.json
    const rows: HistoryTableRow[] = []
    let count = 0
    let cursor: string | undefined
    do {
      const limit = n === undefined ? PAGE : Math.min(PAGE, n - count)
      const page = await historyTable(store, path, { ...ctx.source, limit, ...(cursor === undefined ? {} : { cursor }) })
      for (const p of page.problems) ctx.note(`${p.where}: ${p.code}: ${p.message}`)
      for (const r of page.items) {
        if (ctx.json || tty) rows.push(r)
        else await ctx.line([r.seq, r.time, r.status, r.duration, r.args.join('; '), changesText(r), outputText(r)])
      }
      count += page.items.length
      cursor = page.next ?? undefined
    } while (cursor !== undefined && (n === undefined || count < n))
    if (ctx.json) await ctx.writeJson(rows)
    else if (tty) {
      const now = Date.now()
      await ctx.write(table(
        [{ header: 'SEQ', right: true }, { header: 'WHEN' }, { header: 'STATUS' }, { header: 'TOOK', right: true }, { header: 'ARGUMENTS' }, { header: 'CHANGED' }, { header: 'OUTPUT' }],
        rows.map((r) => [String(r.seq), ago(Date.parse(r.time), now), statusText(r.status, r.imported), took(r.duration) || '-', r.args.join(', ') || '-', changesText(r), outputText(r)])
      ))
    }
  }
}
