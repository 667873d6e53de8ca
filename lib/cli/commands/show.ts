/** `dds show PATH|CID`: one evaluation, in full. */
import { describeEvaluation, type EvaluationView } from '../../inspect.js'
import type { Command, Context } from '../context.js'
import { listTags, type Store, type Tag } from '../../../store/index.js'
import { fnName, fnSource } from '../format.js'

/** One fact per line, its kind first (shared with \`dds why\` on a first run). */
export async function showLines (ctx: Context, e: EvaluationView, tags: Tag[] = []): Promise<void> {
  await ctx.line(['evaluation', e.evaluation])
  await ctx.line(['path', e.path])
  await ctx.line(['function', fnName(e.function), fnSource(e.function)])
  await ctx.line(['started', e.started])
  await ctx.line(['duration', e.duration])
  await ctx.line(['signature', e.signature])
  await ctx.line(['code', e.code.cid])
  await ctx.line(['algorithm', e.code.algorithm])
  await ctx.line(['entry', e.code.entry])
  if (e.code.pinned !== null) await ctx.line(['pinned', e.code.pinned])
  for (const [k, v] of Object.entries(e.code.declarations)) await ctx.line(['declaration', k, v])
  for (const [k, v] of Object.entries(e.code.values)) await ctx.line(['value', k, v])
  for (const [k, v] of Object.entries(e.code.packages)) await ctx.line(['package', k, v])
  for (const u of e.code.unavailable) await ctx.line(['unavailable', u])
  for (const x of e.inputs) await ctx.line(['input', x.index, x.cid, x.display])
  for (const l of e.loads) await ctx.line(['load', l.path, l.evaluation, l.output])
  for (const f of e.files) await ctx.line(['file', f.path, f.kind, f.digest, f.size])
  for (const c of e.calls) await ctx.line(['call', c.evaluation, c.path, c.function === null ? undefined : fnName(c.function)])
  await ctx.line(['output', e.output.cid, e.output.type === null ? e.output.enc : `${e.output.enc}:${e.output.type}`, e.output.size])
  if (e.output.table !== null) {
    await ctx.line(['rows', e.output.table.rows])
    for (const c of e.output.table.columns) await ctx.line(['column', c.name, c.type, c.nullable ? 'nullable' : 'not null'])
  }
  for (const t of tags) await ctx.line(['tag', t.name, t.seq])
}

/** The tags naming this evaluation at its path. */
async function tagsOfEvaluation (store: Store, e: EvaluationView): Promise<Tag[]> {
  const out: Tag[] = []
  if (e.path === null) return out
  for await (const t of listTags(store.backend, { path: e.path })) if (t.evaluation.toString() === e.evaluation) out.push(t)
  return out
}

export const command: Command = {
  usage: 'dds show PATH|PATH@SEQ|PATH@TAG|CID',
  description: `
Show one evaluation: the current one of PATH, the one of history entry SEQ
(see dds log), or the evaluation with that CID. One fact per line, its kind
first: the function and its source, when it ran, its code manifest (every
declaration it reaches with its hash, runtime values, package versions), its
inputs (by position: the value when the argument was small enough to be
stored, or the path whose kept value was passed), the paths it loaded, the files it read (path, kind, sha256 digest, size), the nested evaluations it called, its output, and the tags naming it (tag
NAME SEQ). PATH@TAG names the entry a tag names.`,
  example: `
$ dds show /data/clean
evaluation	bafyreih4…
path	/data/clean
function	clean	src/clean.ts:12:8
started	2026-11-27T05:16:02.071Z
duration	41.7
signature	5d1f…
code	bafyreicq…
algorithm	dds-sig/1
entry	src/clean.ts#clean
declaration	src/clean.ts#clean	9a3c…
declaration	src/clean.ts#normalize	07be…
package	csv-parse	5.5.6
input	0	bafyreif6…	"celsius"
load	/data/raw	bafyreiak…	bafkreib2…
output	bafyreig2…	cbor-x/1	61`,
  positionals: [1, 1],
  async run (ctx) {
    const target = ctx.target(ctx.args[0] as string)
    const store = await ctx.store({ read: true })
    const e = await describeEvaluation(store, target, ctx.source)
    const tags = await tagsOfEvaluation(store, e)
    if (ctx.json) await ctx.writeJson({ ...e, tags: tags.map((t) => ({ name: t.name, seq: t.seq })) })
    else await showLines(ctx, e, tags)
  }
}
