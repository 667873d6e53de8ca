/** `dds plot PATH [FIELD]`: a metric over a path's history, in the terminal or as a picture. */
import { writeFile } from 'node:fs/promises'
import { loadOptional } from '../../../store/index.js'
import { metricsOf, type MetricsView } from '../../inspect.js'
import { UsageError, type Command } from '../context.js'

/** The part of asciichart used here. */
interface AsciiChart { plot: (series: number[] | number[][], options?: { height?: number }) => string }
/** The part of Vega used here. */
interface Vega {
  parse: (spec: unknown) => unknown
  View: new (runtime: unknown, options: { renderer: 'none' }) => { toSVG: () => Promise<string> }
}
/** The part of resvg used here. */
interface Resvg { Resvg: new (svg: string, options?: unknown) => { render: () => { asPng: () => Uint8Array } } }

/** A Vega specification: the field against the history's sequence numbers, a line with its points. */
function vegaSpec (m: MetricsView, field: string): unknown {
  const values = m.seq.map((seq, i) => ({ seq, time: m.time[i], value: (m.fields[field] as Array<number | null>)[i] })).filter((d) => d.value !== null)
  return {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: 640,
    height: 240,
    padding: 8,
    background: 'white',
    title: { text: `${m.path} ${field}` },
    data: [{ name: 'points', values }],
    scales: [
      { name: 'x', type: 'linear', domain: { data: 'points', field: 'seq' }, range: 'width', nice: false, zero: false },
      { name: 'y', type: 'linear', domain: { data: 'points', field: 'value' }, range: 'height', nice: true, zero: false }
    ],
    axes: [{ orient: 'bottom', scale: 'x', title: 'history entry', tickMinStep: 1 }, { orient: 'left', scale: 'y', title: field }],
    marks: [
      { type: 'line', from: { data: 'points' }, encode: { enter: { x: { scale: 'x', field: 'seq' }, y: { scale: 'y', field: 'value' }, stroke: { value: '#2563eb' }, strokeWidth: { value: 2 } } } },
      { type: 'symbol', from: { data: 'points' }, encode: { enter: { x: { scale: 'x', field: 'seq' }, y: { scale: 'y', field: 'value' }, fill: { value: '#2563eb' }, size: { value: 30 } } } }
    ]
  }
}

export const command: Command = {
  usage: 'dds plot PATH [FIELD] [-o FILE.svg|FILE.png] [-n N]',
  description: `
Chart a number over PATH's history (the newest 1,000 entries, or -n N): the
output itself when it is a number, else FIELD, a numeric field of the
output (dotted for nested ones: scores.f1). Without FIELD, an output with a
single numeric field charts it, and one with several lists them. In the
terminal the chart is drawn by asciichart; -o writes an SVG or PNG picture
drawn by Vega (PNG through resvg): optional packages, DDS_DEPENDENCY_MISSING
naming the one to install when absent. --json prints the series as data.`,
  options: { output: { type: 'string', short: 'o' }, n: { type: 'string', short: 'n' } },
  optionHelp: [['-o, --output FILE', 'write FILE.svg or FILE.png instead'], ['-n N', 'only the newest N entries']],
  example: `
$ dds plot /models/score accuracy
    0.52 ┤ ╭
    0.51 ┼─╯`,
  positionals: [1, 2],
  async run (ctx) {
    const [path, asked] = ctx.args as [string, string | undefined]
    const limit = ctx.integer('n', 1)
    const file = ctx.string('output')
    if (file !== undefined && !/\.(svg|png)$/i.test(file)) throw new UsageError('-o takes a file name ending in .svg or .png')
    const store = await ctx.store()
    const m = await metricsOf(store, path, { ...ctx.source, ...(limit === undefined ? {} : { limit }) })
    const names = Object.keys(m.fields)
    if (names.length === 0) {
      ctx.note(`${path} has no numeric output in its history`)
      return 1
    }
    let field = asked
    if (field === undefined) {
      if (names.length > 1) throw new UsageError(`name the field to chart: ${names.join(', ')}`)
      field = names[0] as string
    }
    const series = m.fields[field]
    if (series === undefined) throw new UsageError(`${path} has no numeric field ${JSON.stringify(field)}; it has ${names.join(', ')}`)
    if (ctx.json) {
      await ctx.writeJson({ path, field, seq: m.seq, time: m.time, values: series })
      return
    }
    if (file === undefined) {
      const chart = await loadOptional<AsciiChart & { default?: AsciiChart }>('asciichart', 'dds plot in the terminal')
      const plot = chart.default ?? chart
      const points = series.filter((v): v is number => v !== null)
      await ctx.write(`${path} ${field}, entries ${String(m.seq[0])} to ${String(m.seq[m.seq.length - 1])}\n`)
      await ctx.write(plot.plot(points.length === 1 ? [points[0] as number, points[0] as number] : points, { height: 10 }) + '\n')
      return
    }
    const vega = await loadOptional<Vega>('vega', 'dds plot -o')
    const svg = await new vega.View(vega.parse(vegaSpec(m, field)), { renderer: 'none' }).toSVG()
    if (/\.svg$/i.test(file)) await writeFile(file, svg)
    else {
      const { Resvg: Renderer } = await loadOptional<Resvg>('@resvg/resvg-js', 'dds plot -o FILE.png')
      await writeFile(file, new Renderer(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true } }).render().asPng())
    }
  }
}
