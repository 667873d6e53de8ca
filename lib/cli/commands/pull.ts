/** `dds pull PATH...`: bring paths and everything they reach from the remote. */
import { pullPaths } from '../../../store/index.js'
import type { Command } from '../context.js'
import { remoteUrl, remoteUrlHelp, remoteUrlOption, reportMoved } from './remote.js'

export const command: Command = {
  usage: 'dds pull PATH... [--remote-url URL]',
  description: `
Bring PATHs (their current values in the remote, the team's store) and
everything those values depend on into the local store, every block checked
against its CID, then add them to the local histories. A path the local
store holds at a newer value is left as it is. Creates the local store if
needed. One line per path: path, status (pulled, unchanged), sequence
number in the local history.`,
  options: { ...remoteUrlOption },
  optionHelp: [...remoteUrlHelp],
  example: `
$ dds pull /models/clf --remote-url s3://team-bucket/dds
/models/clf	pulled	2`,
  positionals: [1, Infinity],
  async run (ctx) {
    const url = remoteUrl(ctx)
    const store = await ctx.store({ create: true })
    await store.attachRemote(url)
    const result = await pullPaths(store, ctx.args)
    await reportMoved(ctx, result.moved, 'pulled')
  }
}
