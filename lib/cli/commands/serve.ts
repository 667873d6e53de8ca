/** `dds serve`: the web view of a store, until interrupted. */
import { spawn } from 'node:child_process'
import { serve } from '../../serve/server.js'
import type { Command } from '../context.js'

/** The platform's own way to open an address in the default browser. */
function openBrowser (url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]]
  const child = spawn(cmd as string, args as string[], { stdio: 'ignore', detached: true })
  child.on('error', () => {})
  child.unref()
}

export const command: Command = {
  usage: 'dds serve [--port N] [--host H] [--open]',
  description: `
Serve a read-only web view of the store and print its address: the paths as
a tree, each path's history (what changed between entries, any two compared
in full), the numbers in its outputs charted over its history, each
evaluation with its output and the current source of the declarations it
reached (read from the working tree of the current directory, nothing
outside it), and the lineage graph. New runs from other
processes show up while it runs. It listens on 127.0.0.1 unless --host names
another interface; then it prints an address with a random access token,
which every request must carry. Stop it with Ctrl-C.`,
  options: { port: { type: 'string', short: 'p' }, host: { type: 'string' }, open: { type: 'boolean' } },
  optionHelp: [['-p, --port N', 'port to listen on (default: a free one)'], ['--host H', 'interface to listen on (default 127.0.0.1; others need the token)'], ['--open', 'open the address in the browser']],
  example: `
$ dds serve --port 8123
http://127.0.0.1:8123/`,
  positionals: [0, 0],
  async run (ctx) {
    const port = ctx.integer('port') ?? 0
    const host = ctx.string('host')
    const store = await ctx.store()
    // The evaluation page shows the current source of declarations from the project dds runs in.
    const s = await serve(store, { port, root: process.cwd(), ...(host === undefined ? {} : { host }) })
    await ctx.write(`${s.url}\n`)
    if (s.token !== null) ctx.note('listening beyond loopback: every request needs the token in this address')
    if (ctx.flag('open')) openBrowser(s.url)
    await new Promise<void>((resolve) => {
      const stop = (): void => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve() }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
    })
    await s.close()
  }
}
