/**
 * The team's remote store on the command line: which remote (`--remote-url`,
 * else `$DDS_REMOTE`), and `ls`/`log` with `--remote`, which list the
 * remote's paths and logs instead of the local store's (the store's remote
 * reads). A remote listing needs no local store: blocks it reads (artifact
 * roots, evaluation records) are fetched, checked and kept in memory.
 */
import type { ParseArgsConfig } from 'node:util'
import { UsageError, type Command, type Context } from '../context.js'

/** The options every remote-aware command adds. */
export const remoteUrlOption: NonNullable<ParseArgsConfig['options']> = { 'remote-url': { type: 'string' } }
export const remoteUrlHelp: Array<[string, string]> = [['--remote-url URL', 'the remote, s3://bucket/prefix (default: $DDS_REMOTE; endpoint and credentials from the AWS_ variables)']]

/** Print one line per named path: moved (with its new sequence number) or unchanged. */
export async function reportMoved (ctx: Context, moved: Array<{ path: string, seq: number }>, verb: 'pushed' | 'pulled'): Promise<void> {
  const seqs = new Map(moved.map((m) => [m.path, m.seq]))
  const rows = [...new Set(ctx.args)].map((path) => ({ path, status: seqs.has(path) ? verb : 'unchanged', seq: seqs.get(path) ?? null }))
  if (ctx.json) await ctx.writeJson(rows)
  else for (const r of rows) await ctx.line([r.path, r.status, r.seq])
}

/** The remote a command works with; a usage error when none is named. */
export function remoteUrl (ctx: Context): string {
  const url = ctx.string('remote-url') ?? process.env.DDS_REMOTE
  if (url === undefined || url === '') throw new UsageError('no remote: set DDS_REMOTE=s3://bucket/prefix or pass --remote-url')
  return url
}

/** A listing command that, with `--remote`, lists the remote instead of the local store. */
function withRemote (inner: Command, what: string): Command {
  return {
    ...inner,
    usage: `${inner.usage} [--remote [--remote-url URL]]`,
    description: `${inner.description.trimEnd()}\nWith --remote, ${what} of the remote (the team's store) instead.`,
    options: { ...inner.options, remote: { type: 'boolean' }, ...remoteUrlOption },
    optionHelp: [...(inner.optionHelp ?? []), ['--remote', `${what} of the remote`], ...remoteUrlHelp],
    async run (ctx) {
      if (ctx.flag('remote')) await ctx.useRemote(remoteUrl(ctx))
      return await inner.run(ctx)
    }
  }
}

/** `dds ls [--remote]` */
export async function ls (): Promise<{ command: Command }> {
  return { command: withRemote((await import('./ls.js')).command, 'the paths') }
}

/** `dds log PATH [--remote]` */
export async function log (): Promise<{ command: Command }> {
  return { command: withRemote((await import('./log.js')).command, 'the history') }
}
