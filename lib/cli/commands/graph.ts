/** `dds graph [PATH...]`: the lineage graph. */
import { writeFile } from 'node:fs/promises'
import { lineage, toDot, toMermaid, toSvg } from '../../graph.js'
import { lineageJson } from '../../inspect.js'
import { UsageError, type Command } from '../context.js'

export const command: Command = {
  usage: 'dds graph [PATH...] [--format dot|mermaid|svg] [-o FILE]',
  description: `
Draw the lineage of PATHs (default: every path): their current evaluations
and, transitively, the evaluations they loaded (solid edges, "load") and the
nested keeps they called (dashed edges), in the direction data flows. Each
node shows the path, the function with its source, and when it last ran;
earlier values still in use downstream are grey and dashed.
--format dot (default) or mermaid prints text; svg renders a picture with
Graphviz (the optional package @hpcc-js/wasm-graphviz: DDS_DEPENDENCY_MISSING
when it is not installed). --json prints the graph itself (nodes and edges).`,
  options: { format: { type: 'string', short: 'f' }, output: { type: 'string', short: 'o' } },
  optionHelp: [['-f, --format FMT', 'dot (default), mermaid or svg'], ['-o, --output FILE', 'write to FILE instead of stdout']],
  example: `
$ dds graph --format svg -o lineage.svg
$ dds graph /data/clean
digraph lineage {
  rankdir=LR;
  ...
  n0 -> n1 [label="load"];
}`,
  positionals: [0, Infinity],
  async run (ctx) {
    const format = ctx.string('format') ?? 'dot'
    if (!['dot', 'mermaid', 'svg'].includes(format)) throw new UsageError(`--format must be dot, mermaid or svg, not ${JSON.stringify(format)}`)
    const store = await ctx.store({ read: true })
    const graph = await lineage(store, ctx.args)
    let text: string
    if (ctx.json) {
      text = JSON.stringify(lineageJson(graph), null, 2) + '\n'
    } else if (format === 'svg') {
      text = await toSvg(graph)
    } else {
      text = format === 'dot' ? toDot(graph) : toMermaid(graph)
    }
    const file = ctx.string('output')
    if (file !== undefined) await writeFile(file, text)
    else await ctx.write(text)
  }
}
