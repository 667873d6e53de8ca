/** `dds export PATH... -o FILE`: write a bundle. */
import { exportBundle, readSecretKey } from '../../../store/index.js'
import { UsageError, type Command } from '../context.js'
import { size } from '../format.js'
import { progressBar } from '../progress.js'

export const command: Command = {
  usage: 'dds export PATH... -o FILE.car [--history] [--sign KEYFILE]',
  description: `
Write PATHs and everything their values depend on (evaluation records, code
manifests, artifacts, the evaluations they called and loaded, stored
arguments) to a bundle: a CARv1 file whose root is a manifest naming the
paths with their current history entry (every entry with --history).
The file appears only once complete. With --sign, the bundle is signed with
the ed25519 key of KEYFILE (made by dds keygen): a store that lists the
public key in its trusted-keys file imports it, one that lists keys refuses
unsigned bundles. Prints the bundle's root CID, the number of blocks and of
bytes written.`,
  options: { output: { type: 'string', short: 'o' }, history: { type: 'boolean' }, sign: { type: 'string' } },
  optionHelp: [['-o, --output FILE', 'the bundle to write (required)'], ['--history', 'export every history entry, not only the current one'], ['--sign KEYFILE', 'sign the bundle with this key (see dds keygen)']],
  example: `
$ dds export /data/clean /models/clf -o models.car
root	bafyreie3…
blocks	57
bytes	12615833`,
  positionals: [1, Infinity],
  async run (ctx) {
    const file = ctx.string('output')
    if (file === undefined) throw new UsageError('name the bundle file with -o FILE')
    const keyFile = ctx.string('sign')
    const signWith = keyFile === undefined ? undefined : await readSecretKey(keyFile)
    const store = await ctx.store({ read: true })
    const bar = progressBar('export')
    const result = await exportBundle(store, ctx.args, file, {
      history: ctx.flag('history'),
      ...(signWith === undefined ? {} : { signWith }),
      onProgress: (p) => { bar.update(p.bytes, p.total) }
    })
    bar.done()
    if (ctx.json) {
      await ctx.writeJson({ file, root: result.root.toString(), blocks: result.blocks, bytes: result.bytes, paths: Object.keys(result.manifest.paths) })
      return
    }
    await ctx.line(['root', result.root.toString()])
    await ctx.line(['blocks', result.blocks])
    await ctx.line(['bytes', result.bytes])
    ctx.note(`${Object.keys(result.manifest.paths).length} path(s), ${result.blocks} blocks, ${size(result.bytes)} written to ${file}`)
  }
}
