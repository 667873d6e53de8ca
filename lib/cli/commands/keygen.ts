/** `dds keygen KEYFILE`: make an ed25519 key pair to sign bundles with. */
import { generateKeyFile, formatPublicKey, TRUSTED_KEYS_FILE } from '../../../store/index.js'
import { UsageError, type Command } from '../context.js'

export const command: Command = {
  usage: 'dds keygen KEYFILE',
  description: `
Make an ed25519 key pair for signed bundles: KEYFILE (the secret key, mode
0600; never overwritten) and KEYFILE.pub (the public key). Sign with
dds export --sign KEYFILE. A store trusts the public keys listed in the file
${TRUSTED_KEYS_FILE} of its directory, one per line (# starts a comment); once
it lists any, it imports only bundles signed by one of them. Prints the
public key line to add there.`,
  example: `
$ dds keygen release.key
dds-ed25519 3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c
$ dds keygen release.key >> other-store/.dds/${TRUSTED_KEYS_FILE}`,
  positionals: [1, 1],
  async run (ctx) {
    const file = ctx.args[0] as string
    let pub: Uint8Array
    try {
      pub = await generateKeyFile(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${file} or ${file}.pub exists: keygen never overwrites a key`)
      throw err
    }
    if (ctx.json) {
      await ctx.writeJson({ file, public: `${file}.pub`, key: formatPublicKey(pub) })
      return
    }
    await ctx.line([formatPublicKey(pub)])
    ctx.note(`secret key in ${file} (keep it private), public key in ${file}.pub`)
  }
}
