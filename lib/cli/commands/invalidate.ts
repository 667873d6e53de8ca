/** `dds invalidate PATH... [--downstream]`: make the next keep of paths run their functions again. */
import { validatePath } from '../../../store/index.js'
import { refuseAnswers } from '../../force.js'
import { downstreamOf } from '../../downstream.js'
import type { Command } from '../context.js'

export const command: Command = {
  usage: 'dds invalidate PATH... [--downstream]',
  description: `
Make the next keep of each PATH run its function again, although the store
has its answer: every answer the path has held so far is refused for it
(history is kept: dds log and dds show still show them). With --downstream,
the same for every path that used them (received their values as arguments,
loaded them, or called them as nested keeps, transitively). Early cutoff
still applies below: a path that re-runs and returns the same value spares
what depends on it. Prints each path with the number of answers refused.
For one run of a script instead, set DDS_FORCE='/weather/*' (path globs).`,
  options: { downstream: { type: 'boolean' } },
  optionHelp: [['--downstream', 'also every path that used them']],
  example: `
$ dds invalidate /weather/clean --downstream
/weather/clean	1
/weather/model	2
/weather/report	2
/weather/stats	1`,
  positionals: [1, Infinity],
  async run (ctx) {
    const paths = ctx.args.map((p) => validatePath(p))
    const store = await ctx.store()
    const all = ctx.flag('downstream') ? [...new Set([...paths, ...await downstreamOf(store, paths)])].sort() : paths
    const counts = await refuseAnswers(store, all)
    if (ctx.json) {
      await ctx.writeJson([...counts].map(([path, refused]) => ({ path, refused })))
      return
    }
    for (const [path, n] of counts) await ctx.line([path, n])
  }
}
