#!/usr/bin/env node
/**
 * The `dds` binary as installed (dist/bundle/dds.cjs, built from this file):
 * runs the CLI (dist/bundle/cli.cjs, lib/cli/main.ts as one CommonJS file)
 * with V8's code cache for the command it is asked for (lib/cli/code-cache.ts),
 * and writes that cache at exit when it had none.
 */
import { fileURLToPath } from 'node:url'
import { runCached } from './code-cache.js'

// A cached script loses its own import() (store/dynamic-import.ts, which reads this symbol): the CLI's imports
// come here, a module beside it. Set here rather than through store/, which lib/cli reaches only by its façade.
;(globalThis as Record<symbol, unknown>)[Symbol.for('dds-ts.import')] = async (specifier: string): Promise<unknown> => await import(specifier)
const cli = fileURLToPath(new URL('./cli.cjs', import.meta.url))
const asked = process.argv[2] ?? ''
// A name that is not a command gets no cache of its own (see the check at exit).
const run = runCached(cli, /^[a-z]{1,16}$/.test(asked) ? asked : 'main')
if (process.env.DDS_CODE_CACHE_REPORT === '1') process.stderr.write(`dds: code cache ${run.used ? 'used' : `not used: ${run.skipped ?? ''}`}\n`)
process.on('exit', () => {
  const names = (run.exports as { commandNames?: () => string[] }).commandNames?.() ?? []
  if (names.includes(asked)) run.save()
})
