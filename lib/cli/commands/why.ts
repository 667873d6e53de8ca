/** `dds why PATH [OLD [NEW]]`: what changed between two evaluations of a path. */
import type { CID } from 'multiformats/cid'
import { parseCID } from '../../../store/hash.js'
import { validatePath } from '../../../store/paths.js'
import type { Store } from '../../../store/store.js'
import { why, type Change, type EvaluationRef, type Side } from '../../why.js'
import { inputValue, type Command } from '../context.js'
import { fileDigest, fileJson, iso, showCanonical } from '../format.js'

function ref (arg: string | undefined): EvaluationRef | undefined {
  if (arg === undefined) return undefined
  return /^\d+$/.test(arg) ? Number(arg) : parseCID(arg)
}

async function display (store: Store, cid: CID | undefined): Promise<string | undefined> {
  // A kept value passed as an argument is named by its artifact CID.
  const stored = cid === undefined ? undefined : await inputValue(store, cid)
  return stored !== undefined && 'value' in stored ? showCanonical(stored.value, 80) : undefined
}

function sideJson (s: Side): Record<string, unknown> {
  return { seq: s.seq ?? null, time: s.time === undefined ? null : iso(s.time), evaluation: s.evaluation.toString(), started: iso(s.record.started) }
}

/** A change as the fields of one output line, after its kind and delta. */
async function fields (store: Store, c: Change): Promise<Array<string | number | undefined>> {
  switch (c.kind) {
    case 'declaration': case 'value': case 'unavailable': return [c.name]
    case 'package': return [c.name, c.old, c.new]
    case 'pinned': return [c.old, c.new]
    case 'algorithm': return [c.old, c.new]
    case 'argument': return [c.index, await display(store, c.old) ?? c.old?.toString(), await display(store, c.new) ?? c.new?.toString()]
    case 'load': return [c.path, c.old?.output.toString(), c.new?.output.toString()]
    case 'call': return [c.path, c.old?.toString(), c.new?.toString()]
    case 'file': return [c.path, fileDigest(c.old), fileDigest(c.new)]
    case 'function': return [c.field, c.old, c.new]
  }
}

function changeJson (c: Change): Record<string, unknown> {
  if (c.kind === 'file') return { kind: c.kind, change: c.change, path: c.path, ...(c.old === undefined ? {} : { old: fileJson(c.old) }), ...(c.new === undefined ? {} : { new: fileJson(c.new) }) }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(c)) {
    if (v !== null && typeof v === 'object' && 'output' in v) {
      const l = v as { path: string, evaluation: CID | null, output: CID }
      out[k] = { path: l.path, evaluation: l.evaluation?.toString() ?? null, output: l.output.toString() }
    } else {
      out[k] = v !== null && typeof v === 'object' ? String(v) : v
    }
  }
  return out
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
name the evaluations compared: old and new, sequence number, evaluation CID.`,
  example: `
$ dds why /data/clean
old	2	bafyreia7…	2026-11-27T05:18:40.077Z
new	3	bafyreih4…	2026-11-27T05:20:11.402Z
declaration	changed	src/clean.ts#normalize
load	changed	/data/raw	bafyreib2…	bafyreic9…`,
  positionals: [1, 3],
  async run (ctx) {
    const path = validatePath(ctx.args[0])
    const old = ref(ctx.args[1])
    const neu = ref(ctx.args[2])
    const store = await ctx.store()
    const w = await why(store, path, { ...(old === undefined ? {} : { old }), ...(neu === undefined ? {} : { new: neu }) })
    if (ctx.json) {
      await ctx.writeJson({ path, old: sideJson(w.old), new: sideJson(w.new), sameSignature: w.sameSignature, identical: w.identical, changes: w.changes.map(changeJson) })
      return
    }
    await ctx.line(['old', w.old.seq, w.old.evaluation.toString(), w.old.time === undefined ? undefined : iso(w.old.time)])
    await ctx.line(['new', w.new.seq, w.new.evaluation.toString(), w.new.time === undefined ? undefined : iso(w.new.time)])
    if (w.identical) {
      await ctx.line(['nothing', 'identical signature'])
      return
    }
    for (const c of w.changes) await ctx.line([c.kind, c.change, ...await fields(store, c)])
  }
}
