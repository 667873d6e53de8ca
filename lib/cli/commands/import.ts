/** `dds import FILE`: verify a bundle and add its paths to the store. */
import { importBundle } from '../../../store/index.js'
import type { Command } from '../context.js'
import { size } from '../format.js'
import { progressBar } from '../progress.js'

export const command: Command = {
  usage: 'dds import FILE.car [--data-only]',
  description: `
Import a bundle made by dds export. The whole file is checked first (every
block against its CID, the manifest, that every block the paths need is there,
chunk sizes); nothing is written unless all of it is valid, and a refused
bundle (DDS_BUNDLE_INVALID, with the offending block's CID) leaves the store
as it was. Then the blocks are written and the paths' history entries are
added with their original times, marked imported, together with the memo
answers that make re-running the same code here a cache hit: only for the
evaluations of the imported entries (and the calls they made), never in place
of an answer this store already has. With --data-only, no memo answer at all:
the values and history come in, and code run here runs. A store whose
directory has a trusted-keys file imports only bundles signed by one of its
keys (dds export --sign); others are refused with DDS_BUNDLE_UNTRUSTED.
A path whose current value here is newer than the bundle's keeps it (reported
on stderr). Prints one line per path: path, what happened (imported, kept
newer, unchanged) and the number of history entries added.`,
  example: `
$ dds import models.car
/data/clean	imported	1
/models/clf	kept-newer	0
dds import: /models/clf: kept the newer value of this store`,
  options: { 'data-only': { type: 'boolean' } },
  optionHelp: [['--data-only', 'import values and history, no memo answer']],
  positionals: [1, 1],
  async run (ctx) {
    const store = await ctx.store({ create: true })
    const bar = progressBar('import')
    const result = await importBundle(store, ctx.args[0] as string, {
      dataOnly: ctx.flag('data-only'),
      onProgress: (p) => { bar.update(p.bytes, p.total, p.phase) }
    })
    bar.done()
    const status = (p: (typeof result.paths)[number]): string => p.appended > 0 ? 'imported' : p.kept === 'newer' ? 'kept-newer' : 'unchanged'
    for (const p of result.paths) {
      if (p.appended === 0 && p.kept === 'newer') ctx.note(`${p.path}: kept the newer value of this store`)
    }
    if (result.signer !== undefined) ctx.note(`signed by ${result.signer}`)
    if (ctx.json) {
      await ctx.writeJson({
        root: result.root.toString(),
        ...(result.signer === undefined ? {} : { signer: result.signer }),
        blocks: result.blocks,
        written: result.written,
        bytes: result.bytes,
        memo: result.memo,
        paths: result.paths.map((p) => ({ path: p.path, status: status(p), appended: p.appended, skipped: p.skipped }))
      })
      return
    }
    for (const p of result.paths) await ctx.line([p.path, status(p), p.appended])
    ctx.note(`${result.blocks} blocks checked, ${result.written} new (${size(result.bytes)}), ${result.memo} memo ${result.memo === 1 ? 'entry' : 'entries'}`)
  }
}
