/** `dds ls [PREFIX]`: the paths of a store. */
import { isDdsError } from '../../../store/errors.js'
import type { Command } from '../context.js'
import { iso } from '../format.js'

export const command: Command = {
  usage: 'dds ls [PREFIX] [--deleted]',
  description: `
List the paths of the store (under PREFIX, e.g. /data), one per line:
path, current evaluation, output size in bytes, time of the last update.
With --deleted, deleted paths are listed too (evaluation and size "-").`,
  options: { deleted: { type: 'boolean' } },
  optionHelp: [['--deleted', 'also list deleted paths']],
  example: `
$ dds ls /data
/data/clean	bafyreih4…	61	2026-11-27T05:16:02.113Z
/data/raw	bafyreiak…	1532	2026-11-27T05:16:01.870Z`,
  positionals: [0, 1],
  async run (ctx) {
    const store = await ctx.store()
    const prefix = ctx.args[0]
    const rows: Array<Record<string, unknown>> = []
    let damaged = 0
    for await (const e of store.paths({ ...(prefix === undefined ? {} : { prefix }), deleted: ctx.flag('deleted') })) {
      let size: number | null = null
      if (e.output !== null) {
        try {
          size = (await store.artifactInfo(e.output)).size
        } catch (err) {
          if (!isDdsError(err)) throw err
          damaged++
          ctx.note(`${e.path}: ${err.code}: ${err.message}`)
        }
      }
      if (ctx.json) {
        rows.push({ path: e.path, seq: e.seq, evaluation: e.evaluation?.toString() ?? null, output: e.output?.toString() ?? null, size, time: iso(e.time), deleted: e.evaluation === null, hit: e.hit === true, imported: e.imported === true })
      } else {
        await ctx.line([e.path, e.evaluation?.toString(), size, iso(e.time)])
      }
    }
    if (ctx.json) await ctx.writeJson(rows)
    return damaged > 0 ? 1 : 0
  }
}
