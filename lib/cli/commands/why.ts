/** `dds why PATH [OLD [NEW]]`: what changed between two evaluations of a path. */
import type { Store } from '../../../store/index.js'
import { explain, inputDisplay, parseTarget, type ChangeView, type EvaluationView, type FirstRunView, type WhyView, type WhyRef } from '../../inspect.js'
import { UsageError, type Command, type Context } from '../context.js'
import { fnName, fnSource } from '../format.js'

function ref (arg: string | undefined): WhyRef | undefined {
  if (arg === undefined) return undefined
  if (/^\d+$/.test(arg)) return Number(arg)
  // A CID, checked now so that a bad one is DDS_CID_INVALID before the store is opened.
  const t = parseTarget(arg)
  if (t.kind !== 'cid') throw new UsageError(`${JSON.stringify(arg)}: name an evaluation by sequence number or CID`)
  return t.cid
}

async function display (store: Store, cid: string | undefined): Promise<string | undefined> {
  // A kept value passed as an argument is named by its artifact CID.
  if (cid === undefined) return undefined
  const t = parseTarget(cid)
  return t.kind === 'cid' ? await inputDisplay(store, t.cid, 80) : undefined
}

const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v))
const fileDigestOf = (v: unknown): string | undefined => (v !== null && typeof v === 'object' ? str((v as { digest?: unknown }).digest) : undefined)
const loadOutput = (v: unknown): string | undefined => (v !== null && typeof v === 'object' ? str((v as { output?: unknown }).output) : undefined)

/** A change as the fields of one output line, after its kind and delta. */
async function fields (store: Store, c: ChangeView): Promise<Array<string | number | undefined>> {
  switch (c.kind) {
    case 'declaration': case 'value': case 'unavailable': return [str(c.name)]
    case 'package': return [str(c.name), str(c.old), str(c.new)]
    case 'pinned': case 'algorithm': return [str(c.old), str(c.new)]
    case 'argument': return [c.index as number, await display(store, str(c.old)) ?? str(c.old), await display(store, str(c.new)) ?? str(c.new)]
    case 'load': return [str(c.path), loadOutput(c.old), loadOutput(c.new)]
    case 'call': return [str(c.path), str(c.old), str(c.new)]
    case 'file': return [str(c.path), fileDigestOf(c.old), fileDigestOf(c.new)]
    case 'function': return [str(c.field), str(c.old), str(c.new)]
    default: return []
  }
}

/** What a first run ran with: its function, code and inputs, one fact per line as dds show prints them. */
async function ranWith (ctx: Context, e: EvaluationView): Promise<void> {
  await ctx.line(['function', fnName(e.function), fnSource(e.function)])
  for (const [k, v] of Object.entries(e.code.declarations)) await ctx.line(['declaration', k, v])
  for (const [k, v] of Object.entries(e.code.values)) await ctx.line(['value', k, v])
  for (const [k, v] of Object.entries(e.code.packages)) await ctx.line(['package', k, v])
  for (const x of e.inputs) await ctx.line(['input', x.index, x.cid, x.display])
  for (const l of e.loads) await ctx.line(['load', l.path, l.evaluation, l.output])
}

export const command: Command = {
  usage: 'dds why PATH [OLD [NEW]]',
  description: `
Why PATH was recomputed: compare two of its evaluations and name what differs.
By default NEW is the current value and OLD the latest earlier entry of the
history that came from another evaluation. OLD and NEW are history sequence
numbers (the first column of dds log) or evaluation CIDs; NEW defaults to
the current value.
One line per difference: kind, change (changed, added, removed), then
  declaration  NAME               a declaration the code reaches (file#name)
  value        NAME               a runtime value the code reads
  package      NAME OLD NEW       an imported package version
  argument     INDEX OLD NEW      an argument, by position (values when stored)
  load         PATH OLD NEW       an upstream path held another output
  file         PATH OLD NEW       a file read has other content (digests; absent)
  call         PATH OLD NEW       a nested keep gave another evaluation
  function     FIELD OLD NEW      the function was renamed or moved
  pinned / algorithm / unavailable
or "nothing  identical signature" when nothing differs. The first two lines
name the evaluations compared: old and new, sequence number, evaluation CID.
A path with a single evaluation was computed for the first time: after the
"new" line, "first  computed for the first time", then what it ran with
(function, declarations, values, packages, inputs, loads, as dds show).`,
  example: `
$ dds why /data/clean
old	2	bafyreia7…	2026-11-27T05:18:40.077Z
new	3	bafyreih4…	2026-11-27T05:20:11.402Z
declaration	changed	src/clean.ts#normalize
load	changed	/data/raw	bafyreib2…	bafyreic9…`,
  positionals: [1, 3],
  async run (ctx) {
    const path = ctx.args[0] as string
    const old = ref(ctx.args[1])
    const neu = ref(ctx.args[2])
    const store = await ctx.store({ read: true })
    const w: WhyView | FirstRunView = await explain(store, path, { ...(old === undefined ? {} : { old }), ...(neu === undefined ? {} : { new: neu }) })
    if (ctx.json) {
      await ctx.writeJson(w)
      return
    }
    if ('first' in w) {
      await ctx.line(['new', w.new.seq, w.new.evaluation, w.new.time])
      await ctx.line(['first', 'computed for the first time'])
      await ranWith(ctx, w.ran)
      return
    }
    await ctx.line(['old', w.old.seq, w.old.evaluation, w.old.time])
    await ctx.line(['new', w.new.seq, w.new.evaluation, w.new.time])
    if (w.identical) {
      await ctx.line(['nothing', 'identical signature'])
      return
    }
    for (const c of w.changes) await ctx.line([c.kind, c.change, ...await fields(store, c)])
  }
}
