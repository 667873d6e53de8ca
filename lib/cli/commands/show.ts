/** `dds show PATH|CID`: one evaluation, in full. */
import type { CID } from 'multiformats/cid'
import { isDdsError } from '../../../store/errors.js'
import type { Store } from '../../../store/store.js'
import { evaluationOf, inputValue, parseTarget, type Command } from '../context.js'
import { fileDigest, fileJson, fnJson, fnName, fnSource, hex, iso, ms, plain, showCanonical } from '../format.js'


/** The paths whose current value is each artifact (to name kept values passed as arguments). */
async function holders (store: Store): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for await (const e of store.paths()) if (e.output !== null) out.set(e.output.toString(), e.path)
  return out
}

export const command: Command = {
  usage: 'dds show PATH|PATH@SEQ|CID',
  description: `
Show one evaluation: the current one of PATH, the one of history entry SEQ
(see dds log), or the evaluation with that CID. One fact per line, its kind
first: the function and its source, when it ran, its code manifest (every
declaration it reaches with its hash, runtime values, package versions), its
inputs (by position: the value when the argument was small enough to be
stored, or the path whose kept value was passed), the paths it loaded, the files it read (path, kind, sha256 digest, size), the nested evaluations it called, its output.`,
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
    const target = parseTarget(ctx.args[0] as string)
    const store = await ctx.store()
    const { evaluation, record } = await evaluationOf(store, target)
    const manifest = await store.getManifest(record.code)
    const info = await store.artifactInfo(record.output)
    const inputs: Array<{ index: number, cid: CID, value: unknown, display: string | undefined }> = []
    let held: Map<string, string> | undefined
    for (const [i, cid] of record.inputs.entries()) {
      const stored = await inputValue(store, cid)
      let display: string | undefined
      if (stored !== undefined && 'artifact' in stored) {
        held ??= await holders(store)
        const path = held.get(cid.toString())
        display = `kept value${path === undefined ? '' : ` of ${path}`}`
      } else if (stored !== undefined) {
        display = showCanonical(stored.value)
      }
      inputs.push({ index: i, cid, value: stored !== undefined && 'value' in stored ? plain(stored.value) : null, display })
    }
    const calls = []
    for (const c of record.calls) {
      const child = await store.getEvaluation(c).catch((err: unknown) => { if (isDdsError(err)) return undefined; throw err })
      calls.push({ evaluation: c, path: child?.path ?? null, fn: child?.fn })
    }
    if (ctx.json) {
      await ctx.writeJson({
        evaluation: evaluation.toString(),
        kind: record.kind,
        path: record.path,
        function: fnJson(record.fn),
        started: iso(record.started),
        duration: ms(record.duration),
        signature: hex(record.signature),
        code: {
          cid: record.code.toString(),
          algorithm: manifest.algorithm,
          entry: manifest.entry,
          pinned: manifest.pinned ?? null,
          declarations: Object.fromEntries(Object.entries(manifest.declarations).map(([k, v]) => [k, hex(v)])),
          values: Object.fromEntries(Object.entries(manifest.values).map(([k, v]) => [k, hex(v)])),
          packages: manifest.packages,
          unavailable: manifest.unavailable
        },
        inputs: inputs.map((x) => ({ index: x.index, cid: x.cid.toString(), value: x.value, display: x.display ?? null })),
        loads: record.loads.map((l) => ({ path: l.path, evaluation: l.evaluation?.toString() ?? null, output: l.output.toString() })),
        files: (record.files ?? []).map(fileJson),
        calls: calls.map((c) => ({ evaluation: c.evaluation.toString(), path: c.path, function: c.fn === undefined ? null : fnJson(c.fn) })),
        output: { cid: record.output.toString(), enc: info.enc, type: info.type ?? null, size: info.size, chunks: info.chunks }
      })
      return
    }
    await ctx.line(['evaluation', evaluation.toString()])
    await ctx.line(['path', record.path])
    await ctx.line(['function', fnName(record.fn), fnSource(record.fn)])
    await ctx.line(['started', iso(record.started)])
    await ctx.line(['duration', ms(record.duration)])
    await ctx.line(['signature', hex(record.signature)])
    await ctx.line(['code', record.code.toString()])
    await ctx.line(['algorithm', manifest.algorithm])
    await ctx.line(['entry', manifest.entry])
    if (manifest.pinned !== undefined) await ctx.line(['pinned', manifest.pinned])
    for (const [k, v] of Object.entries(manifest.declarations).sort(([a], [b]) => (a < b ? -1 : 1))) await ctx.line(['declaration', k, hex(v)])
    for (const [k, v] of Object.entries(manifest.values).sort(([a], [b]) => (a < b ? -1 : 1))) await ctx.line(['value', k, hex(v)])
    for (const [k, v] of Object.entries(manifest.packages).sort(([a], [b]) => (a < b ? -1 : 1))) await ctx.line(['package', k, v])
    for (const u of manifest.unavailable) await ctx.line(['unavailable', u])
    for (const x of inputs) await ctx.line(['input', x.index, x.cid.toString(), x.display])
    for (const l of record.loads) await ctx.line(['load', l.path, l.evaluation?.toString(), l.output.toString()])
    for (const f of record.files ?? []) await ctx.line(['file', f.path, f.kind, fileDigest(f), f.size])
    for (const c of calls) await ctx.line(['call', c.evaluation.toString(), c.path, c.fn === undefined ? undefined : fnName(c.fn)])
    await ctx.line(['output', record.output.toString(), info.type === undefined ? info.enc : `${info.enc}:${info.type}`, info.size])
  }
}
