/** `dds cat PATH|CID`: print an artifact. */
import type { Command } from '../context.js'
import { artifactOf, parseTarget } from '../context.js'
import { jsonPieces } from '../format.js'

export const command: Command = {
  usage: 'dds cat PATH|PATH@SEQ|CID [--raw] [--json]',
  description: `
Print the value of PATH (or of history entry SEQ, or of the artifact or
evaluation with that CID) on stdout. Strings and binary values (Buffer,
Uint8Array, ArrayBuffer, typed arrays) are printed as their bytes, streamed,
so that \`dds cat /data/raw > raw.csv\` gives the file back; every other value
is printed as JSON (Map as an object, Set and typed arrays inside values as
lists, Date as an ISO string, BigInt as an exact integer, undefined as null).
--raw prints the stored payload bytes instead (for general values: their
CBOR encoding); --json prints any value, strings and bytes included, as JSON.`,
  options: { raw: { type: 'boolean' } },
  optionHelp: [['--raw', 'the stored payload bytes, whatever the value']],
  example: `
$ dds cat /data/raw > raw.csv
$ dds cat /stats/summary
{
  "rows": 1461,
  "mean": 11.4
}`,
  positionals: [1, 1],
  async run (ctx) {
    const target = parseTarget(ctx.args[0] as string)
    const store = await ctx.store()
    const cid = await artifactOf(store, target)
    const info = await store.artifactInfo(cid)
    const asBytes = ctx.flag('raw') || (!ctx.json && info.enc !== 'cbor-x/1')
    if (asBytes) {
      for await (const chunk of store.artifactBytes(cid)) await ctx.write(chunk)
      return
    }
    const value = await store.readArtifact(cid)
    let buf = ''
    for (const piece of jsonPieces(value)) {
      buf += piece
      if (buf.length >= 1 << 16) {
        await ctx.write(buf)
        buf = ''
      }
    }
    await ctx.write(buf + '\n')
  }
}
