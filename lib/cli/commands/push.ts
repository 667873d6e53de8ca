/** `dds push PATH...`: send paths and everything they reach to the remote. */
import { pushPaths } from '../../../store/index.js'
import type { Command } from '../context.js'
import { remoteUrl, remoteUrlHelp, remoteUrlOption, reportMoved } from './remote.js'

export const command: Command = {
  usage: 'dds push PATH... [--remote-url URL]',
  description: `
Send PATHs (their current values in the local store) and everything those
values depend on to the remote, the team's store, then append them to the
paths' histories there. Blocks go up before what links to them, large
artifacts as one stream; a path the remote already holds at that value, or
at a newer one, is left as it is. One line per path: path, status (pushed,
unchanged), sequence number in the remote's history.`,
  options: { ...remoteUrlOption },
  optionHelp: [...remoteUrlHelp],
  example: `
$ dds push /data/clean /models/clf --remote-url s3://team-bucket/dds
/data/clean	pushed	4
/models/clf	unchanged	-`,
  positionals: [1, Infinity],
  async run (ctx) {
    const url = remoteUrl(ctx)
    const store = await ctx.store()
    await store.attachRemote(url)
    const result = await pushPaths(store, ctx.args)
    await reportMoved(ctx, result.moved, 'pushed')
  }
}
