/** `dds log PATH`: the history of a path. */
import { validatePath } from '../../../store/paths.js'
import { DdsError, ErrorCodes, isDdsError } from '../../../store/errors.js'
import type { EvaluationRecord } from '../../../store/records.js'
import type { Command } from '../context.js'
import { fnJson, fnName, iso, ms } from '../format.js'

export const command: Command = {
  usage: 'dds log PATH [-n N]',
  description: `
The history of PATH, newest first, one entry per line: sequence number,
time, status (computed: the function ran; hit: the value came from the
store; deleted), evaluation, output, function, and how long the function
took when it ran (milliseconds). --json also tells which entries came with
an imported bundle.
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
    const path = validatePath(ctx.args[0])
    const limit = ctx.integer('n', 1)
    const store = await ctx.store()
    const rows: Array<Record<string, unknown>> = []
    let n = 0
    for await (const e of store.history(path, limit === undefined ? {} : { limit })) {
      n++
      let record: EvaluationRecord | undefined
      if (e.evaluation !== null) {
        try {
          record = await store.getEvaluation(e.evaluation)
        } catch (err) {
          if (!isDdsError(err)) throw err
          ctx.note(`${path}@${e.seq}: ${err.code}: ${err.message}`)
        }
      }
      const status = e.evaluation === null ? 'deleted' : e.hit === true ? 'hit' : 'computed'
      if (ctx.json) {
        rows.push({
          seq: e.seq,
          time: iso(e.time),
          status,
          imported: e.imported === true,
          evaluation: e.evaluation?.toString() ?? null,
          output: e.output?.toString() ?? null,
          function: record === undefined ? null : fnJson(record.fn),
          started: record === undefined ? null : iso(record.started),
          duration: record === undefined ? null : ms(record.duration)
        })
      } else {
        await ctx.line([e.seq, iso(e.time), status, e.evaluation?.toString(), e.output?.toString(), record === undefined ? undefined : fnName(record.fn), record === undefined ? undefined : ms(record.duration)])
      }
    }
    if (n === 0) throw new DdsError(ErrorCodes.PATH_NOT_FOUND, `path ${path} has no history`, { data: { path } })
    if (ctx.json) await ctx.writeJson(rows)
  }
}
