/** `dds plan [PATH...]`: what the next run will recompute, and why, without running it. */
import { took } from '../../graph.js'
import { plan, planSummary as summary, reasonText, STATUS_WORDS, type PathPlan, type Plan, type PlanStatus } from '../../plan/index.js'
import type { Command } from '../context.js'
import { table } from '../table.js'

const WORDS = Object.fromEntries(STATUS_WORDS) as Record<PlanStatus, string>
const ORDER: PlanStatus[] = STATUS_WORDS.map(([s]) => s)

function grouped (p: Plan): Array<[PlanStatus, PathPlan[]]> {
  return ORDER.map((s) => [s, p.paths.filter((x) => x.status === s)] as [PlanStatus, PathPlan[]]).filter(([, list]) => list.length > 0)
}

export const command: Command = {
  usage: 'dds plan [PATH...] [--exit-code]',
  description: `
What the next run of each path will do, told from the working tree and the
store without running any code: the source of the functions as it is now
(analysed as a run analyses it), the arguments where the script writes them
as literals, the files they read, the answers stored. PATHs may be globs
(/weather/*, /a/**); by default every path with a value. Each path is
  will re-run   its signature changed, naming why (the declarations edited,
                as dds why names them, package versions, files, arguments),
                or it was invalidated or forced (DDS_FORCE)
  revert hit    the new signature already has an answer: nothing runs
  may re-run    only something upstream changes; early cutoff may spare it
  unknown       its signature holds values only a run can read (closure
                variables, values computed at run time), named
  up to date    its stored answer holds
then a summary line with the recorded durations of what will re-run summed.
Piped: one line per path (status, path, ms the last run took, reasons
separated by "; "), the summary on stderr. --exit-code: exit 1 when anything
will re-run.`,
  options: { 'exit-code': { type: 'boolean' } },
  optionHelp: [['--exit-code', 'exit 1 when anything will re-run (for CI)']],
  example: `
$ dds plan
will-run	/weather/model	1204.6	declaration changed examples/weather/src/model.ts#fit
may-run	/weather/report	3.1	upstream /weather/model
up-to-date	/weather/rows	15.2	-`,
  positionals: [0, Infinity],
  async run (ctx) {
    const store = await ctx.store()
    const p = await plan(store, ctx.args.length === 0 ? {} : { paths: ctx.args })
    const code = ctx.flag('exit-code') && p.counts['will-run'] > 0 ? 1 : 0
    if (ctx.json) {
      await ctx.writeJson(p)
      return code
    }
    if (ctx.stdout.isTTY === true) {
      for (const [status, list] of grouped(p)) {
        const total = status === 'will-run' ? ` (~${took(p.estimate) || '0 ms'})` : ''
        await ctx.write(`${WORDS[status]}${total}\n`)
        await ctx.write(table([{ header: '  PATH' }, { header: 'LAST RUN', right: true }, { header: 'WHY' }],
          list.map((x) => [`  ${x.path}`, took(x.duration) || '-', x.reasons.map(reasonText).join('; ')])))
      }
      await ctx.write(`${summary(p)}\n`)
      return code
    }
    for (const [, list] of grouped(p)) {
      for (const x of list) await ctx.line([x.status, x.path, Math.round(x.duration * 10) / 10, x.reasons.map(reasonText).join('; ')])
    }
    ctx.note(summary(p))
    return code
  }
}
